import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { GetProductsCommand, PricingClient } from '@aws-sdk/client-pricing';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { createAwsClients } from '../../lib/cli/aws-clients';
import { runKvsGatewayCli, type CliIo } from '../../lib/cli/kvs-gateway-cli';

/**
 * Runs the real CLI (parser, commands, real SDK clients whose `send` the tests mock with
 * aws-sdk-client-mock) in-process, with captured output and a stand-in stdin.
 */

/** Every test uses this password; "Sekret" survives any encoding, so no output line may contain it. */
export const PASSWORD = 'p@ss:w/rd%Sekret-é€ ';
export const PASSWORD_MARKER = 'Sekret';

export const CONFIG = {
  parameterPrefix: '/kvs-gateway/cameras',
  cameras: [
    { name: 'front-door', retentionHours: 24, codec: 'h264' },
    { name: 'lobby', streamName: 'site1.lobby', retentionHours: 168, codec: 'h265' },
  ],
};

export interface CliRun {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly opened: readonly string[];
}

/** A terminal stand-in: raw mode is recorded, typed keys are written before the CLI reads them. */
export class FakeTerminal extends PassThrough {
  readonly isTTY = true;
  readonly rawModes: boolean[] = [];
  setRawMode(mode: boolean): this {
    this.rawModes.push(mode);
    return this;
  }
}

export interface RunOptions {
  /** Piped stdin (not a terminal), or a FakeTerminal with keys already typed. */
  readonly stdin?: string | FakeTerminal;
  readonly cwd?: string;
}

export class CliSandbox {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvs-gateway-cli-test-'));
  private readonly savedEnv = { ...process.env };
  readonly runs: CliRun[] = [];
  /** STS accepts the credentials unless a test says otherwise. */
  readonly sts = mockClient(STSClient);
  /** The Price List API knows no prices unless a test gives some (the built-in table is used). */
  readonly pricing = mockClient(PricingClient);

  constructor(config: unknown = CONFIG) {
    this.sts
      .on(GetCallerIdentityCommand)
      .resolves({ Account: '111122223333', Arn: 'arn:aws:iam::111122223333:user/tester' });
    this.pricing.on(GetProductsCommand).resolves({ PriceList: [] });
    fs.writeFileSync(path.join(this.dir, 'gateway.config.json'), JSON.stringify(config));
    // Keep the developer's own AWS setup out: only what a test puts here counts.
    for (const key of Object.keys(process.env)) {
      if (key.startsWith('AWS_')) delete process.env[key];
    }
    process.env.AWS_CONFIG_FILE = path.join(this.dir, 'aws-config');
    process.env.AWS_SHARED_CREDENTIALS_FILE = path.join(this.dir, 'aws-credentials');
    process.env.AWS_EC2_METADATA_DISABLED = 'true';
    process.env.AWS_ACCESS_KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
    process.env.AWS_SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
  }

  async run(args: readonly string[], options: RunOptions = {}): Promise<CliRun> {
    let stdout = '';
    let stderr = '';
    const opened: string[] = [];
    const stdin = options.stdin instanceof FakeTerminal ? options.stdin : pipedStdin(options.stdin ?? '');
    const io: CliIo = {
      stdout: (text) => {
        stdout += text;
      },
      stderr: (text) => {
        stderr += text;
      },
      stdin,
      env: process.env,
      cwd: options.cwd ?? this.dir,
      tmpDir: this.dir,
      openFile: async (file) => {
        opened.push(file);
      },
      createClients: createAwsClients,
    };
    const exitCode = await runKvsGatewayCli(args, io);
    const run = { exitCode, stdout, stderr, opened };
    this.runs.push(run);
    return run;
  }

  /** Every line any run printed, on either stream (JSON included). */
  outputLines(): string[] {
    return this.runs.flatMap((run) => `${run.stdout}\n${run.stderr}`.split('\n'));
  }

  dispose(): void {
    this.sts.restore();
    this.pricing.restore();
    for (const key of Object.keys(process.env)) delete process.env[key];
    Object.assign(process.env, this.savedEnv);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

function pipedStdin(text: string): PassThrough {
  const stream = new PassThrough();
  stream.end(text);
  return stream;
}

/** The assertion every command that touches a URL must pass. */
export function expectNoPasswordIn(lines: readonly string[]): void {
  const leaks = lines.filter(
    (line) =>
      line.includes(PASSWORD_MARKER) ||
      line.includes(PASSWORD.trim()) ||
      line.includes(encodeURIComponent(PASSWORD)),
  );
  expect(leaks).toEqual([]);
}
