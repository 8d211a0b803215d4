import { CpuArchitecture } from './config';

/**
 * The built-in, dated price table: what `kvs-gateway cost` uses when it cannot read the AWS Price
 * List API (no credentials, offline, access denied), and for the figures the Price List lookup did
 * not find (lib/cli/price-list.ts). On-demand list prices (USD), per region. To update: change the figure,
 * the date below, and take the name off the region's `unconfirmed` list once it was read on the AWS
 * page named next to it. `kvs-gateway cost` prints every unconfirmed figure it used.
 *
 * Pages (Linux, on-demand):
 *  - EC2 instances: https://aws.amazon.com/ec2/pricing/on-demand/
 *  - EBS gp3: https://aws.amazon.com/ebs/pricing/
 *  - Fargate (ECS, Linux x86 and Linux ARM): https://aws.amazon.com/fargate/pricing/
 *  - Public IPv4 addresses, NAT gateway: https://aws.amazon.com/vpc/pricing/
 *  - Kinesis Video Streams (data ingested, data stored): https://aws.amazon.com/kinesis/video-streams/pricing/
 *  - CloudWatch (alarms, dashboards, custom metrics, Logs): https://aws.amazon.com/cloudwatch/pricing/
 *  - KMS (customer-managed key per month): https://aws.amazon.com/kms/pricing/
 *  - Application Load Balancer (hour, LCU-hour): https://aws.amazon.com/elasticloadbalancing/pricing/
 *  - CodeBuild (build minutes, Linux and Arm small): https://aws.amazon.com/codebuild/pricing/
 *  - ECR (storage): https://aws.amazon.com/ecr/pricing/
 */
export const PRICES_CHECKED_ON = '2026-11-24';

export interface RegionPrices {
  readonly region: string;
  readonly location: string;
  /** Per instance-hour, by instance type; types not listed cannot be estimated. */
  readonly ec2PerHour: Readonly<Record<string, number>>;
  readonly ebsGp3PerGbMonth: number;
  readonly fargatePerVcpuHour: Readonly<Record<CpuArchitecture, number>>;
  readonly fargatePerGbHour: Readonly<Record<CpuArchitecture, number>>;
  /** Every public IPv4 address, attached or not. */
  readonly publicIpv4PerHour: number;
  readonly kvsIngestedPerGb: number;
  readonly kvsStoredPerGbMonth: number;
  /** A standard-resolution alarm on one metric. */
  readonly alarmPerMonth: number;
  readonly dashboardPerMonth: number;
  readonly customMetricPerMonth: number;
  readonly logsIngestedPerGb: number;
  readonly logsStoredPerGbMonth: number;
  readonly kmsKeyPerMonth: number;
  readonly natGatewayPerHour: number;
  readonly natGatewayPerGb: number;
  readonly loadBalancerPerHour: number;
  readonly loadBalancerLcuPerHour: number;
  /** A build minute of CodeBuild's small compute type: general1.small (x86_64) and arm1.small (arm64). */
  readonly codeBuildSmallPerMinute: Readonly<Record<CpuArchitecture, number>>;
  readonly ecrStoragePerGbMonth: number;
  /** Figures written from memory of the AWS pages or assumed, not read on them on PRICES_CHECKED_ON. */
  readonly unconfirmed: readonly PriceName[];
  /** Set when the table has no figures for this region and these are another region's. */
  readonly approximatedFrom?: string;
}

export type PriceName = Exclude<
  keyof RegionPrices,
  'region' | 'location' | 'unconfirmed' | 'approximatedFrom'
>;

/**
 * The regions Kinesis Video Streams serves (its developer guide's "Region availability", read on
 * PRICES_CHECKED_ON), with the location names the AWS price pages use.
 */
