import { CameraConfig, GatewayConfig, NetworkConfig } from './config';
import { compileSchedule, recordedHoursPerWeek } from './recording-schedule';
import { CostEstimateError, PriceName, RegionPrices } from './prices';
import { ec2GatewayProblems, fargateGatewayProblems } from './shards';

export { CostEstimateError };

/**
 * What the gateway costs per month at on-demand list prices, from the config alone: compute, its
 * public IPv4 addresses, KVS ingestion and storage per camera, and the monitoring that comes with it.
 * Pure functions: the prices and the usage that no config states are passed in.
 */

export type GatewayCompute = 'ec2' | 'fargate';

/** What a config cannot say, with the figures the estimate assumes. */
export interface UsageAssumptions {
  /** AWS bills a month as 730 hours. */
  readonly hoursPerMonth: number;
  /** Log lines of one camera's pipeline: a few per hour when healthy, one per restart when not. */
  readonly logGbPerCameraMonth: number;
  /** VPC flow logs of the new VPC (NetworkStack), aggregated over 10 minutes. */
  readonly flowLogsGbPerMonth: number;
  /** Container Insights metrics (custom metrics) per ECS service, for the running-task alarm. */
  readonly containerInsightsMetricsPerService: number;
  /** Load balancer capacity units the naive design's ALB uses (its minimum bill is one). */
  readonly loadBalancerCapacityUnits: number;
}

export const DEFAULT_USAGE: UsageAssumptions = {
  hoursPerMonth: 730,
  logGbPerCameraMonth: 0.05,
  flowLogsGbPerMonth: 0.1,
  containerInsightsMetricsPerService: 20,
  loadBalancerCapacityUnits: 1,
};

/** KVS (like AWS billing in general) counts a GB as 2^30 bytes. */
const BYTES_PER_GB = 1024 ** 3;
/**
 * What the alarms of one camera read, as CloudWatch bills them (per metric an alarm reads): "no frames"
 * reads one metric, "upload failing" two (connection errors and fragment latency, metric math).
 */
export const ALARM_METRICS_PER_CAMERA = 3;
/** The stream key (StreamStack), the log key and the alarm topic key (the compute stack). */
const CUSTOMER_MANAGED_KEYS = 3;
/** Each shard's instance or task has one alarm (instance status check, running tasks). */
const ALARMS_PER_SHARD = 1;

export interface CostLine {
  readonly item: string;
  /** How the figure was computed, in words a reader can check. */
  readonly detail: string;
  readonly monthlyUsd: number;
}

export interface CameraCost {
  readonly camera: string;
  readonly bitrateKbps: number;
  readonly retentionHours: number;
  /** Hours a week its recording schedule records: 168 around the clock. */
  readonly recordedHoursPerWeek: number;
  readonly ingestedGb: number;
  readonly storedGb: number;
  readonly kvsIngestionUsd: number;
  readonly kvsStorageUsd: number;
  readonly alarmsUsd: number;
  /** An equal share of everything not tied to one camera (compute, addresses, dashboard, logs, keys). */
  readonly sharedUsd: number;
  readonly totalUsd: number;
}

/** What the recording schedules save: KVS ingestion and storage of the scheduled cameras. */
export interface ScheduleSaving {
  readonly scheduledCameras: number;
  readonly monthlyUsd: number;
  /** The estimate's total if every camera recorded around the clock. */
  readonly totalAroundTheClock: number;
}

export interface MonthlyCostEstimate {
  readonly compute: GatewayCompute;
  readonly region: string;
  readonly location: string;
  readonly lines: readonly CostLine[];
  readonly perCamera: readonly CameraCost[];
  readonly total: number;
  /** Absent when no camera has a recording schedule. */
  readonly scheduleSaving?: ScheduleSaving;
  /** The price figures used that were not confirmed on the AWS pricing pages. */
  readonly unconfirmedPrices: readonly PriceName[];
}

const HOURS_PER_WEEK = 168;

/** Hours a week a camera records: its schedule's (wall-clock) hours, or all 168. */
export function cameraRecordedHoursPerWeek(camera: Pick<CameraConfig, 'schedule'>): number {
  return camera.schedule ? recordedHoursPerWeek(compileSchedule(camera.schedule)) : HOURS_PER_WEEK;
}

