import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * npm run synth's config check (scripts/check-synth-config.ts, run by scripts/synth.sh before cdk): a
 * config problem is said without cdk's "Subprocess exited with error 1" under it, and a gateway the
 * config leaves out fails the command unless the stacks to synthesize are named.
 */

const ROOT = path.join(__dirname, '..');
let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvs-synth-check-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function config(name: string, cameras: readonly Record<string, unknown>[]): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, JSON.stringify({ cameras }));
  return file;
}

function run(command: string, args: readonly string[]) {
  const result = spawnSync(command, args, { cwd: ROOT, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const check = (...args: string[]) =>
  run('node', ['--import', 'tsx', 'scripts/check-synth-config.ts', ...args]);
const five = ['a', 'b', 'c', 'd', 'e'].map((name) => ({ name }));

test('npm run synth on a config with a problem: the problem alone, exit 1, cdk never started', () => {
  const bad = config('bad.json', [{ name: 'front door' }]);

  const synth = run('bash', ['scripts/synth.sh', '-c', `config=${bad}`]);

  expect(synth.status).toBe(1);
  expect(synth.stderr.trim().split('\n').slice(-2)).toEqual([
    `${bad} has 1 problem(s):`,
    '  - cameras[0].name: "front door": use letters, digits, "_", "." or "-" (KVS stream names)',
  ]);
  expect(`${synth.stdout}${synth.stderr}`).not.toMatch(/Subprocess exited/);
});

test('a gateway the config leaves out fails npm run synth, with the edit that fits it and how to synthesize one gateway', () => {
  const file = config('five.json', five);

  const all = check('--quiet', '-c', `config=${file}`);

  expect(all.status).toBe(1);
  expect(all.stderr).toBe(
    `FargateGatewayStack cannot be synthesized: ${file} does not fit it:\n` +
      '  - cameras: shard 1 holds 5 cameras (cameras[0], cameras[1], cameras[2], cameras[3] and cameras[4]) but one Fargate task runs at most fargate.camerasPerTask = 4: give the last one listed another shard ("shard": 2 in cameras[4]) or raise fargate.camerasPerTask (at most 9)\n' +
      'Fix the config, or synthesize only the gateway you deploy: npm run synth -- Ec2GatewayStack\n',
  );
});

test.each([
  ['the gateway that fits named', ['Ec2GatewayStack'], 0],
  ['--context=config=', [], 1],
  ['the gateway left out named', ['FargateGatewayStack'], 1],
  ['only the shared stacks named (both gateways are still promised)', ['NetworkStack'], 1],
])('%s', (_what, stacks, status) => {
  const file = config('five.json', five);
  const args = _what.startsWith('--context') ? [`--context=config=${file}`] : ['-c', `config=${file}`];
  expect(check(...args, ...stacks).status).toBe(status);
});

test('the sample config fits both gateways', () => {
  expect(check()).toEqual({ status: 0, stdout: '', stderr: '' });
});
