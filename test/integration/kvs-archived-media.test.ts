import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { APIName, GetDataEndpointCommand, KinesisVideoClient } from '@aws-sdk/client-kinesis-video';
import {
  GetClipCommand,
  GetHLSStreamingSessionURLCommand,
  KinesisVideoArchivedMediaClient,
  ListFragmentsCommand,
} from '@aws-sdk/client-kinesis-video-archived-media';
import { KNOWN_ACCESS_KEY, KNOWN_SECRET_KEY } from '../support/cli-aws-stand-ins';
import { KvsApiStandIn } from '../support/kvs-api-stand-in';
import { discoverMediaFile } from '../support/media-file';
import { putMedia, recordVideo } from '../support/recorded-video';

/**
 * What the KVS API stand-in serves from what it received, through the real SDK clients: ListFragments
 * (in no order, paged), GetClip (an MP4 of at most 200 fragments, remuxed by GStreamer), HLS sessions
 * (LIVE needs a fragment in the last 30 s; a session ends when it expires), and KVS's request quotas.
 */

jest.setTimeout(120_000);

let kvs: KvsApiStandIn;
let dir: string;
/** 60 s filmed with a key frame every 0.25 s: 240 fragments, 20 minutes ago. */
const START = new Date(Math.floor(Date.now() / 1000) * 1000 - 1_200_000);
const credentials = { accessKeyId: KNOWN_ACCESS_KEY, secretAccessKey: KNOWN_SECRET_KEY };

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvs-archived-media-'));
  kvs = await KvsApiStandIn.start();
  const file = path.join(dir, 'recorded.mkv');
  await recordVideo(file, { seconds: 60, fps: 16, keyFrameSeconds: 0.25, audio: true });
  expect(await putMedia(kvs, 'garage', file, START)).toBe(240);
});

afterAll(async () => {
  await kvs?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const media = () =>
  new KinesisVideoArchivedMediaClient({ region: 'us-east-1', endpoint: kvs.controlPlaneUri, credentials });
const range = (fromSeconds: number, toSeconds: number) => ({
  StartTimestamp: new Date(START.getTime() + fromSeconds * 1000),
  EndTimestamp: new Date(START.getTime() + toSeconds * 1000),
});

test('ListFragments: the received fragments in a range, by producer time, in pages and in no order', async () => {
  const first = await media().send(
    new ListFragmentsCommand({
      StreamName: 'garage',
      MaxResults: 100,
      FragmentSelector: { FragmentSelectorType: 'PRODUCER_TIMESTAMP', TimestampRange: range(10, 40) },
    }),
  );
  const second = await media().send(
    new ListFragmentsCommand({ StreamName: 'garage', MaxResults: 100, NextToken: first.NextToken }),
  );
  const all = [...first.Fragments!, ...second.Fragments!];
  const times = all.map((fragment) => fragment.ProducerTimestamp!.getTime());

  expect([first.Fragments!.length, second.Fragments!.length, second.NextToken]).toEqual([100, 21, undefined]);
  expect(times).not.toEqual([...times].sort((a, b) => a - b));
  expect(Math.min(...times) - START.getTime()).toBe(10_000);
  expect(Math.max(...times) - START.getTime()).toBe(40_000);
  expect(all[0]).toMatchObject({
    FragmentLengthInMilliseconds: 250,
    FragmentSizeInBytes: expect.any(Number),
  });
});

test('GetClip: a real MP4 of the range, at most 200 fragments from its start', async () => {
  const short = await media().send(
    new GetClipCommand({
      StreamName: 'garage',
      ClipFragmentSelector: { FragmentSelectorType: 'PRODUCER_TIMESTAMP', TimestampRange: range(5, 15) },
    }),
  );
  fs.writeFileSync(path.join(dir, 'short.mp4'), await short.Payload!.transformToByteArray());
  const long = await media().send(
    new GetClipCommand({
      StreamName: 'garage',
      ClipFragmentSelector: { FragmentSelectorType: 'PRODUCER_TIMESTAMP', TimestampRange: range(0, 60) },
    }),
  );
  fs.writeFileSync(path.join(dir, 'long.mp4'), await long.Payload!.transformToByteArray());

  expect(short.ContentType).toBe('video/mp4');
  expect(discoverMediaFile(path.join(dir, 'short.mp4'))).toMatchObject({
    video: expect.stringMatching(/^H\.264/),
    width: 320,
    height: 240,
    audio: 'MPEG-4 AAC',
  });
  // 5 s to 15 s inclusive of starts: 41 fragments of 0.25 s.
  expect(discoverMediaFile(path.join(dir, 'short.mp4')).durationSeconds).toBeCloseTo(10.25, 0);
  // 240 fragments asked for, 200 given: 50 s.
  expect(discoverMediaFile(path.join(dir, 'long.mp4')).durationSeconds).toBeCloseTo(50, 0);
});

test('HLS: on demand over the range; LIVE needs a fragment received in the last 30 s; an expired session is refused', async () => {
  const session = await media().send(
    new GetHLSStreamingSessionURLCommand({
      StreamName: 'garage',
      PlaybackMode: 'ON_DEMAND',
      DisplayFragmentTimestamp: 'ALWAYS',
      HLSFragmentSelector: { FragmentSelectorType: 'PRODUCER_TIMESTAMP', TimestampRange: range(0, 2) },
      Expires: 300,
    }),
  );
  const master = await (await fetch(session.HLSStreamingSessionURL!)).text();
  const playlistUrl = new URL(master.trim().split('\n').pop()!, session.HLSStreamingSessionURL!);
  const playlist = await (await fetch(playlistUrl)).text();
  const segments = playlist.split('\n').filter((line) => line.startsWith('getMP4MediaFragment.mp4'));
  const init = Buffer.from(
    await (await fetch(new URL(/URI="([^"]+)"/.exec(playlist)![1], playlistUrl))).arrayBuffer(),
  );
  const segment = Buffer.from(await (await fetch(new URL(segments[1], playlistUrl))).arrayBuffer());

  expect(segments).toHaveLength(9);
  expect(playlist).toContain(`#EXT-X-PROGRAM-DATE-TIME:${START.toISOString()}`);
  expect(playlist).toMatch(/#EXT-X-PLAYLIST-TYPE:VOD[\s\S]*#EXT-X-ENDLIST\n$/);
  expect(init.subarray(4, 8).toString()).toBe('ftyp');
  expect(segment.subarray(4, 8).toString()).toBe('moof');

  await expect(
    media().send(new GetHLSStreamingSessionURLCommand({ StreamName: 'empty', PlaybackMode: 'LIVE' })),
  ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });

  await kvs.expireSessions(['garage']);
  expect((await fetch(playlistUrl)).status).toBe(403);
});

test("KVS's quotas: GetDataEndpoint more than 5 times a second for one stream is refused", async () => {
  const control = new KinesisVideoClient({
    region: 'us-east-1',
    endpoint: kvs.controlPlaneUri,
    credentials,
    maxAttempts: 1,
  });
  const answers = await Promise.allSettled(
    Array.from({ length: 10 }, () =>
      control.send(new GetDataEndpointCommand({ StreamName: 'garage', APIName: APIName.GET_CLIP })),
    ),
  );
  const refused = answers.filter((answer) => answer.status === 'rejected');
  expect(refused.length).toBeGreaterThan(0);
  expect((refused[0] as PromiseRejectedResult).reason).toMatchObject({
    name: 'ClientLimitExceededException',
  });
});
