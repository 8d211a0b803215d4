import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * `kvs-gateway` installed as a user installs it: the project built (`npm run build`, what `npm ci`
 * runs as "prepare") and installed globally into a private prefix (`npm install -g`), run by its
 * bin link, in its own process, with the environment a test gives.
 */

const ROOT = path.resolve(__dirname, '..', '..');

export interface InstalledCli {
  /** The `kvs-gateway` command on the prefix's bin folder. */
  readonly command: string;
  readonly prefix: string;
  remove(): void;
}

export function installCli(): InstalledCli {
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'pipe' });
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'kvs-gateway-global-'));
  execFileSync('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', ROOT], {
    cwd: prefix,
    stdio: 'pipe',
  });
  return {
    command: path.join(prefix, 'bin', 'kvs-gateway'),
    prefix,
    remove: () => fs.rmSync(prefix, { recursive: true, force: true }),
  };
}

export interface CliRun {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Wall-clock milliseconds from start to exit. */
  readonly milliseconds: number;
}

export interface CliRunOptions {
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  readonly stdin?: string;
  /** The run is killed after this long (a hung command then fails its test instead of the suite). */
  readonly killAfterMs?: number;
}

export function runInstalledCli(
  cli: InstalledCli,
  args: readonly string[],
  options: CliRunOptions,
): Promise<CliRun> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cli.command, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const killer = setTimeout(() => child.kill('SIGKILL'), options.killAfterMs ?? 120_000);
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (exitCode, signal) => {
      clearTimeout(killer);
      resolve({ exitCode, signal, stdout, stderr, milliseconds: Date.now() - started });
    });
    child.stdin.end(options.stdin ?? '');
  });
}
