import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { KvsApiStandIn } from '../test/support/kvs-api-stand-in';
import { RunCamera } from '../test/support/run-camera';
import { TestCamera } from '../test/support/test-camera';
import { seedPipeline } from './seed-pipeline';
import { CLOCK_TICKS, cpuTicks, loadAverage, pssKb, rssKb, sleep } from './process-stats';

/**
 * The benchmark's part with the real kvssink (only when GST_PLUGIN_PATH holds it; never in CI): N seed
 * pipelines `rtspsrc ! rtph264depay ! h264parse ! kvssink` (gst-launch-1.0, kvssink's log at WARN) and N run
 * scripts (GATEWAY_SINK=kvssink), side by side on one camera feed, both writing to the project's local
 * stand-in of the KVS API (test/support/kvs-api-stand-in.py), with the same kvssink settings. Phases:
 *   1. KVS accepting: memory (RSS and PSS) and CPU at steady state. PERSISTED acknowledgements trim
 *      kvssink's buffer, so it holds seconds of video, not buffer-duration.
 *   2. A 30 s outage of the stand-in (its port closed): the log each camera writes, in bytes per minute.
 *   3. KVS unreachable for longer than buffer-duration: the buffer full, i.e. the memory to size a gateway
 *      for, since one network outage fills every camera's buffer at once; and after KVS returns.
 */

const BUFFER_SECONDS = Number(process.env.BENCH_KVS_BUFFER_SECONDS ?? 120);
const KVS_CAMERAS = Number(process.env.BENCH_KVS_CAMERAS ?? 2);
const REGION = 'us-east-1';

/** Whether kvssink can be loaded from GST_PLUGIN_PATH. */
export function kvssinkAvailable(): boolean {
  return spawnSync('gst-inspect-1.0', ['kvssink'], { stdio: 'ignore' }).status === 0;
}

interface KvsStream {
  readonly kind: 'seed' | 'run-camera.sh';
  pids(): number[];
  /** How it ended, when it did (the seed has no supervisor: an exit is the end of that camera). */
  ended(): string | undefined;
  /** Epoch milliseconds and byte length of every log line it wrote. */
  readonly logLines: { at: number; bytes: number }[];
  stop(): Promise<void>;
}

function kvssinkProperties(name: string, credentialFile: string, logConfig: string): string[] {
  return [
    'kvssink',
    `stream-name=${name}`,
    `aws-region=${REGION}`,
    `credential-path=${credentialFile}`,
    'allow-create-stream=false',
    'key-frame-fragmentation=true',
    'frame-timecodes=true',
    'absolute-fragment-times=true',
    'fragment-acks=true',
    'restart-on-error=true',
    `buffer-duration=${BUFFER_SECONDS}`,
    `log-config=${logConfig}`,
  ];
}

function startSeed(url: string, name: string, dir: string, env: NodeJS.ProcessEnv): KvsStream {
  const logConfig = path.join(dir, 'seed.log4cplus.properties');
  // The seed given kvssink's log at WARN too: without a config kvssink logs everything at DEBUG to stdout.
  fs.writeFileSync(
    logConfig,
    'log4cplus.rootLogger=WARN, stderr\nlog4cplus.appender.stderr=log4cplus::ConsoleAppender\n' +
      'log4cplus.appender.stderr.logToStdErr=true\nlog4cplus.appender.stderr.layout=log4cplus::PatternLayout\n' +
      'log4cplus.appender.stderr.layout.ConversionPattern=kvssink %-5p %m%n\n',
  );
  const launch = seedPipeline(url, kvssinkProperties(name, path.join(dir, 'credentials'), logConfig), [
    'latency=500',
  ]);
  const child: ChildProcess = spawn('gst-launch-1.0', launch, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const logLines: { at: number; bytes: number }[] = [];
  for (const stream of [child.stdout!, child.stderr!]) {
    readline
      .createInterface({ input: stream })
      .on('line', (text) => logLines.push({ at: Date.now(), bytes: Buffer.byteLength(text) + 1 }));
  }
  return {
    kind: 'seed',
    pids: () => (child.exitCode === null && child.signalCode === null ? [child.pid!] : []),
    ended: () =>
      child.exitCode !== null || child.signalCode !== null
        ? `exited (${child.exitCode ?? child.signalCode})`
        : undefined,
    logLines,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30000);
      await exited;
      clearTimeout(timer);
    },
  };
}

