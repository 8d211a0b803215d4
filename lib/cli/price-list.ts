import { GetProductsCommand, type Filter, type PricingClient } from '@aws-sdk/client-pricing';
import type { Ec2InstanceFamily } from '../ec2-instance-types';
import { PRICES_CHECKED_ON, pricesForRegion, type PriceName, type RegionPrices } from '../prices';
import { awsCall, CliError } from './aws-errors';

/**
 * Today's prices from the AWS Price List API (GetProducts), one lookup per figure the estimate
 * uses. A lookup counts only when it finds exactly one on-demand USD price (the first tier); any
 * other figure, and every figure when the API cannot be asked, comes from the built-in dated table
 * (lib/prices.ts), and the result says which.
 */

export interface PricedRegion {
  readonly prices: RegionPrices;
  /** Figures read from the Price List API just now. */
  readonly fromPriceList: readonly PriceName[];
  /** Why the Price List API was not used at all (no credentials, no answer, access denied). */
  readonly priceListUnavailable?: string;
}

interface Lookup {
  readonly price: PriceName;
  /** For per-type or per-architecture figures, the key in the figure's record. */
  readonly key?: string;
  readonly serviceCode: string;
  /** Attributes that must equal the value (TERM_MATCH). */
  readonly match?: Readonly<Record<string, string>>;
  /** The usage type contains this (usage types start with a region code: USE1-, EUW1-, ...). */
  readonly usageType?: string;
}

function lookupsFor(instanceTypes: readonly string[]): Lookup[] {
  return [
    ...instanceTypes.map((instanceType): Lookup => ({
      price: 'ec2PerHour',
      key: instanceType,
      serviceCode: 'AmazonEC2',
      match: {
        instanceType,
        operatingSystem: 'Linux',
        tenancy: 'Shared',
        preInstalledSw: 'NA',
        capacitystatus: 'Used',
        licenseModel: 'No License required',
      },
    })),
    {
      price: 'ebsGp3PerGbMonth',
      serviceCode: 'AmazonEC2',
      match: { productFamily: 'Storage', volumeApiName: 'gp3' },
    },
    {
      price: 'fargatePerVcpuHour',
      key: 'x86_64',
      serviceCode: 'AmazonECS',
      usageType: '-Fargate-vCPU-Hours:perCPU',
    },
    {
      price: 'fargatePerVcpuHour',
      key: 'arm64',
      serviceCode: 'AmazonECS',
      usageType: '-Fargate-ARM-vCPU-Hours:perCPU',
    },
    { price: 'fargatePerGbHour', key: 'x86_64', serviceCode: 'AmazonECS', usageType: '-Fargate-GB-Hours' },
    { price: 'fargatePerGbHour', key: 'arm64', serviceCode: 'AmazonECS', usageType: '-Fargate-ARM-GB-Hours' },
    { price: 'publicIpv4PerHour', serviceCode: 'AmazonVPC', usageType: '-PublicIPv4:InUseAddress' },
    { price: 'kvsIngestedPerGb', serviceCode: 'AmazonKinesisVideo', usageType: '-KVS-DataIngested' },
    { price: 'kvsStoredPerGbMonth', serviceCode: 'AmazonKinesisVideo', usageType: '-KVS-DataStored' },
    { price: 'logsIngestedPerGb', serviceCode: 'AmazonCloudWatch', usageType: '-DataProcessing-Bytes' },
    { price: 'logsStoredPerGbMonth', serviceCode: 'AmazonCloudWatch', usageType: '-TimedStorage-ByteHrs' },
    { price: 'alarmPerMonth', serviceCode: 'AmazonCloudWatch', usageType: '-CW:AlarmMonitorUsage' },
    { price: 'natGatewayPerHour', serviceCode: 'AmazonEC2', usageType: '-NatGateway-Hours' },
    { price: 'natGatewayPerGb', serviceCode: 'AmazonEC2', usageType: '-NatGateway-Bytes' },
    { price: 'kmsKeyPerMonth', serviceCode: 'AWSKMS', usageType: '-KMS-Keys' },
    {
      price: 'loadBalancerPerHour',
      serviceCode: 'AWSELB',
      match: { productFamily: 'Load Balancer-Application' },
      usageType: '-LoadBalancerUsage',
    },
    {
      price: 'loadBalancerLcuPerHour',
      serviceCode: 'AWSELB',
      match: { productFamily: 'Load Balancer-Application' },
      usageType: '-LCUUsage',
    },
  ];
}

