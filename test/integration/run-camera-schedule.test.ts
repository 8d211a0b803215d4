import * as fs from 'node:fs';
import * as path from 'node:path';
import { compileSchedule, RecordingSchedule } from '../../lib/recording-schedule';
import { discoverMediaFile } from '../support/media-file';
import { checkHealth, mkvFiles } from '../support/run-camera';
import { useRunCameraFixture } from '../support/run-camera-fixture';

/**
 * The real userdata/run-camera.sh with a recording schedule (RECORDING_SCHEDULE_FILE, compiled by
 * lib/recording-schedule.ts as the stacks compile it) against the project's RTSP test camera, the file sink
 * standing in for kvssink. The schedule program's clock is shifted (KVS_SCHEDULE_CLOCK_OFFSET_SECONDS, a
 * test-only variable) so that a one-minute window opens a few seconds into the test: no connection to the
 * camera before it, video within it, the pipeline stopped cleanly at its end (EOS: the file is finalized
 * with the video up to the end), and no connection after it. Start and stop latencies are printed.
 */

jest.setTimeout(180_000);

const { camera, runCamera, workDir } = useRunCameraFixture('unused-password');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Monday 2026-06-01 10:00 UTC: the window below opens then, on the schedule program's shifted clock. */
const WINDOW_OPENS = Date.parse('2026-06-01T10:00:00Z');
const ONE_MINUTE_ON_MONDAYS: RecordingSchedule = {
  timeZone: 'UTC',
  windows: [{ days: 'mon', from: '10:00', to: '10:01' }],
};

function writeSchedule(file: string, schedule: RecordingSchedule | null): void {
  // Atomically, as the reconciler and the schedule sync write it.
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(schedule && compileSchedule(schedule)));
  fs.renameSync(`${file}.tmp`, file);
}

test('a window that opens and closes during the test: no camera contact outside it, video inside, a clean stop at its end', async () => {
  const cam = await camera();
  const scheduleFile = path.join(workDir(), 'scheduled.schedule.json');
  writeSchedule(scheduleFile, ONE_MINUTE_ON_MONDAYS);
  // The window opens 10 s after the script starts (real time), as the shifted clock sees it.
  const opensAt = Date.now() + 10_000;
  const closesAt = opensAt + 60_000;
  const { run, env, folder } = runCamera('scheduled', {
    RTSP_URL: cam.url(),
    RECORDING_SCHEDULE_FILE: scheduleFile,
    KVS_SCHEDULE_CLOCK_OFFSET_SECONDS: String((WINDOW_OPENS - opensAt) / 1000),
    SCHEDULE_CHECK_SECONDS: '2',
  });

  await run.waitForLine(/off schedule until 10:00 \(UTC\): not connecting to the camera/, 15_000);
  // What `kvs-gateway status` reads in the logs (camera_status.py).
  await run.waitForLine(/\]: status off-schedule since \S+: off schedule until 10:00 \(UTC\)$/, 5_000);
  expect(checkHealth(env)).toEqual({
    code: 0,
    output: expect.stringMatching(/^healthy \(no video\): off schedule until 10:00 \(UTC\) \(scheduled\)/),
  });

  const flowing = await run.waitForLine(/video flowing/, 40_000);
  expect(cam.connections.length).toBeGreaterThan(0);
  // Not one connection before the window opened (1 s for the shell's whole-second clock).
  expect(Math.min(...cam.connections)).toBeGreaterThanOrEqual(opensAt - 1000);
  const startLatency = (flowing.at - opensAt) / 1000;

  const closed = await run.waitForLine(/the recording window has closed: stopping/, 80_000);
  const stopLatency = (closed.at - closesAt) / 1000;
  const off = await run.waitForLine(
    /off schedule until Mon 10:00 \(UTC\): not connecting to the camera/,
    20_000,
    run.lines.indexOf(closed),
  );
  const connectionsAtClose = cam.connections.length;
  expect(checkHealth(env).output).toMatch(/^healthy \(no video\): off schedule until Mon 10:00 \(UTC\)/);

  // The file was finalized at EOS and holds the video up to the window's end.
  const [file] = mkvFiles(folder);
  const info = discoverMediaFile(file);
  expect(info.video).toMatch(/^H\.264/);
  const expectedSeconds = (closed.at - flowing.at) / 1000;
  expect(info.durationSeconds).toBeGreaterThan(expectedSeconds - 3);

  await sleep(8000);
  expect(cam.connections.length).toBe(connectionsAtClose);
  expect(run.running).toBe(true);
  expect(await run.stop()).toBe(0);
  console.log(
    `schedule edges: first frame ${startLatency.toFixed(1)} s after the window opened; ` +
      `pipeline stopping ${stopLatency.toFixed(1)} s after it closed, off-schedule line ${((off.at - closesAt) / 1000).toFixed(1)} s after; ` +
      `${info.durationSeconds?.toFixed(1)} s of video in the finalized file`,
  );
  expect(startLatency).toBeGreaterThan(0);
});

test('a changed schedule file takes effect without a restart of the script: off, then on, then off again', async () => {
  const cam = await camera();
  const scheduleFile = path.join(workDir(), 'live-schedule.schedule.json');
  // The shifted clock is Monday 2026-06-01 09:00 UTC: off schedule until 10:00.
  writeSchedule(scheduleFile, ONE_MINUTE_ON_MONDAYS);
  const { run } = runCamera('live-schedule', {
    RTSP_URL: cam.url(),
    RECORDING_SCHEDULE_FILE: scheduleFile,
    KVS_SCHEDULE_CLOCK_OFFSET_SECONDS: String((WINDOW_OPENS - 3600_000 - Date.now()) / 1000),
    SCHEDULE_CHECK_SECONDS: '2',
  });
  await run.waitForLine(/off schedule until 10:00 \(UTC\): not connecting to the camera/, 15_000);
  await sleep(3000);
  expect(cam.connections).toEqual([]);

  // Records around the clock now (null): picked up at the next look at the file.
  const changed = Date.now();
  writeSchedule(scheduleFile, null);
  const flowing = await run.waitForLine(/video flowing/, 30_000);
  expect(run.log).toContain('recording around the clock');

  // Back to the Monday minute: the running pipeline stops within a second or two, cleanly.
  const from = run.lines.length;
  const changedBack = Date.now();
  writeSchedule(scheduleFile, ONE_MINUTE_ON_MONDAYS);
  const stopped = await run.waitForLine(/the recording window has closed: stopping/, 15_000, from);
  await run.waitForLine(/off schedule until 10:00 \(UTC\): not connecting to the camera/, 15_000, from);
  console.log(
    `schedule changes: video ${((flowing.at - changed) / 1000).toFixed(1)} s after the file said "always" ` +
      `(SCHEDULE_CHECK_SECONDS=2); pipeline stopping ${((stopped.at - changedBack) / 1000).toFixed(1)} s after it said "off"`,
  );
  expect(run.running).toBe(true);
  expect(await run.stop()).toBe(0);
});
