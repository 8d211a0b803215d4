import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { checkHealth, fileGrowsPast, mkvFiles, RunCamera } from '../support/run-camera';
import { useRunCameraFixture } from '../support/run-camera-fixture';
import { useSsmStandIn } from '../support/aws-stand-ins';

/**
 * How the real userdata/run-camera.sh recovers, or refuses to, against the project's RTSP test camera:
 * outages, silent stalls, wrong passwords, unreachable hosts, permanent errors and the SSM read.
 */

jest.setTimeout(60000);

const PASSWORD = 'p@ss:w/rd%41';
const { camera, runCamera, track, workDir } = useRunCameraFixture(PASSWORD);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A 127.0.0.1 port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test('camera stopped then restarted: growing retry delays, video resumes in a new file, backoff resets', async () => {
  const cam = await camera();
  const { run, folder } = runCamera('outage', { RTSP_URL: cam.url(), HEALTHY_RUN_SECONDS: '3' });
  await run.waitForLine(/video flowing/, 20000);
  await fileGrowsPast(folder, 5000);
  await sleep(2000); // a healthy run (HEALTHY_RUN_SECONDS=3) before the outage

  await cam.stop();
  const outage = run.lines.length;
  await run.waitForLine(/restarting in \d+s \(attempt 4\)/, 20000, outage);
  const delays = run.lines
    .slice(outage)
    .map((line) => /restarting in (\d+)s \(attempt (\d+)\)/.exec(line.text))
    .filter((match) => match !== null)
    .map((match) => Number(match![1]));
  // 1 s, then 2 s and 4 s jittered to 50-100 %: the delay grows, capped by BACKOFF_MAX_SECONDS (4).
  expect(delays.slice(0, 3)).toEqual([1, expect.any(Number), expect.any(Number)]);
  expect(delays[1]).toBeGreaterThanOrEqual(1);
  expect(delays[2]).toBeGreaterThanOrEqual(2);
  expect(Math.max(...delays)).toBeLessThanOrEqual(4);
  expect(run.running).toBe(true);

  await cam.restart();
  const back = run.lines.length;
  await run.waitForLine(/video flowing/, 20000, back);
  await sleep(4000);
  const files = mkvFiles(folder);
  expect(files.length).toBeGreaterThanOrEqual(2);
  expect(fs.statSync(files[files.length - 1]).size).toBeGreaterThan(5000);

  // After 3 s of video the backoff starts again from the first delay.
  await cam.stop();
  const second = run.lines.length;
  await run.waitForLine(/restarting in 1s \(attempt 2\)/, 15000, second);
});

test('a repeated failure is logged for the first attempts, then at most once a minute', async () => {
  const cam = await camera();
  const { run } = runCamera('wrong-path', {
    RTSP_URL: cam.url().replace('/stream', '/no-such-stream'),
    BACKOFF_MAX_SECONDS: '1',
  });
  await run.waitForLine(/the camera has no stream at this path: Not found/, 15000);
  // The camera counts every attempt (each one DESCRIBE); the log shows the first three.
  for (const deadline = Date.now() + 30000; cam.connections.length < 6 && Date.now() < deadline;)
    await sleep(250);
  expect(cam.connections.length).toBeGreaterThanOrEqual(6);
  await sleep(500);
  const said = (pattern: RegExp) => run.lines.filter((line) => pattern.test(line.text));
  expect(said(/\]: the camera has no stream at this path/)).toHaveLength(3);
  // The status line for `kvs-gateway status` is said once, not at every attempt.
  expect(said(/\]: status camera-down since \S+: the camera has no stream at this path/)).toHaveLength(1);
});

