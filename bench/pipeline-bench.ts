import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { discoverMediaFile } from '../test/support/media-file';
import { RunCamera } from '../test/support/run-camera';
import { TestCamera } from '../test/support/test-camera';
import { kvssinkAvailable, kvssinkBench } from './kvssink-bench';
import { seedPipeline } from './seed-pipeline';
import {
  bytesFromCameraByPid,
  CLOCK_TICKS,
  cpuTicks,
  loadAverage,
  peakRssKb,
  pssKb,
  sleep,
} from './process-stats';

/**
 * `npm run bench`: what the gateway's run script costs and how fast it recovers, next to the seed's plain
 * pipeline `rtspsrc ! rtph264depay ! h264parse ! fakesink` on the same camera feed. Prints figures; asserts
 * nothing. The feed is a pre-encoded 1080p30 ~4 Mbit/s H.264 file that the test camera replays without
 * re-encoding, so no encoder is measured.
 *   per-process CPU  = (utime + stime) from /proc/<pid>/stat over wall time, % of one core
 *   peak RSS         = VmHWM from /proc/<pid>/status (the run script counts its shell and its pipeline)
 *   PSS              = Pss from /proc/<pid>/smaps_rollup at the end: shared pages divided among the processes
 *                      that map them, i.e. what N cameras on one machine really take, per camera
 *   received         = bytes_received of each pipeline's TCP connections to the camera (ss -tip): shows
 *                      that each pipeline really kept up with the feed
 * For each camera count the seed pipelines and the run scripts run side by side (N of each at once), so the
 * machine's other load (it is shared) falls on both alike.
 * The seed pipeline gets the caps kvssink would negotiate (stream-format=avc,alignment=au), so its parser
 * does the same conversion to AVC as under the real kvssink.
 * With kvssink on GST_PLUGIN_PATH, a second part runs both against the real kvssink and a local stand-in of
 * the KVS API (bench/kvssink-bench.ts): steady-state memory with KVS accepting and with kvssink's buffer
 * full, and the log bytes per camera-minute during an outage of the stand-in.
 */

// One key frame a second (scenecut=0: x264 would otherwise make most frames of this moving pattern key
// frames, which no camera does); the name changed with it, so an older cached feed is not reused.
const FEED = path.join(__dirname, 'results', 'feed-1080p30-4mbit-gop1s.mkv');
const WARM_UP_MS = 5000;
const MEASURE_MS = Number(process.env.BENCH_MEASURE_SECONDS ?? 15) * 1000;
const CAMERA_COUNTS = (process.env.BENCH_CAMERAS ?? '1,4,8').split(',').map(Number);

function ensureFeed(): void {
  if (fs.existsSync(FEED)) return;
  fs.mkdirSync(path.dirname(FEED), { recursive: true });
  console.log('encoding the 1080p30 4 Mbit/s feed once (10 s of video)...');
  const pipeline =
    'videotestsrc num-buffers=300 pattern=smpte horizontal-speed=4 ! video/x-raw,format=I420,width=1920,height=1080,framerate=30/1 ' +
    '! x264enc bitrate=4000 pass=cbr speed-preset=veryfast key-int-max=30 bframes=0 option-string=scenecut=0 ! h264parse ! matroskamux ' +
    `! filesink location=${FEED}`;
  execFileSync('gst-launch-1.0', ['-q', ...pipeline.split(' ')], { stdio: 'inherit' });
}

/** One gateway pipeline under test: the processes whose costs count as one stream. */
interface StreamUnderTest {
  pids(): number[];
  alive(): boolean;
  stop(): Promise<void>;
}

