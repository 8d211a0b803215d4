import { GatewayConfig } from '../config';
import {
  CameraCost,
  compareWithNatGatewayDesign,
  CostEstimateError,
  CostLine,
  DEFAULT_USAGE,
  estimateMonthlyCost,
  GatewayCompute,
  MonthlyCostEstimate,
  NatGatewayComparison,
  shardCount,
} from '../cost-estimate';
import { PRICES_CHECKED_ON, pricesForRegion } from '../prices';
import { priceSourceSentence, type PricedRegion } from './price-list';

export interface CostCommandOptions {
  readonly config: GatewayConfig;
  readonly region: string;
  /** One compute stack; both when absent, so that the choice can be made on the figures. */
  readonly compute?: GatewayCompute;
  readonly json: boolean;
  /** Prices read from the Price List API; the built-in table's for `region` when absent. */
  readonly priced?: PricedRegion;
}

/** `kvs-gateway cost`: prints the monthly estimate of each compute choice and the NAT-gateway comparison. */
export function runCostCommand(options: CostCommandOptions, output: (text: string) => void): void {
  const priced = options.priced ?? { prices: pricesForRegion(options.region), fromPriceList: [] };
  const prices = priced.prices;
  const computes: GatewayCompute[] = options.compute ? [options.compute] : ['ec2', 'fargate'];
  const results = computes.map((compute) => {
    try {
      const estimate = estimateMonthlyCost(options.config, prices, compute);
      return { compute, estimate, natDesign: compareWithNatGatewayDesign(options.config, prices, estimate) };
    } catch (error) {
      // Without --compute, an instance type missing from the price table must not hide the Fargate figures.
      if (!(error instanceof CostEstimateError) || options.compute) throw error;
      return { compute, problem: error.message };
    }
  });
  if (results.every((result) => 'problem' in result)) {
    throw new CostEstimateError(
      results.map((result) => ('problem' in result ? result.problem : '')).join('\n'),
    );
  }

  if (options.json) {
    output(
      `${JSON.stringify({ region: prices.region, pricesCheckedOn: PRICES_CHECKED_ON, fromPriceList: priced.fromPriceList, priceSource: priceSourceSentence(priced), assumptions: DEFAULT_USAGE, estimates: results }, null, 2)}\n`,
    );
    return;
  }
  const sections = results.map((result) =>
    'problem' in result
      ? `${computeTitle(result.compute, options.config)}: not estimated: ${result.problem}`
      : formatEstimate(result.estimate, result.natDesign, options.config),
  );
  const unconfirmed = new Set(
    results.flatMap((result) =>
      'problem' in result
        ? []
        : [...result.estimate.unconfirmedPrices, ...result.natDesign.unconfirmedPrices],
    ),
  );
  const notes = [
    priceSourceSentence(priced),
    'Taxes, support, data transfer out of AWS and free tiers not counted.',
    ...(unconfirmed.size > 0
      ? [
          `Not confirmed on the AWS pricing pages for ${prices.region} (check before relying on them): ${[...unconfirmed].join(', ')}.`,
        ]
      : []),
    `Assumed: ${DEFAULT_USAGE.hoursPerMonth} h per month; ${DEFAULT_USAGE.logGbPerCameraMonth} GB of gateway logs per camera and month; ` +
      (computes.includes('fargate')
        ? `${DEFAULT_USAGE.containerInsightsMetricsPerService} Container Insights metrics per Fargate service; `
        : '') +
      "KVS storage once each camera's retention has filled.",
  ];
  output(`${[...sections, notes.join('\n')].join('\n\n')}\n`);
}

function computeTitle(compute: GatewayCompute, config: GatewayConfig): string {
  if (compute === 'ec2') return `EC2 gateway (${config.ec2.instanceType}, ${config.ec2.architecture})`;
  const { cpu, memoryMiB, architecture } = config.fargate;
  return `Fargate gateway (${cpu / 1024} vCPU, ${memoryMiB / 1024} GB, ${architecture})`;
}