function startRunScript(url: string, name: string, dir: string, env: NodeJS.ProcessEnv): KvsStream {
  const run = new RunCamera({
    ...(env as Record<string, string>),
    STREAM_NAME: name,
    RTSP_URL: url,
    GATEWAY_SINK: 'kvssink',
    AWS_REGION: REGION,
    KVS_CREDENTIAL_PATH: path.join(dir, 'credentials'),
    KVS_BUFFER_SECONDS: String(BUFFER_SECONDS),
    HEALTH_FILE: path.join(dir, `${name}.health`),
  });
  return {
    kind: 'run-camera.sh',
    pids: () => (run.running ? [run.pid, ...run.pipelinePids()] : []),
    ended: () => {
      const restarts = run.lines.filter((line) => /pipeline ended|restarting/.test(line.text)).length;
      return run.running ? (restarts ? `${restarts} pipeline restart(s)` : undefined) : 'exited';
    },
    get logLines() {
      return run.lines.map((line) => ({ at: line.at, bytes: Buffer.byteLength(line.text) + 1 }));
    },
    stop: async () => {
      await run.stop(40000);
    },
  };
}

interface Memory {
  rssMb: number;
  pssMb: number;
  counted: number;
}

/** Per camera, averaged over the streams of one kind that still run (a process may end between the calls). */
function memoryPerCamera(streams: KvsStream[]): Memory {
  let rss = 0;
  let pss = 0;
  let counted = 0;
  for (const stream of streams) {
    try {
      const pids = stream.pids();
      if (pids.length === 0) continue;
      rss += pids.reduce((sum, pid) => sum + rssKb(pid), 0);
      pss += pids.reduce((sum, pid) => sum + pssKb(pid), 0);
      counted += 1;
    } catch {
      // it ended while being measured
    }
  }
  return { rssMb: rss / 1024 / Math.max(counted, 1), pssMb: pss / 1024 / Math.max(counted, 1), counted };
}

/** CPU time of a process, 0 once it has ended (the run script's short-lived children come and go). */
function ticksOf(pid: number): number {
  try {
    return cpuTicks(pid);
  } catch {
    return 0;
  }
}

async function cpuPercentPerCamera(streams: KvsStream[], seconds: number): Promise<number> {
  const pids = streams.flatMap((stream) => stream.pids());
  const before = new Map(pids.map((pid) => [pid, ticksOf(pid)]));
  await sleep(seconds * 1000);
  const ticks = pids.reduce((sum, pid) => sum + Math.max(0, ticksOf(pid) - before.get(pid)!), 0);
  return (ticks / CLOCK_TICKS / seconds / streams.length) * 100;
}

function logBytesPerCameraMinute(
  streams: KvsStream[],
  from: number,
  to: number,
): { bytes: number; lines: number } {
  let bytes = 0;
  let lines = 0;
  for (const stream of streams) {
    for (const line of stream.logLines.filter((entry) => entry.at >= from && entry.at < to)) {
      bytes += line.bytes;
      lines += 1;
    }
  }
  const minutes = (to - from) / 60000;
  return { bytes: bytes / streams.length / minutes, lines: lines / streams.length / minutes };
}

function describe(memory: Memory, streams: KvsStream[]): string {
  const ended = streams.map((stream) => stream.ended()).filter(Boolean);
  return (
    `${memory.rssMb.toFixed(1)} MB RSS, ${memory.pssMb.toFixed(1)} MB PSS (${memory.counted}/${streams.length} running` +
    `${ended.length ? `; ${ended.join(', ')}` : ''})`
  );
}

