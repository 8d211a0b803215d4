import {
  compareWithNatGatewayDesign,
  CostEstimateError,
  estimateMonthlyCost,
  MonthlyCostEstimate,
} from '../lib/cost-estimate';
import { KVS_REGIONS, PRICE_TABLE, pricesForRegion } from '../lib/prices';
import { configWith } from './support/gateway-app';

/**
 * The expected figures are worked out here by hand from the us-east-1 row of lib/prices.ts, whose
 * figures are written out as literals: a price update fails the first test, and the hand arithmetic
 * below must then be redone, not copied from the estimate.
 */
const usEast1 = pricesForRegion('us-east-1');
const GB = 2 ** 30; // bytes: KVS bills GB of 2^30 bytes
const HOURS = 730; // a billing month

function line(estimate: MonthlyCostEstimate, item: string): number {
  const found = estimate.lines.find((l) => l.item === item);
  if (!found) throw new Error(`no line "${item}" in ${estimate.lines.map((l) => l.item).join(', ')}`);
  return found.monthlyUsd;
}

test('the hand-computed figures below use the us-east-1 prices of the table', () => {
  expect(usEast1).toMatchObject({
    ec2PerHour: { 't3.small': 0.0208 },
    ebsGp3PerGbMonth: 0.08,
    fargatePerVcpuHour: { x86_64: 0.04048 },
    fargatePerGbHour: { x86_64: 0.004445 },
    publicIpv4PerHour: 0.005,
    kvsIngestedPerGb: 0.0085,
    kvsStoredPerGbMonth: 0.023,
    alarmPerMonth: 0.1,
    dashboardPerMonth: 3,
    customMetricPerMonth: 0.3,
    logsIngestedPerGb: 0.5,
    logsStoredPerGbMonth: 0.03,
    kmsKeyPerMonth: 1,
    natGatewayPerHour: 0.045,
    natGatewayPerGb: 0.045,
    loadBalancerPerHour: 0.0225,
    loadBalancerLcuPerHour: 0.008,
  });
});