/** One product of GetProducts' PriceList (each is a JSON document). */
interface PriceListProduct {
  readonly terms?: {
    readonly OnDemand?: Record<
      string,
      { readonly priceDimensions?: Record<string, { beginRange?: string; pricePerUnit?: { USD?: string } }> }
    >;
  };
}

/** The first-tier on-demand USD prices in a GetProducts answer. */
function onDemandPrices(priceList: readonly string[]): number[] {
  return priceList.flatMap((document) => {
    const product = JSON.parse(document) as PriceListProduct;
    return Object.values(product.terms?.OnDemand ?? {}).flatMap((term) =>
      Object.values(term.priceDimensions ?? {})
        .filter((dimension) => (dimension.beginRange ?? '0') === '0')
        .map((dimension) => Number(dimension.pricePerUnit?.USD))
        .filter((usd) => Number.isFinite(usd)),
    );
  });
}

async function lookUp(pricing: PricingClient, region: string, lookup: Lookup): Promise<number | undefined> {
  const filters: Filter[] = [
    { Type: 'TERM_MATCH', Field: 'regionCode', Value: region },
    ...Object.entries(lookup.match ?? {}).map(([Field, Value]): Filter => ({
      Type: 'TERM_MATCH',
      Field,
      Value,
    })),
    ...(lookup.usageType ? [{ Type: 'CONTAINS' as const, Field: 'usagetype', Value: lookup.usageType }] : []),
  ];
  const answer = await awsCall(
    {
      action: 'pricing:GetProducts',
      resource: `the ${lookup.serviceCode} prices of ${region}`,
      region: 'us-east-1',
    },
    () =>
      pricing.send(
        new GetProductsCommand({ ServiceCode: lookup.serviceCode, Filters: filters, MaxResults: 20 }),
      ),
  );
  const distinct = [...new Set(onDemandPrices(answer.PriceList ?? []))];
  // None, or several that the filters cannot tell apart: the table's figure is the safer one.
  return distinct.length === 1 ? distinct[0] : undefined;
}

/**
 * The region's prices: from the Price List API where it answers unambiguously, from the built-in
 * table for every other figure. `instanceTypes` are the EC2 types the estimate needs.
 */
export async function pricesWithPriceList(
  pricing: PricingClient,
  region: string,
  instanceTypes: readonly string[],
): Promise<PricedRegion> {
  const table = pricesForRegion(region);
  const lookups = lookupsFor(instanceTypes);
  const found = new Map<Lookup, number>();
  try {
    // The first lookup alone: when the API cannot be asked at all, one bounded wait is enough.
    const first = await lookUp(pricing, region, lookups[0]);
    if (first !== undefined) found.set(lookups[0], first);
    for (let i = 1; i < lookups.length; i += 4) {
      const batch = lookups.slice(i, i + 4);
      const figures = await Promise.all(batch.map((lookup) => lookUp(pricing, region, lookup)));
      batch.forEach((lookup, j) => {
        if (figures[j] !== undefined) found.set(lookup, figures[j]!);
      });
    }
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    return { prices: table, fromPriceList: [], priceListUnavailable: error.message };
  }

  const fromPriceList = new Set<PriceName>();
  const prices: Record<string, unknown> = { ...table };
  for (const [lookup, figure] of found) {
    if (lookup.key === undefined) {
      prices[lookup.price] = figure;
    } else {
      prices[lookup.price] = { ...(prices[lookup.price] as Record<string, number>), [lookup.key]: figure };
    }
  }
  // A figure is from the Price List only when every lookup behind it was.
  for (const price of new Set(lookups.map((lookup) => lookup.price))) {
    if (lookups.filter((lookup) => lookup.price === price).every((lookup) => found.has(lookup))) {
      fromPriceList.add(price);
    }
  }
  return {
    prices: {
      ...(prices as unknown as RegionPrices),
      unconfirmed: table.unconfirmed.filter((name) => !fromPriceList.has(name)),
    },
    fromPriceList: [...fromPriceList],
  };
}

