import { ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';
import type { AwsRequestRecord } from './permission-check';
import { SYSTEM_PYTHON } from './test-camera';

/**
 * Starts and drives the local stand-in of the Kinesis Video Streams API (test/support/kvs-api-stand-in.py), the
 * project's only one: point kvssink at it with `CONTROL_PLANE_URI=<controlPlaneUri>` and the SDK (the CLI) with
 * `AWS_ENDPOINT_URL_KINESIS_VIDEO=<controlPlaneUri>`, switch its mode, read what it received.
 */

export type KvsStandInMode = 'normal' | 'missing' | 'refuse' | 'hang' | 'forbidden' | 'error-ack';
/** The modes a stream may have on its own; `normal` gives it the server's mode again. */
export type KvsStreamMode = 'normal' | 'missing' | 'forbidden' | 'error-ack';

/** What DescribeStream says of a stream, as a deploy made it (the stand-in's default: 24 h, video/h264). */
export interface KvsStreamSettings {
  readonly retentionHours?: number;
  readonly mediaType?: string;
}

export interface KvsFragment {
  /** The fragment's timecode as KVS acknowledges it (MKV TimecodeScale units: milliseconds from kvssink). */
  readonly timecode: number;
  readonly durationMs: number;
  readonly frames: number;
  readonly keyFrames: number;
  /** Its size as received (the Matroska cluster). */
  readonly bytes: number;
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
  /** Bytes and frames received per minute (epoch seconds of the minute): KVS's PutMedia.Incoming* metrics. */
  readonly perMinute: Record<string, [number, number]>;
  /** HLS sessions created (GetHLSStreamingSessionURL) and clips made (GetClip). */
  readonly hlsSessions: number;
  readonly clips: number;
}

export interface KvsStandInState {
  readonly mode: KvsStandInMode;
  /** Modes set for some streams only (`setStreamMode`). */
  readonly streamModes: Record<string, KvsStreamMode>;
  /** Settings set for some streams (`setStreamSettings`). */
  readonly streamSettings: Record<string, KvsStreamSettings>;
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
    options: {
      region?: string;
      mode?: KvsStandInMode;
      host?: string;
      record?: string;
      account?: string;
    } = {},
  ): Promise<KvsApiStandIn> {
    const region = options.region ?? 'us-east-1';
    const host = options.host ?? '127.0.0.1';
    const args = [STAND_IN_SCRIPT, '--region', region, '--mode', options.mode ?? 'normal', '--host', host];
    // What IAM authorizes for each request, one JSON line each, for the permission check.
    if (options.record) args.push('--record', options.record);
    if (options.account) args.push('--account', options.account);
    // Debian's Python: GetClip and HLS remux the received media with GStreamer (python3-gi).
    const child = spawn(SYSTEM_PYTHON, args, { stdio: ['ignore', 'pipe', 'pipe'] });
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

  /** A mode for these streams only: a missing stream, a stream whose fragments KVS refuses. */
  async setStreamMode(streams: string[], mode: KvsStreamMode, errorId?: number): Promise<KvsStandInState> {
    return this.control('POST', '/mode', { mode, streams, ...(errorId === undefined ? {} : { errorId }) });
  }

  /** What DescribeStream says of these streams from now on (their retention and media type), as a deploy sets them. */
  async setStreamSettings(streams: Record<string, KvsStreamSettings>): Promise<KvsStandInState> {
    return this.control('POST', '/streams', { streams });
  }

  /** Ends the HLS sessions of these streams (all when absent) now, as if their URLs had expired. */
  async expireSessions(streams?: string[]): Promise<KvsStandInState> {
    return this.control('POST', '/expire-sessions', streams ? { streams } : {});
  }

  /** Answers 403 to requests signed with these access key ids only (a rejected, cached key). */
  async rejectKeys(accessKeyIds: string[]): Promise<KvsStandInState> {
    return this.control('POST', '/reject-keys', { accessKeyIds });
  }

  /** What IAM authorizes for each request it answered (the permission check reads these). */
  async requestRecords(): Promise<AwsRequestRecord[]> {
    return (await fetch(`http://${this.host}:${this.controlPort}/requests`)).json() as Promise<
      AwsRequestRecord[]
    >;
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
