import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { StatusReport } from '../lib/cli/camera-status';
import { installCli, runInstalledCli, type CliRun } from '../test/support/installed-cli';
import { LocalGateway } from '../test/support/local-gateway';
import { discoverMediaFile } from '../test/support/media-file';
import { putMedia, recordVideo } from '../test/support/recorded-video';

/**
 * `npm run bench:video`: how long the operator's video commands take through the installed command,
 * against the stand-ins (figures, no assertion):
 *   - `kvs-gateway status` for 1, 10 and 100 cameras (BENCH_STATUS_CAMERAS): each camera's stream holds
 *     30 s of video just received, except one in ten that has none (those take the day's look-back), and
 *     the gateway's log holds a status line for each. Every status is run 3 times; the median is shown,
 *     with the requests by API and any the stand-ins refused for a quota (ClientLimitExceeded, Throttling);
 *   - `kvs-gateway clip` of a 20-minute range (BENCH_CLIP_MINUTES) of 640x360 15 fps H.264 at about
 *     1 Mbit/s with AAC: bytes, parts, the duration GStreamer reads from the files, and the download time.
 */

const CAMERAS = (process.env.BENCH_STATUS_CAMERAS ?? '1,10,100').split(',').map(Number);
const CLIP_MINUTES = Number(process.env.BENCH_CLIP_MINUTES ?? 20);
const RUNS = 3;

