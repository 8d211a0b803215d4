import * as fs from 'node:fs';
import { GetProductsCommand, type GetProductsCommandInput } from '@aws-sdk/client-pricing';
import { runCostCommand } from '../../lib/cli/cost-command';
import { CostEstimateError } from '../../lib/cost-estimate';
import { configWith, sampleConfigJson } from '../support/gateway-app';
import { CliSandbox } from './cli-harness';

// The sample config's cameras with the lobby in a shard of its own: two instances, or two tasks.
const twoShards = () =>
  configWith({
    cameras: sampleConfigJson.cameras.map((camera: { name: string }) =>
      camera.name === 'lobby' ? { ...camera, shard: 2 } : camera,
    ),
  });

function run(options: Partial<Parameters<typeof runCostCommand>[0]> = {}): string {
  let printed = '';
  runCostCommand({ config: twoShards(), region: 'us-east-1', json: false, ...options }, (text) => {
    printed += text;
  });
  return printed;
}

/** The row of a printed table that starts with `label`, split into its cells. */
function row(printed: string, label: string, from = 0): string[] {
  const found = printed
    .slice(from)
    .split('\n')
    .find((l) => l.startsWith(`${label}  `));
  if (!found) throw new Error(`no row "${label}" in:\n${printed}`);
  return found.split(/\s{2,}/);
}

// The sample config: front-door 4000 kbit/s kept 72 h, loading-dock 2000 kbit/s 24 h, lobby 2000 kbit/s
// (default) 168 h; here in 2 shards: 2 t4g.small instances, or 2 tasks of 0.5 vCPU / 1 GB arm64; public subnets.
// Figures worked out by hand from the us-east-1 prices (see test/cost-estimate.test.ts).
const GB = 2 ** 30;
const kvsIngestedUsd = (kbps: number) => ((kbps * 125 * 3600 * 730) / GB) * 0.0085;
const kvsStoredUsd = (kbps: number, hours: number) => ((kbps * 125 * 3600 * hours) / GB) * 0.023;
const kvsUsd =
  kvsIngestedUsd(8000) + kvsStoredUsd(4000, 72) + kvsStoredUsd(2000, 24) + kvsStoredUsd(2000, 168); // 27.28
// 3 cameras × 0.05 GB + 0.1 GB of flow logs, kept 30 days, and the dashboard and the three KMS keys
const monitoringUsd = 0.25 * 0.5 + 0.25 * (30 / (730 / 24)) * 0.03 + 3 + 3; // 6.13
const ec2Total =
  2 * 0.0168 * 730 + // 2 instances
  2 * 16 * 0.08 + // their root volumes
  2 * 730 * 0.005 + // a public IPv4 address each
  kvsUsd +
  (3 * 3 + 2) * 0.1 + // 3 alarm metrics per camera + 1 alarm per shard
  monitoringUsd; // 68.90
const fargateTotal =
  2 * 0.5 * 730 * 0.03238 + // 2 tasks × 0.5 vCPU
  2 * 1 * 730 * 0.00356 + // 2 tasks × 1 GB
  2 * 20 * 0.3 + // Container Insights metrics (assumed 20 per service)
  2 * 730 * 0.005 + // a public IPv4 address per task
  kvsUsd +
  (3 * 3 + 2) * 0.1 +
  monitoringUsd; // 82.65

