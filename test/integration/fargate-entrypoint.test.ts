import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

const projectRoot = path.join(__dirname, '..', '..');

interface ScriptRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 20_000,
): Promise<ScriptRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { PATH: process.env.PATH, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function isoIn(seconds: number): string {
  return new Date(Date.now() + seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * The image's bin folder: the real entrypoint.sh beside stand-ins for the two scripts it starts
 * (run-camera.sh and refresh-kvs-credentials.sh have their own tests); each stand-in reports the
 * arguments it got, its process id and the environment the entry point passed on.
 */
function imageBinFolder(): { bin: string; credentialPath: string } {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'kvs-entrypoint-'));
  const bin = path.join(folder, 'bin');
  fs.mkdirSync(bin);
  fs.copyFileSync(path.join(projectRoot, 'container', 'entrypoint.sh'), path.join(bin, 'entrypoint.sh'));
  for (const script of ['run-camera.sh', 'refresh-kvs-credentials.sh']) {
    fs.writeFileSync(
      path.join(bin, script),
      `#!/usr/bin/env bash\necho "${script} pid=$$ args=$* camera=\${CAMERA_NAME:-} sink=\${GATEWAY_SINK:-}"\n`,
      { mode: 0o755 },
    );
  }
  return { bin, credentialPath: path.join(folder, 'credentials') };
}

jest.setTimeout(20_000);

describe('container/entrypoint.sh', () => {
  test('credentials: becomes the refresher loop', async () => {
    const { bin, credentialPath } = imageBinFolder();
    const result = await run('bash', ['-c', `echo "shell pid=$$"; exec ${bin}/entrypoint.sh credentials`], {
      KVS_CREDENTIAL_PATH: credentialPath,
    });
    expect(result.code).toBe(0);
    const shellPid = /shell pid=(\d+)/.exec(result.stdout)?.[1];
    // exec: the refresher keeps the container's process id, so ECS's SIGTERM reaches it.
    expect(result.stdout).toContain(`refresh-kvs-credentials.sh pid=${shellPid} args=--loop`);
  });

  test('camera: waits for a valid credential file, then becomes run-camera.sh with the same environment', async () => {
    const { bin, credentialPath } = imageBinFolder();
    const started = Date.now();
    setTimeout(
      () => fs.writeFileSync(credentialPath, `CREDENTIALS ASIAEXAMPLE ${isoIn(3600)} secret token`),
      1500,
    );
    const result = await run('bash', ['-c', `echo "shell pid=$$"; exec ${bin}/entrypoint.sh camera`], {
      KVS_CREDENTIAL_PATH: credentialPath,
      CAMERA_NAME: 'front-door',
      GATEWAY_SINK: 'kvssink',
    });
    expect(result.code).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
    const shellPid = /shell pid=(\d+)/.exec(result.stdout)?.[1];
    expect(result.stdout).toContain(`run-camera.sh pid=${shellPid} args= camera=front-door sink=kvssink`);
  });

  test('camera: an expired credential file is not enough; gives up with a clear error after the wait', async () => {
    const { bin, credentialPath } = imageBinFolder();
    fs.writeFileSync(credentialPath, `CREDENTIALS ASIAEXAMPLE ${isoIn(-60)} secret token`);
    const result = await run('bash', [path.join(bin, 'entrypoint.sh'), 'camera'], {
      KVS_CREDENTIAL_PATH: credentialPath,
      KVS_CREDENTIAL_WAIT_SECONDS: '2',
      CAMERA_NAME: 'front-door',
    });
    expect(result.code).toBe(5);
    expect(result.stdout).not.toContain('run-camera.sh');
    expect(result.stderr).toContain(
      `entrypoint[front-door]: no valid credential file at ${credentialPath} after 2s: is the credentials container running?`,
    );
  });

  test('camera: a stand-in sink needs no credentials', async () => {
    const { bin, credentialPath } = imageBinFolder();
    const result = await run('bash', [path.join(bin, 'entrypoint.sh'), 'camera'], {
      KVS_CREDENTIAL_PATH: credentialPath,
      KVS_CREDENTIAL_WAIT_SECONDS: '0',
      GATEWAY_SINK: 'fake',
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('run-camera.sh');
  });

  test.each([
    [
      'valid for an hour',
      `CREDENTIALS ASIAEXAMPLE ${isoIn(3600)} secret token`,
      0,
      /^healthy: credentials valid for 3[0-9]{3}s/,
    ],
    [
      'expiring in two minutes',
      `CREDENTIALS ASIAEXAMPLE ${isoIn(120)} secret token`,
      1,
      /^unhealthy: .* expire in 1[0-9]{2}s/,
    ],
    ['expired', `CREDENTIALS ASIAEXAMPLE ${isoIn(-10)} secret token`, 1, /^unhealthy: .* expire in -/],
    ['not a credential file', 'hello', 1, /^unhealthy: no readable credential file/],
    [
      'an unreadable expiration',
      'CREDENTIALS ASIAEXAMPLE not-a-date secret token',
      1,
      /^unhealthy: no readable/,
    ],
    ['missing', undefined, 1, /^unhealthy: no readable credential file/],
  ])('check-credentials: a credential file %s', async (_name, content, code, message) => {
    const { bin, credentialPath } = imageBinFolder();
    if (content !== undefined) fs.writeFileSync(credentialPath, content);
    const result = await run('bash', [path.join(bin, 'entrypoint.sh'), 'check-credentials'], {
      KVS_CREDENTIAL_PATH: credentialPath,
    });
    expect(result.code).toBe(code);
    expect(result.stdout).toMatch(message);
    expect(result.stdout).not.toContain('secret');
  });

  test('refuses to run without KVS_CREDENTIAL_PATH or with an unknown role', async () => {
    const { bin } = imageBinFolder();
    const noPath = await run('bash', [path.join(bin, 'entrypoint.sh'), 'credentials'], {});
    expect(noPath.code).toBe(2);
    expect(noPath.stderr).toContain("KVS_CREDENTIAL_PATH is not set: name kvssink's credential file");
    const unknown = await run('bash', [path.join(bin, 'entrypoint.sh'), 'shell'], {});
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('usage: entrypoint.sh credentials|camera|check-credentials');
  });
});

describe("a task's credentials container with the real refresher", () => {
  const relativeUri = '/v2/credentials/task-role-example';
  let server: http.Server;
  let endpoint: string;
  let expiresInSeconds = 6 * 3600;

  beforeAll(async () => {
    // A stand-in of the ECS container credentials endpoint on 127.0.0.1.
    server = http.createServer((request, response) => {
      if (request.url !== relativeUri) {
        response.writeHead(404).end();
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          RoleArn: 'arn:aws:iam::123456789012:role/FargateGatewayStack-TaskRole',
          AccessKeyId: 'ASIAEXAMPLE000000001',
          SecretAccessKey: 'secret/example+key',
          Token: 'session+token/example=',
          Expiration: isoIn(expiresInSeconds),
        }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  /** The image's bin folder with the real entry point and the real refresher. */
  function realBinFolder(): { bin: string; credentialPath: string } {
    const { bin, credentialPath } = imageBinFolder();
    fs.copyFileSync(
      path.join(projectRoot, 'userdata', 'refresh-kvs-credentials.sh'),
      path.join(bin, 'refresh-kvs-credentials.sh'),
    );
    return { bin, credentialPath };
  }

  async function refreshOnceAndCheck(): Promise<ScriptRun> {
    const { bin, credentialPath } = realBinFolder();
    const env = {
      KVS_CREDENTIAL_PATH: credentialPath,
      KVS_ECS_CREDENTIALS_ENDPOINT: endpoint,
      AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: relativeUri,
    };
    // Its own process group, so that stopping it also stops the refresher's sleep.
    const refresher = spawn('bash', [path.join(bin, 'entrypoint.sh'), 'credentials'], {
      env: { PATH: process.env.PATH, ...env },
      detached: true,
      stdio: 'ignore',
    });
    try {
      for (let waited = 0; !fs.existsSync(credentialPath) && waited < 10_000; waited += 100) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return await run('bash', [path.join(bin, 'entrypoint.sh'), 'check-credentials'], env);
    } finally {
      process.kill(-(refresher.pid as number), 'SIGTERM');
    }
  }

  test('the file it writes passes the health check', async () => {
    expiresInSeconds = 6 * 3600;
    const check = await refreshOnceAndCheck();
    expect(check.code).toBe(0);
    expect(check.stdout).toMatch(/^healthy: credentials valid for 21[0-9]{3}s/);
  });

  test('credentials about to expire fail the health check, so ECS replaces the task', async () => {
    // Long enough for the refresher to accept them (it refuses less than 2 minutes), too short for the check.
    expiresInSeconds = 240;
    const check = await refreshOnceAndCheck();
    expect(check.code).toBe(1);
    expect(check.stdout).toMatch(/^unhealthy: the credentials in .* expire in 2[0-9]{2}s/);
  });
});
