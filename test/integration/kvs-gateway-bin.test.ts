import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AwsStandIn as PythonStandIn, AwsStandInState } from '../support/aws-stand-ins';
import {
  KNOWN_ACCESS_KEY,
  KNOWN_SECRET_KEY,
  OPERATOR_KEYS,
  startAwsStandIn,
  type AwsStandIn,
} from '../support/cli-aws-stand-ins';
import { installCli, runInstalledCli, type CliRun, type InstalledCli } from '../support/installed-cli';
import { awsManagedKeyArn } from '../support/permission-check';

/**
 * The installed command as a user runs it: the compiled CLI installed globally (`npm install -g`)
 * and run by its bin link in its own process, the password piped on its real stdin, and the real SDK
 * talking HTTP to the SSM and STS stand-ins on 127.0.0.1 (AWS_ENDPOINT_URL_SSM, ..._STS), so what
 * arrives on the wire is what gets checked.
 */

const PASSWORD = 'Sekret:p@ss/w%rd-ü';
const ACCOUNT = '123456789012';

let dir: string;
let cli: InstalledCli;
/** STS: the CLI asks who the credentials belong to before asking for a password. */
let sts: AwsStandIn;
let ssm: PythonStandIn;
let ssmState: AwsStandInState;

jest.setTimeout(60_000);

beforeAll(async () => {
  cli = installCli();
  ssmState = new AwsStandInState(fs.mkdtempSync(path.join(os.tmpdir(), 'kvs-gateway-bin-ssm-')));
  ssmState.setAccount(ACCOUNT);
  ssmState.acceptKeys(OPERATOR_KEYS);
  [sts, ssm] = await Promise.all([startAwsStandIn(), PythonStandIn.start('ssm', ssmState)]);
});

afterAll(async () => {
  cli?.remove();
  await Promise.all([sts?.close(), ssm?.stop()]);
  fs.rmSync(ssmState.dir, { recursive: true, force: true });
});

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvs-gateway-bin-'));
  fs.writeFileSync(
    path.join(dir, 'site.json'),
    JSON.stringify({ cameras: [{ name: 'front-door' }, { name: 'lobby' }] }),
  );
  ssmState.setParameters({});
  fs.rmSync(path.join(ssmState.dir, 'aws-requests.jsonl'), { force: true });
});

afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function binEnv(): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: dir,
    AWS_ENDPOINT_URL_SSM: ssm.url,
    AWS_ENDPOINT_URL_STS: sts.endpoint,
    AWS_ACCESS_KEY_ID: KNOWN_ACCESS_KEY,
    AWS_SECRET_ACCESS_KEY: KNOWN_SECRET_KEY,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: path.join(dir, 'none'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'none'),
  };
}

type BinRun = CliRun;

/** The KMS key of each PutParameter the SSM stand-in answered. */
function putParameterKeys(): string[] {
  return ssmState
    .requestRecords()
    .filter((record) => record.operation === 'PutParameter')
    .map((record) => record.authorizations.find((a) => a.action === 'kms:Encrypt')!.resource);
}

function runBin(args: readonly string[], stdin = ''): Promise<BinRun> {
  return runInstalledCli(cli, args, { cwd: dir, env: binEnv(), stdin });
}

function expectNoPassword(...runs: BinRun[]): void {
  const lines = runs.flatMap((run) => `${run.stdout}\n${run.stderr}`.split('\n'));
  expect(lines.filter((line) => line.includes('Sekret'))).toEqual([]);
}

