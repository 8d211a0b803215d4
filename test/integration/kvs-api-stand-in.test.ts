import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { KvsApiStandIn } from '../support/kvs-api-stand-in';

/**
 * The KVS API stand-in speaks what kvssink sends (the Producer SDK's curl calls: JSON control-plane calls,
 * then a chunked MKV upload answered with fragment events while it uploads) and applies KVS's rules. These
 * tests talk to it as the SDK does, with real MKV streams from GStreamer's matroskamux.
 */

jest.setTimeout(30000);

const KEY = 'AKIAIOSFODNN7EXAMPLE';
const sign = (key: string, region = 'eu-west-1') =>
  `AWS4-HMAC-SHA256 Credential=${key}/20250101/${region}/kinesisvideo/aws4_request, SignedHeaders=host;x-amz-date, Signature=0123abcd`;

let standIn: KvsApiStandIn;
let workDir: string;

/** A streamable MKV of `seconds` of 320x240 H.264 with a key frame every `gopFrames` frames (15 fps). */
function mkv(name: string, seconds: number, gopFrames: number): Buffer {
  const file = path.join(workDir, `${name}.mkv`);
  execFileSync('gst-launch-1.0', [
    '-q',
    'videotestsrc',
    `num-buffers=${seconds * 15}`,
    '!',
    'video/x-raw,width=160,height=120,framerate=15/1',
    '!',
    'x264enc',
    `key-int-max=${gopFrames}`,
    'speed-preset=ultrafast',
    '!',
    'h264parse',
    '!',
    'matroskamux',
    'streamable=true',
    '!',
    'filesink',
    `location=${file}`,
  ]);
  return fs.readFileSync(file);
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function call(api: string, document: object, authorization = sign(KEY)): Promise<Answer> {
  return request(api, { authorization }, JSON.stringify(document));
}

/** POSTs to the stand-in's API port; a Buffer[] body is sent chunked, one chunk at a time, as PutMedia is. */
function request(
  api: string,
  headers: Record<string, string>,
  body: string | Buffer[],
  timeoutMs = 10000,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = http.request(
      // A connection of its own: the stand-in cuts open connections when its mode changes, as an outage does.
      {
        host: '127.0.0.1',
        port: standIn.port,
        method: 'POST',
        path: `/${api}`,
        headers,
        timeout: timeoutMs,
        agent: false,
      },
      (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.on('end', () => {
          answered = true;
          resolve({ status: response.statusCode!, headers: response.headers, body: text });
        });
        response.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    // After an ERROR event KVS ends the response and the connection while the upload is still being sent.
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    if (typeof body === 'string') {
      req.end(body);
      return;
    }
    for (const chunk of body) req.write(chunk);
    req.end();
  });
}

function putMedia(stream: string, media: Buffer, authorization = sign(KEY)): Promise<Answer> {
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < media.length; offset += 4096)
    chunks.push(media.subarray(offset, offset + 4096));
  return request(
    'putMedia',
    {
      authorization,
      'x-amzn-stream-name': stream,
      'x-amzn-fragment-timecode-type': 'ABSOLUTE',
      'x-amzn-fragment-acknowledgment-required': '1',
      'transfer-encoding': 'chunked',
    },
    chunks,
  );
}

/** The JSON fragment events of a PutMedia response (concatenated objects, as KVS sends them). */
function events(body: string): Record<string, unknown>[] {
  return body.match(/\{[^{}]*\}/g)!.map((text) => JSON.parse(text) as Record<string, unknown>);
}

beforeAll(async () => {
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvs-stand-in-'));
  standIn = await KvsApiStandIn.start({ region: 'eu-west-1' });
});

afterAll(async () => {
  await standIn.stop();
  fs.rmSync(workDir, { recursive: true, force: true });
});

beforeEach(async () => {
  await standIn.setMode('normal');
  await standIn.rejectKeys([]);
  await standIn.reset();
});

test('control plane: DescribeStream says ACTIVE, GetDataEndpoint names the stand-in itself', async () => {
  const described = await call('describeStream', { StreamName: 'front-door' });
  expect(described.status).toBe(200);
  expect(JSON.parse(described.body)).toMatchObject({
    StreamInfo: {
      StreamName: 'front-door',
      Status: 'ACTIVE',
      StreamARN: expect.stringContaining(':eu-west-1:'),
    },
  });
  const endpoint = await call('getDataEndpoint', { StreamName: 'front-door', APIName: 'PUT_MEDIA' });
  expect(JSON.parse(endpoint.body)).toEqual({ DataEndpoint: `http://127.0.0.1:${standIn.port}` });
  expect((await standIn.state()).requests).toEqual({
    describeStream: { 200: 1 },
    getDataEndpoint: { 200: 1 },
  });
});

test('DescribeStream says what a deploy set for a stream (retention, media type); the others keep the defaults', async () => {
  const describe = async (stream: string) =>
    (JSON.parse((await call('describeStream', { StreamName: stream })).body) as { StreamInfo: object })
      .StreamInfo;
  await standIn.setStreamSettings({ 'loading-dock': { retentionHours: 72, mediaType: 'video/h265' } });

  expect(await describe('loading-dock')).toMatchObject({ DataRetentionInHours: 72, MediaType: 'video/h265' });
  expect(await describe('front-door')).toMatchObject({ DataRetentionInHours: 24, MediaType: 'video/h264' });
  await expect(standIn.setStreamSettings({ lobby: { retention: 1 } as object })).rejects.toThrow(
    "stream 'lobby': unknown settings ['retention']: use retentionHours, mediaType",
  );
  await standIn.setStreamSettings({ 'loading-dock': {} });
  expect(await describe('loading-dock')).toMatchObject({ DataRetentionInHours: 24, MediaType: 'video/h264' });
});