describe('kvs-gateway cost on the sample config', () => {
  const printed = run();
  const fargateAt = printed.indexOf('Fargate gateway');

  test('prints the EC2 estimate, then the Fargate one, each with its total in the title', () => {
    expect(printed).toMatch(
      new RegExp(
        `^EC2 gateway \\(t4g\\.small, arm64\\), 3 camera\\(s\\) in 2 shard\\(s\\), one instance each, us-east-1: \\$${ec2Total.toFixed(2)} per month\n`,
      ),
    );
    expect(printed).toContain(
      `Fargate gateway (0.5 vCPU, 1 GB, arm64), 3 camera(s) in 2 shard(s), one task each, us-east-1: $${fargateTotal.toFixed(2)} per month`,
    );
    expect(fargateAt).toBeGreaterThan(0);
  });

  test('the EC2 table: one line per charge with how it was computed', () => {
    expect(row(printed, 'EC2 instances')).toEqual([
      'EC2 instances',
      '2 (one per shard) × t4g.small × 730 h × $0.0168/h',
      (2 * 0.0168 * 730).toFixed(2), // 24.53
    ]);
    expect(row(printed, 'Public IPv4 addresses')).toEqual([
      'Public IPv4 addresses',
      '2 × 730 h × $0.005/h',
      '7.30',
    ]);
    // 8000 kbit/s in all: 10^6 B/s × 3600 × 730 = 2447.5 GB
    expect(row(printed, 'KVS data ingested')).toEqual([
      'KVS data ingested',
      '2447.5 GB × $0.0085/GB',
      kvsIngestedUsd(8000).toFixed(2), // 20.80
    ]);
    expect(row(printed, 'CloudWatch alarms')).toEqual([
      'CloudWatch alarms',
      '(3 cameras × 3 + 2 shard(s)) alarm metrics × $0.10',
      '1.10',
    ]);
    expect(row(printed, 'Total')[1]).toBe(ec2Total.toFixed(2));
  });

  test('the per-camera table: each camera with its own KVS figures', () => {
    expect(row(printed, 'Camera')).toEqual([
      'Camera',
      'Bitrate',
      'Retention',
      'KVS ingest',
      'KVS storage',
      'Alarms',
      'Shared',
      'USD/month',
    ]);
    const frontDoor = row(printed, 'front-door');
    expect(frontDoor.slice(0, 6)).toEqual([
      'front-door',
      '4000 kbit/s',
      '72 h',
      kvsIngestedUsd(4000).toFixed(2), // 10.40
      kvsStoredUsd(4000, 72).toFixed(2), // 2.78
      '0.30',
    ]);
    const lobby = row(printed, 'lobby');
    expect(lobby.slice(0, 5)).toEqual([
      'lobby',
      '2000 kbit/s',
      '168 h',
      '5.20',
      kvsStoredUsd(2000, 168).toFixed(2),
    ]);
    // Shared part on EC2: everything but KVS and the cameras' alarms, split 3 ways.
    const shared =
      (ec2Total -
        kvsIngestedUsd(8000) -
        kvsStoredUsd(4000, 72) -
        kvsStoredUsd(2000, 24) -
        kvsStoredUsd(2000, 168) -
        0.9) /
      3;
    expect(frontDoor[6]).toBe(shared.toFixed(2)); // 13.58
  });

  test('the comparison with 3 NAT gateways and an ALB', () => {
    expect(row(printed, 'NAT gateways')).toEqual(['NAT gateways', '3 × 730 h × $0.045/h', '98.55']);
    expect(row(printed, 'NAT data processing')[2]).toBe((((2 * 1e6 * 3600 * 730) / GB) * 0.045).toFixed(2)); // 220.28
    const natTotal =
      ec2Total +
      3 * 730 * 0.045 + // NAT gateway hours
      ((2 * 1e6 * 3600 * 730) / GB) * 0.045 + // the video through NAT twice
      3 * 730 * 0.005 + // their Elastic IPs
      730 * (0.0225 + 0.008) - // the ALB with one LCU
      2 * 730 * 0.005; // no public address for the instances
    expect(row(printed, 'Total with 3 NAT gateways + an ALB')[1]).toBe(natTotal.toFixed(2)); // 413.64
  });

  test('Fargate: two tasks, a public address each', () => {
    expect(row(printed, 'Fargate vCPU (arm64)', fargateAt)[2]).toBe((2 * 0.5 * 730 * 0.03238).toFixed(2)); // 23.64
    expect(row(printed, 'Public IPv4 addresses', fargateAt)[2]).toBe('7.30');
  });

  test('says which prices and usage are assumptions', () => {
    expect(printed).toContain('from the built-in table (lib/prices.ts, checked 2026-11-24)');
    expect(printed).toMatch(
      /Not confirmed on the AWS pricing pages for us-east-1 \(check before relying on them\): .*ec2PerHour/,
    );
    expect(printed).toContain('20 Container Insights metrics per Fargate service');
  });
});

test('--compute fargate prints only the Fargate estimate', () => {
  const printed = run({ compute: 'fargate' });
  expect(printed).toMatch(/^Fargate gateway/);
  expect(printed).not.toContain('EC2 gateway');
});

test('--json prints both estimates as data', () => {
  const parsed = JSON.parse(run({ json: true }));
  expect(parsed.region).toBe('us-east-1');
  expect(parsed.pricesCheckedOn).toBe('2026-11-24');
  expect(parsed.estimates.map((e: { compute: string }) => e.compute)).toEqual(['ec2', 'fargate']);
  expect(parsed.estimates[0].estimate.total).toBeCloseTo(ec2Total, 6);
  expect(parsed.estimates[1].estimate.total).toBeCloseTo(fargateTotal, 6);
  expect(parsed.estimates[0].estimate.perCamera).toHaveLength(3);
  expect(parsed.estimates[1].natDesign.natGateways).toBe(3);
});

