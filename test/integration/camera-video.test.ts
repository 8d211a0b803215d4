import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { validateGatewayConfig } from '../../lib/config';
import { launchChromium } from '../support/chromium';
import { KNOWN_ACCESS_KEY } from '../support/cli-aws-stand-ins';
import { DeployedApp } from '../support/deployed-app';
import { buildPartialGatewayApp } from '../support/gateway-app';
import { installCli, runInstalledCli, type InstalledCli } from '../support/installed-cli';
import { LocalGateway, REGION } from '../support/local-gateway';
import { discoverMediaFile } from '../support/media-file';
import { operatorPolicy, videoCommandActions } from '../support/operator-policy';
import { describeFindings, PermissionCheck } from '../support/permission-check';
import { putMedia, recordVideo } from '../support/recorded-video';
import { TestCamera } from '../support/test-camera';

/**
 * The operator's video commands through the installed command, against a gateway running here (the
 * run script uploading to the KVS API stand-in through the kvssink stand-in) and against video uploaded
 * as recorded (PutMedia): `clip` (real MP4s, checked by GStreamer's demuxer; a long range in parts; a
 * range without video), past playback (`view --from`) and the wall (`view --all`) in real Chromium:
 * every tile plays, a stopped camera's tile says so, expired URLs are renewed. Last, every AWS request
 * the commands made is judged against docs/operator-policy.json.
 */

jest.setTimeout(600_000);

/** attic has a stream and nothing in it: no gateway runs it. */
const CONFIG = { cameras: [{ name: 'lobby' }, { name: 'dock' }, { name: 'yard' }, { name: 'attic' }] };
/** The yard's recording: 100 s with a key frame every 0.4 s (250 fragments: two GetClip parts), 10 minutes ago. */
const YARD_SECONDS = 100;

let cli: InstalledCli;
let gateway: LocalGateway;
let browser: Browser | undefined;
let yardStart: Date;
const cameras = new Map<string, TestCamera>();
const children: ChildProcess[] = [];

beforeAll(async () => {
  cli = installCli();
  gateway = await LocalGateway.start();
  fs.writeFileSync(path.join(gateway.dir, 'gateway.config.json'), JSON.stringify(CONFIG));
  const recording = path.join(gateway.dir, 'yard.mkv');
  await recordVideo(recording, { seconds: YARD_SECONDS, keyFrameSeconds: 0.4, audio: true });
  yardStart = new Date(Math.floor(Date.now() / 1000) * 1000 - 600_000);
  expect(await putMedia(gateway.kvs, 'yard', recording, yardStart)).toBe(YARD_SECONDS / 0.4);
  cameras.set('lobby', await TestCamera.start({ audio: 'aac' }));
  cameras.set('dock', await TestCamera.start());
  gateway.startCamera('lobby', { RTSP_URL: cameras.get('lobby')!.url(), AUDIO: 'true' });
  gateway.startCamera('dock', { RTSP_URL: cameras.get('dock')!.url() });
  await gateway.kvs.waitFor(
    (state) => (state.streams.lobby?.persisted ?? 0) >= 25 && (state.streams.dock?.persisted ?? 0) >= 5,
    90_000,
    '25 s of video from lobby',
  );
});

afterAll(async () => {
  await browser?.close();
  for (const child of children) child.kill('SIGKILL');
  await gateway?.stop();
  await Promise.all([...cameras.values()].map((camera) => camera.stop()));
  cli?.remove();
});

function run(args: string[]) {
  return runInstalledCli(cli, args, {
    cwd: gateway.dir,
    env: gateway.cliEnv(gateway.dir),
    killAfterMs: 120_000,
  });
}

const iso = (date: Date) => date.toISOString().replace(/\.\d+Z$/, 'Z');

