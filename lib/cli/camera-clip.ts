import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { APIName } from '@aws-sdk/client-kinesis-video';
import { ClipFragmentSelectorType, GetClipCommand } from '@aws-sdk/client-kinesis-video-archived-media';
import type { CameraConfig } from '../config';
import type { AwsClients } from './aws-clients';
import { awsCall, CliError } from './aws-errors';
import { DataEndpoints, listFragments, type VideoFragment } from './kvs-fragments';

/**
 * `kvs-gateway clip`: an MP4 of a time range from KVS (GetClip). One GetClip returns at most 200
 * fragments or 100 MB from its start, so a longer range is fetched in parts, planned from ListFragments
 * (each part's fragments and their sizes are known before the first byte comes), and each part is
 * written as KVS made it: `<name>.mp4` when one part holds the range, else `<name>-part1.mp4`,
 * `<name>-part2.mp4`... with `<name>-parts.txt` listing them for a lossless join (ffmpeg's concat).
 * Why not one joined file: joining MP4 files means rewriting their sample tables, which only a muxer
 * does right (B-frames, audio, H.265); each part is KVS's own file, playable the moment it is written,
 * and a long download that fails keeps the parts it finished.
 */

/** GetClip's limits (KVS's documentation): the first 200 fragments or 100 MB from the start. */
export const MAX_CLIP_FRAGMENTS = 200;
export const MAX_CLIP_BYTES = 100 * 1024 * 1024;
/** The MP4 KVS makes is about the size of the fragments it holds; this leaves room for the difference. */
const PART_BYTES = Math.floor(MAX_CLIP_BYTES * 0.9);
/** GetClip remuxes up to 100 MB before the first byte comes. */
const CLIP_REQUEST_TIMEOUT_MS = 120_000;
/** A fragment that began up to this long before --from may hold --from's moment (fragments are GOPs, < 10 s). */
const FRAGMENT_REACH_MS = 11_000;

export interface ClipPart {
  readonly fragments: readonly VideoFragment[];
  readonly start: Date;
  /** The last fragment's start: GetClip's end is inclusive and compares fragment starts. */
  readonly lastStart: Date;
  readonly end: Date;
  readonly expectedBytes: number;
}

/** Splits the fragments (oldest first) into parts GetClip serves whole. */
export function planClipParts(fragments: readonly VideoFragment[]): ClipPart[] {
  const parts: VideoFragment[][] = [];
  let bytes = 0;
  for (const fragment of fragments) {
    const current = parts[parts.length - 1];
    if (!current || current.length >= MAX_CLIP_FRAGMENTS || bytes + fragment.bytes > PART_BYTES) {
      parts.push([fragment]);
      bytes = fragment.bytes;
    } else {
      current.push(fragment);
      bytes += fragment.bytes;
    }
  }
  return parts.map((part) => {
    const last = part[part.length - 1];
    return {
      fragments: part,
      start: part[0].producer,
      lastStart: last.producer,
      end: new Date(last.producer.getTime() + last.lengthMs),
      expectedBytes: part.reduce((sum, fragment) => sum + fragment.bytes, 0),
    };
  });
}

/** The fragments that hold any of [from, to]: the one running at --from included. */
export async function clipFragments(
  clients: Pick<AwsClients, 'archivedMedia' | 'region'>,
  endpoints: DataEndpoints,
  camera: CameraConfig,
  from: Date,
  to: Date,
): Promise<VideoFragment[]> {
  const fragments = await listFragments(clients, endpoints, camera, {
    start: new Date(from.getTime() - FRAGMENT_REACH_MS),
    end: to,
    by: 'producer',
  });
  return fragments.filter((fragment) => fragment.producer.getTime() + fragment.lengthMs > from.getTime());
}

/** The files a clip is written to: `base.mp4`, or `base-part<n>.mp4` for several parts. */
export function partFiles(out: string, parts: number): string[] {
  if (parts === 1) return [out];
  const base = out.replace(/\.mp4$/i, '');
  return Array.from({ length: parts }, (_, index) => `${base}-part${index + 1}.mp4`);
}

export interface ClipProgress {
  /** Bytes written so far, of about `expected`. */
  (written: number, expected: number, part: number, parts: number): void;
}

export interface WrittenPart {
  readonly file: string;
  readonly bytes: number;
  readonly start: string;
  readonly end: string;
  readonly fragments: number;
  readonly seconds: number;
}