/** Gigabytes a camera sends per month at its average bitrate, around the clock. */
export function ingestedGbPerMonth(bitrateKbps: number, usage: UsageAssumptions = DEFAULT_USAGE): number {
  return (((bitrateKbps * 1000) / 8) * 3600 * usage.hoursPerMonth) / BYTES_PER_GB;
}

/** Gigabytes KVS holds for a camera once its retention period has filled. */
export function storedGb(bitrateKbps: number, retentionHours: number): number {
  return (((bitrateKbps * 1000) / 8) * 3600 * retentionHours) / BYTES_PER_GB;
}

/** Same rule as NetworkStack.assignPublicIp: who needs a public IPv4 address to reach cameras and KVS. */
export function gatewayHasPublicIpv4(network: NetworkConfig): boolean {
  return network.mode === 'new' || network.subnetsArePublic;
}

/** The shards of the config: each runs on one EC2 instance or one Fargate task. */
export function shardCount(config: Pick<GatewayConfig, 'cameras'>): number {
  return new Set(config.cameras.map((camera) => camera.shard)).size;
}

export function estimateMonthlyCost(
  config: GatewayConfig,
  prices: RegionPrices,
  compute: GatewayCompute,
  usage: UsageAssumptions = DEFAULT_USAGE,
): MonthlyCostEstimate {
  const used = new Set<PriceName>();
  const price = <K extends PriceName>(name: K): RegionPrices[K] => {
    used.add(name);
    return prices[name];
  };
  const hours = usage.hoursPerMonth;
  const lines: CostLine[] = [];
  const add = (item: string, detail: string, monthlyUsd: number) => lines.push({ item, detail, monthlyUsd });
  const problems = compute === 'ec2' ? ec2GatewayProblems(config) : fargateGatewayProblems(config);
  if (problems.length > 0) throw new CostEstimateError(problems.join('\n'));
  const shards = shardCount(config);

  if (compute === 'ec2') {
    const { instanceType, rootVolumeGiB } = config.ec2;
    const hourly = price('ec2PerHour')[instanceType];
    if (hourly === undefined) {
      throw new CostEstimateError(
        `ec2.instanceType "${instanceType}": lib/prices.ts has no ${prices.region} price for it (it has ${Object.keys(prices.ec2PerHour).join(', ')}); add it there`,
      );
    }
    add(
      'EC2 instances',
      `${shards} (one per shard) × ${instanceType} × ${hours} h × ${dollars(hourly)}/h`,
      shards * hourly * hours,
    );
    const gp3 = price('ebsGp3PerGbMonth');
    add(
      'EBS gp3 root volumes',
      `${shards} × ${rootVolumeGiB} GB × ${dollars(gp3)}/GB-month`,
      shards * rootVolumeGiB * gp3,
    );
  } else {
    const tasks = shards;
    const { cpu, memoryMiB, architecture } = config.fargate;
    const vcpuHour = price('fargatePerVcpuHour')[architecture];
    const gbHour = price('fargatePerGbHour')[architecture];
    add(
      `Fargate vCPU (${architecture})`,
      `${tasks} task(s) × ${cpu / 1024} vCPU × ${hours} h × ${dollars(vcpuHour)}/vCPU-h`,
      tasks * (cpu / 1024) * hours * vcpuHour,
    );
    add(
      `Fargate memory (${architecture})`,
      `${tasks} task(s) × ${memoryMiB / 1024} GB × ${hours} h × ${dollars(gbHour)}/GB-h`,
      tasks * (memoryMiB / 1024) * hours * gbHour,
    );
    const metric = price('customMetricPerMonth');
    add(
      'Container Insights metrics',
      `${tasks} service(s) × ${usage.containerInsightsMetricsPerService} metrics (assumed) × ${dollars(metric)}`,
      tasks * usage.containerInsightsMetricsPerService * metric,
    );
  }

  if (gatewayHasPublicIpv4(config.network)) {
    const ipv4 = price('publicIpv4PerHour');
    // One per instance or task: one per shard.
    add('Public IPv4 addresses', `${shards} × ${hours} h × ${dollars(ipv4)}/h`, shards * hours * ipv4);
  }

  const ingestPrice = price('kvsIngestedPerGb');
  const storePrice = price('kvsStoredPerGbMonth');
  const alarmPrice = price('alarmPerMonth');
  const cameras = config.cameras.map((camera) => {
    // A schedule's share of the week: KVS ingests only then, and keeps on average that share of the
    // retention period's hours (the time average of what a rolling retention window holds).
    const recordedHours = cameraRecordedHoursPerWeek(camera);
    const share = recordedHours / HOURS_PER_WEEK;
    const ingested = ingestedGbPerMonth(camera.bitrateKbps, usage) * share;
    const stored = storedGb(camera.bitrateKbps, camera.retentionHours) * share;
    const aroundTheClockUsd = (ingested * ingestPrice + stored * storePrice) / share;
    return {
      camera,
      recordedHours,
      ingested,
      stored,
      kvsIngestionUsd: ingested * ingestPrice,
      kvsStorageUsd: stored * storePrice,
      alarmsUsd: ALARM_METRICS_PER_CAMERA * alarmPrice,
      savedUsd: aroundTheClockUsd - (ingested * ingestPrice + stored * storePrice),
    };
  });
  const scheduled = cameras.filter((c) => c.recordedHours < HOURS_PER_WEEK);
  const scheduleNote =
    scheduled.length > 0
      ? ` (${scheduled.length} camera(s) on a recording schedule: ${[...new Set(scheduled.map((c) => round(c.recordedHours, 1)))].join(', ')} of ${HOURS_PER_WEEK} h a week)`
      : '';
  const totalIngested = sum(cameras.map((c) => c.ingested));
  const totalStored = sum(cameras.map((c) => c.stored));
  add(
    'KVS data ingested',
    `${round(totalIngested, 1)} GB × ${dollars(ingestPrice)}/GB${scheduleNote}`,
    totalIngested * ingestPrice,
  );
  add(
    'KVS data stored',
    `${round(totalStored, 1)} GB-month × ${dollars(storePrice)}/GB-month (once retention has filled)`,
    totalStored * storePrice,
  );

  const alarms = ALARM_METRICS_PER_CAMERA * config.cameras.length + ALARMS_PER_SHARD * shards;
  add(
    'CloudWatch alarms',
    `(${config.cameras.length} cameras × ${ALARM_METRICS_PER_CAMERA} + ${shards} shard(s)) alarm metrics × ${dollars(alarmPrice)}`,
    alarms * alarmPrice,
  );
  const dashboard = price('dashboardPerMonth');
  add('CloudWatch dashboard', `1 × ${dollars(dashboard)}`, dashboard);
  const logGb =
    usage.logGbPerCameraMonth * config.cameras.length +
    (config.network.mode === 'new' ? usage.flowLogsGbPerMonth : 0);
  const logStoredGb = logGb * (config.monitoring.logRetentionDays / (hours / 24));
  const logIngestPrice = price('logsIngestedPerGb');
  const logStorePrice = price('logsStoredPerGbMonth');
  add(
    'CloudWatch Logs',
    `${round(logGb, 2)} GB ingested (assumed) × ${dollars(logIngestPrice)} + ${round(logStoredGb, 2)} GB kept ${config.monitoring.logRetentionDays} days × ${dollars(logStorePrice)}`,
    logGb * logIngestPrice + logStoredGb * logStorePrice,
  );
  const keyPrice = price('kmsKeyPerMonth');
  add(
    'KMS keys',
    `${CUSTOMER_MANAGED_KEYS} × ${dollars(keyPrice)} (stream key, log key, alarm topic key)`,
    CUSTOMER_MANAGED_KEYS * keyPrice,
  );

  const total = sum(lines.map((line) => line.monthlyUsd));
  const cameraSpecific = sum(cameras.map((c) => c.kvsIngestionUsd + c.kvsStorageUsd + c.alarmsUsd));
  const sharedUsd = (total - cameraSpecific) / config.cameras.length;
  return {
    compute,
    region: prices.region,
    location: prices.location,
    lines,
    ...(scheduled.length > 0
      ? {
          scheduleSaving: {
            scheduledCameras: scheduled.length,
            monthlyUsd: sum(scheduled.map((c) => c.savedUsd)),
            totalAroundTheClock: total + sum(scheduled.map((c) => c.savedUsd)),
          },
        }
      : {}),
    perCamera: cameras.map((c) => ({
      camera: c.camera.name,
      bitrateKbps: c.camera.bitrateKbps,
      retentionHours: c.camera.retentionHours,
      recordedHoursPerWeek: c.recordedHours,
      ingestedGb: c.ingested,
      storedGb: c.stored,
      kvsIngestionUsd: c.kvsIngestionUsd,
      kvsStorageUsd: c.kvsStorageUsd,
      alarmsUsd: c.alarmsUsd,
      sharedUsd,
      totalUsd: c.kvsIngestionUsd + c.kvsStorageUsd + c.alarmsUsd + sharedUsd,
    })),
    total,
    unconfirmedPrices: prices.unconfirmed.filter((name) => used.has(name)),
  };
}