export const KVS_REGIONS: Readonly<Record<string, string>> = {
  'us-east-1': 'US East (N. Virginia)',
  'us-east-2': 'US East (Ohio)',
  'us-west-2': 'US West (Oregon)',
  'us-gov-east-1': 'AWS GovCloud (US-East)',
  'us-gov-west-1': 'AWS GovCloud (US-West)',
  'af-south-1': 'Africa (Cape Town)',
  'ap-east-1': 'Asia Pacific (Hong Kong)',
  'ap-south-1': 'Asia Pacific (Mumbai)',
  'ap-northeast-1': 'Asia Pacific (Tokyo)',
  'ap-northeast-2': 'Asia Pacific (Seoul)',
  'ap-southeast-1': 'Asia Pacific (Singapore)',
  'ap-southeast-2': 'Asia Pacific (Sydney)',
  'ap-southeast-3': 'Asia Pacific (Jakarta)',
  'ap-southeast-5': 'Asia Pacific (Malaysia)',
  'ca-central-1': 'Canada (Central)',
  'cn-north-1': 'China (Beijing)',
  'eu-central-1': 'Europe (Frankfurt)',
  'eu-west-1': 'Europe (Ireland)',
  'eu-west-2': 'Europe (London)',
  'eu-west-3': 'Europe (Paris)',
  'eu-south-2': 'Europe (Spain)',
  'me-south-1': 'Middle East (Bahrain)',
  'sa-east-1': 'South America (Sao Paulo)',
};

/** The table's region whose figures stand in for a region it has no figures for. */
const APPROXIMATION_REGION = 'us-east-1';

const EVERY_PRICE: readonly PriceName[] = [
  'ec2PerHour',
  'ebsGp3PerGbMonth',
  'fargatePerVcpuHour',
  'fargatePerGbHour',
  'publicIpv4PerHour',
  'kvsIngestedPerGb',
  'kvsStoredPerGbMonth',
  'alarmPerMonth',
  'dashboardPerMonth',
  'customMetricPerMonth',
  'logsIngestedPerGb',
  'logsStoredPerGbMonth',
  'kmsKeyPerMonth',
  'natGatewayPerHour',
  'natGatewayPerGb',
  'loadBalancerPerHour',
  'loadBalancerLcuPerHour',
  'codeBuildSmallPerMinute',
  'ecrStoragePerGbMonth',
];

/** Prices with the same figure in every region of the table. */
const UNIFORM = {
  // VPC pricing page: $0.005 per public IPv4 address-hour, the same in every commercial region.
  publicIpv4PerHour: 0.005,
  kmsKeyPerMonth: 1.0,
  dashboardPerMonth: 3.0,
  alarmPerMonth: 0.1,
  customMetricPerMonth: 0.3, // first 10,000 metrics
  // From memory of the CodeBuild and ECR pages, the us-east-1 figures, assumed alike elsewhere.
  codeBuildSmallPerMinute: { x86_64: 0.005, arm64: 0.0034 },
  ecrStoragePerGbMonth: 0.1,
} as const;

/** Outside us-east-1 only the public IPv4 price was confirmed; every other regional figure is from memory. */
const REGIONAL_FIGURES_FROM_MEMORY: readonly PriceName[] = EVERY_PRICE.filter(
  (price) => price !== 'publicIpv4PerHour',
);

