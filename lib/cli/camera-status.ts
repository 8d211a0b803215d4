import { GetMetricDataCommand, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import type { CameraConfig, GatewayConfig } from '../config';
import type { AwsClients } from './aws-clients';
import { awsCall, CliError } from './aws-errors';
import { mapWithLimit } from './bounded-calls';
import {
  GATEWAY_STATES,
  GatewayReporter,
  REPORT_WINDOW_SECONDS,
  type GatewayReport,
  type GatewayReports,
  type ShardAlarm,
} from './gateway-reports';
import { DataEndpoints, listFragments, type VideoFragment } from './kvs-fragments';
import { describeSeconds, localTime } from './time-input';

/**
 * `kvs-gateway status`: every camera at a glance. Three sources, read at once:
 *   - KVS (ListFragments, the last 2 minutes by arrival): whether video arrives, the last fragment, the
 *     bitrate; for a camera with none, CloudWatch (PutMedia.IncomingFrames, 5-minute sums over a day:
 *     one GetMetricData call for up to 345 cameras) finds when video last came, and ListFragments there
 *     the exact fragment;
 *   - the gateway's own status line about the camera (gateway-reports.ts), for the reason;
 *   - the shard's alarm, for a camera the gateway said nothing about.
 * Calls are bounded: at most `CONCURRENCY` in flight, GetDataEndpoint rate-limited, endpoints kept
 * between refreshes (--watch), so 1,000 cameras stay within KVS's quotas.
 */

export const CONCURRENCY = 16;
/** How far back ListFragments looks for the latest fragment and the bitrate. */
export const RECENT_SECONDS = 120;
const LOOKBACK_SECONDS = 24 * 3600;
const LOOKBACK_PERIOD = 300;
/** 100,800 datapoints a GetMetricData call, 288 per camera over a day. */
const LOOKBACK_CAMERAS_PER_CALL = Math.floor(100_800 / (LOOKBACK_SECONDS / LOOKBACK_PERIOD));

export interface CameraStatus {
  readonly camera: string;
  readonly streamName: string;
  readonly shard: number;
  readonly streaming: boolean;
  /** `streaming`, the gateway's state (`login-refused`...), `no-video` when the gateway said nothing, `error`. */
  readonly state: string;
  readonly lastFragment?: { readonly producer: string; readonly server: string; readonly ageSeconds: number };
  /** Over the last 2 minutes of fragments. */
  readonly bitrateKbps?: number;
  /** Why it is not streaming, when it is not. */
  readonly reason?: string;
  readonly gateway?: GatewayReport;
  readonly shardAlarm?: ShardAlarm;
}

export interface StatusReport {
  readonly region: string;
  readonly checkedAt: string;
  readonly milliseconds: number;
  readonly gateway: {
    readonly stackName?: string;
    readonly logGroups: readonly string[];
    readonly unavailable?: string;
  };
  readonly cameras: readonly CameraStatus[];
}

/** What a refresh keeps for the next one (--watch): data endpoints, the gateway's stack and log group. */
export class StatusSource {
  readonly endpoints: DataEndpoints;
  readonly reporter: GatewayReporter;

  constructor(
    readonly clients: Pick<
      AwsClients,
      'kinesisVideo' | 'archivedMedia' | 'cloudWatch' | 'logs' | 'ssm' | 'region'
    >,
    readonly config: GatewayConfig,
  ) {
    this.endpoints = new DataEndpoints(clients);
    this.reporter = new GatewayReporter(clients, config);
  }
}

interface KvsFacts {
  readonly recent: readonly VideoFragment[];
  readonly last?: VideoFragment;
  /** True when the last fragment was looked for over the whole day (none came in the last 2 minutes). */
  readonly lookedBack: boolean;
  readonly error?: string;
}

export async function cameraStatus(
  source: StatusSource,
  cameras: readonly CameraConfig[],
  now: () => Date = () => new Date(),
): Promise<StatusReport> {
  const started = Date.now();
  const checkedAt = now();
  const [reports, facts] = await Promise.all([
    source.reporter.read(checkedAt).catch((error: unknown) => unavailableReports(error)),
    recentVideo(source, cameras, checkedAt),
  ]);
  const silentShards = [
    ...new Set(cameras.filter((camera) => !reports.reports.has(camera.name)).map((camera) => camera.shard)),
  ];
  const shardAlarms =
    reports.stackName && !reports.unavailable && silentShards.length > 0
      ? await source.reporter
          .shardAlarms(reports.stackName, silentShards)
          .catch(() => new Map<number, ShardAlarm>())
      : new Map<number, ShardAlarm>();
  const rows = cameras.map((camera, index) =>
    describeCamera(camera, facts[index], reports, shardAlarms.get(camera.shard), checkedAt),
  );
  return {
    region: source.clients.region,
    checkedAt: checkedAt.toISOString(),
    milliseconds: Date.now() - started,
    gateway: {
      ...(reports.stackName ? { stackName: reports.stackName } : {}),
      logGroups: reports.logGroups,
      ...(reports.unavailable ? { unavailable: reports.unavailable } : {}),
    },
    cameras: rows,
  };
}

function unavailableReports(error: unknown): GatewayReports {
  if (!(error instanceof CliError)) throw error;
  return {
    logGroups: [],
    reports: new Map(),
    unavailable: `the gateway's reports could not be read: ${error.message}`,
  };
}

async function recentVideo(
  source: StatusSource,
  cameras: readonly CameraConfig[],
  now: Date,
): Promise<KvsFacts[]> {
  const recentStart = new Date(now.getTime() - RECENT_SECONDS * 1000);
  const facts: KvsFacts[] = await mapWithLimit(cameras, CONCURRENCY, async (camera) => {
    try {
      const recent = await listFragments(source.clients, source.endpoints, camera, {
        start: recentStart,
        end: now,
        by: 'server',
      });
      return { recent, ...(recent.length > 0 ? { last: recent[recent.length - 1] } : {}), lookedBack: false };
    } catch (error) {
      if (!(error instanceof CliError)) throw error;
      return { recent: [], lookedBack: false, error: error.message };
    }
  });
  const silent = cameras.filter((_, index) => facts[index].recent.length === 0 && !facts[index].error);
  if (silent.length === 0) return facts;
  const lastMinutes = await lastVideoPeriods(source, silent, now).catch((error: unknown) => {
    if (!(error instanceof CliError)) throw error;
    return new Map<string, number>();
  });
  await mapWithLimit(cameras, CONCURRENCY, async (camera, index) => {
    if (facts[index].recent.length > 0 || facts[index].error) return;
    const period = lastMinutes.get(camera.streamName);
    let last: VideoFragment | undefined;
    if (period !== undefined) {
      const fragments = await listFragments(source.clients, source.endpoints, camera, {
        start: new Date(period * 1000),
        end: new Date(Math.min(now.getTime(), (period + LOOKBACK_PERIOD + 60) * 1000)),
        by: 'server',
      }).catch(() => []);
      last = fragments[fragments.length - 1];
    }
    facts[index] = { recent: [], ...(last ? { last } : {}), lookedBack: true };
  });
  return facts;
}

/** For each stream, the start (epoch seconds) of its latest 5-minute period with frames in the last day. */
async function lastVideoPeriods(
  source: StatusSource,
  cameras: readonly CameraConfig[],
  now: Date,
): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  for (let i = 0; i < cameras.length; i += LOOKBACK_CAMERAS_PER_CALL) {
    const batch = cameras.slice(i, i + LOOKBACK_CAMERAS_PER_CALL);
    const queries: MetricDataQuery[] = batch.map((camera, index) => ({
      Id: `s${index}`,
      MetricStat: {
        Metric: {
          Namespace: 'AWS/KinesisVideo',
          MetricName: 'PutMedia.IncomingFrames',
          Dimensions: [{ Name: 'StreamName', Value: camera.streamName }],
        },
        Period: LOOKBACK_PERIOD,
        Stat: 'Sum',
      },
    }));
    let nextToken: string | undefined;
    do {
      const answer = await awsCall(
        {
          action: 'cloudwatch:GetMetricData',
          resource: 'AWS/KinesisVideo metrics',
          region: source.clients.region,
        },
        () =>
          source.clients.cloudWatch.send(
            new GetMetricDataCommand({
              MetricDataQueries: queries,
              StartTime: new Date(now.getTime() - LOOKBACK_SECONDS * 1000),
              EndTime: now,
              ...(nextToken ? { NextToken: nextToken } : {}),
            }),
          ),
      );
      for (const result of answer.MetricDataResults ?? []) {
        const camera = batch[Number(result.Id?.slice(1))];
        const times = (result.Timestamps ?? []).filter((_, k) => (result.Values?.[k] ?? 0) > 0);
        const latest = Math.max(
          ...times.map((time) => time.getTime() / 1000),
          found.get(camera.streamName) ?? -Infinity,
        );
        if (Number.isFinite(latest)) found.set(camera.streamName, latest);
      }
      nextToken = answer.NextToken;
    } while (nextToken);
  }
  return found;
}

