import {
  AccessDeniedException,
  GetProductsCommand,
  PricingClient,
  type GetProductsCommandInput,
} from '@aws-sdk/client-pricing';
import { mockClient } from 'aws-sdk-client-mock';
import { pricesWithPriceList, priceSourceSentence } from '../../lib/cli/price-list';
import { pricesForRegion } from '../../lib/prices';

const pricing = mockClient(PricingClient);
const client = new PricingClient({ region: 'us-east-1' });
const table = pricesForRegion('eu-west-1');

/** A Price List product document with one on-demand price per tier (beginRange -> USD). */
function product(tiers: Record<string, string>): string {
  const dimensions = Object.fromEntries(
    Object.entries(tiers).map(([beginRange, usd], i) => [
      `SKU.TERM.${i}`,
      { unit: 'Hrs', beginRange, pricePerUnit: { USD: usd } },
    ]),
  );
  return JSON.stringify({
    product: { sku: 'SKU' },
    terms: { OnDemand: { 'SKU.TERM': { priceDimensions: dimensions } } },
  });
}

const has = (input: GetProductsCommandInput, field: string, value: string) =>
  input.Filters?.some((filter) => filter.Field === field && filter.Value === value) ?? false;

beforeEach(() => pricing.reset());

test('a figure found once comes from the Price List, tiers read from the first; the rest from the table', async () => {
  pricing.on(GetProductsCommand).callsFake((input: GetProductsCommandInput) => ({
    PriceList: has(input, 'instanceType', 't4g.small')
      ? [product({ '0': '0.0190000000' })]
      : has(input, 'usagetype', '-DataProcessing-Bytes')
        ? [product({ '0': '0.6000000000', '10240': '0.3000000000' })]
        : [],
  }));

  const priced = await pricesWithPriceList(client, 'eu-west-1', ['t4g.small']);

  expect(priced.prices.ec2PerHour['t4g.small']).toBe(0.019);
  expect(priced.prices.ec2PerHour['t3.small']).toBe(table.ec2PerHour['t3.small']);
  expect(priced.prices.logsIngestedPerGb).toBe(0.6);
  expect(priced.prices.kvsIngestedPerGb).toBe(table.kvsIngestedPerGb);
  expect(priced.fromPriceList).toEqual(['ec2PerHour', 'logsIngestedPerGb']);
  expect(priced.prices.unconfirmed).not.toContain('logsIngestedPerGb');
  const asked = pricing.commandCalls(GetProductsCommand).map((call) => call.args[0].input);
  expect(asked.every((input) => has(input, 'regionCode', 'eu-west-1'))).toBe(true);
});

test('a figure for every type it was asked is from the Price List; two different prices are not', async () => {
  pricing.on(GetProductsCommand).callsFake((input: GetProductsCommandInput) => ({
    PriceList: has(input, 'instanceType', 't4g.small')
      ? [product({ '0': '0.0190000000' })]
      : has(input, 'volumeApiName', 'gp3')
        ? [product({ '0': '0.0880000000' }), product({ '0': '0.0950000000' })]
        : [],
  }));

  const priced = await pricesWithPriceList(client, 'eu-west-1', ['t4g.small']);

  expect(priced.fromPriceList).toContain('ec2PerHour');
  expect(priced.prices.ebsGp3PerGbMonth).toBe(table.ebsGp3PerGbMonth);
  expect(priceSourceSentence(priced)).toBe(
    'Prices: Europe (Ireland) (eu-west-1), on-demand, from the AWS Price List API (ec2PerHour) and the built-in table (lib/prices.ts, checked 2026-11-24) for the rest.',
  );
});

test('when the API cannot be asked, one call tells, and the table is used with the reason', async () => {
  pricing
    .on(GetProductsCommand)
    .rejects(new AccessDeniedException({ message: 'not allowed', $metadata: { httpStatusCode: 400 } }));

  const priced = await pricesWithPriceList(client, 'eu-west-1', ['t4g.small']);

  expect(pricing.commandCalls(GetProductsCommand)).toHaveLength(1);
  expect(priced.fromPriceList).toEqual([]);
  expect(priced.prices).toEqual(table);
  expect(priceSourceSentence(priced)).toMatch(
    /from the built-in table \(lib\/prices\.ts, checked 2026-11-24\); not the AWS Price List API: access denied: you are not allowed pricing:GetProducts/,
  );
});
