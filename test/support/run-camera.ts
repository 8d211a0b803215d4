import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';

/** Runs the real userdata/run-camera.sh and records its log lines, for tests, the demo and the benchmark. */

export const RUN_CAMERA_SCRIPT = path.join(__dirname, '..', '..', 'userdata', 'run-camera.sh');

export interface LogLine {
  /** Epoch milliseconds when the line arrived. */
  readonly at: number;
  readonly text: string;
}

/** Variables the script reads from a caller's shell but a test must not inherit. */
const INHERITED_CAMERA_VARIABLES = [
  'STREAM_NAME',
  'CAMERA_NAME',
  'RTSP_URL',
  'RTSP_URL_PARAMETER',
  'CODEC',
  'AUDIO',
  'GATEWAY_SINK',
  'HEALTH_FILE',
  'KVS_CREDENTIAL_PATH',
];

export class RunCamera {
  readonly lines: LogLine[] = [];
  readonly exited: Promise<number | null>;
  private readonly process: ChildProcess;
  private readonly waiters: (() => void)[] = [];
  private closed = false;

  /** Starts the script with the given environment on top of this process's (minus camera variables). */
  constructor(readonly env: Record<string, string>) {
    const base = { ...process.env };
    for (const name of INHERITED_CAMERA_VARIABLES) delete base[name];
    this.process = spawn('bash', [RUN_CAMERA_SCRIPT], {
      env: { ...base, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [this.process.stdout!, this.process.stderr!]) {
      readline.createInterface({ input: stream }).on('line', (text) => {
        this.lines.push({ at: Date.now(), text });
        if (process.env.RUN_CAMERA_ECHO) console.error(text);
        for (const wake of this.waiters.splice(0)) wake();
      });
    }
    // 'close', not 'exit': it comes after the output streams end, so every log line has arrived.
    this.exited = new Promise((resolve) =>
      this.process.once('close', (code) => {
        this.closed = true;
        for (const wake of this.waiters.splice(0)) wake();
        resolve(code);
      }),
    );
  }

  get pid(): number {
    return this.process.pid!;
  }

  get log(): string {
    return this.lines.map((line) => line.text).join('\n');
  }

  get running(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  /** Resolves with the first line matching `pattern` that arrives after line index `from`. */
  async waitForLine(pattern: RegExp, timeoutMs: number, from = 0): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.slice(from).find((line) => pattern.test(line.text));
      if (found) return found;
      if (this.closed) throw new Error(`run-camera.sh exited before logging ${pattern}:\n${this.log}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no log line matching ${pattern} within ${timeoutMs} ms:\n${this.log}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 500));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The pids of the script's pipeline process(es): the Python/GStreamer child of the shell. */
  pipelinePids(): number[] {
    try {
      return execFileSync('pgrep', ['-P', String(this.pid)], { encoding: 'utf8' })
        .split('\n')
        .filter(Boolean)
        .map(Number);
    } catch {
      return [];
    }
  }

  /** Sends SIGTERM (as systemd and ECS do) and resolves with the exit code. */
  async stop(timeoutMs = 15000): Promise<number | null> {
    if (this.running) {
      this.process.kill('SIGTERM');
      const timer = setTimeout(() => this.killAll(), timeoutMs);
      const code = await this.exited;
      clearTimeout(timer);
      return code;
    }
    return this.exited;
  }

  private killAll(): void {
    for (const pid of this.pipelinePids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    this.process.kill('SIGKILL');
  }
}

/** Runs `run-camera.sh --check-health` with the given environment; returns its exit code and output. */
export function checkHealth(env: Record<string, string>): { code: number; output: string } {
  try {
    const output = execFileSync('bash', [RUN_CAMERA_SCRIPT, '--check-health'], {
      env: { ...process.env, ...env },
      encoding: 'utf8',
    });
    return { code: 0, output };
  } catch (error) {
    const failed = error as { status: number; stdout: string };
    return { code: failed.status, output: failed.stdout };
  }
}

export function mkvFiles(folder: string): string[] {
  return fs
    .readdirSync(folder)
    .filter((name) => name.endsWith('.mkv'))
    .sort()
    .map((name) => path.join(folder, name));
}

/** Waits until the newest MKV file in `folder` holds more than `bytes`; returns its path. */
export async function fileGrowsPast(folder: string, bytes: number, timeoutMs = 15000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const newest = fs.existsSync(folder) ? mkvFiles(folder).pop() : undefined;
    if (newest && fs.statSync(newest).size > bytes) return newest;
    if (Date.now() > deadline) throw new Error(`no MKV file in ${folder} grew past ${bytes} bytes`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