function loadAverage(): string {
  return os
    .loadavg()
    .map((load) => load.toFixed(2))
    .join(' ');
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function statusBench(
  gateway: LocalGateway,
  cli: ReturnType<typeof installCli>,
  recording: string,
): Promise<void> {
  console.log('\nkvs-gateway status (installed command, --json), median of 3 runs:');
  console.log(
    '| cameras | wall s (median) | runs s | requests (by API) | refused for a quota | load before |',
  );
  console.log('|---:|---:|---|---|---:|---|');
  let uploaded = 0;
  for (const count of CAMERAS) {
    const names = Array.from({ length: count }, (_, i) => `bench-${String(i + 1).padStart(3, '0')}`);
    // Video just received for 9 cameras in 10 (uploaded once, as filmed 35 s ago, so its last fragment is fresh).
    const start = new Date(Date.now() - 35_000);
    await Promise.all(
      names.slice(uploaded).map(async (name, index) => {
        if ((uploaded + index + 1) % 10 !== 0) await putMedia(gateway.kvs, name, recording, start);
      }),
    );
    uploaded = count;
    // The gateway's status line of each camera, as its run script says it (a down camera in ten).
    for (const [index, name] of names.entries()) {
      const down = (index + 1) % 10 === 0;
      const since = new Date(Date.now() - 60_000).toISOString().replace(/\.\d+Z/, 'Z');
      const status = down
        ? `camera-down since ${since}: cannot connect to the camera: Could not open resource for reading and writing.`
        : `streaming since ${since}`;
      await gateway.putLogLines(`i-0bench/kvs-camera@${name}.service`, [
        { timestamp: Date.now() - 5000, message: `run-camera[${name}]: status ${status}` },
      ]);
    }
    fs.writeFileSync(
      path.join(gateway.dir, 'gateway.config.json'),
      JSON.stringify({
        cameras: names.map((name, index) => ({ name, shard: Math.floor(index / 10) + 1 })),
        ec2: { camerasPerInstance: 10 },
      }),
    );
    const before = loadAverage();
    const kvsBefore = (await gateway.kvs.state()).requests;
    const awsBefore = gateway.cliRequestCounts();
    const runs: CliRun[] = [];
    for (let i = 0; i < RUNS; i += 1) {
      runs.push(
        await runInstalledCli(cli, ['status', '--json'], {
          cwd: gateway.dir,
          env: gateway.cliEnv(gateway.dir),
          killAfterMs: 120_000,
        }),
      );
    }
    const reports = runs.map((run) => JSON.parse(run.stdout) as StatusReport);
    const kvsAfter = (await gateway.kvs.state()).requests;
    const byApi = new Map<string, number>();
    let refused = 0;
    for (const [api, statuses] of Object.entries(kvsAfter)) {
      for (const [status, number] of Object.entries(statuses)) {
        const delta = number - (kvsBefore[api]?.[status] ?? 0);
        if (delta <= 0 || api === 'putMedia') continue;
        byApi.set(api, (byApi.get(api) ?? 0) + delta);
        if (status === '400') refused += delta;
      }
    }
    for (const [request, number] of gateway.cliRequestCounts()) {
      const delta = number - (awsBefore.get(request) ?? 0);
      if (delta > 0) byApi.set(request, (byApi.get(request) ?? 0) + delta);
    }
    const streaming = reports[0].cameras.filter((camera) => camera.streaming).length;
    const wall = runs.map((run) => run.milliseconds / 1000);
    console.log(
      `| ${count} | ${median(wall).toFixed(2)} | ${wall.map((s) => s.toFixed(2)).join(', ')} | ${[...byApi].map(([api, n]) => `${api} ${n / RUNS}`).join(', ')} | ${refused} | ${before} |`,
    );
    const uploadedCount = count - Math.floor(count / 10);
    if (streaming !== uploadedCount) {
      // A fragment counts as streaming for 20 s after it arrived: uploads slower than that (a loaded machine) show.
      console.log(
        `  note: ${streaming} of the ${uploadedCount} cameras with video counted as streaming (their upload ended more than 20 s before)`,
      );
    }
    if (runs.some((run) => run.exitCode !== (uploadedCount < count ? 1 : 0))) {
      console.log(`  note: exit codes ${runs.map((run) => run.exitCode).join(', ')}: ${runs[0].stderr}`);
    }
  }
}

async function clipBench(gateway: LocalGateway, cli: ReturnType<typeof installCli>): Promise<void> {
  const seconds = CLIP_MINUTES * 60;
  const recording = path.join(gateway.dir, 'clip.mkv');
  const encode = Date.now();
  await recordVideo(recording, {
    seconds,
    width: 640,
    height: 360,
    fps: 15,
    bitrateKbps: 1000,
    keyFrameSeconds: 2,
    audio: true,
  });
  const start = new Date(Math.floor(Date.now() / 1000) * 1000 - (seconds + 300) * 1000);
  const fragments = await putMedia(gateway.kvs, 'clip-camera', recording, start);
  console.log(
    `\nkvs-gateway clip of a ${CLIP_MINUTES}-minute range (640x360 15 fps H.264 ~1 Mbit/s + AAC, a key frame every 2 s; recording ${fs.statSync(recording).size} bytes, ${fragments} fragments, made and uploaded in ${((Date.now() - encode) / 1000).toFixed(0)} s):`,
  );
  fs.writeFileSync(
    path.join(gateway.dir, 'gateway.config.json'),
    JSON.stringify({ cameras: [{ name: 'clip-camera' }] }),
  );
  const from = start.toISOString();
  const to = new Date(start.getTime() + seconds * 1000).toISOString();
  const before = loadAverage();
  const run = await runInstalledCli(
    cli,
    ['clip', 'clip-camera', '--from', from, '--to', to, '--out', 'bench.mp4', '--json', '--overwrite'],
    {
      cwd: gateway.dir,
      env: gateway.cliEnv(gateway.dir),
      killAfterMs: 600_000,
    },
  );
  if (run.exitCode !== 0) {
    console.log(`clip failed (${run.exitCode}): ${run.stderr}`);
    return;
  }
  const report = JSON.parse(run.stdout) as {
    files: { file: string; bytes: number; fragments: number; seconds: number }[];
    bytes: number;
    seconds: number;
  };
  console.log('| part | fragments | bytes | duration s (gst-discoverer) | download s |');
  console.log('|---|---:|---:|---:|---:|');
  let duration = 0;
  for (const part of report.files) {
    const media = discoverMediaFile(path.join(gateway.dir, part.file));
    duration += media.durationSeconds ?? 0;
    console.log(
      `| ${part.file} | ${part.fragments} | ${part.bytes} | ${media.durationSeconds?.toFixed(2)} | ${part.seconds.toFixed(2)} |`,
    );
  }
  console.log(
    `| total | ${report.files.reduce((sum, part) => sum + part.fragments, 0)} | ${report.bytes} | ${duration.toFixed(2)} | ${report.seconds.toFixed(2)} (command: ${(run.milliseconds / 1000).toFixed(2)}) |`,
  );
  console.log(`load before: ${before}; after: ${loadAverage()}`);
}

async function main(): Promise<void> {
  console.log(
    `video commands benchmark, ${new Date().toISOString()}, ${os.cpus().length} cores (${os.cpus()[0].model}), load ${loadAverage()}`,
  );
  const cli = installCli();
  const gateway = await LocalGateway.start();
  try {
    const recording = path.join(gateway.dir, 'status.mkv');
    await recordVideo(recording, { seconds: 30, keyFrameSeconds: 1 });
    await statusBench(gateway, cli, recording);
    await clipBench(gateway, cli);
  } finally {
    await gateway.stop();
    cli.remove();
  }
}

void main();