test('camera paused (SIGSTOP): the stall watchdog restarts the pipeline, video resumes after SIGCONT', async () => {
  const cam = await camera();
  const { run, env } = runCamera('stall', {
    RTSP_URL: cam.url(),
    GATEWAY_SINK: 'fake',
    STALL_TIMEOUT_SECONDS: '3',
    HEALTH_MAX_AGE_SECONDS: '3',
  });
  await run.waitForLine(/video flowing/, 20000);
  await sleep(2000);
  expect(checkHealth(env).code).toBe(0);

  const before = run.lines.length;
  cam.pause();
  const stall = await run.waitForLine(
    /video stalled for \d+s \(camera silent or connection half-open\)/,
    15000,
    before,
  );
  // How fast the stall is detected is measured by the benchmark (npm run bench), not asserted here.
  await sleep(1500);
  const health = checkHealth(env);
  expect(health.code).toBe(1);
  expect(health.output).toMatch(/^unhealthy: no video for \d+s/);

  cam.resume();
  await run.waitForLine(/video flowing/, 20000, run.lines.indexOf(stall));
  await sleep(2000);
  expect(checkHealth(env).code).toBe(0);
});

test('wrong password: a clear message and a long backoff, counted at the camera', async () => {
  const cam = await camera({ user: 'admin', password: PASSWORD });
  const { run, env } = runCamera('wrong-password', {
    RTSP_URL: cam.url({ user: 'admin', password: 'not-the-password' }),
    AUTH_BACKOFF_INITIAL_SECONDS: '6',
    AUTH_BACKOFF_MAX_SECONDS: '6',
    BACKOFF_MAX_SECONDS: '1',
  });
  await run.waitForLine(/the camera refused the user name or password/, 15000);
  // What `kvs-gateway status` reads in the logs: the state, since when, and the camera's own answer.
  await run.waitForLine(
    /\]: status login-refused since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ: the camera refused the user name or password: .*401/,
    5000,
  );
  await run.waitForLine(
    /authentication failed \(1 in a row\): waiting [3-6]s before trying again so the camera does not lock the account; check the user and password in RTSP_URL/,
    5000,
  );
  const firstAttempt = cam.connections[0];
  await sleep(10000);

  // With 3-6 s between attempts (6 s, jittered), 10 s hold at most 4 logins; an ordinary 1 s retry
  // would have made about 10.
  const attempts = cam.connections.filter((at) => at >= firstAttempt && at <= firstAttempt + 10000);
  expect(attempts.length).toBeGreaterThanOrEqual(2);
  expect(attempts.length).toBeLessThanOrEqual(4);
  // Waiting out an auth backoff is reported healthy so a container restart does not retry at once.
  expect(checkHealth(env)).toEqual({
    code: 0,
    output: expect.stringMatching(/waiting out an authentication backoff/),
  });
  expect(run.log).not.toContain('not-the-password');
  expect(run.running).toBe(true);
});

test('unreachable camera: refused and unroutable hosts are retried with a clear message, never exit', async () => {
  const refused = runCamera('refused', {
    RTSP_URL: `rtsp://admin:secret-pw@127.0.0.1:${await closedPort()}/stream`,
    BACKOFF_MAX_SECONDS: '1',
  });
  // 192.0.2.1 is TEST-NET-1: never routed, so the connect fails or times out (CONNECT_TIMEOUT_SECONDS).
  const unroutable = runCamera('unroutable', {
    RTSP_URL: 'rtsp://admin:secret-pw@192.0.2.1:554/stream',
    CONNECT_TIMEOUT_SECONDS: '2',
    BACKOFF_MAX_SECONDS: '1',
  });
  for (const { run, env } of [refused, unroutable]) {
    await run.waitForLine(/cannot connect to the camera|the camera did not answer DESCRIBE within/, 15000);
    await run.waitForLine(/restarting in \d+s \(attempt 3\)/, 20000);
    expect(run.lines.filter((line) => /\]: status camera-down since /.test(line.text))).toHaveLength(1);
    expect(run.running).toBe(true);
    expect(checkHealth(env)).toEqual({ code: 1, output: expect.stringMatching(/^unhealthy: no video yet/) });
    expect(run.log).not.toContain('secret-pw');
  }
});

