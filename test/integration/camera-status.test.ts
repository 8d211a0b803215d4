import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { StatusReport } from '../../lib/cli/camera-status';
import { compileSchedule } from '../../lib/recording-schedule';
import { installCli, runInstalledCli, type InstalledCli } from '../support/installed-cli';
import { GATEWAY_STACK, LocalGateway } from '../support/local-gateway';
import { TestCamera } from '../support/test-camera';

/**
 * `kvs-gateway status` through the installed command against a gateway running on this machine: the
 * real run script for each camera on its kvssink path, uploading to the KVS API stand-in, its log
 * shipped to the CloudWatch Logs stand-in. Five cameras as an operator meets them: one streaming, one
 * taken down, one with a wrong password, one whose fragments KVS refuses (a key frame every 12 s: error
 * 4002), one whose stream does not exist, one off its recording schedule. Each row must give the real
 * reason, from the gateway's own line.
 */

jest.setTimeout(300_000);

let cli: InstalledCli;
let gateway: LocalGateway;
const cameras: TestCamera[] = [];
const CAMERAS = ['lobby', 'dock', 'gate', 'yard', 'roof', 'shop'];

beforeAll(async () => {
  cli = installCli();
  gateway = await LocalGateway.start();
  const [lobby, dock, gate, yard] = await Promise.all([
    TestCamera.start(),
    TestCamera.start(),
    TestCamera.start({ user: 'admin', password: 'the-right-one' }),
    TestCamera.start({ keyFrameSeconds: 12 }),
  ]);
  cameras.push(lobby, dock, gate, yard);
  await gateway.kvs.setStreamMode(['roof'], 'missing');
  gateway.startCamera('lobby', { RTSP_URL: lobby.url() });
  gateway.startCamera('dock', { RTSP_URL: dock.url() });
  gateway.startCamera('gate', { RTSP_URL: gate.url({ user: 'admin', password: 'a-wrong-one' }) });
  gateway.startCamera('yard', { RTSP_URL: yard.url() });
  gateway.startCamera('roof', { RTSP_URL: lobby.url() });
  // Open on Mondays 10:00-10:01 UTC; the schedule program's clock says it is Monday 09:00.
  const schedule = path.join(gateway.dir, 'shop.schedule.json');
  fs.writeFileSync(
    schedule,
    JSON.stringify(
      compileSchedule({ timeZone: 'UTC', windows: [{ days: 'mon', from: '10:00', to: '10:01' }] }),
    ),
  );
  gateway.startCamera('shop', {
    RTSP_URL: lobby.url(),
    RECORDING_SCHEDULE_FILE: schedule,
    KVS_SCHEDULE_CLOCK_OFFSET_SECONDS: String((Date.parse('2026-06-01T09:00:00Z') - Date.now()) / 1000),
  });
  fs.writeFileSync(
    path.join(gateway.dir, 'gateway.config.json'),
    JSON.stringify({ cameras: CAMERAS.map((name) => ({ name })) }),
  );
  // The dock camera streams first, then goes down, as a camera does.
  await gateway.kvs.waitFor((state) => (state.streams.dock?.persisted ?? 0) >= 3, 60_000, 'video from dock');
  await dock.stop();
  await Promise.all([
    gateway.cameras.get('dock')!.waitForLine(/status camera-down since/, 60_000),
    gateway.cameras.get('yard')!.waitForLine(/status kvs-refusing since/, 90_000),
    gateway.cameras.get('gate')!.waitForLine(/status login-refused since/, 60_000),
    gateway.cameras.get('roof')!.waitForLine(/status stream-missing since/, 60_000),
    gateway.cameras.get('shop')!.waitForLine(/status off-schedule since/, 60_000),
    gateway.kvs.waitFor((state) => (state.streams.lobby?.persisted ?? 0) >= 5, 60_000, 'video from lobby'),
  ]);
});

afterAll(async () => {
  await gateway?.stop();
  await Promise.all(cameras.map((camera) => camera.stop()));
  cli?.remove();
});

async function status(args: string[] = []) {
  // What the log shipper holds goes out first (it ships every 2 s, as Fluent Bit every 5).
  await gateway.flushLogs();
  return runInstalledCli(cli, ['status', ...args], {
    cwd: gateway.dir,
    env: gateway.cliEnv(gateway.dir),
    killAfterMs: 60_000,
  });
}

