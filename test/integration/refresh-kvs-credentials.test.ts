import { ChildProcess, execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * The real credential refresher against a stand-in metadata service on 127.0.0.1 that speaks
 * IMDSv2 (token PUT, then the role's credentials) and the ECS/Fargate container endpoint.
 */
jest.setTimeout(60_000);

const SCRIPT = path.join(__dirname, '..', '..', 'userdata', 'refresh-kvs-credentials.sh');
const ROLE = 'Ec2GatewayStack-InstanceRole';
const IMDS_TOKEN = 'imds-session-token-1';
const CONTAINER_TOKEN = 'container-authorization-token';

interface RoleCredentials {
  AccessKeyId: string;
  SecretAccessKey: string;
  Token: string;
  Expiration: string;
  Code?: string;
}

/** Whole seconds, fixed for the run, so that credentials(n) is the same document every time. */
const NOW_SECONDS = Math.floor(Date.now() / 1000);

function credentials(n: number, expiresInMinutes = 360): RoleCredentials {
  const expiration = new Date((NOW_SECONDS + expiresInMinutes * 60) * 1000);
  return {
    Code: 'Success',
    AccessKeyId: `ASIAEXAMPLE0000000${n}`,
    SecretAccessKey: `secret/${n}+example+key/wJalrXUtnFEMIK7MDENG`,
    Token: `IQoJb3JpZ2luX2VjEXAMPLE${n}//////////token+with/slashes=`,
    Expiration: expiration.toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
}

function fileLine(c: RoleCredentials): string {
  return `CREDENTIALS ${c.AccessKeyId} ${c.Expiration} ${c.SecretAccessKey} ${c.Token}\n`;
}

/** What the stand-in answers for the credentials document: JSON, or a raw body and status. */
type Answer = RoleCredentials | { status: number; body: string };

class MetadataServer {
  answer: Answer = credentials(1);
  readonly requests: string[] = [];
  private server = http.createServer((request, response) => this.handle(request, response));

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private handle(request: http.IncomingMessage, response: http.ServerResponse): void {
    this.requests.push(`${request.method} ${request.url}`);
    const send = (status: number, body: string): void => {
      response.writeHead(status).end(body);
    };
    if (request.method === 'PUT' && request.url === '/latest/api/token') {
      if (!request.headers['x-aws-ec2-metadata-token-ttl-seconds']) return send(400, '');
      return send(200, IMDS_TOKEN);
    }
    if (request.url?.startsWith('/latest/meta-data/')) {
      // IMDSv2 only, as on an instance with HttpTokens=required.
      if (request.headers['x-aws-ec2-metadata-token'] !== IMDS_TOKEN) return send(401, '');
      if (request.url === '/latest/meta-data/iam/security-credentials/') return send(200, ROLE);
      if (request.url === `/latest/meta-data/iam/security-credentials/${ROLE}`)
        return this.sendAnswer(response);
      return send(404, '');
    }
    if (request.url === '/v2/credentials/task-role-id') return this.sendAnswer(response);
    if (request.url === '/full/credentials') {
      if (request.headers.authorization !== CONTAINER_TOKEN) return send(401, '');
      return this.sendAnswer(response);
    }
    send(404, '');
  }

  private sendAnswer(response: http.ServerResponse): void {
    if ('status' in this.answer) {
      response.writeHead(this.answer.status).end(this.answer.body);
    } else {
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(this.answer));
    }
  }
}

function runRefresher(env: Record<string, string>, args: string[] = []) {
  return new Promise<{ code: number; stderr: string }>((resolve) => {
    execFile('bash', [SCRIPT, ...args], { env: { PATH: process.env.PATH, ...env } }, (error, _out, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stderr }),
    );
  });
}

describe('refresh-kvs-credentials.sh', () => {
  let server: MetadataServer;
  let endpoint: string;
  let dir: string;
  let credentialPath: string;
  let ec2Env: Record<string, string>;
  let loop: ChildProcess | undefined;

  beforeEach(async () => {
    server = new MetadataServer();
    endpoint = await server.start();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvs-credentials-'));
    credentialPath = path.join(dir, 'credentials');
    ec2Env = { KVS_CREDENTIAL_PATH: credentialPath, KVS_IMDS_ENDPOINT: endpoint };
  });

  afterEach(async () => {
    loop?.kill('SIGTERM');
    loop = undefined;
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('on EC2 writes the instance role credentials in kvssink format, through IMDSv2, readable by its owner only', async () => {
    const result = await runRefresher(ec2Env);
    expect(result.code).toBe(0);
    expect(fs.readFileSync(credentialPath, 'utf8')).toBe(fileLine(server.answer as RoleCredentials));
    expect(fs.statSync(credentialPath).mode & 0o777).toBe(0o600);
    expect(fs.statSync(credentialPath).uid).toBe(process.getuid!());
    expect(server.requests).toEqual([
      'PUT /latest/api/token',
      'GET /latest/meta-data/iam/security-credentials/',
      `GET /latest/meta-data/iam/security-credentials/${ROLE}`,
    ]);
    expect(result.stderr).toMatch(/refreshed .*credentials, valid until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/);
    expect(result.stderr).not.toContain('secret/1');
  });

  test('replaces the file atomically (a new file renamed over the old one) and leaves no temporary file', async () => {
    await runRefresher(ec2Env);
    const first = fs.statSync(credentialPath);
    server.answer = credentials(2);
    expect((await runRefresher(ec2Env)).code).toBe(0);
    expect(fs.readFileSync(credentialPath, 'utf8')).toBe(fileLine(credentials(2)));
    expect(fs.statSync(credentialPath).ino).not.toBe(first.ino);
    expect(fs.readdirSync(dir)).toEqual(['credentials']);
  });

  test('normalizes an expiration with milliseconds or an offset to the second, in UTC', async () => {
    const answer = credentials(3);
    const utc = answer.Expiration;
    server.answer = { ...answer, Expiration: utc.replace('Z', '.000+00:00') };
    expect((await runRefresher(ec2Env)).code).toBe(0);
    expect(fs.readFileSync(credentialPath, 'utf8').split(' ')[2]).toBe(utc);
  });

  test('in an ECS/Fargate task reads the container endpoint (relative URI)', async () => {
    server.answer = credentials(4);
    const result = await runRefresher({
      KVS_CREDENTIAL_PATH: credentialPath,
      KVS_ECS_CREDENTIALS_ENDPOINT: endpoint,
      AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '/v2/credentials/task-role-id',
    });
    expect(result.code).toBe(0);
    expect(fs.readFileSync(credentialPath, 'utf8')).toBe(fileLine(credentials(4)));
    expect(server.requests).toEqual(['GET /v2/credentials/task-role-id']);
  });

  test('reads a full URI with its authorization token, from the variable or from a token file', async () => {
    server.answer = credentials(5);
    const base = {
      KVS_CREDENTIAL_PATH: credentialPath,
      AWS_CONTAINER_CREDENTIALS_FULL_URI: `${endpoint}/full/credentials`,
    };
    expect((await runRefresher({ ...base, AWS_CONTAINER_AUTHORIZATION_TOKEN: CONTAINER_TOKEN })).code).toBe(
      0,
    );
    expect(fs.readFileSync(credentialPath, 'utf8')).toBe(fileLine(credentials(5)));

    const tokenFile = path.join(dir, 'token');
    fs.writeFileSync(tokenFile, CONTAINER_TOKEN);
    server.answer = credentials(6);
    expect((await runRefresher({ ...base, AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile })).code).toBe(0);
    expect(fs.readFileSync(credentialPath, 'utf8')).toBe(fileLine(credentials(6)));

    const refused = await runRefresher({ ...base, AWS_CONTAINER_AUTHORIZATION_TOKEN: 'wrong' });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('the container credentials endpoint did not answer with credentials');
  });

  test.each<[string, Answer, RegExp]>([
    ['an HTTP error', { status: 500, body: 'internal error' }, /did not return the credentials of role/],
    ['a body that is not JSON', { status: 200, body: '<html>captive portal</html>' }, /answer is not valid/],
    ['a failed Code', { ...credentials(7), Code: 'AssumeRoleUnauthorizedAccess' }, /answer is not valid/],
    ['a missing session token', { ...credentials(7), Token: '' }, /answer is not valid/],
    ['an expiration already past', credentials(7, -5), /expires too soon/],
    ['an unreadable expiration', { ...credentials(7), Expiration: 'tomorrow-ish' }, /unreadable Expiration/],
    ['a malformed access key', { ...credentials(7), AccessKeyId: 'not a key' }, /malformed key/],
  ])('fails loudly on %s and leaves the old file as it was', async (_case, answer, reason) => {
    await runRefresher(ec2Env);
    const before = fs.statSync(credentialPath);
    const content = fs.readFileSync(credentialPath, 'utf8');
    server.answer = answer;
    const result = await runRefresher(ec2Env);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(reason);
    expect(result.stderr).not.toContain('secret/');
    expect(fs.readFileSync(credentialPath, 'utf8')).toBe(content);
    const after = fs.statSync(credentialPath);
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
    expect(fs.readdirSync(dir)).toEqual(['credentials']);
  });

  test('fails when no metadata service answers', async () => {
    await server.stop();
    const result = await runRefresher(ec2Env);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('IMDSv2 did not give a session token');
    expect(fs.existsSync(credentialPath)).toBe(false);
    server = new MetadataServer();
    endpoint = await server.start();
  });

  test('refuses to run without KVS_CREDENTIAL_PATH', async () => {
    const result = await runRefresher({ KVS_IMDS_ENDPOINT: endpoint });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('KVS_CREDENTIAL_PATH is not set');
  });

  test('--loop keeps refreshing and survives a failed refresh (the container mode)', async () => {
    loop = spawn('bash', [SCRIPT, '--loop'], {
      env: {
        PATH: process.env.PATH,
        ...ec2Env,
        KVS_CREDENTIAL_REFRESH_SECONDS: '1',
        KVS_CREDENTIAL_RETRY_SECONDS: '1',
      },
      stdio: 'ignore',
    });
    const waitForFile = async (expected: string) => {
      for (let i = 0; i < 200; i++) {
        if (fs.existsSync(credentialPath) && fs.readFileSync(credentialPath, 'utf8') === expected) return;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(`the credential file never became ${expected.split(' ')[1]}`);
    };
    await waitForFile(fileLine(credentials(1)));
    server.answer = { status: 503, body: '' };
    const failuresBefore = server.requests.length;
    while (server.requests.length < failuresBefore + 6)
      await new Promise((resolve) => setTimeout(resolve, 100));
    expect(fs.readFileSync(credentialPath, 'utf8')).toBe(fileLine(credentials(1)));
    server.answer = credentials(8);
    await waitForFile(fileLine(credentials(8)));
    expect(loop.exitCode).toBeNull();
  });
});
