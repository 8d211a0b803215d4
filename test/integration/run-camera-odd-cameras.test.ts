import * as fs from 'node:fs';
import { discoverMediaFile, videoFrames } from '../support/media-file';
import { checkHealth, fileGrowsPast, mkvFiles, RunCamera } from '../support/run-camera';
import { useRunCameraFixture } from '../support/run-camera-fixture';

/**
 * The real userdata/run-camera.sh against cameras as they really are (the project's RTSP test camera in its
 * odd modes): RTSP over UDP only, a key frame every 12 s, B-frames in open GOPs, RTP timestamps that jump.
 * The file sink shows what would reach kvssink; what KVS answers to it is decided in kvssink_reports.py
 * (unit tests) and was checked by hand with the real kvssink (docs/run-script.md).
 */

jest.setTimeout(90000);

const PASSWORD = 'p@ss:w/rd%41';
const { camera, runCamera, track } = useRunCameraFixture(PASSWORD);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('a camera that refuses RTSP over TCP: one clear line, UDP, and UDP again at the next start', async () => {
  const cam = await camera({ transport: 'udp', user: 'admin', password: PASSWORD });
  const { run, folder, env } = runCamera('udp-only', { RTSP_URL: cam.url() });

  await run.waitForLine(/the camera refuses RTSP over TCP \(interleaved\): switching to UDP/, 20000);
  await run.waitForLine(/streaming H264 over UDP/, 20000);
  await run.waitForLine(/video flowing/, 20000);
  await fileGrowsPast(folder, 20000);
  expect(fs.readFileSync(`${env.HEALTH_FILE}.state`, 'utf8')).toContain('transport=udp');
  expect(await run.stop()).toBe(0);
  expect(discoverMediaFile(mkvFiles(folder).pop()!).video).toMatch(/^H\.264/);

  // A restarted unit or container finds the state file: straight to UDP, no refusal first.
  const again = track(new RunCamera(env));
  await again.waitForLine(/video flowing/, 20000);
  expect(again.log).toMatch(/streaming H264 over UDP/);
  expect(again.log).not.toMatch(/refuses RTSP over TCP/);
});

test('a key frame every 12 s: a warning naming the interval and the fix before KVS would refuse it', async () => {
  const cam = await camera({ keyFrameSeconds: 12, fps: 10 });
  const { run, folder } = runCamera('long-gop', { RTSP_URL: cam.url() });

  const warning = await run.waitForLine(
    /warning: the camera sends a key frame every 1[0-9]\.\d s or more: KVS refuses fragments over 10 s \(error 4002\); set its I-frame interval \(GOP\) to 1-4 s/,
    40000,
  );
  const flowing = run.lines.find((line) => /video flowing/.test(line.text))!;
  // Warned within a GOP of the first frame: long before the first 10 s fragment could reach KVS twice.
  expect(warning.at - flowing.at).toBeLessThan(25000);
  await sleep(4000); // the second key frame, 12 s after the first
  expect(run.lines.filter((line) => /key frame every/.test(line.text))).toHaveLength(1);
  expect(await run.stop()).toBe(0);
  const frames = videoFrames(mkvFiles(folder).pop()!);
  const keyFrames = frames.filter((frame) => frame.keyFrame).map((frame) => frame.pts);
  expect(keyFrames.length).toBeGreaterThanOrEqual(2);
  expect(keyFrames[1] - keyFrames[0]).toBeGreaterThan(11);
});

test('B-frames in open GOPs pass through untouched: presentation order kept, no transcoding', async () => {
  const cam = await camera({ bframes: 2, openGop: true, fps: 15 });
  const { run, folder, env } = runCamera('b-frames', { RTSP_URL: cam.url() });

  await run.waitForLine(/video flowing/, 20000);
  await fileGrowsPast(folder, 30000);
  await sleep(2000);
  expect(checkHealth(env).code).toBe(0);
  expect(await run.stop()).toBe(0);
  const frames = videoFrames(mkvFiles(folder).pop()!);
  // Stored in decode order: a B-frame comes after the later frame it refers to, so presentation times go
  // back now and then (every time, if the depayloader had re-stamped frames by arrival).
  const backwards = frames.filter((frame, i) => i > 0 && frame.pts < frames[i - 1].pts);
  expect(frames.length).toBeGreaterThan(30);
  expect(backwards.length).toBeGreaterThan(frames.length / 4);
  expect(discoverMediaFile(mkvFiles(folder).pop()!).video).toMatch(/Main/);
});

describe.each([3600, -600])('RTP timestamps that jump by %i s mid-session', (seconds) => {
  test('what reaches the sink keeps the wall clock: no gap, no restart, one stream', async () => {
    const cam = await camera({ jumpAfterSeconds: 4, jumpSeconds: seconds });
    const name = `jump-${seconds > 0 ? 'forward' : 'back'}`;
    const { run, folder, env } = runCamera(name, { RTSP_URL: cam.url() });

    await run.waitForLine(/video flowing/, 20000);
    const started = Date.now();
    for (const deadline = Date.now() + 20000; cam.jumps.length === 0 && Date.now() < deadline;)
      await sleep(250);
    expect(cam.jumps).toHaveLength(1);
    await sleep(5000);
    expect(checkHealth(env).code).toBe(0);
    const wallSeconds = (Date.now() - started) / 1000;
    expect(await run.stop()).toBe(0);

    expect(run.log).not.toMatch(/pipeline ended|restarting/);
    const files = mkvFiles(folder);
    expect(files).toHaveLength(1);
    const frames = videoFrames(files[0]);
    const steps = frames.slice(1).map((frame, i) => frame.pts - frames[i].pts);
    expect(Math.max(...steps.map(Math.abs))).toBeLessThan(1);
    // The file spans the run's wall time, not an hour (or a negative time) more.
    const span = frames[frames.length - 1].pts - frames[0].pts;
    expect(span).toBeGreaterThan(wallSeconds - 3);
    expect(span).toBeLessThan(wallSeconds + 3);
    // The camera restarted its GOP at the jump: that key frame is there too, a fragment start for KVS.
    const keyFrames = frames.filter((frame) => frame.keyFrame).map((frame) => frame.pts);
    const jumpAt = (cam.jumps[0] - started) / 1000;
    expect(keyFrames.some((pts) => Math.abs(pts - frames[0].pts - jumpAt) < 1.5)).toBe(true);
  });
});
