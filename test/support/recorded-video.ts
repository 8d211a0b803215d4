import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { STAND_IN_CREDENTIALS } from './aws-stand-ins';
import type { KvsApiStandIn } from './kvs-api-stand-in';
import { SYSTEM_PYTHON } from './test-camera';

/**
 * Minutes of camera video in KVS in seconds, for the tests and benchmarks that need long ranges (a clip
 * in parts, a 20-minute clip, 100 cameras): GStreamer encodes a test pattern to Matroska with one cluster
 * per key frame, as kvssink sends it, and test/support/put-media.py uploads it to the KVS API stand-in with
 * PutMedia as if it had been filmed from `start` on.
 */

const run = promisify(execFile);
const PUT_MEDIA = path.join(__dirname, 'put-media.py');

export interface RecordingOptions {
  readonly seconds: number;
  readonly width?: number;
  readonly height?: number;
  readonly fps?: number;
  readonly keyFrameSeconds?: number;
  readonly bitrateKbps?: number;
  readonly audio?: boolean;
  /** H.264 unless told (an H.265 camera's stream). */
  readonly codec?: 'h264' | 'h265';
}

const ENCODERS = {
  h264: (keyInterval: number, kbps: number) => [
    `x264enc speed-preset=ultrafast key-int-max=${keyInterval} bitrate=${kbps}`,
    'h264parse',
    'video/x-h264,stream-format=avc,alignment=au',
  ],
  h265: (keyInterval: number, kbps: number) => [
    `x265enc speed-preset=ultrafast key-int-max=${keyInterval} bitrate=${kbps}`,
    'h265parse',
    'video/x-h265,stream-format=hvc1,alignment=au',
  ],
};

/** Encodes a moving test pattern (H.264 or H.265, and AAC when asked) into a Matroska file. */
export async function recordVideo(file: string, options: RecordingOptions): Promise<void> {
  const fps = options.fps ?? 15;
  const frames = Math.round(options.seconds * fps);
  const keyInterval = Math.max(1, Math.round((options.keyFrameSeconds ?? 1) * fps));
  const video = [
    `videotestsrc num-buffers=${frames} pattern=ball`,
    // 4:2:0, as cameras send it (x264 would otherwise encode the test pattern's 4:4:4).
    `video/x-raw,format=I420,width=${options.width ?? 320},height=${options.height ?? 240},framerate=${fps}/1`,
    ...ENCODERS[options.codec ?? 'h264'](keyInterval, options.bitrateKbps ?? 300),
    'mux.',
  ].join(' ! ');
  const audio = options.audio
    ? ` audiotestsrc num-buffers=${Math.ceil((options.seconds * 16000) / 1024)} samplesperbuffer=1024 ! audio/x-raw,rate=16000,channels=1 ! avenc_aac ! aacparse ! mux.`
    : '';
  const pipeline = `matroskamux name=mux min-cluster-duration=0 ! filesink location=${file}  ${video}${audio}`;
  await run('gst-launch-1.0', ['-q', ...pipeline.split(/\s+/)], { maxBuffer: 16 * 1024 * 1024 });
}

/** Uploads a Matroska file to `stream` (PutMedia), as filmed from `start`; resolves with the fragments KVS kept. */
export async function putMedia(
  kvs: KvsApiStandIn,
  stream: string,
  file: string,
  start: Date,
): Promise<number> {
  const { stdout } = await run(SYSTEM_PYTHON, [
    PUT_MEDIA,
    '--endpoint',
    kvs.controlPlaneUri,
    '--stream',
    stream,
    '--start',
    String(start.getTime() / 1000),
    '--region',
    kvs.region,
    // Signed as the gateway signs (its role's keys), not as the operator running the CLI.
    '--key',
    STAND_IN_CREDENTIALS.AccessKeyId,
    '--secret',
    STAND_IN_CREDENTIALS.SecretAccessKey,
    file,
  ]);
  const answer = JSON.parse(stdout) as { fragments: number; errors: number[] };
  if (answer.errors.length > 0)
    throw new Error(`PutMedia of ${file} to ${stream}: errors ${answer.errors.join(', ')}`);
  return answer.fragments;
}