function startSeed(url: string): StreamUnderTest {
  const child: ChildProcess = spawn('gst-launch-1.0', seedPipeline(url, ['fakesink', 'sync=false']), {
    stdio: 'ignore',
  });
  return {
    pids: () => [child.pid!],
    alive: () => child.exitCode === null,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

function startRunScript(url: string, name: string, dir: string, extraEnv: Record<string, string> = {}) {
  const run = new RunCamera({
    STREAM_NAME: name,
    RTSP_URL: url,
    GATEWAY_SINK: 'fake',
    HEALTH_FILE: path.join(dir, `${name}.health`),
    ...extraEnv,
  });
  const stream: StreamUnderTest = {
    pids: () => [run.pid, ...run.pipelinePids()],
    alive: () => run.running,
    stop: async () => {
      await run.stop();
    },
  };
  return { run, stream };
}

interface LoadFigures {
  cpuPercentPerStream: number;
  peakRssMbPerStream: number;
  pssMbPerStream: number;
  receivedMbitPerStream: number;
  survivors: number;
}

/** Measures groups of streams side by side, in the same window, so the machine's other load hits both alike. */
async function measure(
  groups: Record<string, StreamUnderTest[]>,
  cameraPort: number,
): Promise<Record<string, LoadFigures>> {
  await sleep(WARM_UP_MS);
  const pidsOf = (streams: StreamUnderTest[]) => streams.flatMap((stream) => stream.pids());
  const allPids = Object.values(groups).flatMap(pidsOf);
  const ticksBefore = new Map(allPids.map((pid) => [pid, cpuTicks(pid)]));
  const bytesBefore = bytesFromCameraByPid(cameraPort);
  const started = Date.now();
  await sleep(MEASURE_MS);
  const seconds = (Date.now() - started) / 1000;
  const bytesAfter = bytesFromCameraByPid(cameraPort);
  const figures: Record<string, LoadFigures> = {};
  for (const [kind, streams] of Object.entries(groups)) {
    let ticks = 0;
    let rssKb = 0;
    let proportionalKb = 0;
    let readBytes = 0;
    for (const pid of pidsOf(streams)) {
      ticks += cpuTicks(pid) - ticksBefore.get(pid)!;
      rssKb += peakRssKb(pid);
      proportionalKb += pssKb(pid);
      readBytes += (bytesAfter.get(pid) ?? 0) - (bytesBefore.get(pid) ?? 0);
    }
    const n = streams.length;
    figures[kind] = {
      cpuPercentPerStream: (ticks / CLOCK_TICKS / seconds / n) * 100,
      peakRssMbPerStream: rssKb / 1024 / n,
      pssMbPerStream: proportionalKb / 1024 / n,
      receivedMbitPerStream: (readBytes * 8) / 1e6 / seconds / n,
      survivors: streams.filter((stream) => stream.alive()).length,
    };
  }
  return figures;
}

async function loadTable(camera: TestCamera, dir: string): Promise<string[]> {
  const rows: string[] = [];
  for (const count of CAMERA_COUNTS) {
    const groups = {
      seed: Array.from({ length: count }, () => startSeed(camera.address)),
      'run-camera.sh': Array.from(
        { length: count },
        (_, i) => startRunScript(camera.address, `bench-${i}`, dir).stream,
      ),
    };
    let figures: Record<string, LoadFigures>;
    try {
      figures = await measure(groups, camera.port);
    } finally {
      await Promise.all(Object.values(groups).flatMap((streams) => streams.map((stream) => stream.stop())));
    }
    for (const [kind, f] of Object.entries(figures)) {
      console.log(
        `  ${count} camera(s), ${kind}: ${f.cpuPercentPerStream.toFixed(1)} % CPU, ${f.peakRssMbPerStream.toFixed(1)} MB peak RSS, ` +
          `${f.pssMbPerStream.toFixed(1)} MB PSS, ` +
          `${f.receivedMbitPerStream.toFixed(2)} Mbit/s in, per stream; ${f.survivors}/${count} alive; load ${loadAverage()}`,
      );
    }
    const seed = figures.seed;
    const ours = figures['run-camera.sh'];
    rows.push(
      `| ${count} | ${seed.cpuPercentPerStream.toFixed(1)} | ${ours.cpuPercentPerStream.toFixed(1)} | ` +
        `${(ours.cpuPercentPerStream / seed.cpuPercentPerStream).toFixed(2)}x | ${seed.peakRssMbPerStream.toFixed(1)} | ` +
        `${ours.peakRssMbPerStream.toFixed(1)} | ${seed.pssMbPerStream.toFixed(1)} | ${ours.pssMbPerStream.toFixed(1)} | ` +
        `${seed.receivedMbitPerStream.toFixed(2)} / ${ours.receivedMbitPerStream.toFixed(2)} | ${loadAverage()} |`,
    );
  }
  return rows;
}

/** Seconds from the camera listening again to the run script's first frame, after an outage. */
async function resumeSeconds(
  camera: TestCamera,
  dir: string,
  trials: number,
): Promise<{ seconds: number[]; seed: string }> {
  const { run, stream } = startRunScript(camera.address, 'bench-resume', dir);
  const seedPipeline = startSeed(camera.address);
  const results: number[] = [];
  let seed = '';
  try {
    await run.waitForLine(/video flowing/, 30000);
    for (let trial = 0; trial < trials; trial++) {
      await camera.stop();
      await sleep(10000); // a 10 s outage: the script has backed off to its longest delay
      const from = run.lines.length;
      const back = Date.now();
      await camera.restart();
      const flowing = await run.waitForLine(/video flowing/, 60000, from);
      results.push((flowing.at - back) / 1000);
      if (trial === 0)
        seed = seedPipeline.alive() ? 'still running after the outage' : 'exited at the outage';
      await sleep(3000);
    }
  } finally {
    await Promise.all([stream.stop(), seedPipeline.stop()]);
  }
  return { seconds: results, seed };
}

/** Seconds from the camera falling silent (SIGSTOP) to the run script's stall line; the seed's status. */
async function stallDetection(camera: TestCamera, dir: string): Promise<{ ours: number; seed: string }> {
  const { run, stream } = startRunScript(camera.address, 'bench-stall', dir);
  const seed = startSeed(camera.address);
  try {
    await run.waitForLine(/video flowing/, 30000);
    await sleep(3000);
    const from = run.lines.length;
    const paused = Date.now();
    camera.pause();
    const stalled = await run.waitForLine(/video stalled/, 60000, from);
    const ours = (stalled.at - paused) / 1000;
    await sleep(Math.max(0, 20000 - (Date.now() - paused)));
    const seedStatus = seed.alive() ? 'not detected: still waiting after 20 s' : 'exited';
    camera.resume();
    return { ours, seed: seedStatus };
  } finally {
    camera.resume();
    await Promise.all([stream.stop(), seed.stop()]);
  }
}

async function main(): Promise<void> {
  ensureFeed();
  const feed = discoverMediaFile(FEED);
  const feedMbit = (fs.statSync(FEED).size * 8) / 1e6 / feed.durationSeconds!;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvs-gateway-bench-'));
  console.log(
    `feed: ${feed.video} ${feed.width}x${feed.height}, ${feedMbit.toFixed(2)} Mbit/s, looped by the test camera without re-encoding`,
  );
  console.log(
    `machine: ${os.cpus().length} cores (${os.cpus()[0].model}), load average ${loadAverage()} at start`,
  );
  const camera = await TestCamera.start({ file: FEED, fps: 30 });
  try {
    if (process.env.BENCH_ONLY_KVSSINK) {
      await kvssinkBench(camera, dir);
      return;
    }
    console.log(
      `load: N seed pipelines and N run scripts side by side; ${WARM_UP_MS / 1000} s warm-up, then ${MEASURE_MS / 1000} s measured`,
    );
    const rows = await loadTable(camera, dir);
    console.log('recovery (run-camera.sh defaults: STALL_TIMEOUT_SECONDS=10, BACKOFF_MAX_SECONDS=4)...');
    const resume = await resumeSeconds(camera, dir, 3);
    const stall = await stallDetection(camera, dir);

    console.log(
      '\n| cameras | seed CPU %/stream | run-camera.sh CPU %/stream | ratio | seed peak RSS MB/stream | run-camera.sh peak RSS MB/stream | seed PSS MB/stream | run-camera.sh PSS MB/stream | Mbit/s in per stream (seed / ours) | load average after |',
    );
    console.log('|---|---|---|---|---|---|---|---|---|---|');
    for (const row of rows) console.log(row);
    console.log(
      `\nresume after a 10 s camera outage (camera listening -> first frame): ${resume.seconds.map((s) => s.toFixed(1)).join(', ')} s` +
        ` (seed pipeline: ${resume.seed})`,
    );
    console.log(
      `silent stall (camera SIGSTOPped) detected after: ${stall.ours.toFixed(1)} s (seed pipeline: ${stall.seed})`,
    );
    console.log(`load average at end: ${loadAverage()} (${os.cpus().length} cores shared with other work)`);
    if (kvssinkAvailable()) {
      console.log('');
      await kvssinkBench(camera, dir);
    } else {
      console.log(
        '\nkvssink is not on GST_PLUGIN_PATH: the part with the real kvssink and the KVS API stand-in is skipped',
      );
    }
  } finally {
    await camera.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