describe('an EC2 gateway: 2 cameras in one shard on a t3.small in public subnets', () => {
  const config = configWith({
    cameras: [
      { name: 'gate', bitrateKbps: 2000, retentionHours: 24 },
      { name: 'yard', bitrateKbps: 1000, retentionHours: 0 },
    ],
    ec2: { instanceType: 't3.small', architecture: 'x86_64', rootVolumeGiB: 20 },
    network: { mode: 'new' },
    monitoring: { logRetentionDays: 30 },
  });
  const estimate = estimateMonthlyCost(config, usEast1, 'ec2');

  // gate: 2000 kbit/s = 250,000 B/s; yard: 125,000 B/s.
  const gateIngestedGb = (250_000 * 3600 * HOURS) / GB; // 611.88 GB a month
  const yardIngestedGb = (125_000 * 3600 * HOURS) / GB; // 305.94 GB
  const gateStoredGb = (250_000 * 3600 * 24) / GB; // 24 h kept: 20.12 GB
  const expected = {
    instance: 0.0208 * 730, // 15.18
    rootVolume: 20 * 0.08, // 1.60
    publicIpv4: 1 * 730 * 0.005, // 3.65: one address for the instance
    kvsIngested: (gateIngestedGb + yardIngestedGb) * 0.0085, // 7.80
    kvsStored: gateStoredGb * 0.023, // 0.46; yard keeps no video
    alarms: (3 * 2 + 1) * 0.1, // 3 alarm metrics per camera + the instance status check: 0.70
    dashboard: 3,
    // 0.05 GB per camera + 0.1 GB of flow logs, kept 30 of 730/24 days
    logs: 0.2 * 0.5 + 0.2 * (30 / (730 / 24)) * 0.03, // 0.106
    keys: 3 * 1, // the stream key, the log key and the alarm topic key
  };
  const total = Object.values(expected).reduce((a, b) => a + b, 0); // 35.50

  test('each line and the total', () => {
    expect(line(estimate, 'EC2 instances')).toBeCloseTo(expected.instance, 6);
    expect(line(estimate, 'EBS gp3 root volumes')).toBeCloseTo(expected.rootVolume, 6);
    expect(line(estimate, 'Public IPv4 addresses')).toBeCloseTo(expected.publicIpv4, 6);
    expect(line(estimate, 'KVS data ingested')).toBeCloseTo(expected.kvsIngested, 6);
    expect(line(estimate, 'KVS data stored')).toBeCloseTo(expected.kvsStored, 6);
    expect(line(estimate, 'CloudWatch alarms')).toBeCloseTo(expected.alarms, 6);
    expect(line(estimate, 'CloudWatch dashboard')).toBeCloseTo(expected.dashboard, 6);
    expect(line(estimate, 'CloudWatch Logs')).toBeCloseTo(expected.logs, 6);
    expect(line(estimate, 'KMS keys')).toBeCloseTo(expected.keys, 6);
    expect(estimate.lines).toHaveLength(9);
    expect(estimate.total).toBeCloseTo(total, 6);
    expect(estimate.total).toBeCloseTo(35.5, 2);
  });

  test('per camera: its own KVS and alarms, plus an equal share of the rest', () => {
    const cameraSpecific = expected.kvsIngested + expected.kvsStored + 2 * 3 * 0.1; // both cameras' KVS and 3 alarms each
    const shared = (total - cameraSpecific) / 2;
    const [gate, yard] = estimate.perCamera;
    expect(gate).toMatchObject({ camera: 'gate', bitrateKbps: 2000, retentionHours: 24 });
    expect(gate.ingestedGb).toBeCloseTo(611.88, 2);
    expect(gate.kvsIngestionUsd).toBeCloseTo(gateIngestedGb * 0.0085, 6);
    expect(gate.kvsStorageUsd).toBeCloseTo(gateStoredGb * 0.023, 6);
    expect(gate.alarmsUsd).toBeCloseTo(0.3, 6);
    expect(gate.sharedUsd).toBeCloseTo(shared, 6);
    expect(gate.totalUsd).toBeCloseTo(gateIngestedGb * 0.0085 + gateStoredGb * 0.023 + 0.3 + shared, 6);
    expect(yard.kvsStorageUsd).toBe(0);
    expect(yard.totalUsd).toBeCloseTo(yardIngestedGb * 0.0085 + 0.3 + shared, 6);
    expect(gate.totalUsd + yard.totalUsd).toBeCloseTo(estimate.total, 6);
  });

  test('versus 3 NAT gateways and an ALB, which the video crosses twice', () => {
    const nat = compareWithNatGatewayDesign(config, usEast1, estimate);
    const added =
      3 * 730 * 0.045 + // NAT gateway hours: 98.55
      2 * (gateIngestedGb + yardIngestedGb) * 0.045 + // camera → gateway and gateway → KVS: 82.60
      3 * 730 * 0.005 + // an Elastic IP per NAT gateway: 10.95
      730 * (0.0225 + 1 * 0.008) - // the ALB with one LCU: 22.27 (210.72 added in all)
      3.65; // the instance no longer needs its public address
    expect(nat.thisDesignTotal).toBeCloseTo(total, 6);
    expect(nat.total).toBeCloseTo(total + added, 6);
    expect(nat.total).toBeCloseTo(246.22, 2);
  });

  test('lists the price figures it used that were not confirmed on the AWS pages', () => {
    expect(estimate.unconfirmedPrices).toEqual(
      expect.arrayContaining(['ec2PerHour', 'ebsGp3PerGbMonth', 'alarmPerMonth']),
    );
    expect(estimate.unconfirmedPrices).not.toContain('fargatePerVcpuHour');
  });
});

