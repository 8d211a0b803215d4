import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { CameraList } from '../../lib/camera-list';
import { AwsStandInState, SsmStandIn } from '../support/aws-stand-ins';

export { useSsmStandIn } from '../support/aws-stand-ins';

export const USERDATA = path.join(__dirname, '..', '..', 'userdata');
export const CAMERA_LIST_PARAMETER = '/kvs-gateway/Ec2GatewayStack/camera-list';

const execFileAsync = promisify(execFile);

/**
 * A temporary gateway root for the reconciler: a stand-in `systemctl` that records its arguments (one
 * call a line), and the SSM stand-in (a real JSON 1.1 server that checks SigV4) holding the camera
 * list and the URL parameters, which the script reaches through AWS_ENDPOINT_URL_SSM with the
 * credential file the refresher would write.
 */
export class ReconcilerSandbox {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvs-reconcile-'));
  readonly root = path.join(this.dir, 'root');
  private readonly bin = path.join(this.dir, 'bin');
  private readonly calls = path.join(this.dir, 'systemctl-calls');
  private readonly credentialFile = path.join(this.dir, 'credentials');
  private ssmUnreachable = false;

  /** `ssm` is the file's SSM stand-in (useSsmStandIn); the sandbox empties its parameters and denials. */
  constructor(private readonly ssm: SsmStandIn) {
    fs.mkdirSync(this.root);
    fs.mkdirSync(this.bin);
    fs.writeFileSync(
      path.join(this.bin, 'systemctl'),
      `#!/usr/bin/env bash\nprintf '%s\\n' "$*" >>'${this.calls}'\n`,
      { mode: 0o755 },
    );
    fs.writeFileSync(this.credentialFile, this.aws.credentialFileLine(), { mode: 0o600 });
    this.aws.setParameters({});
    this.aws.denyParameters([]);
    this.takeSsmCalls();
  }

  private get aws(): AwsStandInState {
    return this.ssm.state;
  }

  setCameraList(list: CameraList | string): void {
    this.aws.setParameters({
      ...this.aws.parameters(),
      [CAMERA_LIST_PARAMETER]: {
        Type: 'String',
        Value: typeof list === 'string' ? list : JSON.stringify(list),
        Version: 1,
      },
    });
  }

  /** The camera URL parameters that exist, with their versions (their values are never read). */
  setParameterVersions(versions: Record<string, number>): void {
    const list = this.aws.parameters()[CAMERA_LIST_PARAMETER];
    this.aws.setParameters({
      ...(list ? { [CAMERA_LIST_PARAMETER]: list } : {}),
      ...Object.fromEntries(
        Object.entries(versions).map(([name, Version]) => [
          name,
          { Type: 'SecureString' as const, Value: 'rtsp://never-read.example/', Version },
        ]),
      ),
    });
  }

  setAwsUnreachable(unreachable: boolean): void {
    this.ssmUnreachable = unreachable;
  }

  /** The SSM calls since the last time this was asked. */
  takeSsmCalls(): { target: string; names: string[]; decrypt: boolean }[] {
    const calls = this.aws.records<{ target: string; names: string[]; decrypt: boolean }>('ssm-calls.jsonl');
    fs.rmSync(path.join(this.aws.dir, 'ssm-calls.jsonl'), { force: true });
    return calls;
  }

  /** The systemctl calls since the last time this was asked. */
  takeSystemctlCalls(): string[] {
    if (!fs.existsSync(this.calls)) return [];
    const calls = fs.readFileSync(this.calls, 'utf8').split('\n').filter(Boolean);
    fs.rmSync(this.calls);
    return calls;
  }

  /** Runs a gateway script with the sandbox's root, list and stand-ins; `env` adds to its environment. */
  async run(script: string, env: Record<string, string> = {}): Promise<{ code: number; stderr: string }> {
    try {
      const { stderr } = await execFileAsync('bash', [script], {
        env: {
          PATH: `${this.bin}:${process.env.PATH}`,
          KVS_GATEWAY_ROOT: this.root,
          KVS_CAMERA_LIST_PARAMETER: CAMERA_LIST_PARAMETER,
          KVS_CREDENTIAL_PATH: this.credentialFile,
          AWS_REGION: 'eu-west-1',
          // A port nothing listens on: connection refused, as when SSM cannot be reached.
          AWS_ENDPOINT_URL_SSM: this.ssmUnreachable ? 'http://127.0.0.1:9' : this.ssm.standIn.url,
          ...env,
        },
      });
      return { code: 0, stderr };
    } catch (error) {
      const failure = error as { code: number; stderr: string };
      return { code: failure.code, stderr: failure.stderr };
    }
  }

  readFile(relative: string): string {
    return fs.readFileSync(path.join(this.root, relative), 'utf8');
  }

  /** Every file under the root with its content, to show that a failed run changed nothing. */
  snapshot(): Record<string, string> {
    const files: Record<string, string> = {};
    const walk = (dir: string) => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(full);
        else files[path.relative(this.root, full)] = fs.readFileSync(full, 'utf8');
      }
    };
    walk(this.root);
    return files;
  }

  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