/** Fetches each part with GetClip and writes it (through `<file>.partial`, renamed when whole). */
export async function downloadClip(
  clients: Pick<AwsClients, 'archivedMedia' | 'region'>,
  endpoints: DataEndpoints,
  camera: CameraConfig,
  parts: readonly ClipPart[],
  files: readonly string[],
  progress: ClipProgress,
): Promise<WrittenPart[]> {
  const expected = parts.reduce((sum, part) => sum + part.expectedBytes, 0);
  const endpoint = await endpoints.get(camera, APIName.GET_CLIP);
  const client = clients.archivedMedia(endpoint);
  const written: WrittenPart[] = [];
  let total = 0;
  for (const [index, part] of parts.entries()) {
    const started = Date.now();
    const answer = await awsCall(
      { action: 'kinesisvideo:GetClip', resource: `stream ${camera.streamName}`, region: clients.region },
      () =>
        client.send(
          new GetClipCommand({
            StreamName: camera.streamName,
            ClipFragmentSelector: {
              FragmentSelectorType: ClipFragmentSelectorType.PRODUCER_TIMESTAMP,
              TimestampRange: { StartTimestamp: part.start, EndTimestamp: part.lastStart },
            },
          }),
          { requestTimeout: CLIP_REQUEST_TIMEOUT_MS },
        ),
      {
        ResourceNotFoundException: `stream "${camera.streamName}" has no video from ${part.start.toISOString()} any more (past its retention?)`,
        UnsupportedStreamMediaTypeException: `stream "${camera.streamName}" holds media GetClip cannot put in an MP4 (it needs H.264 or H.265, and AAC or G.711 audio)`,
        MissingCodecPrivateDataException: `stream "${camera.streamName}" has fragments without codec private data: GetClip cannot make an MP4 of them`,
        InvalidCodecPrivateDataException: `stream "${camera.streamName}" changes its codec settings within the range (the camera was reconfigured?): ask for the time before and after the change separately`,
        NoDataRetentionException: `stream "${camera.streamName}" keeps no video (data retention 0 hours)`,
      },
    );
    if (!answer.Payload)
      throw new CliError(`GetClip returned no video for stream "${camera.streamName}": try again`);
    const file = files[index];
    const temporary = `${file}.partial`;
    let bytes = 0;
    try {
      await new Promise<void>((resolve, reject) => {
        const body = answer.Payload as Readable;
        const out = fs.createWriteStream(temporary, { mode: 0o644 });
        body.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          progress(total + bytes, expected, index + 1, parts.length);
        });
        body.once('error', reject);
        out.once('error', reject);
        out.once('finish', () => resolve());
        body.pipe(out);
      });
    } catch (error) {
      fs.rmSync(temporary, { force: true });
      throw new CliError(
        `the download of ${path.basename(file)} broke off: ${(error as Error).message}; the parts before it are complete`,
      );
    }
    fs.renameSync(temporary, file);
    total += bytes;
    written.push({
      file,
      bytes,
      start: part.start.toISOString(),
      end: part.end.toISOString(),
      fragments: part.fragments.length,
      seconds: (Date.now() - started) / 1000,
    });
  }
  return written;
}

/** The concat list ffmpeg joins the parts with, losslessly: `ffmpeg -f concat -safe 0 -i <list> -c copy out.mp4`. */
export function writePartList(out: string, files: readonly string[]): string {
  const list = `${out.replace(/\.mp4$/i, '')}-parts.txt`;
  fs.writeFileSync(
    list,
    files.map((file) => `file '${path.basename(file).replace(/'/g, "'\\''")}'\n`).join(''),
  );
  return list;
}

/** `[##########..........]  52%  14.2 MB of 27.4 MB  part 2/3` */
export function progressBar(written: number, expected: number, part: number, parts: number): string {
  const share = Math.min(1, expected > 0 ? written / expected : 0);
  const filled = Math.round(share * 30);
  const mb = (bytes: number) => (bytes / 1_000_000).toFixed(1);
  return `[${'#'.repeat(filled)}${'.'.repeat(30 - filled)}] ${String(Math.round(share * 100)).padStart(3)}%  ${mb(written)} MB of ~${mb(expected)} MB  part ${part}/${parts}`;
}