describe("a Fargate gateway: 5 cameras in 3 shards, in an existing VPC's private subnets", () => {
  const config = configWith({
    cameras: ['a', 'b', 'c', 'd', 'e'].map((name, i) => ({
      name,
      bitrateKbps: 1500,
      retentionHours: 48,
      shard: [1, 1, 2, 2, 3][i],
    })),
    fargate: { cpu: 1024, memoryMiB: 2048, camerasPerTask: 2, architecture: 'x86_64' },
    network: {
      mode: 'existing',
      vpcId: 'vpc-0123456789abcdef0',
      availabilityZones: ['eu-west-1a'],
      subnetIds: ['subnet-0123456789abcdef0'],
    },
    monitoring: { logRetentionDays: 14 },
  });
  const estimate = estimateMonthlyCost(config, usEast1, 'fargate');

  // 5 cameras in shards of 2, 2 and 1: 3 tasks. 1500 kbit/s = 187,500 B/s per camera.
  const cameraIngestedGb = (187_500 * 3600 * HOURS) / GB; // 458.91 GB
  const cameraStoredGb = (187_500 * 3600 * 48) / GB; // 30.17 GB
  const expected = {
    vcpu: 3 * 1 * 730 * 0.04048, // 3 tasks × 1 vCPU: 88.65
    memory: 3 * 2 * 730 * 0.004445, // 3 tasks × 2 GB: 19.47
    containerInsights: 3 * 20 * 0.3, // 3 services × 20 metrics (assumed): 18.00
    kvsIngested: 5 * cameraIngestedGb * 0.0085, // 19.50
    kvsStored: 5 * cameraStoredGb * 0.023, // 3.47
    alarms: (3 * 5 + 3) * 0.1, // 3 alarm metrics per camera + 1 per shard's service: 1.80
    dashboard: 3,
    logs: 0.25 * 0.5 + 0.25 * (14 / (730 / 24)) * 0.03, // 5 × 0.05 GB, kept 14 days (no flow logs: the VPC is yours): 0.13
    keys: 3,
  };
  const total = Object.values(expected).reduce((a, b) => a + b, 0); // 157.02

  test('each line and the total; no public IPv4 address to pay for', () => {
    expect(line(estimate, 'Fargate vCPU (x86_64)')).toBeCloseTo(expected.vcpu, 6);
    expect(line(estimate, 'Fargate memory (x86_64)')).toBeCloseTo(expected.memory, 6);
    expect(line(estimate, 'Container Insights metrics')).toBeCloseTo(expected.containerInsights, 6);
    expect(line(estimate, 'KVS data ingested')).toBeCloseTo(expected.kvsIngested, 6);
    expect(line(estimate, 'KVS data stored')).toBeCloseTo(expected.kvsStored, 6);
    expect(line(estimate, 'CloudWatch alarms')).toBeCloseTo(expected.alarms, 6);
    expect(line(estimate, 'CloudWatch Logs')).toBeCloseTo(expected.logs, 6);
    expect(estimate.lines.map((l) => l.item)).not.toContain('Public IPv4 addresses');
    expect(estimate.lines).toHaveLength(9);
    expect(estimate.total).toBeCloseTo(total, 6);
    expect(estimate.total).toBeCloseTo(157.02, 2);
  });

  test('every camera costs the same here, and the parts add up to the total', () => {
    const shared = (total - 5 * (cameraIngestedGb * 0.0085 + cameraStoredGb * 0.023 + 0.3)) / 5;
    for (const camera of estimate.perCamera) {
      expect(camera.sharedUsd).toBeCloseTo(shared, 6);
      expect(camera.totalUsd).toBeCloseTo(total / 5, 6);
    }
  });

  test('arm64 tasks use the Graviton prices', () => {
    const arm = estimateMonthlyCost(
      configWith({ ...config, fargate: { ...config.fargate, architecture: 'arm64' } }),
      usEast1,
      'fargate',
    );
    expect(line(arm, 'Fargate vCPU (arm64)')).toBeCloseTo(3 * 1 * 730 * 0.03238, 6);
    expect(line(arm, 'Fargate memory (arm64)')).toBeCloseTo(3 * 2 * 730 * 0.00356, 6);
  });
});

