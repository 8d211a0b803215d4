import { GetProductsCommand, PricingClient, type GetProductsCommandInput } from '@aws-sdk/client-pricing';
import { mockClient } from 'aws-sdk-client-mock';
import { ec2InstanceTypesFromModel } from '../lib/cli/ec2-instance-model';
import { ec2InstanceTypesFromPriceList } from '../lib/cli/price-list';
import { EC2_INSTANCE_TYPES, instanceTypeArchitecture } from '../lib/ec2-instance-types';
import { PRICE_TABLE } from '../lib/prices';

describe('the instance types the config accepts (lib/ec2-instance-types.json)', () => {
  const families = Object.entries(EC2_INSTANCE_TYPES.families);

  test(`every family has an architecture and sizes (${families.length} families)`, () => {
    expect(families.length).toBeGreaterThan(100);
    for (const [family, { architecture, sizes }] of families) {
      expect([family, ['arm64', 'x86_64'].includes(architecture)]).toEqual([family, true]);
      expect(sizes.length).toBeGreaterThan(0);
    }
    expect(EC2_INSTANCE_TYPES.readOn).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  test('it holds the default types and every type the price table prices', () => {
    expect(instanceTypeArchitecture('t4g.small')).toBe('arm64');
    expect(instanceTypeArchitecture('t3.small')).toBe('x86_64');
    for (const prices of PRICE_TABLE) {
      for (const type of Object.keys(prices.ec2PerHour))
        expect([type, instanceTypeArchitecture(type)]).not.toContain(undefined);
    }
  });

  test('names that are not types, whatever they look like, have no architecture', () => {
    for (const name of [
      't4g',
      '.small',
      't4g.',
      'constructor.small',
      't4g.constructor',
      'T4G.SMALL',
      ' t4g.small',
    ]) {
      expect([name, instanceTypeArchitecture(name)]).toEqual([name, undefined]);
    }
  });
});

describe('ec2InstanceTypesFromPriceList (npm run ec2-instance-types)', () => {
  const pricing = mockClient(PricingClient);
  const client = new PricingClient({ region: 'us-east-1' });
  afterAll(() => pricing.restore());
  beforeEach(() => pricing.reset());

  /** A Price List product document as GetProducts returns it (the attributes that matter here). */
  const product = (instanceType: string, physicalProcessor: string) =>
    JSON.stringify({
      product: {
        productFamily: 'Compute Instance',
        attributes: { instanceType, physicalProcessor, operatingSystem: 'Linux', tenancy: 'Shared' },
        sku: 'SKU',
      },
      serviceCode: 'AmazonEC2',
    });

  test('reads every page of every region, the architecture from the processor, sizes in AWS order', async () => {
    pricing.on(GetProductsCommand).callsFake((input: GetProductsCommandInput) => {
      const region = input.Filters?.find((filter) => filter.Field === 'regionCode')?.Value;
      if (region === 'eu-west-1' && !input.NextToken) {
        return {
          PriceList: [
            product('t4g.large', 'AWS Graviton2 Processor'),
            product('c5.2xlarge', 'Intel Xeon Platinum 8124M'),
          ],
          NextToken: 'page-2',
        };
      }
      if (region === 'eu-west-1') return { PriceList: [product('t4g.small', 'AWS Graviton2 Processor')] };
      return {
        PriceList: [
          product('c5.large', 'Intel Xeon Platinum 8124M'),
          product('c5.metal', 'Intel Xeon Platinum 8275L'),
        ],
      };
    });
    const seen: string[] = [];

    const families = await ec2InstanceTypesFromPriceList(
      client,
      ['eu-west-1', 'us-east-1'],
      (region, types) => seen.push(`${region} ${types}`),
    );

    expect(families).toEqual({
      c5: { architecture: 'x86_64', sizes: ['large', '2xlarge', 'metal'] },
      t4g: { architecture: 'arm64', sizes: ['small', 'large'] },
    });
    expect(seen).toEqual(['eu-west-1 3', 'us-east-1 2']);
    const calls = pricing.commandCalls(GetProductsCommand).map((call) => call.args[0].input);
    expect(calls).toHaveLength(3);
    expect(calls[0]).toMatchObject({ ServiceCode: 'AmazonEC2', MaxResults: 100 });
    expect(calls[0].Filters).toEqual(
      expect.arrayContaining([
        { Type: 'TERM_MATCH', Field: 'regionCode', Value: 'eu-west-1' },
        { Type: 'TERM_MATCH', Field: 'operatingSystem', Value: 'Linux' },
        { Type: 'TERM_MATCH', Field: 'productFamily', Value: 'Compute Instance' },
        { Type: 'TERM_MATCH', Field: 'capacitystatus', Value: 'Used' },
      ]),
    );
    expect(calls[1].NextToken).toBe('page-2');
  });

  test('a family with two architectures is a failure, not a guess', async () => {
    pricing.on(GetProductsCommand).resolves({
      PriceList: [product('m9.large', 'AWS Graviton5 Processor'), product('m9.xlarge', 'Intel Xeon 6')],
    });

    await expect(ec2InstanceTypesFromPriceList(client, ['us-east-1'])).rejects.toThrow(
      'the Price List gives family m9 more than one architecture (arm64, x86_64)',
    );
  });
});

describe("the offline list from the EC2 API's model (npm run ec2-instance-types:offline)", () => {
  test('Graviton and Grace families are arm64, the rest x86_64; macOS families are left out', () => {
    const families = ec2InstanceTypesFromModel([
      't4g.small',
      't4g.nano',
      't3.small',
      'c7gn.large',
      'is4gen.large',
      'g5g.xlarge',
      'g4dn.xlarge',
      'a1.medium',
      'p6e-gb200.36xlarge',
      'u7i-12tb.224xlarge',
      'mac2.metal',
    ]);
    expect(
      Object.fromEntries(
        Object.entries(families).map(([family, { architecture }]) => [family, architecture]),
      ),
    ).toEqual({
      a1: 'arm64',
      c7gn: 'arm64',
      g4dn: 'x86_64',
      g5g: 'arm64',
      is4gen: 'arm64',
      'p6e-gb200': 'arm64',
      t3: 'x86_64',
      t4g: 'arm64',
      'u7i-12tb': 'x86_64',
    });
    expect(families.t4g.sizes).toEqual(['nano', 'small']);
  });

  test('the whole model gives every family one architecture, and the default types', () => {
    const families = ec2InstanceTypesFromModel();
    expect(families.t4g.architecture).toBe('arm64');
    expect(families.t3.sizes).toContain('small');
    expect(Object.keys(families).some((family) => family.startsWith('mac'))).toBe(false);
  });
});