test('1,000 cameras: both gateways priced with an instance or task per shard, cameras alike in one row', () => {
  const cameras = Array.from({ length: 1000 }, (_, i) => ({
    name: `camera-${String(i + 1).padStart(4, '0')}`,
    bitrateKbps: i < 800 ? 2000 : 4000,
    retentionHours: 24,
    shard: Math.floor(i / 8) + 1,
  }));
  const printed = run({
    config: configWith({ cameras, fargate: { cpu: 2048, memoryMiB: 4096, camerasPerTask: 9 } }),
  });
  expect(printed).toMatch(
    /^EC2 gateway \(t4g\.small, arm64\), 1000 camera\(s\) in 125 shard\(s\), one instance each/,
  );
  expect(printed).toContain(
    'Fargate gateway (2 vCPU, 4 GB, arm64), 1000 camera(s) in 125 shard(s), one task each',
  );
  expect(row(printed, 'EC2 instances')[1]).toBe('125 (one per shard) × t4g.small × 730 h × $0.0168/h');
  expect(row(printed, '800 cameras like camera-0001').slice(0, 3)).toEqual([
    '800 cameras like camera-0001',
    '2000 kbit/s',
    '24 h',
  ]);
  expect(row(printed, '200 cameras like camera-0801')[1]).toBe('4000 kbit/s');
  expect(printed.split('\n').length).toBeLessThan(100);
});

test('a config that does not fit a gateway prints the other and says why', () => {
  const printed = run({
    config: configWith({
      cameras: sampleConfigJson.cameras,
      fargate: { ...sampleConfigJson.fargate, camerasPerTask: 2 },
    }),
  });
  expect(printed).toContain(
    'Fargate gateway (0.5 vCPU, 1 GB, arm64): not estimated: cameras: shard 1 holds 3 cameras (cameras[0], cameras[1] and cameras[2]) but one Fargate task runs at most fargate.camerasPerTask = 2',
  );
  expect(printed).toMatch(/^EC2 gateway \(t4g\.small, arm64\), 3 camera\(s\) in 1 shard\(s\)/);
});

test('an instance type without a price still prints the Fargate estimate and says why EC2 is missing', () => {
  const printed = run({ config: configWith({ ec2: { instanceType: 'c7g.large', architecture: 'arm64' } }) });
  expect(printed).toContain('EC2 gateway (c7g.large, arm64): not estimated: ec2.instanceType "c7g.large"');
  expect(printed).toContain('Fargate gateway');
  expect(() =>
    run({
      config: configWith({ ec2: { instanceType: 'c7g.large', architecture: 'arm64' } }),
      compute: 'ec2',
    }),
  ).toThrow(CostEstimateError);
});

test('a region KVS does not serve is an error naming the regions it does', () => {
  expect(() => run({ region: 'us-west-1' })).toThrow(CostEstimateError);
  expect(() => run({ region: 'us-west-1' })).toThrow(
    /not offered in region "us-west-1": choose one of us-east-1/,
  );
});

test('a KVS region without built-in figures says they are us-east-1 figures', () => {
  expect(run({ region: 'ap-south-1', compute: 'ec2' })).toContain(
    'from the built-in table (lib/prices.ts, checked 2026-11-24; us-east-1 figures, as it has none for ap-south-1)',
  );
});

test('another region prints its own figures and flags them as unconfirmed', () => {
  const printed = run({ region: 'eu-central-1', compute: 'ec2' });
  expect(row(printed, 'EC2 instances')[1]).toBe('2 (one per shard) × t4g.small × 730 h × $0.0192/h');
  expect(printed).toMatch(/Not confirmed on the AWS pricing pages for eu-central-1 .*kvsIngestedPerGb/);
});