describe('1,000 cameras, 8 per shard: 125 instances or 125 tasks', () => {
  const cameras = (perShard: number) =>
    Array.from({ length: 1000 }, (_, i) => ({
      name: `camera-${String(i + 1).padStart(4, '0')}`,
      bitrateKbps: 2000,
      retentionHours: 24,
      shard: Math.floor(i / perShard) + 1,
    }));
  const config = configWith({
    cameras: cameras(8),
    ec2: { instanceType: 't4g.small', camerasPerInstance: 10 },
    fargate: { cpu: 2048, memoryMiB: 4096, camerasPerTask: 9, architecture: 'arm64' },
  });
  const ec2 = estimateMonthlyCost(config, usEast1, 'ec2');
  const fargate = estimateMonthlyCost(config, usEast1, 'fargate');

  test('the EC2 gateway pays for one instance, root volume and address per shard', () => {
    expect(line(ec2, 'EC2 instances')).toBeCloseTo(125 * 0.0168 * 730, 6); // 1,533.00
    expect(line(ec2, 'EBS gp3 root volumes')).toBeCloseTo(125 * 16 * 0.08, 6); // 160.00
    expect(line(ec2, 'Public IPv4 addresses')).toBeCloseTo(125 * 730 * 0.005, 6); // 456.25
    expect(line(ec2, 'CloudWatch alarms')).toBeCloseTo((1000 * 3 + 125) * 0.1, 6); // 312.50
    expect(ec2.lines.find((l) => l.item === 'EC2 instances')?.detail).toBe(
      '125 (one per shard) × t4g.small × 730 h × $0.0168/h',
    );
    expect(ec2.perCamera).toHaveLength(1000);
  });

  test('the Fargate gateway pays for one task and address per shard', () => {
    expect(line(fargate, 'Fargate vCPU (arm64)')).toBeCloseTo(125 * 2 * 730 * 0.03238, 6); // 5,909.35
    expect(line(fargate, 'Fargate memory (arm64)')).toBeCloseTo(125 * 4 * 730 * 0.00356, 6); // 1,299.40
    expect(line(fargate, 'Public IPv4 addresses')).toBeCloseTo(125 * 730 * 0.005, 6);
    expect(line(fargate, 'Container Insights metrics')).toBeCloseTo(125 * 20 * 0.3, 6);
  });

  test('shards of 10 fit an instance but no Fargate task: Fargate is not estimated, and says why', () => {
    const tens = configWith({
      cameras: cameras(10),
      fargate: { cpu: 2048, memoryMiB: 4096, camerasPerTask: 9 },
    });
    expect(estimateMonthlyCost(tens, usEast1, 'ec2').lines[0].detail).toMatch(/^100 \(one per shard\)/);
    expect(() => estimateMonthlyCost(tens, usEast1, 'fargate')).toThrow(
      /^cameras: shard 1 holds 10 cameras \(cameras\[0\], .* and 4 more\) but one Fargate task runs at most fargate\.camerasPerTask = 9: give the last one listed another shard \("shard": 101 in cameras\[9\]\)\n/,
    );
    expect(() => estimateMonthlyCost(tens, usEast1, 'fargate')).toThrow(
      /\ncameras: 95 more shards \(6, 7, .*, 100\) hold more than fargate\.camerasPerTask = 9 cameras$/,
    );
  });
});

test('an instance type missing from the table is an error that names the field and the fix', () => {
  const config = configWith({ ec2: { instanceType: 'c7g.large', architecture: 'arm64' } });
  expect(() => estimateMonthlyCost(config, usEast1, 'ec2')).toThrow(CostEstimateError);
  expect(() => estimateMonthlyCost(config, usEast1, 'ec2')).toThrow(
    /ec2\.instanceType "c7g\.large": lib\/prices\.ts has no us-east-1 price for it .*add it there/,
  );
});

test('a KVS region the table has no figures for gets us-east-1 figures, every one flagged', () => {
  const prices = pricesForRegion('sa-east-1');
  expect(prices).toMatchObject({
    region: 'sa-east-1',
    location: 'South America (Sao Paulo)',
    approximatedFrom: 'us-east-1',
    ec2PerHour: usEast1.ec2PerHour,
  });
  expect(prices.unconfirmed).toContain('kvsIngestedPerGb');
  expect(prices.unconfirmed).toContain('ec2PerHour');
});