describe('clip', () => {
  test('the last 15 s of a camera with audio: a real MP4, H.264 and AAC, that long', async () => {
    const result = await run(['clip', 'lobby', '--from', '-15s', '--out', 'lobby.mp4']);
    console.log(result.stdout);

    expect([result.exitCode, result.stderr]).toEqual([0, '']);
    const file = path.join(gateway.dir, 'lobby.mp4');
    const media = discoverMediaFile(file);
    expect(media).toMatchObject({
      video: expect.stringMatching(/^H\.264/),
      width: 320,
      height: 240,
      audio: 'MPEG-4 AAC',
    });
    // From the fragment that holds "15 s ago" (a 1 s GOP) to the latest one.
    expect(media.durationSeconds).toBeGreaterThan(13);
    expect(media.durationSeconds).toBeLessThan(19);
    expect(result.stdout).toMatch(/^ {2}lobby\.mp4 {2}\d\d:\d\d:\d\d - \d\d:\d\d:\d\d {2}[\d.]+ MB$/m);

    // A camera without audio: no audio track.
    const dock = await run(['clip', 'dock', '--from', '-5s', '--out', 'dock.mp4']);
    expect(dock.exitCode).toBe(0);
    expect(discoverMediaFile(path.join(gateway.dir, 'dock.mp4'))).toMatchObject({
      video: expect.stringMatching(/^H\.264/),
      audio: undefined,
    });
  });

  test('a file name or folder typed with a control character is shown escaped, never sent to the terminal', async () => {
    const named = await run(['clip', 'dock', '--from', '-5s', '--out', 'dock\u001b[2J.mp4']);
    expect([named.exitCode, named.stderr]).toEqual([0, '']);
    expect(fs.existsSync(path.join(gateway.dir, 'dock\u001b[2J.mp4'))).toBe(true);
    expect(named.stdout).toMatch(/^ {2}dock\\u001b\[2J\.mp4 {2}\d\d:\d\d:\d\d - /m);

    const missing = await run(['clip', 'dock', '--from', '-5s', '--out', 'no\u0007where/dock.mp4']);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toContain('no\\u0007where does not exist');
    expect(`${named.stdout}${missing.stderr}`).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);
  });

  test('a range longer than one GetClip: numbered parts, each a whole MP4, listed for a lossless join', async () => {
    const before = (await gateway.kvs.state()).streams.yard.clips;
    const from = iso(new Date(yardStart.getTime() - 60_000));
    const to = iso(new Date(yardStart.getTime() + (YARD_SECONDS + 60) * 1000));
    const result = await run(['clip', 'yard', '--from', from, '--to', to, '--out', 'yard.mp4', '--json']);

    expect([result.exitCode, result.stderr]).toEqual([0, '']);
    const report = JSON.parse(result.stdout) as {
      files: { file: string; fragments: number; bytes: number }[];
      partList: string;
    };
    expect(report.files.map((part) => [part.file, part.fragments])).toEqual([
      ['yard-part1.mp4', 200],
      ['yard-part2.mp4', 50],
    ]);
    expect((await gateway.kvs.state()).streams.yard.clips - before).toBe(2);
    const durations = report.files.map(
      (part) => discoverMediaFile(path.join(gateway.dir, part.file)).durationSeconds!,
    );
    expect(durations[0]).toBeCloseTo(80, 0);
    expect(durations[0] + durations[1]).toBeCloseTo(YARD_SECONDS, 0);
    expect(discoverMediaFile(path.join(gateway.dir, 'yard-part2.mp4')).audio).toBe('MPEG-4 AAC');
    expect(fs.readFileSync(path.join(gateway.dir, report.partList), 'utf8')).toBe(
      "file 'yard-part1.mp4'\nfile 'yard-part2.mp4'\n",
    );
    // Asked again, it refuses to overwrite.
    const again = await run(['clip', 'yard', '--from', from, '--to', to, '--out', 'yard.mp4']);
    expect([again.exitCode, again.stderr]).toEqual([
      1,
      expect.stringContaining('already exist(s): pass --overwrite'),
    ]);
  });

  test('a range without video says so and names the nearest video before and after', async () => {
    const from = iso(new Date(yardStart.getTime() + (YARD_SECONDS + 120) * 1000));
    const to = iso(new Date(yardStart.getTime() + (YARD_SECONDS + 180) * 1000));
    const result = await run(['clip', 'yard', '--from', from, '--to', to]);

    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(
      /^kvs-gateway clip: camera "yard" has no video from \S+ \S+ UTC to \S+ \S+ UTC\.\n {2}nearest before: \d\d:\d\d:\d\d - \d\d:\d\d:\d\d \(1 min 40 s\)\n$/,
    );
  });
});

async function newPage(): Promise<Page> {
  browser ??= await launchChromium({ ...process.env, TZ: 'UTC' });
  return browser.newPage({ viewport: { width: 1280, height: 720 } });
}

async function videoTimeAdvances(page: Page, selector: string, seconds: number): Promise<void> {
  await page.waitForFunction(
    `document.querySelector(${JSON.stringify(selector)}).currentTime > 0`,
    undefined,
    {
      timeout: 60_000,
    },
  );
  const first = await page.evaluate<number>(
    `document.querySelector(${JSON.stringify(selector)}).currentTime`,
  );
  await page.waitForFunction(
    `document.querySelector(${JSON.stringify(selector)}).currentTime > ${first + seconds}`,
    undefined,
    { timeout: 60_000 },
  );
}

test('past playback (view --from): the page plays the range and shows the camera time of each frame', async () => {
  const from = new Date(yardStart.getTime() + 20_000);
  const to = new Date(yardStart.getTime() + 50_000);
  const result = await run(['view', 'yard', '--from', iso(from), '--to', iso(to), '--out', 'yard.html']);
  expect([result.exitCode, result.stderr]).toEqual([0, '']);
  expect(result.stdout).toMatch(/^Video in the range: \d\d:\d\d:\d\d - \d\d:\d\d:\d\d \(30 s\)\.$/m);

  const page = await newPage();
  await page.goto(pathToFileURL(path.join(gateway.dir, 'yard.html')).href);
  await videoTimeAdvances(page, 'video', 3);
  const clock = new Date(`${(await page.textContent('#clock'))!.replace(' ', 'T')}Z`);
  expect(clock.getTime()).toBeGreaterThanOrEqual(from.getTime());
  expect(clock.getTime()).toBeLessThanOrEqual(to.getTime());
  expect(await page.textContent('#status')).toBe('Playing.');
  await page.close();
});