/** A fragment this recent means the camera is streaming (a GOP of up to 10 s, and the upload's latency). */
function streamingAgeSeconds(last: VideoFragment): number {
  return Math.max(20, (2 * last.lengthMs) / 1000 + 10);
}

function describeCamera(
  camera: CameraConfig,
  facts: KvsFacts,
  reports: GatewayReports,
  shardAlarm: ShardAlarm | undefined,
  now: Date,
): CameraStatus {
  const report = reports.reports.get(camera.name);
  const age = facts.last ? (now.getTime() - facts.last.server.getTime()) / 1000 : undefined;
  // The gateway knows first: a camera it says went down after the last fragment is not streaming, however recent.
  const saidDown =
    report !== undefined &&
    report.state !== 'streaming' &&
    (report.since?.getTime() ?? 0) >= (facts.last?.server.getTime() ?? 0);
  const streaming = facts.last !== undefined && age! <= streamingAgeSeconds(facts.last) && !saidDown;
  const bytes = facts.recent.reduce((sum, fragment) => sum + fragment.bytes, 0);
  const ms = facts.recent.reduce((sum, fragment) => sum + fragment.lengthMs, 0);
  const base = {
    camera: camera.name,
    streamName: camera.streamName,
    shard: camera.shard,
    streaming,
    ...(facts.last
      ? {
          lastFragment: {
            producer: facts.last.producer.toISOString(),
            server: facts.last.server.toISOString(),
            ageSeconds: Math.round(age!),
          },
        }
      : {}),
    ...(ms > 0 ? { bitrateKbps: Math.round((bytes * 8) / ms) } : {}),
    ...(report ? { gateway: report } : {}),
  };
  if (streaming) return { ...base, state: 'streaming' };
  const kvs = facts.error
    ? facts.error
    : facts.last
      ? `no video since ${localTime(facts.last.server, now)} (${describeSeconds(age!)} ago)`
      : `no video in the last ${facts.lookedBack ? `${LOOKBACK_SECONDS / 3600} h` : describeSeconds(RECENT_SECONDS)}`;
  // KVS's own answer says it all when the gateway says the same (the stream does not exist).
  const said =
    facts.error && report?.state === 'stream-missing'
      ? ''
      : `: ${gatewaySays(camera, report, reports, shardAlarm, now)}`;
  return {
    ...base,
    state: report && report.state !== 'streaming' ? report.state : facts.error ? 'error' : 'no-video',
    reason: `${kvs}${said}`,
    ...(shardAlarm && !report ? { shardAlarm } : {}),
  };
}