/** Beyond this many cameras, cameras that cost the same share one row. */
const MAX_CAMERA_ROWS = 20;

function formatEstimate(
  estimate: MonthlyCostEstimate,
  natDesign: NatGatewayComparison,
  config: GatewayConfig,
): string {
  const shards = shardCount(config);
  const runsOn = estimate.compute === 'ec2' ? 'instance' : 'task';
  const title = `${computeTitle(estimate.compute, config)}, ${config.cameras.length} camera(s) in ${shards} shard(s), one ${runsOn} each, ${estimate.region}: $${usd(estimate.total)} per month`;
  const costTable = table(
    ['Item', 'How', 'USD/month'],
    [...estimate.lines.map(costRow), ['Total', '', usd(estimate.total)]],
  );
  const scheduled = estimate.scheduleSaving !== undefined;
  const cameraTable = table(
    [
      'Camera',
      'Bitrate',
      'Retention',
      ...(scheduled ? ['Records'] : []),
      'KVS ingest',
      'KVS storage',
      'Alarms',
      'Shared',
      'USD/month',
    ],
    cameraRows(estimate.perCamera).map(({ label, camera }) => [
      label,
      `${camera.bitrateKbps} kbit/s`,
      `${camera.retentionHours} h`,
      ...(scheduled ? [`${round1(camera.recordedHoursPerWeek)} h/week`] : []),
      usd(camera.kvsIngestionUsd),
      usd(camera.kvsStorageUsd),
      usd(camera.alarmsUsd),
      usd(camera.sharedUsd),
      usd(camera.totalUsd),
    ]),
  );
  const natTable = table(
    ['Instead: private subnets behind NAT gateways', 'How', 'USD/month'],
    [
      ['This design', '', usd(natDesign.thisDesignTotal)],
      ...natDesign.lines.map(costRow),
      [
        `Total with ${natDesign.natGateways} NAT gateways${natDesign.loadBalancer ? ' + an ALB' : ''}`,
        '',
        usd(natDesign.total),
      ],
    ],
  );
  const saving = estimate.scheduleSaving;
  return [
    title,
    costTable,
    ...(saving
      ? [
          `Recording schedules save $${usd(saving.monthlyUsd)} a month: KVS ingests and keeps video of ${saving.scheduledCameras} camera(s) only in their windows (around the clock: $${usd(saving.totalAroundTheClock)}).`,
        ]
      : []),
    `Per camera${estimate.perCamera.length > MAX_CAMERA_ROWS ? ', cameras alike in one row' : ''} (shared: an equal part of compute, addresses, dashboard, logs, keys):`,
    cameraTable,
    natTable,
  ].join('\n\n');
}

/**
 * One row per camera; for a fleet, one row per bitrate and retention ("812 cameras like camera-0001"),
 * each figure still per camera, so that the table stays readable at 1,000 cameras.
 */
function cameraRows(cameras: readonly CameraCost[]): { label: string; camera: CameraCost }[] {
  if (cameras.length <= MAX_CAMERA_ROWS) return cameras.map((camera) => ({ label: camera.camera, camera }));
  const groups = new Map<string, CameraCost[]>();
  for (const camera of cameras) {
    const key = `${camera.bitrateKbps}/${camera.retentionHours}/${camera.recordedHoursPerWeek}`;
    groups.set(key, [...(groups.get(key) ?? []), camera]);
  }
  return [...groups.values()].map((group) => ({
    label: group.length === 1 ? group[0].camera : `${group.length} cameras like ${group[0].camera}`,
    camera: group[0],
  }));
}

function costRow(line: CostLine): string[] {
  return [line.item, line.detail, usd(line.monthlyUsd)];
}

function usd(value: number): string {
  return value.toFixed(2);
}

/** Left-aligned text columns, right-aligned figures (a column whose cells all end in a digit). */
function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i].length)));
  const numeric = header.map((_, i) => rows.every((row) => row[i] === '' || /\d$/.test(row[i])));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (numeric[i] ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n');
}

function round1(value: number): string {
  return String(Math.round(value * 10) / 10);
}
