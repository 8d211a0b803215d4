import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { CameraList } from '../../lib/camera-list';

export const USERDATA = path.join(__dirname, '..', '..', 'userdata');

const execFileAsync = promisify(execFile);

/**
 * A temporary gateway root with stand-ins for the two commands the reconciler calls:
 * `systemctl` records its arguments (one call a line) and `aws` answers `ssm get-parameter` with the
 * camera list and `ssm get-parameters` with the URL parameters' versions, from files the test sets.
 */
export class ReconcilerSandbox {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvs-reconcile-'));
  readonly root = path.join(this.dir, 'root');
  private readonly bin = path.join(this.dir, 'bin');
  private readonly calls = path.join(this.dir, 'systemctl-calls');

  constructor() {
    fs.mkdirSync(this.root);
    fs.mkdirSync(this.bin);
    fs.writeFileSync(
      path.join(this.bin, 'systemctl'),
      `#!/usr/bin/env bash\nprintf '%s\\n' "$*" >>'${this.calls}'\n`,
      { mode: 0o755 },
    );
    // Answers like the real CLI: the list's value as text; GetParameters' JSON, unknown names listed
    // as InvalidParameters. Fails like the real CLI when the test says the service is unreachable.
    fs.writeFileSync(
      path.join(this.bin, 'aws'),
      `#!/usr/bin/env bash
set -euo pipefail
if [[ -f '${this.dir}/aws-fails' ]]; then echo 'Could not connect to the endpoint URL' >&2; exit 255; fi
case "$1 $2" in
  "ssm get-parameter")
    [[ "$3" == --name && "$4" == "$KVS_CAMERA_LIST_PARAMETER" ]] || { echo "unexpected: $*" >&2; exit 254; }
    cat '${this.dir}/camera-list' ;;
  "ssm get-parameters")
    shift 3
    names=()
    while [[ $# -gt 0 && "$1" != --* ]]; do names+=("$1"); shift; done
    if [[ \${#names[@]} -gt 10 ]]; then
      echo 'An error occurred (ValidationException) when calling the GetParameters operation: names: Member must have length less than or equal to 10' >&2
      exit 254
    fi
    printf '%s\\n' "\${names[@]}" | jq -R . | jq -s --slurpfile versions '${this.dir}/versions.json' \\
      '{Parameters: [.[] | select($versions[0][.] != null) | {Name: ., Type: "SecureString", Value: "AQICAHencrypted", Version: $versions[0][.]}],
        InvalidParameters: [.[] | select($versions[0][.] == null)]}' ;;
  *) echo "unexpected: $*" >&2; exit 254 ;;
esac
`,
      { mode: 0o755 },
    );
  }

  setCameraList(list: CameraList | string): void {
    fs.writeFileSync(
      path.join(this.dir, 'camera-list'),
      typeof list === 'string' ? list : JSON.stringify(list),
    );
  }

  setParameterVersions(versions: Record<string, number>): void {
    fs.writeFileSync(path.join(this.dir, 'versions.json'), JSON.stringify(versions));
  }

  setAwsUnreachable(unreachable: boolean): void {
    const marker = path.join(this.dir, 'aws-fails');
    if (unreachable) fs.writeFileSync(marker, '');
    else fs.rmSync(marker, { force: true });
  }

  /** The systemctl calls since the last time this was asked. */
  takeSystemctlCalls(): string[] {
    if (!fs.existsSync(this.calls)) return [];
    const calls = fs.readFileSync(this.calls, 'utf8').split('\n').filter(Boolean);
    fs.rmSync(this.calls);
    return calls;
  }

  async run(script: string): Promise<{ code: number; stderr: string }> {
    try {
      const { stderr } = await execFileAsync('bash', [script], {
        env: {
          PATH: `${this.bin}:${process.env.PATH}`,
          KVS_GATEWAY_ROOT: this.root,
          KVS_CAMERA_LIST_PARAMETER: '/kvs-gateway/Ec2GatewayStack/camera-list',
          AWS_REGION: 'eu-west-1',
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