test('permanent errors exit at once with a clear message and no retry loop', async () => {
  const noStream = new RunCamera({ RTSP_URL: 'rtsp://192.0.2.10/stream', GATEWAY_SINK: 'fake' });
  const badUrl = runCamera('bad-url', { RTSP_URL: 'http://admin:secret-pw@192.0.2.10/stream' });
  const badSink = runCamera('bad-sink', { RTSP_URL: 'rtsp://192.0.2.10/stream', GATEWAY_SINK: 'kinesis' });
  track(noStream);

  expect(await noStream.exited).toBe(2);
  expect(noStream.log).toMatch(/error: STREAM_NAME is not set: give the KVS stream this camera writes to/);
  expect(await badUrl.run.exited).toBe(2);
  expect(badUrl.run.log).toMatch(
    /the camera URL does not start with rtsp:\/\/ and a host: use rtsp:\/\/host\[:port\]\/path, with user:password@ \(each percent-encoded\) before the host/,
  );
  expect(badUrl.run.log).not.toMatch(/restarting|secret-pw/);
  expect(await badSink.run.exited).toBe(2);
  expect(badSink.run.log).toMatch(/GATEWAY_SINK="kinesis": use kvssink, file:<folder> or fake/);
});

test('kvssink missing from GST_PLUGIN_PATH: exit 5 naming the element and the path', async () => {
  const cam = await camera();
  const { run } = runCamera('no-kvssink', {
    RTSP_URL: cam.url(),
    GATEWAY_SINK: 'kvssink',
    AWS_REGION: 'eu-west-1',
    GST_PLUGIN_PATH: path.join(workDir(), 'no-plugins-here'),
  });
  expect(await run.exited).toBe(5);
  expect(run.log).toMatch(/no element "kvssink".*GST_PLUGIN_PATH=.*no-plugins-here.*does it hold kvssink/);
});

test('a kvssink file that does not load (GStreamer marks it in its registry cache): exit 5 naming the file and the cache', async () => {
  const cam = await camera();
  const plugins = path.join(workDir(), 'broken-kvssink');
  fs.mkdirSync(plugins);
  fs.writeFileSync(path.join(plugins, 'libgstkvssink.so'), 'a file, not a library\n');
  const cache = path.join(workDir(), 'broken-kvssink-cache');
  const { run } = runCamera('broken-kvssink', {
    RTSP_URL: cam.url(),
    GATEWAY_SINK: 'kvssink',
    AWS_REGION: 'eu-west-1',
    GST_PLUGIN_PATH: plugins,
    XDG_CACHE_HOME: cache,
  });
  expect(await run.exited).toBe(5);
  expect(run.log).toContain(
    `${plugins}/libgstkvssink.so is there but failed to load, most often a missing library: see \`ldd ${plugins}/libgstkvssink.so\`; GStreamer tries it again once the file changes or ${cache}/gstreamer-1.0 is removed`,
  );
});