test('PutMedia: every fragment is acknowledged BUFFERING, RECEIVED, PERSISTED with its timecode; what arrived is counted', async () => {
  const media = mkv('three-gops', 3, 15);
  const answer = await putMedia('front-door', media);

  expect(answer.status).toBe(200);
  expect(answer.headers['transfer-encoding']).toBe('chunked');
  const acks = events(answer.body);
  expect(acks.map((ack) => `${ack.EventType as string} ${ack.FragmentTimecode as number}`)).toEqual([
    'BUFFERING 0',
    'RECEIVED 0',
    'PERSISTED 0',
    'BUFFERING 1000',
    'RECEIVED 1000',
    'PERSISTED 1000',
    'BUFFERING 2000',
    'RECEIVED 2000',
    'PERSISTED 2000',
  ]);
  const { streams, accessKeys } = await standIn.state();
  expect(streams['front-door']).toMatchObject({
    uploads: 1,
    bytes: media.length,
    frames: 45,
    keyFrames: 3,
    persisted: 3,
    errors: {},
    codecs: ['V_MPEG4/ISO/AVC'],
  });
  expect(streams['front-door'].fragments.map((fragment) => fragment.durationMs)).toEqual([933, 933, 933]);
  expect(accessKeys).toEqual({ [KEY]: 1 });
});

test('KVS rules: a fragment over 10 s gets ERROR 4002, a timecode going back ERROR 4004; the response ends there', async () => {
  const longGop = await putMedia('long-gop', mkv('long-gop', 12, 300));
  expect(events(longGop.body).map((ack) => [ack.EventType, ack.ErrorId])).toEqual([
    ['BUFFERING', undefined],
    ['ERROR', 4002],
  ]);

  // Two MKV streams back to back on one upload, the second starting again at timecode 0 (a reset clock).
  const gop = mkv('one-gop', 2, 15);
  const backwards = await putMedia('reset-clock', Buffer.concat([gop, gop]));
  expect(
    events(backwards.body).map((ack) => `${ack.EventType as string} ${ack.FragmentTimecode as number}`),
  ).toEqual([
    'BUFFERING 0',
    'RECEIVED 0',
    'PERSISTED 0',
    'BUFFERING 1000',
    'RECEIVED 1000',
    'PERSISTED 1000',
    'ERROR 0',
  ]);
  const { streams } = await standIn.state();
  expect(streams['long-gop'].errors).toEqual({ 4002: 1 });
  expect(streams['reset-clock'].errors).toEqual({ 4004: 1 });
});

test('missing mode: 404 ResourceNotFoundException from every API (allow-create-stream=false)', async () => {
  await standIn.setMode('missing');
  for (const answer of [
    await call('describeStream', { StreamName: 'gone' }),
    await call('getDataEndpoint', { StreamName: 'gone', APIName: 'PUT_MEDIA' }),
    await putMedia('gone', mkv('missing', 1, 15)),
  ]) {
    expect(answer.status).toBe(404);
    expect(answer.headers['x-amzn-errortype']).toBe('ResourceNotFoundException:');
    expect(JSON.parse(answer.body)).toMatchObject({ __type: 'ResourceNotFoundException' });
  }
});

test('credentials: forbidden mode, a rejected key, an unsigned request and a wrong region get 403', async () => {
  await standIn.rejectKeys(['ASIAREJECTEDKEY00001']);
  expect((await call('describeStream', { StreamName: 'cam' }, sign('ASIAREJECTEDKEY00001'))).status).toBe(
    403,
  );
  expect((await call('describeStream', { StreamName: 'cam' }, sign('ASIAREFRESHEDKEY0002'))).status).toBe(
    200,
  );
  expect((await call('describeStream', { StreamName: 'cam' }, '')).status).toBe(403);
  const wrongRegion = await call('describeStream', { StreamName: 'cam' }, sign(KEY, 'us-east-1'));
  expect(wrongRegion.status).toBe(403);
  expect(wrongRegion.body).toContain('us-east-1/kinesisvideo, expected eu-west-1/kinesisvideo');

  await standIn.setMode('forbidden');
  const forbidden = await call('describeStream', { StreamName: 'cam' });
  expect(forbidden.status).toBe(403);
  expect(JSON.parse(forbidden.body)).toMatchObject({ __type: 'UnrecognizedClientException' });
  expect((await standIn.state()).accessKeys).toMatchObject({
    ASIAREJECTEDKEY00001: 1,
    ASIAREFRESHEDKEY0002: 1,
  });
});

test('error-ack mode: fragments are answered with the chosen ErrorId', async () => {
  await standIn.setMode('error-ack', 4007);
  const answer = await putMedia('bad-timestamps', mkv('error-ack', 1, 15));
  expect(events(answer.body)).toEqual([
    expect.objectContaining({ EventType: 'ERROR', ErrorId: 4007, FragmentTimecode: 0 }),
  ]);
});

test('refuse mode closes the port until the mode changes; hang mode accepts and never answers', async () => {
  await standIn.setMode('refuse');
  await expect(call('describeStream', { StreamName: 'cam' })).rejects.toThrow(/ECONNREFUSED/);
  await standIn.setMode('normal');
  expect((await call('describeStream', { StreamName: 'cam' })).status).toBe(200);

  await standIn.setMode('hang');
  const hung = request('describeStream', { authorization: sign(KEY) }, '{"StreamName":"cam"}', 1500);
  await expect(hung).rejects.toThrow(/timeout/);
  await standIn.setMode('normal');
  expect((await call('describeStream', { StreamName: 'cam' })).status).toBe(200);
});
