import { ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';

/**
 * Starts and drives the local stand-in of the Kinesis Video Streams API (test/support/kvs-api-stand-in.py):
 * point kvssink at it with `CONTROL_PLANE_URI=<controlPlaneUri>`, switch its mode, read what it received.
 */

export type KvsStandInMode = 'normal' | 'missing' | 'refuse' | 'hang' | 'forbidden' | 'error-ack';

export interface KvsFragment {
  /** The fragment's timecode as KVS acknowledges it (MKV TimecodeScale units: milliseconds from kvssink). */
  readonly timecode: number;
  readonly durationMs: number;
  readonly frames: number;
  readonly keyFrames: number;
  /** Epoch seconds when the fragment began to arrive. */
  readonly arrived: number;
}

export interface KvsStreamReceived {
  readonly uploads: number;
  readonly bytes: number;
  readonly frames: number;
  readonly keyFrames: number;
  readonly persisted: number;
  /** Error events sent, by KVS ErrorId. */
  readonly errors: Record<string, number>;
  readonly codecs: string[];
  /** The newest fragments (up to 200), oldest first. */
  readonly fragments: KvsFragment[];
}

export interface KvsStandInState {
  readonly mode: KvsStandInMode;
  readonly errorId: number;
  readonly region: string;
  /** Requests per API ("describeStream", "getDataEndpoint", "putMedia") and HTTP status. */
  readonly requests: Record<string, Record<string, number>>;
  /** Requests per signing access key id. */
  readonly accessKeys: Record<string, number>;
  readonly streams: Record<string, KvsStreamReceived>;
}

export interface KvsStandInEvent {
  readonly event: string;
  readonly time: number;
  readonly [field: string]: unknown;
}

const STAND_IN_SCRIPT = path.join(__dirname, 'kvs-api-stand-in.py');

export class KvsApiStandIn {
  /** Every JSON line it printed: requests, fragments, mode changes. */
  readonly events: KvsStandInEvent[] = [];
  private stderr = '';

  private constructor(
    private readonly process: ChildProcess,
    readonly port: number,
    readonly controlPort: number,
    readonly region: string,
    readonly host: string,
  ) {}

  /**
   * Starts a stand-in on free ports of `host` (default 127.0.0.1; a box test gives its veth address)
   * that expects requests signed for `region`; with `record`, it appends what IAM authorizes for each
   * request to that file (test/support/permission-check.ts's records).
   */
  static start(
    options: { region?: string; mode?: KvsStandInMode; host?: string; record?: string } = {},
  ): Promise<KvsApiStandIn> {
    const region = options.region ?? 'us-east-1';
    const host = options.host ?? '127.0.0.1';
    const args = [STAND_IN_SCRIPT, '--region', region, '--mode', options.mode ?? 'normal', '--host', host];
    // What IAM authorizes for each request, one JSON line each, for the permission check.
    if (options.record) args.push('--record', options.record);
    const child = spawn('python3', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
    const early: KvsStandInEvent[] = [];
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`KVS API stand-in did not start: ${stderr}`)), 10000);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`KVS API stand-in exited with ${code}: ${stderr}`));
      });
      let standIn: KvsApiStandIn | undefined;
      readline.createInterface({ input: child.stdout! }).on('line', (line) => {
        let event: KvsStandInEvent;
        try {
          event = JSON.parse(line) as KvsStandInEvent;
        } catch {
          return; // not one of its events (a stray print): nothing to record
        }
        if (standIn) {
          standIn.events.push(event);
          return;
        }
        early.push(event);
        if (event.event === 'ready') {
          standIn = new KvsApiStandIn(child, event.port as number, event.controlPort as number, region, host);
          standIn.events.push(...early);
          child.stderr!.on(
            'data',
            (chunk: Buffer) => (standIn!.stderr = (standIn!.stderr + chunk.toString()).slice(-4000)),
          );
          clearTimeout(timer);
          resolve(standIn);
        }
      });
    });
  }

  /** The value for kvssink's CONTROL_PLANE_URI environment variable. */
  get controlPlaneUri(): string {
    return `http://${this.host}:${this.port}`;
  }

  /** What the stand-in printed on stderr (its own failures), for error messages. */
  get errors(): string {
    return this.stderr;
  }

  async setMode(mode: KvsStandInMode, errorId?: number): Promise<KvsStandInState> {
    return this.control('POST', '/mode', { mode, ...(errorId === undefined ? {} : { errorId }) });
  }

  /** Answers 403 to requests signed with these access key ids only (a rejected, cached key). */
  async rejectKeys(accessKeyIds: string[]): Promise<KvsStandInState> {
    return this.control('POST', '/reject-keys', { accessKeyIds });
  }

  async state(): Promise<KvsStandInState> {
    return this.control('GET', '/state');
  }

  async reset(): Promise<KvsStandInState> {
    return this.control('POST', '/reset', {});
  }

  /** Resolves with the state once `predicate` holds, polling every 250 ms. */
  async waitFor(
    predicate: (state: KvsStandInState) => boolean,
    timeoutMs: number,
    what = 'the expected state',
  ): Promise<KvsStandInState> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const state = await this.state();
      if (predicate(state)) return state;
      if (Date.now() > deadline) {
        throw new Error(`KVS API stand-in: no ${what} within ${timeoutMs} ms: ${JSON.stringify(state)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  async stop(): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.process.once('exit', () => resolve()));
    this.process.kill('SIGTERM');
    const timer = setTimeout(() => this.process.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }

  private async control(method: string, route: string, body?: unknown): Promise<KvsStandInState> {
    const response = await fetch(`http://${this.host}:${this.controlPort}${route}`, {
      method,
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    const document = (await response.json()) as KvsStandInState & { error?: string };
    if (!response.ok) throw new Error(`KVS API stand-in ${method} ${route}: ${document.error}`);
    return document;
  }
}
