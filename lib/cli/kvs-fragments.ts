import { APIName, GetDataEndpointCommand } from '@aws-sdk/client-kinesis-video';
import {
  FragmentSelectorType,
  ListFragmentsCommand,
  type Fragment,
} from '@aws-sdk/client-kinesis-video-archived-media';
import type { CameraConfig } from '../config';
import type { AwsClients } from './aws-clients';
import { RateLimit } from './bounded-calls';
import { awsCall, CliError } from './aws-errors';
import { describeSeconds, localTime } from './time-input';

/**
 * What a camera's KVS stream holds, from ListFragments: the fragments in a time range, the ranges
 * that have video, and the nearest ones when a range has none. Fragments come back from KVS in no
 * order; everything here sorts them.
 */

export interface VideoFragment {
  readonly number: string;
  /** When the gateway took it (the producer's clock): what a person means by "at 10:05". */
  readonly producer: Date;
  /** When it reached KVS. */
  readonly server: Date;
  readonly lengthMs: number;
  readonly bytes: number;
}

export interface VideoRange {
  readonly start: Date;
  readonly end: Date;
  readonly fragments: number;
  readonly bytes: number;
}

export type TimestampKind = 'producer' | 'server';

/**
 * KVS's data endpoints, asked once per stream and API and kept (KVS's quota page: caching them is safe),
 * GetDataEndpoint started at most `RATE` times a second: the account's quota is 300 TPS, shared with
 * every kvssink (each asks every 45 minutes).
 */
export class DataEndpoints {
  static readonly RATE = 100;
  private readonly endpoints = new Map<string, Promise<string>>();

  constructor(
    private readonly clients: Pick<AwsClients, 'kinesisVideo' | 'region'>,
    private readonly rate = new RateLimit(DataEndpoints.RATE),
  ) {}

  get(camera: CameraConfig, api: APIName): Promise<string> {
    const key = `${camera.streamName}\n${api}`;
    let endpoint = this.endpoints.get(key);
    if (!endpoint) {
      endpoint = this.ask(camera, api);
      this.endpoints.set(key, endpoint);
      // A failure is not kept: the next refresh asks again.
      endpoint.catch(() => this.endpoints.delete(key));
    }
    return endpoint;
  }

  private async ask(camera: CameraConfig, api: APIName): Promise<string> {
    await this.rate.take();
    const answer = await awsCall(
      {
        action: 'kinesisvideo:GetDataEndpoint',
        resource: `stream ${camera.streamName}`,
        region: this.clients.region,
      },
      () =>
        this.clients.kinesisVideo.send(
          new GetDataEndpointCommand({ StreamName: camera.streamName, APIName: api }),
        ),
      { ResourceNotFoundException: streamMissing(camera, this.clients.region) },
    );
    if (!answer.DataEndpoint)
      throw new CliError(`GetDataEndpoint returned no endpoint for stream "${camera.streamName}"`);
    return answer.DataEndpoint;
  }
}

export function streamMissing(camera: CameraConfig, region: string): string {
  return `stream "${camera.streamName}" (camera "${camera.name}") does not exist in ${region}: deploy the gateway first ("npx cdk deploy"), or check --region`;
}

/** ListFragments pages: at most 1,000 fragments each. */
const PAGE = 1000;

/** Every fragment whose producer (or server) timestamp is in [start, end], oldest first. */
export async function listFragments(
  clients: Pick<AwsClients, 'archivedMedia' | 'region'>,
  endpoints: DataEndpoints,
  camera: CameraConfig,
  range: { start: Date; end: Date; by: TimestampKind },
): Promise<VideoFragment[]> {
  const endpoint = await endpoints.get(camera, APIName.LIST_FRAGMENTS);
  const client = clients.archivedMedia(endpoint);
  const fragments: VideoFragment[] = [];
  let nextToken: string | undefined;
  do {
    const page = await awsCall(
      {
        action: 'kinesisvideo:ListFragments',
        resource: `stream ${camera.streamName}`,
        region: clients.region,
      },
      () =>
        client.send(
          new ListFragmentsCommand({
            StreamName: camera.streamName,
            MaxResults: PAGE,
            ...(nextToken
              ? { NextToken: nextToken }
              : {
                  FragmentSelector: {
                    FragmentSelectorType:
                      range.by === 'producer'
                        ? FragmentSelectorType.PRODUCER_TIMESTAMP
                        : FragmentSelectorType.SERVER_TIMESTAMP,
                    TimestampRange: { StartTimestamp: range.start, EndTimestamp: range.end },
                  },
                }),
          }),
        ),
      { ResourceNotFoundException: streamMissing(camera, clients.region) },
    );
    fragments.push(...(page.Fragments ?? []).flatMap(toVideoFragment));
    nextToken = page.NextToken;
  } while (nextToken);
  const key = (fragment: VideoFragment) => fragment[range.by].getTime();
  return fragments.sort((a, b) => key(a) - key(b));
}