test('one row per camera, with the reason the gateway gives for each camera that is not streaming', async () => {
  const result = await status();
  console.log(`status of ${CAMERAS.length} cameras in ${result.milliseconds} ms:\n${result.stdout}`);

  expect([result.exitCode, result.stderr]).toEqual([1, '']);
  const row = (camera: string) => new RegExp(`^${camera} .*$`, 'm').exec(result.stdout)?.[0] ?? '';
  expect(result.stdout).toMatch(/^CAMERA +STATE +LAST FRAGMENT +BITRATE +REASON$/m);
  expect(row('lobby')).toMatch(/^lobby +streaming +\d+ s ago +\d+ kbit\/s$/);
  expect(row('dock')).toMatch(
    /^dock +camera-down +\S+( \S+)* ago +- +no video since \d\d:\d\d:\d\d \(.* ago\): the camera is down since \d\d:\d\d:\d\d: (the camera ended the stream|cannot connect to the camera)/,
  );
  expect(row('gate')).toMatch(
    /^gate +login-refused +- +- +no video in the last 24 h: the camera refuses the login since \d\d:\d\d:\d\d: the camera refused the user name or password: Unauthorized/,
  );
  expect(row('yard')).toMatch(
    /^yard +kvs-refusing +- +- +no video in the last 24 h: KVS refuses the video since \d\d:\d\d:\d\d: KVS refuses this camera's fragments \(error 4002, fragment over 10 s\)/,
  );
  expect(row('roof')).toMatch(
    /^roof +stream-missing +- +- +stream "roof" \(camera "roof"\) does not exist in us-east-1/,
  );
  expect(row('shop')).toMatch(
    /^shop +off-schedule +- +- +no video in the last 24 h: off its recording schedule since \d\d:\d\d:\d\d: off schedule until 10:00 \(UTC\)$/,
  );
  expect(result.stdout).toContain(`Cameras of gateway.config.json in us-east-1, ${GATEWAY_STACK}, at `);
  expect(result.stdout).toMatch(/^6 camera\(s\): 1 streaming, 1 off schedule, 4 not\.$/m);
  expect(result.stdout).not.toMatch(/a-wrong-one|the-right-one/);
});

test('--json gives the same, for scripts', async () => {
  const result = await status(['--json', 'lobby', 'gate']);
  const report = JSON.parse(result.stdout) as StatusReport;

  expect(result.exitCode).toBe(1);
  expect(report.gateway).toEqual({
    stackName: GATEWAY_STACK,
    logGroups: [expect.stringMatching(/^Ec2GatewayStack-Logs/)],
  });
  expect(report.cameras.map((camera) => [camera.camera, camera.streaming, camera.state])).toEqual([
    ['lobby', true, 'streaming'],
    ['gate', false, 'login-refused'],
  ]);
  const [lobby, gate] = report.cameras;
  expect(lobby.lastFragment!.ageSeconds).toBeLessThan(20);
  expect(lobby.bitrateKbps).toBeGreaterThan(20);
  expect(gate.gateway).toEqual({
    state: 'login-refused',
    since: expect.any(String),
    reason: expect.stringContaining('the camera refused the user name or password'),
    reportedAt: expect.any(String),
  });
});

test('--watch redraws the table until Ctrl-C', async () => {
  const child = spawn(cli.command, ['status', '--watch', '--interval', '5', 'lobby'], {
    cwd: gateway.dir,
    env: gateway.cliEnv(gateway.dir),
  });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const deadline = Date.now() + 60_000;
  while ((stdout.match(/^Cameras of /gm) ?? []).length < 2 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  child.kill('SIGINT');
  const code = await new Promise((resolve) => child.once('close', resolve));

  expect(code).toBe(0);
  expect((stdout.match(/^Cameras of .*, every 5 s until Ctrl-C\):$/gm) ?? []).length).toBeGreaterThanOrEqual(
    2,
  );
  expect((stdout.match(/^lobby +streaming /gm) ?? []).length).toBeGreaterThanOrEqual(2);
});

test('a usage error comes before any AWS call', async () => {
  const result = await status(['--interval', '2', '--watch']);
  expect([result.exitCode, result.stdout]).toEqual([2, '']);
  expect(result.stderr).toContain('--interval "2": give whole seconds, 5 to 3600');
});