test('every region KVS serves can be estimated; a region it does not serve is an error listing them', () => {
  for (const region of Object.keys(KVS_REGIONS)) expect(pricesForRegion(region).region).toBe(region);
  expect(() => pricesForRegion('us-west-1')).toThrow(CostEstimateError);
  expect(() => pricesForRegion('us-west-1')).toThrow(
    /Kinesis Video Streams is not offered in region "us-west-1": choose one of us-east-1, us-east-2, us-west-2,/,
  );
});

test('every region of the table prices the default instance types and both Fargate architectures', () => {
  for (const prices of PRICE_TABLE) {
    for (const type of ['t4g.small', 't3.small']) expect(prices.ec2PerHour[type]).toBeGreaterThan(0);
    for (const arch of ['x86_64', 'arm64'] as const) {
      expect(prices.fargatePerVcpuHour[arch]).toBeGreaterThan(0);
      expect(prices.fargatePerGbHour[arch]).toBeGreaterThan(0);
    }
  }
});

describe('recording schedules: KVS ingests and keeps video only in the windows', () => {
  // The sample config's three cameras, weekdays 07:00-19:00 in Berlin: 60 of the week's 168 hours.
  const shop = { timeZone: 'Europe/Berlin', windows: [{ days: 'mon-fri', from: '07:00', to: '19:00' }] };
  const sample = configWith();
  const scheduled = configWith({ schedule: shop });
  const always = estimateMonthlyCost(sample, usEast1, 'ec2');
  const estimate = estimateMonthlyCost(scheduled, usEast1, 'ec2');
  const share = 60 / 168;

  test('ingestion and storage are the scheduled share of the week; nothing else changes', () => {
    // 4000 + 2000 + 2000 kbit/s = 1,000,000 B/s around the clock.
    const ingestedGb = (1_000_000 * 3600 * HOURS) / GB;
    // Kept on average: each camera's retention hours, of which the schedule's share holds video.
    const storedGb = ((500_000 * 72 + 250_000 * 24 + 250_000 * 168) * 3600) / GB;
    expect(line(always, 'KVS data ingested')).toBeCloseTo(ingestedGb * 0.0085, 6); // 20.80
    expect(line(estimate, 'KVS data ingested')).toBeCloseTo(ingestedGb * share * 0.0085, 6); // 7.43
    expect(line(estimate, 'KVS data stored')).toBeCloseTo(storedGb * share * 0.023, 6); // 2.31
    for (const item of ['EC2 instances', 'Public IPv4 addresses', 'CloudWatch alarms', 'KMS keys']) {
      expect([item, line(estimate, item)]).toEqual([item, line(always, item)]);
    }
    expect(estimate.lines.find((l) => l.item === 'KVS data ingested')?.detail).toContain(
      '3 camera(s) on a recording schedule: 60 of 168 h a week',
    );
    expect(estimate.perCamera.map((c) => c.recordedHoursPerWeek)).toEqual([60, 60, 60]);
  });

  test('the saving is the difference to around the clock', () => {
    const saved = (1 - share) * (line(always, 'KVS data ingested') + line(always, 'KVS data stored'));
    expect(estimate.scheduleSaving?.scheduledCameras).toBe(3);
    expect(estimate.scheduleSaving?.monthlyUsd).toBeCloseTo(saved, 6); // 17.54
    expect(estimate.scheduleSaving?.totalAroundTheClock).toBeCloseTo(always.total, 6); // 51.61
    expect(estimate.total).toBeCloseTo(always.total - saved, 6); // 34.07
    expect(always.scheduleSaving).toBeUndefined();
  });

  test('a camera that records "always" keeps its full cost', () => {
    const mixed = estimateMonthlyCost(
      configWith({
        schedule: shop,
        cameras: [
          { name: 'till', bitrateKbps: 2000 },
          { name: 'gate', bitrateKbps: 2000, schedule: 'always' },
        ],
      }),
      usEast1,
      'ec2',
    );
    const [till, gate] = mixed.perCamera;
    expect(till.kvsIngestionUsd).toBeCloseTo(gate.kvsIngestionUsd * share, 6);
    expect([till.recordedHoursPerWeek, gate.recordedHoursPerWeek]).toEqual([60, 168]);
    expect(mixed.scheduleSaving?.scheduledCameras).toBe(1);
  });
});