/** Runs the kvssink phases and prints their figures. */
export async function kvssinkBench(camera: TestCamera, dir: string): Promise<void> {
  const standIn = await KvsApiStandIn.start({ region: REGION });
  const expiration = new Date(Date.now() + 6 * 3600 * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
  fs.writeFileSync(
    path.join(dir, 'credentials'),
    `CREDENTIALS AKIAIOSFODNN7EXAMPLE ${expiration} wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY bench-session-token`,
  );
  const env = { ...process.env, CONTROL_PLANE_URI: standIn.controlPlaneUri };
  const seeds = Array.from({ length: KVS_CAMERAS }, (_, i) =>
    startSeed(camera.address, `seed-${i}`, dir, env),
  );
  const ours = Array.from({ length: KVS_CAMERAS }, (_, i) =>
    startRunScript(camera.address, `ours-${i}`, dir, env),
  );
  const groups = { seed: seeds, 'run-camera.sh': ours };
  const rows: string[] = [];
  const full: Record<string, Memory> = {};
  const outageLog: Record<string, number> = {};
  try {
    console.log(
      `kvssink: ${KVS_CAMERAS} seed pipeline(s) and ${KVS_CAMERAS} run script(s) against the KVS API stand-in; ` +
        `buffer-duration ${BUFFER_SECONDS} s; 40 s warm-up...`,
    );
    await sleep(40000);
    const accepted = await standIn.state();
    const fragments = Object.values(accepted.streams).map((stream) => stream.persisted);
    console.log(`  fragments acknowledged per stream after warm-up: ${fragments.join(', ')}`);
    for (const [kind, streams] of Object.entries(groups)) {
      const cpu = await cpuPercentPerCamera(streams, 15);
      const memory = memoryPerCamera(streams);
      rows.push(
        `| KVS accepting (steady state) | ${kind} | ${describe(memory, streams)} | ${cpu.toFixed(1)} % CPU |`,
      );
    }

    const outageStart = Date.now();
    await standIn.setMode('refuse');
    await sleep(30000);
    const outageEnd = Date.now();
    await standIn.setMode('normal');
    for (const [kind, streams] of Object.entries(groups)) {
      const log = logBytesPerCameraMinute(streams, outageStart, outageEnd + 2000);
      outageLog[kind] = log.bytes;
      rows.push(
        `| 30 s outage of KVS | ${kind} | ${(log.bytes / 1024).toFixed(1)} KB of log per camera-minute | ${log.lines.toFixed(0)} lines per camera-minute |`,
      );
    }
    await sleep(20000);

    console.log(`  filling kvssink's buffer: KVS unreachable for ${BUFFER_SECONDS + 20} s...`);
    await standIn.setMode('refuse');
    await sleep((BUFFER_SECONDS + 20) * 1000);
    for (const [kind, streams] of Object.entries(groups)) {
      full[kind] = memoryPerCamera(streams);
      rows.push(
        `| buffer full (KVS unreachable > buffer-duration) | ${kind} | ${describe(full[kind], streams)} | |`,
      );
    }
    await standIn.setMode('normal');
    await sleep(40000);
    for (const [kind, streams] of Object.entries(groups)) {
      rows.push(`| 40 s after KVS returned | ${kind} | ${describe(memoryPerCamera(streams), streams)} | |`);
    }
  } finally {
    await Promise.all([...seeds, ...ours].map((stream) => stream.stop()));
    await standIn.stop();
  }
  console.log('\n| phase | pipeline | per camera | |');
  console.log('|---|---|---|---|');
  for (const row of rows) console.log(row);
  tradeOff(full, outageLog);
  console.log(`load average after the kvssink part: ${loadAverage()}`);
}

// CloudWatch Logs standard ingestion (us-east-1) and a GB of instance memory for a month (an m7g.large's
// on-demand price over its 8 GiB), only to put the two costs side by side.
const LOG_INGESTION_USD_PER_GB = 0.5;
const MEMORY_USD_PER_GB_MONTH = (0.0816 * 730) / 8;

/** What the run script's extra memory costs next to what the log it does not write would have cost. */
function tradeOff(full: Record<string, Memory>, outageLog: Record<string, number>): void {
  const seed = full.seed;
  const ours = full['run-camera.sh'];
  if (!seed?.counted || !ours?.counted || outageLog.seed === undefined) return;
  const extraPssMb = ours.pssMb - seed.pssMb;
  const memoryUsdMonth = (extraPssMb / 1024) * MEMORY_USD_PER_GB_MONTH;
  const savedLogGbPerHour = ((outageLog.seed - outageLog['run-camera.sh']) * 60) / 1024 ** 3;
  console.log(
    `\ntrade-off per camera, buffer full: run-camera.sh takes ${extraPssMb.toFixed(1)} MB PSS more ` +
      `(${((ours.pssMb / seed.pssMb - 1) * 100).toFixed(0)} %; RSS ${((ours.rssMb / seed.rssMb - 1) * 100).toFixed(0)} %), ` +
      `about $${memoryUsdMonth.toFixed(2)} a month of instance memory; during a KVS outage it writes ` +
      `${(outageLog.seed / Math.max(outageLog['run-camera.sh'], 1)).toFixed(0)}x less log: ` +
      `${savedLogGbPerHour.toFixed(2)} GB less per camera-hour of outage ($${(savedLogGbPerHour * LOG_INGESTION_USD_PER_GB).toFixed(2)} ` +
      'of CloudWatch Logs ingestion), and no request header (access key id, signature) at all',
  );
}