/** The sentence that says where the prices come from. */
export function priceSourceSentence(priced: PricedRegion): string {
  const { prices, fromPriceList, priceListUnavailable } = priced;
  const table = `the built-in table (lib/prices.ts, checked ${PRICES_CHECKED_ON}${prices.approximatedFrom ? `; ${prices.approximatedFrom} figures, as it has none for ${prices.region}` : ''})`;
  if (fromPriceList.length === 0) {
    const why = priceListUnavailable
      ? `not the AWS Price List API: ${priceListUnavailable}`
      : 'the AWS Price List API had none of these figures';
    return `Prices: ${prices.location} (${prices.region}), on-demand, from ${table}; ${why}.`;
  }
  return `Prices: ${prices.location} (${prices.region}), on-demand, from the AWS Price List API (${fromPriceList.join(', ')}) and ${table} for the rest.`;
}

/** The product of a Price List document: an EC2 instance type's attributes. */
interface InstanceProduct {
  readonly product?: {
    readonly attributes?: { readonly instanceType?: string; readonly physicalProcessor?: string };
  };
}

/** Sizes as AWS lists them: nano to xlarge, then 2xlarge, 4xlarge, ..., then metal and the rest. */
const SIZE_ORDER = ['nano', 'micro', 'small', 'medium', 'large', 'xlarge'];

function sizeRank(size: string): number {
  const match = /^(\d*)(nano|micro|small|medium|large|xlarge)$/.exec(size);
  return match ? SIZE_ORDER.indexOf(match[2]) * 1000 + Number(match[1] || 0) : Number.MAX_SAFE_INTEGER;
}

/**
 * Instance types grouped by family, sizes smallest first; `source` names where they came from when a
 * family comes with two architectures (which fails: the config checks the architecture per family).
 */
export function instanceFamilies(
  architectures: ReadonlyMap<string, ReadonlyMap<string, 'arm64' | 'x86_64'>>,
  source: string,
): Record<string, Ec2InstanceFamily> {
  const families = [...architectures.keys()].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  return Object.fromEntries(
    families.map((family) => {
      const sizes = architectures.get(family)!;
      const kinds = new Set(sizes.values());
      if (kinds.size !== 1) {
        throw new Error(
          `${source} gives family ${family} more than one architecture (${[...kinds].join(', ')})`,
        );
      }
      return [
        family,
        {
          architecture: [...kinds][0],
          sizes: [...sizes.keys()].sort(
            (a, b) => sizeRank(a) - sizeRank(b) || a.localeCompare(b, 'en', { numeric: true }),
          ),
        },
      ];
    }),
  );
}

/**
 * Every EC2 instance type the Price List sells on demand for Linux (shared tenancy) in the given
 * regions, by family, with the family's CPU architecture read from its processor ("AWS Graviton...":
 * arm64). For lib/ec2-instance-types.json (`npm run ec2-instance-types`).
 */
export async function ec2InstanceTypesFromPriceList(
  pricing: PricingClient,
  regions: readonly string[],
  onRegion: (region: string, types: number) => void = () => undefined,
): Promise<Record<string, Ec2InstanceFamily>> {
  const architectures = new Map<string, Map<string, 'arm64' | 'x86_64'>>();
  for (const region of regions) {
    let nextToken: string | undefined;
    let types = 0;
    do {
      const page = await awsCall(
        {
          action: 'pricing:GetProducts',
          resource: `the AmazonEC2 products of ${region}`,
          region: 'us-east-1',
        },
        () =>
          pricing.send(
            new GetProductsCommand({
              ServiceCode: 'AmazonEC2',
              Filters: Object.entries({
                regionCode: region,
                productFamily: 'Compute Instance',
                operatingSystem: 'Linux',
                tenancy: 'Shared',
                preInstalledSw: 'NA',
                capacitystatus: 'Used',
                licenseModel: 'No License required',
              }).map(([Field, Value]): Filter => ({ Type: 'TERM_MATCH', Field, Value })),
              MaxResults: 100,
              ...(nextToken ? { NextToken: nextToken } : {}),
            }),
          ),
      );
      for (const document of page.PriceList ?? []) {
        const attributes = (JSON.parse(document) as InstanceProduct).product?.attributes;
        const [family, size] = (attributes?.instanceType ?? '').split('.');
        if (!family || !size) continue;
        const sizes = architectures.get(family) ?? new Map<string, 'arm64' | 'x86_64'>();
        sizes.set(size, /graviton/i.test(attributes?.physicalProcessor ?? '') ? 'arm64' : 'x86_64');
        architectures.set(family, sizes);
        types++;
      }
      nextToken = page.NextToken;
    } while (nextToken);
    onRegion(region, types);
  }
  return instanceFamilies(architectures, 'the Price List');
}