test("kvssink's credential file missing, then expired: a line naming it and its refresher, the camera left alone", async () => {
  const cam = await camera();
  const credentials = path.join(workDir(), 'kvs-credentials');
  const { run, env } = runCamera('no-credentials', {
    RTSP_URL: cam.url(),
    GATEWAY_SINK: 'kvssink',
    AWS_REGION: 'eu-west-1',
    KVS_CREDENTIAL_PATH: credentials,
    CREDENTIAL_WAIT_SECONDS: '2',
    GST_PLUGIN_PATH: path.join(workDir(), 'no-plugins-here'),
  });
  const refresher =
    /refresh-kvs-credentials\.sh writes it \(EC2: kvs-credentials\.timer; Fargate: the task's credentials container\); waiting for it/;
  await run.waitForLine(
    new RegExp(`the credential file ${credentials} is missing: ${refresher.source}`),
    15000,
  );
  await run.waitForLine(/looking at the credential file again in 2s/, 5000);
  expect(checkHealth(env)).toEqual({
    code: 1,
    output: expect.stringMatching(/^unhealthy: the credential file .* is missing/),
  });

  fs.writeFileSync(credentials, 'CREDENTIALS ASIAEXAMPLEEXAMPLE00 2020-01-01T00:00:00Z secret token');
  await run.waitForLine(
    new RegExp(`the credential file ${credentials} has expired: ${refresher.source}`),
    15000,
  );
  // Never a camera login while there is nothing to upload with.
  expect(cam.connections).toHaveLength(0);

  // Valid now: the run goes on to the camera and to kvssink (missing here: exit 5, as without a file).
  fs.writeFileSync(credentials, 'CREDENTIALS ASIAEXAMPLEEXAMPLE00 2099-01-01T00:00:00Z secret token');
  expect(await run.exited).toBe(5);
  expect(cam.connections.length).toBeGreaterThanOrEqual(1);
  expect(run.log).toMatch(/no element "kvssink"/);
});

describe('camera URL from SSM (RTSP_URL_PARAMETER, read from the SSM stand-in with a signed request)', () => {
  const parameter = '/kvs-gateway/cameras/front-door';
  const ssm = useSsmStandIn();

  function ssmEnv(name: string, value: string | undefined) {
    ssm.state.setParameters({});
    if (value !== undefined) ssm.state.putParameter(parameter, value);
    const credentialFile = path.join(workDir(), `${name}-credentials`);
    fs.writeFileSync(credentialFile, ssm.state.credentialFileLine(), { mode: 0o600 });
    fs.rmSync(path.join(ssm.state.dir, 'ssm-calls.jsonl'), { force: true });
    return {
      RTSP_URL_PARAMETER: parameter,
      AWS_REGION: 'eu-west-1',
      AWS_ENDPOINT_URL_SSM: ssm.standIn.url,
      KVS_CREDENTIAL_PATH: credentialFile,
    };
  }

  test('transient failures are retried, then video flows; the read asks for decryption', async () => {
    const cam = await camera({ user: 'admin', password: PASSWORD });
    const env = ssmEnv('transient', cam.url());
    ssm.state.throttleSsm(2);
    const { run } = runCamera('ssm-transient', { ...env, CAMERA_NAME: 'front-door' });

    await run.waitForLine(/video flowing/, 30000);
    expect(run.log).toMatch(
      /cannot read SSM parameter \/kvs-gateway\/cameras\/front-door yet, retrying in 2s: ThrottlingException/,
    );
    // Two throttled calls never reach the record; the third read the parameter, decrypted.
    expect(ssm.state.records('ssm-calls.jsonl')).toEqual([
      { target: 'AmazonSSM.GetParameter', names: [parameter], decrypt: true },
    ]);
    expect(run.log).not.toContain(PASSWORD);
  });

  test('a missing parameter is permanent: exit 3 naming it and the command that creates it', async () => {
    const env = ssmEnv('missing', undefined);
    const { run } = runCamera('ssm-missing', { ...env, CAMERA_NAME: 'front-door' });

    expect(await run.exited).toBe(3);
    expect(run.log).toContain(
      'SSM parameter /kvs-gateway/cameras/front-door does not exist in eu-west-1: store the camera URL with `npx kvs-gateway cameras add front-door`',
    );
  });

  test('after an auth failure the parameter is read again, so a corrected password is picked up', async () => {
    const cam = await camera({ user: 'admin', password: PASSWORD });
    const env = ssmEnv('corrected', cam.url({ user: 'admin', password: 'old-password' }));
    const { run } = runCamera('ssm-corrected', {
      ...env,
      CAMERA_NAME: 'front-door',
      AUTH_BACKOFF_INITIAL_SECONDS: '3',
    });

    await run.waitForLine(/authentication failed \(1 in a row\)/, 15000);
    ssm.state.putParameter(parameter, cam.url()); // what `kvs-gateway cameras add` does
    await run.waitForLine(/video flowing/, 20000);
    expect(ssm.state.records('ssm-calls.jsonl')).toHaveLength(2);
  });

  test('a request signed with the wrong secret is refused and retried, never crashing the camera', async () => {
    const env = ssmEnv('wrong-key', 'rtsp://192.0.2.10/stream');
    const credentialFile = env.KVS_CREDENTIAL_PATH;
    fs.writeFileSync(
      credentialFile,
      ssm.state.credentialFileLine().replace(/ standInSecret\S+ /, ' wrongSecret '),
    );
    const { run } = runCamera('ssm-wrong-key', { ...env, CAMERA_NAME: 'front-door' });

    await run.waitForLine(/retrying in 2s: SignatureDoesNotMatch/, 15000);
    expect(run.running).toBe(true);
  });
});