function gatewaySays(
  camera: CameraConfig,
  report: GatewayReport | undefined,
  reports: GatewayReports,
  shardAlarm: ShardAlarm | undefined,
  now: Date,
): string {
  if (report && report.state === 'streaming') {
    const when = report.reportedAt ? ` (at ${localTime(report.reportedAt, now)})` : '';
    return `the gateway said it was streaming${when}, yet no fragment reached KVS: look at its log for what KVS answers`;
  }
  if (report) {
    const since = report.since ? ` since ${localTime(report.since, now)}` : '';
    return `${GATEWAY_STATES[report.state] ?? report.state}${since}${report.reason ? `: ${report.reason}` : ''}`;
  }
  if (reports.unavailable) return reports.unavailable;
  const silence = `the gateway has said nothing about this camera for ${describeSeconds(REPORT_WINDOW_SECONDS)}`;
  if (shardAlarm && shardAlarm.state === 'ALARM') {
    const since = shardAlarm.since ? ` since ${localTime(shardAlarm.since, now)}` : '';
    return `${silence}, and shard ${camera.shard}'s alarm ${shardAlarm.name} is in ALARM${since}: ${shardAlarm.reason}`;
  }
  return `${silence}: is shard ${camera.shard} of ${reports.stackName ?? 'the gateway'} running, and the camera in the deployed config?`;
}