export const PRICE_TABLE: readonly RegionPrices[] = [
  {
    region: 'us-east-1',
    location: 'US East (N. Virginia)',
    ...UNIFORM,
    ec2PerHour: { 't4g.small': 0.0168, 't4g.medium': 0.0336, 't3.small': 0.0208, 't3.medium': 0.0416 },
    ebsGp3PerGbMonth: 0.08,
    // Fargate pricing page (figures as quoted from it by vantage.sh's Fargate pricing guide).
    fargatePerVcpuHour: { x86_64: 0.04048, arm64: 0.03238 },
    fargatePerGbHour: { x86_64: 0.004445, arm64: 0.00356 },
    // KVS pricing page, worked example: "$0.0085 per GB ingested", stored data at $0.023 per GB-month.
    kvsIngestedPerGb: 0.0085,
    kvsStoredPerGbMonth: 0.023,
    logsIngestedPerGb: 0.5, // CloudWatch pricing page, standard log class
    logsStoredPerGbMonth: 0.03,
    natGatewayPerHour: 0.045, // VPC pricing page
    natGatewayPerGb: 0.045,
    loadBalancerPerHour: 0.0225,
    loadBalancerLcuPerHour: 0.008,
    unconfirmed: [
      'ec2PerHour',
      'ebsGp3PerGbMonth',
      'logsStoredPerGbMonth',
      'loadBalancerPerHour',
      'loadBalancerLcuPerHour',
      'kmsKeyPerMonth',
      'alarmPerMonth',
      'codeBuildSmallPerMinute',
      'ecrStoragePerGbMonth',
    ],
  },
  {
    region: 'eu-west-1',
    location: 'Europe (Ireland)',
    ...UNIFORM,
    ec2PerHour: { 't4g.small': 0.0184, 't4g.medium': 0.0368, 't3.small': 0.0228, 't3.medium': 0.0456 },
    ebsGp3PerGbMonth: 0.088,
    fargatePerVcpuHour: { x86_64: 0.04048, arm64: 0.03238 },
    fargatePerGbHour: { x86_64: 0.004445, arm64: 0.00356 },
    // Assumed equal to us-east-1: the regional KVS figures were not readable here.
    kvsIngestedPerGb: 0.0085,
    kvsStoredPerGbMonth: 0.023,
    logsIngestedPerGb: 0.57,
    logsStoredPerGbMonth: 0.03,
    natGatewayPerHour: 0.048,
    natGatewayPerGb: 0.048,
    loadBalancerPerHour: 0.0252,
    loadBalancerLcuPerHour: 0.008,
    unconfirmed: REGIONAL_FIGURES_FROM_MEMORY,
  },
  {
    region: 'eu-central-1',
    location: 'Europe (Frankfurt)',
    ...UNIFORM,
    ec2PerHour: { 't4g.small': 0.0192, 't4g.medium': 0.0384, 't3.small': 0.024, 't3.medium': 0.048 },
    ebsGp3PerGbMonth: 0.0952,
    fargatePerVcpuHour: { x86_64: 0.04656, arm64: 0.03725 },
    fargatePerGbHour: { x86_64: 0.00511, arm64: 0.00409 },
    // Assumed equal to us-east-1: the regional KVS figures were not readable here.
    kvsIngestedPerGb: 0.0085,
    kvsStoredPerGbMonth: 0.023,
    logsIngestedPerGb: 0.63,
    logsStoredPerGbMonth: 0.0324,
    natGatewayPerHour: 0.052,
    natGatewayPerGb: 0.052,
    loadBalancerPerHour: 0.027,
    loadBalancerLcuPerHour: 0.008,
    unconfirmed: REGIONAL_FIGURES_FROM_MEMORY,
  },
  {
    region: 'ap-southeast-2',
    location: 'Asia Pacific (Sydney)',
    ...UNIFORM,
    ec2PerHour: { 't4g.small': 0.0212, 't4g.medium': 0.0424, 't3.small': 0.0264, 't3.medium': 0.0528 },
    ebsGp3PerGbMonth: 0.096,
    fargatePerVcpuHour: { x86_64: 0.04856, arm64: 0.03885 },
    fargatePerGbHour: { x86_64: 0.00532, arm64: 0.00426 },
    // Assumed equal to us-east-1: the regional KVS figures were not readable here.
    kvsIngestedPerGb: 0.0085,
    kvsStoredPerGbMonth: 0.023,
    logsIngestedPerGb: 0.57,
    logsStoredPerGbMonth: 0.033,
    natGatewayPerHour: 0.059,
    natGatewayPerGb: 0.059,
    loadBalancerPerHour: 0.0252,
    loadBalancerLcuPerHour: 0.008,
    unconfirmed: REGIONAL_FIGURES_FROM_MEMORY,
  },
];

/** A config or a region the estimate cannot price; the message says what to change. */
export class CostEstimateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CostEstimateError';
  }
}

/**
 * The table's prices for a region KVS serves. For a region the table has no figures for, those of
 * us-east-1, flagged as approximate (every figure unconfirmed): the Price List API gives the real ones.
 */
export function pricesForRegion(region: string): RegionPrices {
  const prices = PRICE_TABLE.find((entry) => entry.region === region);
  if (prices) return prices;
  const location = KVS_REGIONS[region];
  if (!location) {
    throw new CostEstimateError(
      `Kinesis Video Streams is not offered in region "${region}": choose one of ${Object.keys(KVS_REGIONS).join(', ')}`,
    );
  }
  const stand = PRICE_TABLE.find((entry) => entry.region === APPROXIMATION_REGION)!;
  return { ...stand, region, location, unconfirmed: EVERY_PRICE, approximatedFrom: APPROXIMATION_REGION };
}
