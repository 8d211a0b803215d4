import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { figuresByStack, limitProblems, synthesizedTemplates } from '../test/support/cloud-assembly';

/**
 * `npm run bench:synth`: how long `cdk synth` takes, and what it makes, for 1 to 1,000 cameras. Each
 * size runs the real command a user runs (`npx cdk synth --quiet -c config=<file>`: a fresh process,
 * the app through tsx, cdk-nag and CloudFormation validation) on a config of that many cameras, four
 * a shard (the Fargate default), and prints the wall and CPU seconds with the machine's load, then
 * per stack: templates, resources (all, and the most in one template), the largest template and the
 * most outputs in one. Prints figures; asserts nothing (test/gateway-scale.test.ts checks the limits).
 *   BENCH_SYNTH_CAMERAS=1,69,70,300,1000   the sizes
 *   BENCH_SYNTH_PER_SHARD=4                 cameras per shard
 */

const ROOT = path.join(__dirname, '..');
const WORK = path.join(ROOT, 'tmp', 'bench-synth');
const SIZES = (process.env.BENCH_SYNTH_CAMERAS ?? '1,69,70,300,1000').split(',').map(Number);
const PER_SHARD = Number(process.env.BENCH_SYNTH_PER_SHARD ?? 4);

function loadAverage(): string {
  return os
    .loadavg()
    .map((load) => load.toFixed(2))
    .join(' ');
}

function writeConfig(count: number): string {
  const file = path.join(WORK, `cameras-${count}.json`);
  const perTask = Math.min(PER_SHARD, 9);
  const config = {
    cameras: Array.from({ length: count }, (_, i) => ({
      name: `camera-${String(i + 1).padStart(4, '0')}`,
      shard: Math.floor(i / PER_SHARD) + 1,
    })),
    ec2: { camerasPerInstance: PER_SHARD },
    fargate: { cpu: 2048, memoryMiB: 4096, camerasPerTask: perTask },
  };
  fs.writeFileSync(file, JSON.stringify(config));
  return file;
}

/** Runs `cdk synth` under bash's `time`: wall, user and system seconds of the whole process tree. */
function synth(configFile: string, outdir: string): { wall: number; user: number; system: number } {
  fs.rmSync(outdir, { recursive: true, force: true });
  const result = spawnSync(
    'bash',
    [
      '-c',
      'TIMEFORMAT="%R %U %S"; time npx cdk synth --quiet -c "config=$1" -o "$2" >/dev/null',
      'synth',
      configFile,
      outdir,
    ],
    { cwd: ROOT, encoding: 'utf8' },
  );
  if (result.status !== 0) throw new Error(`cdk synth failed:\n${result.stderr}`);
  const [wall, user, system] = result.stderr.trim().split('\n').pop()!.split(' ').map(Number);
  return { wall, user, system };
}

function main(): void {
  fs.mkdirSync(WORK, { recursive: true });
  console.log(
    `cdk synth of N cameras, ${PER_SHARD} a shard, on ${os.cpus().length} CPU(s) (${os.cpus()[0]?.model ?? 'unknown'})`,
  );
  for (const count of SIZES) {
    const before = loadAverage();
    const outdir = path.join(WORK, `cdk.out-${count}`);
    const time = synth(writeConfig(count), outdir);
    const templates = synthesizedTemplates(outdir);
    const problems = templates.flatMap(limitProblems);
    console.log(
      `\n${count} camera(s): synth ${time.wall.toFixed(1)} s wall, ${(time.user + time.system).toFixed(1)} s CPU ` +
        `(load average before ${before}, after ${loadAverage()}); ${templates.length} templates; ` +
        (problems.length === 0 ? 'all within the limits' : `OVER THE LIMITS: ${problems.join('; ')}`),
    );
    console.table(figuresByStack(templates));
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

main();