test('--help and --version work through the installed command; no command is a usage error', async () => {
  const help = await runBin(['--help']);
  const none = await runBin([]);
  const version = await runBin(['--version']);

  expect(help.exitCode).toBe(0);
  expect(help.stdout).toContain('Usage: kvs-gateway <command> [options]');
  expect(none.exitCode).toBe(2);
  expect(none.stderr).toContain('Usage: kvs-gateway <command> [options]');
  expect(version.exitCode).toBe(0);
  expect(version.stdout).toMatch(/^kvs-gateway 0\.\d+\.\d+ \(Node\.js v\d+/);
});

test('cameras add with the password piped on stdin sends a SecureString; list shows it redacted', async () => {
  const common = ['--config', 'site.json', '--region', 'eu-west-1'];
  const url = 'rtsp://192.0.2.10:554/stream1';

  const added = await runBin(
    ['cameras', 'add', 'front-door', '--url', url, '--user', 'viewer', ...common],
    `${PASSWORD}\n`,
  );
  const again = await runBin(
    ['cameras', 'add', 'front-door', '--url', url, '--user', 'viewer', ...common],
    PASSWORD,
  );
  const listed = await runBin(['cameras', 'list', ...common]);

  expect(added.exitCode).toBe(0);
  expect(ssmState.parameters()['/kvs-gateway/cameras/front-door']).toMatchObject({
    Type: 'SecureString',
    Value: 'rtsp://viewer:Sekret%3Ap%40ss%2Fw%25rd-%C3%BC@192.0.2.10:554/stream1',
    Version: 1,
  });
  // Encrypted with the AWS managed key: the CLI names no key of its own.
  expect(putParameterKeys()).toEqual([
    awsManagedKeyArn(ACCOUNT, 'eu-west-1', 'aws/ssm'),
    awsManagedKeyArn(ACCOUNT, 'eu-west-1', 'aws/ssm'),
  ]);
  expect(added.stdout).toContain('rtsp://viewer:****@192.0.2.10:554/stream1');
  // Without --overwrite the second add replaces nothing.
  expect(again.exitCode).toBe(1);
  expect(again.stderr).toContain('pass --overwrite to replace it (to rotate the password)');
  expect(ssmState.parameters()['/kvs-gateway/cameras/front-door']).toMatchObject({ Version: 1 });
  expect(listed.exitCode).toBe(0);
  expect(listed.stdout).toMatch(
    /^front-door\s+yes\s+yes\s+rtsp:\/\/viewer:\*\*\*\*@192\.0\.2\.10:554\/stream1$/m,
  );
  expect(listed.stdout).toMatch(/^lobby\s+yes\s+NO\s+-$/m);
  expectNoPassword(added, again, listed);
});

/**
 * Runs the command on a real pseudo-terminal (Python's pty), waits for the prompt, types the
 * password and Enter, and returns everything the terminal showed: with echo on, the password would
 * be in it.
 */
const TYPE_ON_A_TERMINAL = `
import json, os, pty, sys, time
argv, password = json.loads(sys.argv[1]), sys.argv[2]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
shown, typed = b'', False
deadline = time.time() + 30
while time.time() < deadline:
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    shown += chunk
    if not typed and b'Password for' in shown:
        os.write(fd, password.encode() + b'\\r')
        typed = True
_, status = os.waitpid(pid, 0)
print(json.dumps({'shown': shown.decode('utf8', 'replace'), 'exitCode': os.waitstatus_to_exitcode(status)}))
`;

test('on a real terminal the password prompt does not echo what is typed', async () => {
  const argv = [
    cli.command,
    ...['cameras', 'add', 'lobby', '--url', 'rtsp://192.0.2.11/live', '--user', 'viewer'],
    ...['--config', 'site.json', '--region', 'eu-west-1'],
  ];

  const output = await new Promise<string>((resolve, reject) =>
    execFile(
      '/usr/bin/python3',
      ['-c', TYPE_ON_A_TERMINAL, JSON.stringify(argv), PASSWORD],
      { cwd: dir, env: binEnv() },
      (error, stdout) => (error ? reject(error) : resolve(stdout)),
    ),
  );
  const { shown, exitCode } = JSON.parse(output) as { shown: string; exitCode: number };

  expect(shown).toContain('Password for viewer on camera lobby: ');
  expect(shown).toContain('rtsp://viewer:****@192.0.2.11/live');
  expect(exitCode).toBe(0);
  expect(shown).not.toContain('Sekret');
  expect(ssmState.parameters()['/kvs-gateway/cameras/lobby'].Value).toBe(
    `rtsp://viewer:${encodeURIComponent(PASSWORD)}@192.0.2.11/live`,
  );
});