describe('kvs-gateway cost, through the real command line', () => {
  let sandbox: CliSandbox;
  beforeEach(() => {
    sandbox = new CliSandbox(sampleConfigJson);
  });
  afterEach(() => sandbox.dispose());

  test('prints both estimates for the region of --region, with no AWS call', async () => {
    const result = await sandbox.run(['cost', '--region', 'us-east-1']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain(
      'EC2 gateway (t4g.small, arm64), 3 camera(s) in 1 shard(s), one instance each, us-east-1:',
    );
    expect(result.stdout).toContain('Fargate gateway');
  });

  test('--compute chooses one, --json prints JSON', async () => {
    const result = await sandbox.run(['cost', '--region', 'us-east-1', '--compute', 'fargate', '--json']);
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(result.stdout).estimates.map((e: { compute: string }) => e.compute)).toEqual([
      'fargate',
    ]);
  });

  test('a wrong --compute, a missing region and a region without KVS are clear errors', async () => {
    expect((await sandbox.run(['cost', '--region', 'us-east-1', '--compute', 'arm'])).stderr).toContain(
      '--compute "arm": use "ec2" or "fargate"',
    );
    const noRegion = await sandbox.run(['cost']);
    expect(noRegion.exitCode).toBe(1);
    expect(noRegion.stderr).toContain('no AWS region: pass --region <region>');
    const noKvs = await sandbox.run(['cost', '--region', 'us-west-1']);
    expect(noKvs.exitCode).toBe(1);
    expect(noKvs.stderr).toContain('Kinesis Video Streams is not offered in region "us-west-1"');
  });

  test('the region comes from the profile, like every AWS tool', async () => {
    fs.writeFileSync(process.env.AWS_CONFIG_FILE!, '[profile site1]\nregion = eu-central-1\n');
    const result = await sandbox.run(['cost', '--profile', 'site1', '--compute', 'ec2']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain(
      'EC2 gateway (t4g.small, arm64), 3 camera(s) in 1 shard(s), one instance each, eu-central-1:',
    );
  });

  test('with credentials, figures the Price List API has come from it and the rest from the table', async () => {
    const product = (usd: string) =>
      JSON.stringify({
        product: { sku: 'SKU1', attributes: { instanceType: 't4g.small', regionCode: 'us-east-1' } },
        terms: {
          OnDemand: {
            'SKU1.JRTCKXETXF': {
              priceDimensions: {
                'SKU1.JRTCKXETXF.6YS6EN2CT7': { unit: 'Hrs', beginRange: '0', pricePerUnit: { USD: usd } },
              },
            },
          },
        },
      });
    sandbox.pricing.on(GetProductsCommand).callsFake((input: GetProductsCommandInput) => ({
      PriceList: input.Filters?.some((f) => f.Field === 'instanceType' && f.Value === 't4g.small')
        ? [product('0.0200000000')]
        : [],
    }));

    const result = await sandbox.run(['cost', '--region', 'us-east-1', '--compute', 'ec2']);

    expect(result.exitCode).toBe(0);
    expect(row(result.stdout, 'EC2 instances')[1]).toBe('1 (one per shard) × t4g.small × 730 h × $0.02/h');
    expect(result.stdout).toContain('from the AWS Price List API (ec2PerHour) and the built-in table');
    const asked = sandbox.pricing
      .commandCalls(GetProductsCommand)
      .map((call) => call.args[0].input.ServiceCode);
    expect(asked).toEqual(
      expect.arrayContaining(['AmazonEC2', 'AmazonECS', 'AmazonKinesisVideo', 'AmazonCloudWatch']),
    );
  });

  test('--offline asks nothing; without credentials the table is used and the reason said', async () => {
    const offline = await sandbox.run(['cost', '--region', 'us-east-1', '--offline']);
    expect(offline.stdout).toContain('not the AWS Price List API: --offline');
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
    const anonymous = await sandbox.run(['cost', '--region', 'us-east-1']);
    expect(anonymous.exitCode).toBe(0);
    expect(anonymous.stdout).toContain('not the AWS Price List API: no AWS credentials (profile "default")');
    expect(sandbox.pricing.calls()).toHaveLength(0);
  });
});

test('with a recording schedule: the hours a week per camera, and what the schedule saves', () => {
  const shop = { timeZone: 'Europe/Berlin', windows: [{ days: 'mon-fri', from: '07:00', to: '19:00' }] };
  const printed = run({ config: configWith({ schedule: shop }), compute: 'ec2' });
  // The sample config around the clock costs $51.61 (docs/operations-and-cost.md); 60 of 168 hours of video.
  expect(printed).toContain(
    'Recording schedules save $17.54 a month: KVS ingests and keeps video of 3 camera(s) only in their windows (around the clock: $51.61).',
  );
  expect(printed).toMatch(/us-east-1: \$34\.07 per month/);
  expect(row(printed, 'front-door')).toEqual([
    'front-door',
    '4000 kbit/s',
    '72 h',
    '60 h/week',
    '3.71',
    '0.99',
    '0.30',
    '7.81',
    '12.82',
  ]);
  expect(run({ compute: 'ec2' })).not.toContain('Recording schedules');
});