export interface NatGatewayDesign {
  readonly natGateways: number;
  readonly loadBalancer: boolean;
}

export interface NatGatewayComparison extends NatGatewayDesign {
  /** What the NAT design adds to (or, negative, saves from) this design's estimate. */
  readonly lines: readonly CostLine[];
  readonly total: number;
  readonly thisDesignTotal: number;
  readonly unconfirmedPrices: readonly PriceName[];
}

/**
 * The same gateway in private subnets behind NAT gateways, as many templates build it. The video then
 * crosses a NAT gateway twice, camera to gateway and gateway to KVS, and NAT gateways charge for every
 * GB they process in either direction; each NAT gateway also holds a public IPv4 address.
 */
export function compareWithNatGatewayDesign(
  config: GatewayConfig,
  prices: RegionPrices,
  estimate: MonthlyCostEstimate,
  design: NatGatewayDesign = { natGateways: 3, loadBalancer: true },
  usage: UsageAssumptions = DEFAULT_USAGE,
): NatGatewayComparison {
  const hours = usage.hoursPerMonth;
  const lines: CostLine[] = [];
  const add = (item: string, detail: string, monthlyUsd: number) => lines.push({ item, detail, monthlyUsd });
  const videoGb = sum(
    config.cameras.map(
      (camera) =>
        (ingestedGbPerMonth(camera.bitrateKbps, usage) * cameraRecordedHoursPerWeek(camera)) / HOURS_PER_WEEK,
    ),
  );
  add(
    'NAT gateways',
    `${design.natGateways} × ${hours} h × ${dollars(prices.natGatewayPerHour)}/h`,
    design.natGateways * hours * prices.natGatewayPerHour,
  );
  add(
    'NAT data processing',
    `2 × ${round(videoGb, 1)} GB of video (camera → gateway → KVS) × ${dollars(prices.natGatewayPerGb)}/GB`,
    2 * videoGb * prices.natGatewayPerGb,
  );
  add(
    'NAT gateway public IPv4 addresses',
    `${design.natGateways} × ${hours} h × ${dollars(prices.publicIpv4PerHour)}/h`,
    design.natGateways * hours * prices.publicIpv4PerHour,
  );
  const used: PriceName[] = ['natGatewayPerHour', 'natGatewayPerGb', 'publicIpv4PerHour'];
  if (design.loadBalancer) {
    const lcus = usage.loadBalancerCapacityUnits;
    add(
      'Application Load Balancer',
      `${hours} h × (${dollars(prices.loadBalancerPerHour)} + ${lcus} LCU × ${dollars(prices.loadBalancerLcuPerHour)})/h`,
      hours * (prices.loadBalancerPerHour + lcus * prices.loadBalancerLcuPerHour),
    );
    used.push('loadBalancerPerHour', 'loadBalancerLcuPerHour');
  }
  const gatewayAddresses = estimate.lines.find((line) => line.item === 'Public IPv4 addresses');
  if (gatewayAddresses) {
    add('Gateway public IPv4 addresses', 'not needed in private subnets', -gatewayAddresses.monthlyUsd);
  }
  return {
    ...design,
    lines,
    total: estimate.total + sum(lines.map((line) => line.monthlyUsd)),
    thisDesignTotal: estimate.total,
    unconfirmedPrices: prices.unconfirmed.filter((name) => used.includes(name)),
  };
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

/** A price as the pricing pages write it: `$0.10`, `$3.00`, `$0.0168`. */
function dollars(value: number): string {
  const decimals = String(value).split('.')[1]?.length ?? 0;
  return `$${value.toFixed(Math.max(2, decimals))}`;
}

function round(value: number, digits: number): number {
  return Math.round(value * 10 ** digits) / 10 ** digits;
}
