import { spawn } from 'node:child_process';

/** How a command ended, with what it printed. */
export interface CommandResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CommandOptions {
  readonly input?: string;
  /** SIGKILL after this long (the result then has code null). */
  readonly timeoutMs?: number;
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Runs a command without a shell and without blocking the event loop: the whole-system tests run
 * builds and health checks while their own servers (stand-ins, cameras) keep answering.
 */
export function runCommand(command: string, args: readonly string[], options: CommandOptions = {}) {
  return new Promise<CommandResult>((resolve, reject) => {
    const stdin = options.input === undefined ? 'ignore' : 'pipe';
    const child = spawn(command, args, { env: options.env ?? process.env, stdio: [stdin, 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk) => (stdout += chunk));
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs) : undefined;
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin?.end(options.input);
  });
}

/** Runs a command that must succeed; returns its standard output. */
export async function mustRun(command: string, args: readonly string[], options: CommandOptions = {}) {
  const result = await runCommand(command, args, options);
  if (result.code !== 0) {
    const output = `${result.stderr}${result.stdout}`.trim().split('\n').slice(-30).join('\n');
    throw new Error(`${command} ${args.join(' ')} exited with ${result.code}:\n${output}`);
  }
  return result.stdout;
}
