import { ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';

/** Starts, pauses, stops and restarts the project's RTSP test camera (test/support/test-camera.py). */

export interface TestCameraOptions {
  readonly codec?: 'h264' | 'h265';
  readonly audio?: 'none' | 'aac' | 'pcma';
  readonly user?: string;
  readonly password?: string;
  readonly auth?: 'basic' | 'digest';
  /** Adds an application (metadata) track to the SDP, as ONVIF cameras do. */
  readonly metadata?: boolean;
  readonly width?: number;
  readonly height?: number;
  readonly fps?: number;
  readonly bitrateKbps?: number;
  /** Loop this pre-encoded H.264 MKV instead of encoding live (benchmark feeds). */
  readonly file?: string;
  /** RTSP transports offered (default: any); 'udp' answers a SETUP for TCP with 461, as some cameras do. */
  readonly transport?: 'any' | 'udp' | 'tcp';
  /** Seconds between key frames (default 1); "smart codec" modes reach 10 s and more. */
  readonly keyFrameSeconds?: number;
  /** B-frames between reference frames (H.264); with `openGop`, some are shown before their key frame. */
  readonly bframes?: number;
  readonly openGop?: boolean;
  /** After this many seconds of a session, the RTP timestamps jump by `jumpSeconds` and a GOP starts. */
  readonly jumpAfterSeconds?: number;
  /** Default 3600; negative jumps back (the camera's clock reset). */
  readonly jumpSeconds?: number;
  /** Serve on 127.0.0.1 inside this network namespace (`ip netns exec`), e.g. a booted box's. */
  readonly netns?: string;
  /** Listen address (default 127.0.0.1): an address of a test network, for cameras seen from a namespace. */
  readonly address?: string;
}

const CAMERA_SCRIPT = path.join(__dirname, 'test-camera.py');
/** Debian's Python: it has python3-gi (a pyenv python3 on PATH may not). */
export const SYSTEM_PYTHON = '/usr/bin/python3';

export class TestCamera {
  /** Epoch milliseconds of every RTSP client connection, across restarts. */
  readonly connections: number[] = [];
  /** Epoch milliseconds of every timestamp jump (jumpAfterSeconds). */
  readonly jumps: number[] = [];
  private process?: ChildProcess;
  private stderr = '';

  private constructor(
    private readonly options: TestCameraOptions,
    private listeningPort: number,
  ) {}

  /** Starts a camera on a free port (of 127.0.0.1 unless `address` says) and resolves once it listens. */
  static async start(options: TestCameraOptions = {}): Promise<TestCamera> {
    const camera = new TestCamera(options, 0);
    await camera.launch();
    return camera;
  }

  get port(): number {
    return this.listeningPort;
  }

  get pid(): number | undefined {
    return this.process?.pid;
  }

  get running(): boolean {
    return this.process !== undefined && this.process.exitCode === null && this.process.signalCode === null;
  }

  /** The camera's URL without credentials. */
  get address(): string {
    return `rtsp://${this.options.address ?? '127.0.0.1'}:${this.listeningPort}/stream`;
  }

  /** The camera's URL; `credentials` defaults to the camera's own, percent-encoded as the URL requires. */
  url(credentials?: { user: string; password: string }): string {
    const login =
      credentials ??
      (this.options.user ? { user: this.options.user, password: this.options.password ?? '' } : undefined);
    const userInfo = login ? `${encodeURIComponent(login.user)}:${encodeURIComponent(login.password)}@` : '';
    return this.address.replace('rtsp://', `rtsp://${userInfo}`);
  }

  /** SIGSTOP: the TCP connection stays open and silent, like a hung camera or a half-open link. */
  pause(): void {
    this.process?.kill('SIGSTOP');
  }

  resume(): void {
    this.process?.kill('SIGCONT');
  }

  async stop(): Promise<void> {
    const child = this.process;
    if (!child || !this.running) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGCONT');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }

  /** Starts the camera again on the same port (as a rebooted camera comes back at its address). */
  async restart(): Promise<void> {
    await this.stop();
    await this.launch();
  }

  private launch(): Promise<void> {
    const o = this.options;
    const args = [CAMERA_SCRIPT, '--port', String(this.listeningPort), '--codec', o.codec ?? 'h264'];
    args.push('--address', o.address ?? '127.0.0.1');
    args.push('--audio', o.audio ?? 'none', '--auth', o.auth ?? 'basic');
    args.push('--width', String(o.width ?? 320), '--height', String(o.height ?? 240));
    args.push('--fps', String(o.fps ?? 15), '--bitrate', String(o.bitrateKbps ?? 300));
    if (o.user !== undefined) args.push('--user', o.user);
    if (o.file) args.push('--file', o.file);
    if (o.metadata) args.push('--metadata');
    if (o.transport) args.push('--transport', o.transport);
    if (o.keyFrameSeconds) args.push('--key-frame-seconds', String(o.keyFrameSeconds));
    if (o.bframes) args.push('--bframes', String(o.bframes));
    if (o.openGop) args.push('--open-gop');
    if (o.jumpAfterSeconds !== undefined) {
      args.push('--jump-after', String(o.jumpAfterSeconds), '--jump-seconds', String(o.jumpSeconds ?? 3600));
    }
    const argv = o.netns
      ? ['ip', 'netns', 'exec', o.netns, SYSTEM_PYTHON, ...args]
      : [SYSTEM_PYTHON, ...args];
    const child = spawn(argv[0], argv.slice(1), {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, TEST_CAMERA_PASSWORD: o.password ?? '' },
    });
    this.process = child;
    this.stderr = '';
    child.stderr?.on(
      'data',
      (chunk: Buffer) => (this.stderr = (this.stderr + chunk.toString()).slice(-4000)),
    );
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`test camera did not start: ${this.stderr}`)), 20000);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`test camera exited with ${code}: ${this.stderr}`));
      });
      readline.createInterface({ input: child.stdout! }).on('line', (line) => {
        const event = JSON.parse(line) as { event: string; port?: number; time: number };
        if (event.event === 'connect') this.connections.push(event.time * 1000);
        if (event.event === 'jump') this.jumps.push(event.time * 1000);
        if (event.event === 'ready') {
          this.listeningPort = event.port!;
          clearTimeout(timer);
          resolve();
        }
      });
    });
  }
}
