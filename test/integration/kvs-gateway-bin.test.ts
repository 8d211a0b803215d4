import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { installCli, runInstalledCli, type CliRun, type InstalledCli } from '../support/installed-cli';

/**
 * The installed command as a user runs it: the compiled CLI installed globally (`npm install -g`)
 * and run by its bin link in its own process, the password piped on its real stdin, and the real SDK talking HTTP to a stand-in
 * of the SSM API on 127.0.0.1 (AWS_ENDPOINT_URL_SSM), so the wire requests are what gets checked.
 */

const PASSWORD = 'Sekret:p@ss/w%rd-ü';

interface SsmRequest {
  readonly target: string;
  readonly body: Record<string, unknown>;
}

let dir: string;
let cli: InstalledCli;
let server: http.Server;
let endpoint: string;
let requests: SsmRequest[];
const storedValues = new Map<string, { Value: string; Type: string }>();

jest.setTimeout(60_000);

beforeAll(async () => {
  cli = installCli();
  server = http.createServer((request, response) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString()));
    request.on('end', () => {
      if (/Action=GetCallerIdentity/.test(text)) {
        // STS (query protocol): the CLI asks who the credentials belong to before asking for a password.
        response.writeHead(200, { 'Content-Type': 'text/xml' });
        response.end(
          '<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::111122223333:user/ops</Arn>' +
            '<UserId>AIDAEXAMPLE</UserId><Account>111122223333</Account></GetCallerIdentityResult></GetCallerIdentityResponse>',
        );
        return;
      }
      const target = String(request.headers['x-amz-target'] ?? '');
      const body = JSON.parse(text || '{}') as Record<string, unknown>;
      requests.push({ target, body });
      const reply = (status: number, payload: object) => {
        response.writeHead(status, { 'Content-Type': 'application/x-amz-json-1.1' });
        response.end(JSON.stringify(payload));
      };
      const name = String(body.Name ?? '');
      if (target === 'AmazonSSM.PutParameter') {
        if (storedValues.has(name) && body.Overwrite !== true) {
          reply(400, { __type: 'ParameterAlreadyExists', message: 'The parameter already exists.' });
          return;
        }
        storedValues.set(name, { Value: String(body.Value), Type: String(body.Type) });
        reply(200, { Version: 1, Tier: 'Standard' });
      } else if (target === 'AmazonSSM.GetParametersByPath') {
        const parameters = [...storedValues].map(([Name, value]) => ({ Name, ...value, Version: 1 }));
        reply(200, { Parameters: parameters });
      } else {
        reply(400, { __type: 'InvalidAction', message: `unexpected ${target}` });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  cli?.remove();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvs-gateway-bin-'));
  fs.writeFileSync(
    path.join(dir, 'site.json'),
    JSON.stringify({ cameras: [{ name: 'front-door' }, { name: 'lobby' }] }),
  );
  requests = [];
});

afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function binEnv(): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: dir,
    AWS_ENDPOINT_URL_SSM: endpoint,
    AWS_ENDPOINT_URL_STS: endpoint,
    AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: path.join(dir, 'none'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'none'),
  };
}

type BinRun = CliRun;

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
  const put = requests.find((r) => r.target === 'AmazonSSM.PutParameter')!;
  expect(put.body).toMatchObject({
    Name: '/kvs-gateway/cameras/front-door',
    Type: 'SecureString',
    Overwrite: false,
    Value: 'rtsp://viewer:Sekret%3Ap%40ss%2Fw%25rd-%C3%BC@192.0.2.10:554/stream1',
  });
  expect(put.body).not.toHaveProperty('KeyId');
  expect(added.stdout).toContain('rtsp://viewer:****@192.0.2.10:554/stream1');
  expect(again.exitCode).toBe(1);
  expect(again.stderr).toContain('pass --overwrite to replace it (to rotate the password)');
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
  const put = requests.find((r) => r.target === 'AmazonSSM.PutParameter')!;
  expect(put.body.Value).toBe(`rtsp://viewer:${encodeURIComponent(PASSWORD)}@192.0.2.11/live`);
});