test('the wall (view --all): every tile plays, a stopped camera says so, expired URLs are renewed', async () => {
  const wall = spawn(cli.command, ['view', '--all', '--no-open'], {
    cwd: gateway.dir,
    env: gateway.cliEnv(gateway.dir),
  });
  children.push(wall);
  let output = '';
  wall.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  wall.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  for (
    const deadline = Date.now() + 30_000;
    !/http:\/\/127\.0\.0\.1:\d+\/\w+\//.test(output) && Date.now() < deadline;
  ) {
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const url = /http:\/\/127\.0\.0\.1:\d+\/\w+\//.exec(output)![0];
  expect(output).toMatch(/^Wall of 4 camera\(s\): http/);

  const page = await newPage();
  await page.goto(url);
  const tile = (camera: string) => `.tile[data-camera="${camera}"]`;
  const state = (camera: string) => page.getAttribute(tile(camera), 'data-state');
  await videoTimeAdvances(page, `${tile('lobby')} video`, 2);
  await videoTimeAdvances(page, `${tile('dock')} video`, 2);
  expect([await state('lobby'), await state('dock')]).toEqual(['playing', 'playing']);
  // The yard's video is 10 minutes old: nothing live.
  await page.waitForSelector(`${tile('yard')}[data-state="no-video"]`, { timeout: 30_000 });
  expect(await page.textContent(`${tile('yard')} .state`)).toBe('no video: none in the last 30 s');
  expect(await page.textContent(`${tile('lobby')} .clock`)).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  const box = await page.$eval(
    tile('lobby'),
    (element) => (element as unknown as { clientWidth: number }).clientWidth,
  );
  expect(box).toBeGreaterThan(400); // three tiles fill a 1280x720 window in two columns

  // The dock camera stops: its tile says so, the others play on.
  await cameras.get('dock')!.stop();
  await page.waitForSelector(`${tile('dock')}[data-state="no-video"]`, { timeout: 90_000 });

  // KVS ends every session (as when the URLs expire): the tile asks the wall for a new URL and plays on.
  const sessions = (await gateway.kvs.state()).streams.lobby.hlsSessions;
  await gateway.kvs.expireSessions();
  await page.waitForFunction(
    `document.querySelector('${tile('lobby')}').getAttribute('data-state') !== 'playing'`,
    undefined,
    {
      timeout: 60_000,
    },
  );
  await page.waitForSelector(`${tile('lobby')}[data-state="playing"]`, { timeout: 60_000 });
  await videoTimeAdvances(page, `${tile('lobby')} video`, 2);
  expect((await gateway.kvs.state()).streams.lobby.hlsSessions).toBeGreaterThan(sessions);
  await page.close();

  wall.kill('SIGINT');
  const code = await new Promise((resolve) => wall.once('close', resolve));
  expect([code, output]).toEqual([0, expect.stringContaining('Wall stopped.')]);
});

test('every AWS request of these commands is allowed by docs/operator-policy.json, and each video statement is used', async () => {
  await gateway.flushLogs();
  const status = await run(['status']);
  expect(status.stdout).toMatch(/^yard +no-video /m);
  // A camera no gateway runs: nothing in KVS for a day, nothing in the logs, and its shard's alarm looked at.
  expect(status.stdout).toMatch(
    /^attic +no-video +- +- +no video in the last 24 h: the gateway has said nothing about this camera for 16 min: is shard 1 of Ec2GatewayStack running/m,
  );
  const config = validateGatewayConfig(CONFIG);
  const assembly = buildPartialGatewayApp(config).app.synth().directory;
  const deployment = new DeployedApp(assembly, { account: '111122223333', region: REGION });
  const check = new PermissionCheck(
    deployment,
    new Map([[KNOWN_ACCESS_KEY, operatorPolicy(config, deployment)]]),
  );
  const records = [
    ...gateway.aws.requestRecords,
    ...gateway.awsState.requestRecords(),
    ...(await gateway.kvs.requestRecords()),
  ].filter((record) => record.accessKeyId === KNOWN_ACCESS_KEY);
  const report = await check.judge(records);
  console.log(`video commands: ${records.length} requests, ${report.judged} authorizations judged`);

  expect(describeFindings(report.findings)).toEqual([]);
  // Each action of the video commands' statements was asked for, and allowed (the stream lines are per
  // camera: not every camera is clipped).
  const asked = new Set(
    records.flatMap((record) => record.authorizations.map((authorization) => authorization.action)),
  );
  expect(videoCommandActions().filter((action) => !asked.has(action))).toEqual([]);
});