function toVideoFragment(fragment: Fragment): VideoFragment[] {
  if (!fragment.FragmentNumber || !fragment.ProducerTimestamp || !fragment.ServerTimestamp) return [];
  return [
    {
      number: fragment.FragmentNumber,
      producer: fragment.ProducerTimestamp,
      server: fragment.ServerTimestamp,
      lengthMs: fragment.FragmentLengthInMilliseconds ?? 0,
      bytes: fragment.FragmentSizeInBytes ?? 0,
    },
  ];
}

/** A pause longer than this between fragments (camera down, gateway restarting) starts a new range. */
export const GAP_MS = 5000;

/** Fragments (oldest first, by producer time) merged into the ranges that have video. */
export function videoRanges(fragments: readonly VideoFragment[]): VideoRange[] {
  const ranges: { start: number; end: number; fragments: number; bytes: number }[] = [];
  for (const fragment of fragments) {
    const start = fragment.producer.getTime();
    const end = start + fragment.lengthMs;
    const last = ranges[ranges.length - 1];
    if (last && start - last.end <= GAP_MS) {
      last.end = Math.max(last.end, end);
      last.fragments += 1;
      last.bytes += fragment.bytes;
    } else {
      ranges.push({ start, end, fragments: 1, bytes: fragment.bytes });
    }
  }
  return ranges.map((r) => ({
    start: new Date(r.start),
    end: new Date(r.end),
    fragments: r.fragments,
    bytes: r.bytes,
  }));
}

/** `10:00:00 - 10:12:31 (12 min 31 s)` */
export function describeRange(range: VideoRange, now: Date, zone?: string): string {
  return `${localTime(range.start, now, zone)} - ${localTime(range.end, now, zone)} (${describeSeconds((range.end.getTime() - range.start.getTime()) / 1000)})`;
}

export interface NearestVideo {
  readonly before?: VideoRange;
  readonly after?: VideoRange;
  readonly lookedMs: number;
  /** The window looked in: a range that touches its edge may go on beyond it. */
  readonly window?: { readonly start: Date; readonly end: Date };
}

/** How far around an empty range to look for video, widening until some is found. */
const LOOK_AROUND_MS = [15 * 60_000, 2 * 3600_000, 12 * 3600_000];

/**
 * The nearest ranges with video before and after [from, to], which has none: looked for within 15
 * minutes, then 2 and 12 hours, and never before the stream's retention.
 */
export async function nearestVideo(
  clients: Pick<AwsClients, 'archivedMedia' | 'region'>,
  endpoints: DataEndpoints,
  camera: CameraConfig,
  from: Date,
  to: Date,
  now: Date,
): Promise<NearestVideo> {
  const oldest = now.getTime() - camera.retentionHours * 3600_000 + 60_000;
  let lookedMs = 0;
  for (const around of LOOK_AROUND_MS) {
    lookedMs = around;
    const start = new Date(Math.max(oldest, from.getTime() - around));
    const end = new Date(Math.min(now.getTime(), to.getTime() + around));
    if (end <= start) break;
    const ranges = videoRanges(
      await listFragments(clients, endpoints, camera, { start, end, by: 'producer' }),
    );
    const before = ranges.filter((range) => range.end.getTime() <= from.getTime()).pop();
    const after = ranges.find((range) => range.start.getTime() >= to.getTime());
    if (before || after)
      return { ...(before ? { before } : {}), ...(after ? { after } : {}), lookedMs, window: { start, end } };
  }
  return { lookedMs };
}

/** The sentence for a range without video, naming the nearest video (or saying there is none). */
export function noVideoSentence(
  camera: CameraConfig,
  from: { date: Date; shown: string },
  to: { date: Date; shown: string },
  nearest: NearestVideo,
  now: Date,
  zone?: string,
): string {
  const lines = [`camera "${camera.name}" has no video from ${from.shown} to ${to.shown}.`];
  // A range that reaches the edge of the window looked in goes on beyond it: only its near end is known.
  const edge = (time: Date, window?: Date) =>
    window !== undefined && Math.abs(time.getTime() - window.getTime()) <= GAP_MS;
  if (nearest.before) {
    const range = nearest.before;
    lines.push(
      `  nearest before: ${edge(range.start, nearest.window?.start) ? `video until ${localTime(range.end, now, zone)}` : describeRange(range, now, zone)}`,
    );
  }
  if (nearest.after) {
    const range = nearest.after;
    lines.push(
      `  nearest after:  ${edge(range.end, nearest.window?.end) ? `video from ${localTime(range.start, now, zone)}` : describeRange(range, now, zone)}`,
    );
  }
  if (!nearest.before && !nearest.after) {
    lines.push(
      `  none within ${describeSeconds(nearest.lookedMs / 1000)} either way (the stream keeps ${camera.retentionHours} h): see "kvs-gateway status" for why`,
    );
  }
  return lines.join('\n');
}
