import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  AccessDeniedException,
  DeleteParameterCommand,
  GetParametersByPathCommand,
  ParameterAlreadyExists,
  ParameterNotFound,
  PutParameterCommand,
  SSMClient,
  ThrottlingException,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { loadGatewayConfig } from '../../lib/config';
import { buildRtspUrl } from '../../lib/rtsp-url';
import { ec2GatewayProblems, fargateGatewayProblems } from '../../lib/shards';
import { CliSandbox, expectNoPasswordIn, FakeTerminal, PASSWORD } from './cli-harness';

const ssm = mockClient(SSMClient);
let sandbox: CliSandbox;

const PARAMETER = '/kvs-gateway/cameras/front-door';
const CAMERA_URL = 'rtsp://192.0.2.10:554/stream1';
const STORED_URL = buildRtspUrl({ url: CAMERA_URL, user: 'viewer', password: PASSWORD });

beforeEach(() => {
  ssm.reset();
  sandbox = new CliSandbox();
});

afterEach(() => {
  expectNoPasswordIn(sandbox.outputLines());
  sandbox.dispose();
});

const add = (...extra: string[]) => [
  'cameras',
  'add',
  'front-door',
  '--url',
  CAMERA_URL,
  '--region',
  'eu-west-1',
  ...extra,
];

describe('cameras add', () => {
  test('stores the percent-encoded URL as a SecureString, password read from stdin', async () => {
    ssm.on(PutParameterCommand).resolves({ Version: 1, Tier: 'Standard' });

    const run = await sandbox.run(add('--user', 'viewer'), { stdin: `${PASSWORD}\n` });

    expect(run.exitCode).toBe(0);
    const calls = ssm.commandCalls(PutParameterCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0].args[0].input).toEqual({
      Name: PARAMETER,
      Description: 'RTSP URL of camera front-door (written by kvs-gateway cameras add)',
      Value: 'rtsp://viewer:p%40ss%3Aw%2Frd%25Sekret-%C3%A9%E2%82%AC%20@192.0.2.10:554/stream1',
      Type: 'SecureString',
      Overwrite: false,
    });
    expect(run.stdout).toContain('rtsp://viewer:****@192.0.2.10:554/stream1');
    expect(run.stdout).toContain('SecureString, version 1, KMS key alias/aws/ssm, eu-west-1');
    expect(run.stderr).not.toContain('not in');
  });

  test('--overwrite goes into the request; a rotation says "Replaced"; no KMS key is named', async () => {
    ssm.on(PutParameterCommand).resolves({ Version: 4 });

    const run = await sandbox.run(add('--user', 'viewer', '--overwrite', '--json'), { stdin: PASSWORD });

    expect(run.exitCode).toBe(0);
    const input = ssm.commandCalls(PutParameterCommand)[0].args[0].input;
    expect(input).toMatchObject({
      Name: PARAMETER,
      Type: 'SecureString',
      Overwrite: true,
      Value: STORED_URL,
    });
    expect(input).not.toHaveProperty('KeyId');
    expect(JSON.parse(run.stdout)).toEqual({
      camera: 'front-door',
      parameterName: PARAMETER,
      url: 'rtsp://viewer:****@192.0.2.10:554/stream1',
      version: 4,
      overwritten: true,
      inConfig: true,
      region: 'eu-west-1',
    });
  });

  test('reads the password from a terminal with echo off, Backspace editing it', async () => {
    ssm.on(PutParameterCommand).resolves({ Version: 1 });
    const terminal = new FakeTerminal();
    terminal.write(`${PASSWORD}x\u007f\r`);

    const run = await sandbox.run(add('--user', 'viewer'), { stdin: terminal });

    expect(run.exitCode).toBe(0);
    expect(terminal.rawModes).toEqual([true, false]);
    expect(run.stderr).toContain('Password for viewer on camera front-door: ');
    expect(ssm.commandCalls(PutParameterCommand)[0].args[0].input.Value).toBe(STORED_URL);
  });

  test('Ctrl-C at the password prompt cancels: nothing is stored', async () => {
    const terminal = new FakeTerminal();
    terminal.write('abc\u0003');

    const run = await sandbox.run(add('--user', 'viewer'), { stdin: terminal });

    expect(run.exitCode).toBe(130);
    expect(run.stderr).toContain('cancelled');
    expect(terminal.rawModes).toEqual([true, false]);
    expect(ssm.commandCalls(PutParameterCommand)).toHaveLength(0);
  });

  test('--no-auth stores the URL as given, without reading a password', async () => {
    ssm.on(PutParameterCommand).resolves({ Version: 1 });

    const run = await sandbox.run(add('--no-auth'));

    expect(run.exitCode).toBe(0);
    expect(ssm.commandCalls(PutParameterCommand)[0].args[0].input).toMatchObject({
      Value: CAMERA_URL,
      Type: 'SecureString',
    });
  });

  test('a camera not in the config is stored, and added to the config in its shard, every other byte kept', async () => {
    ssm.on(PutParameterCommand).resolves({ Version: 1 });
    const file = path.join(sandbox.dir, 'gateway.config.json');
    const before =
      '{\n  // two cameras\n  "cameras": [\n    { "name": "front-door" },\n    { "name": "lobby" }, // hall\n  ],\n}\n';
    fs.writeFileSync(file, before);

    const run = await sandbox.run(
      ['cameras', 'add', 'yard', '--url', CAMERA_URL, '--user', 'viewer', '--region', 'eu-west-1'],
      { stdin: PASSWORD },
    );

    expect(run.exitCode).toBe(0);
    expect(ssm.commandCalls(PutParameterCommand)[0].args[0].input.Name).toBe('/kvs-gateway/cameras/yard');
    expect(run.stdout).toContain(
      'Added camera "yard" to gateway.config.json in shard 1: deploy to start ingesting it.',
    );
    expect(fs.readFileSync(file, 'utf8')).toBe(
      '{\n  // two cameras\n  "cameras": [\n    { "name": "front-door" },\n    { "name": "lobby" }, // hall\n    { "name": "yard", "shard": 1 },\n  ],\n}\n',
    );
  });

  test("the newcomer's trap: cameras added to the sample go where both gateways still run them, none moves", async () => {
    ssm.on(PutParameterCommand).resolves({ Version: 1 });
    const file = path.join(sandbox.dir, 'gateway.config.json');
    const sample = fs.readFileSync(path.join(__dirname, '..', '..', 'gateway.config.json'), 'utf8');
    fs.writeFileSync(file, sample);

    const fourth = await sandbox.run(add('--no-auth').map((arg) => (arg === 'front-door' ? 'parking' : arg)));
    const fifth = await sandbox.run([
      ...add('--no-auth').map((arg) => (arg === 'front-door' ? 'gate' : arg)),
      '--json',
    ]);

    expect([fourth.exitCode, fifth.exitCode]).toEqual([0, 0]);
    expect(fourth.stdout).toContain('Added camera "parking" to gateway.config.json in shard 1');
    // The sample's Fargate task runs 4 cameras (fargate.camerasPerTask), so the fifth opens shard 2.
    expect(JSON.parse(fifth.stdout).addedToConfig).toEqual({ file: 'gateway.config.json', shard: 2 });
    const after = fs.readFileSync(file, 'utf8');
    expect(after.startsWith(sample.slice(0, sample.indexOf('\n  ],')))).toBe(true);
    const config = loadGatewayConfig(file);
    expect(config.cameras.map((camera) => [camera.name, camera.shard])).toEqual([
      ['front-door', 1],
      ['loading-dock', 1],
      ['lobby', 1],
      ['parking', 1],
      ['gate', 2],
    ]);
    expect([ec2GatewayProblems(config), fargateGatewayProblems(config)]).toEqual([[], []]);
  });

  test('the sentence says why a lower shard was passed over; --shard chooses the shard', async () => {
    ssm.on(PutParameterCommand).resolves({ Version: 1 });
    fs.writeFileSync(
      path.join(sandbox.dir, 'gateway.config.json'),
      JSON.stringify({ cameras: [{ name: 'a' }, { name: 'b' }], fargate: { camerasPerTask: 2 } }),
    );

    const chosen = await sandbox.run([
      'cameras',
      'add',
      'c',
      '--url',
      CAMERA_URL,
      '--no-auth',
      '--region',
      'eu-west-1',
    ]);
    const given = await sandbox.run([
      'cameras',
      'add',
      'd',
      '--url',
      CAMERA_URL,
      '--no-auth',
      '--shard',
      '7',
      '--region',
      'eu-west-1',
    ]);
    const moved = await sandbox.run([
      'cameras',
      'add',
      'a',
      '--url',
      CAMERA_URL,
      '--no-auth',
      '--shard',
      '3',
      '--region',
      'eu-west-1',
    ]);

    expect(chosen.stdout).toContain(
      'Added camera "c" to gateway.config.json in shard 2 (shard 1 has no room for it on the Fargate gateway): deploy to start ingesting it.',
    );
    expect(given.stdout).toContain('Added camera "d" to gateway.config.json in shard 7');
    expect(moved.exitCode).toBe(2);
    expect(moved.stderr).toContain(
      '--shard 3: camera "a" is in shard 1 in the config; moving a camera to another shard is an edit of the config you make',
    );
    expect(
      loadGatewayConfig(path.join(sandbox.dir, 'gateway.config.json')).cameras.map((c) => c.shard),
    ).toEqual([1, 1, 2, 7]);
  });

  const terminal = () => {
    const keys = new FakeTerminal();
    keys.write(`${PASSWORD}\r`);
    return keys;
  };

  test.each([
    [
      'a name KVS would refuse',
      ['cameras', 'add', 'front door', '--url', CAMERA_URL, '--user', 'viewer'],
      'camera name "front door": use letters, digits, "_", "." or "-" (KVS stream names)',
    ],
    [
      'a URL with credentials in it',
      [
        'cameras',
        'add',
        'front-door',
        '--url',
        `rtsp://viewer:${encodeURIComponent(PASSWORD)}@192.0.2.10/s`,
        '--user',
        'viewer',
      ],
      'leave the user and password out of the URL',
    ],
    [
      'a URL whose password has a "/" in it (the host part ends early)',
      [
        'cameras',
        'add',
        'front-door',
        '--url',
        'rtsp://admin:pa/ssSekret@192.0.2.10/stream1',
        '--user',
        'viewer',
      ],
      '--url "rtsp://admin:****@192.0.2.10/stream1": leave the user and password out of the URL',
    ],
    [
      'a URL that is not rtsp',
      ['cameras', 'add', 'front-door', '--url', 'http://192.0.2.10/s', '--user', 'viewer'],
      'must look like rtsp://host:554/path',
    ],
    [
      'a URL without a host',
      ['cameras', 'add', 'front-door', '--url', 'rtsp:///stream1', '--user', 'viewer'],
      'must look like rtsp://host:554/path',
    ],
    [
      'a URL with a space',
      ['cameras', 'add', 'front-door', '--url', 'rtsp://192.0.2.10/stream 1', '--user', 'viewer'],
      'must look like rtsp://host:554/path (rtsp:// or rtsps://, then a host, no spaces)',
    ],
    [
      'a camera URL pasted as the user',
      ['cameras', 'add', 'front-door', '--url', CAMERA_URL, '--user', 'rtsp://viewer:Sekret@192.0.2.10/s'],
      '--user: holds a URL with a password; give only the camera user',
    ],
    [
      'a name the config would refuse beside another (only "-" apart)',
      ['cameras', 'add', 'frontdoor', '--url', CAMERA_URL, '--user', 'viewer'],
      'camera "frontdoor" cannot be added to the config: cameras[2].name: "frontdoor" differs from cameras[0].name "front-door" only in case',
    ],
    [
      'neither --user nor --no-auth',
      ['cameras', 'add', 'front-door', '--url', CAMERA_URL],
      'give --user <user> (the password is then asked for), or --no-auth',
    ],
    ['no --url', ['cameras', 'add', 'front-door', '--no-auth'], '--url is required'],
  ])('refuses %s before the password prompt and before any AWS call', async (_what, args, message) => {
    const keys = terminal();
    const run = await sandbox.run([...args, '--region', 'eu-west-1'], { stdin: keys });

    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain(message);
    expect(run.stderr).not.toContain('Password for');
    expect(keys.rawModes).toEqual([]);
    expect(sandbox.sts.calls()).toHaveLength(0);
    expect(ssm.calls()).toHaveLength(0);
  });

  test('a malformed --region is wrong usage, said before any AWS call', async () => {
    const run = await sandbox.run([
      'cameras',
      'add',
      'front-door',
      '--url',
      CAMERA_URL,
      '--no-auth',
      '--region',
      'Ireland',
    ]);

    expect(run.exitCode).toBe(2);
    expect(run.stderr).toBe(
      'kvs-gateway cameras add: --region "Ireland": not the name of an AWS region (e.g. eu-west-1)\n',
    );
    expect(sandbox.sts.calls()).toHaveLength(0);
  });

  test('there is no --password option, and a password given as an argument is never echoed', async () => {
    const withOption = await sandbox.run([...add('--user', 'viewer'), `--password=${PASSWORD}`]);
    const asArgument = await sandbox.run([...add('--user', 'viewer'), PASSWORD]);

    expect(withOption.exitCode).toBe(2);
    expect(withOption.stderr).toContain('there is no --password option');
    expect(asArgument.exitCode).toBe(2);
    expect(asArgument.stderr).toContain('takes <name>, got 2 argument(s)');
    expect(ssm.calls()).toHaveLength(0);
  });

  test('an empty password from stdin stores nothing', async () => {
    const run = await sandbox.run(add('--user', 'viewer'), { stdin: '\n' });

    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('stdin held no password: nothing stored');
    expect(ssm.calls()).toHaveLength(0);
  });

  test('more than one line on stdin stores nothing', async () => {
    const run = await sandbox.run(add('--user', 'viewer'), { stdin: `${PASSWORD}\nsecond line\n` });

    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('stdin has more than one line');
    expect(ssm.calls()).toHaveLength(0);
  });

  test('an existing parameter without --overwrite: says how to rotate', async () => {
    ssm
      .on(PutParameterCommand)
      .rejects(new ParameterAlreadyExists({ message: 'The parameter already exists.', $metadata: {} }));

    const run = await sandbox.run(add('--user', 'viewer'), { stdin: PASSWORD });

    expect(run.exitCode).toBe(1);
    expect(run.stderr).toBe(
      `kvs-gateway cameras add: camera "front-door" already has a URL in ${PARAMETER}: pass --overwrite to replace it (to rotate the password)\n`,
    );
  });

  test('access denied names the action and the ARN from the message', async () => {
    const arn = 'arn:aws:ssm:eu-west-1:111122223333:parameter/kvs-gateway/cameras/front-door';
    ssm.on(PutParameterCommand).rejects(
      new AccessDeniedException({
        message: `User: arn:aws:iam::111122223333:user/ops is not authorized to perform: ssm:PutParameter on resource: ${arn} because no identity-based policy allows the ssm:PutParameter action`,
        Message: `User: arn:aws:iam::111122223333:user/ops is not authorized to perform: ssm:PutParameter on resource: ${arn} because no identity-based policy allows the ssm:PutParameter action`,
        $metadata: { httpStatusCode: 400 },
      }),
    );

    const run = await sandbox.run(add('--user', 'viewer'), { stdin: PASSWORD });

    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain(
      `access denied: you are not allowed ssm:PutParameter on ${arn} in eu-west-1; ask for that permission in your IAM policy`,
    );
  });

  test('--kms-key-id is gone: a URL under a key no gateway role may decrypt is refused before any call', async () => {
    const run = await sandbox.run(add('--user', 'viewer', '--kms-key-id', 'alias/nope'), { stdin: PASSWORD });

    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/kms-key-id/);
    expect(ssm.commandCalls(PutParameterCommand)).toEqual([]);
  });

  test('throttling: says the call was retried and to try again later', async () => {
    ssm.on(PutParameterCommand).rejects(
      new ThrottlingException({
        message: 'Rate exceeded',
        Message: 'Rate exceeded',
        $metadata: { attempts: 5 },
      }),
    );

    const run = await sandbox.run(add('--user', 'viewer'), { stdin: PASSWORD });

    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain(
      `AWS throttled ssm:PutParameter on parameter ${PARAMETER} (ThrottlingException) and it still failed after 5 attempts with backoff: try again in a minute`,
    );
  });

  test('no credentials (the real provider chain finds none): says how to set them up, asks no password', async () => {
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
    const terminal = new FakeTerminal();

    const run = await sandbox.run(add('--user', 'viewer'), { stdin: terminal });

    expect(run.exitCode).toBe(1);
    expect(run.stderr).toBe(
      'kvs-gateway cameras add: no AWS credentials found (profile "default"): run "aws configure" (or "aws sso login"), set AWS_PROFILE, or pass --profile <name>\n',
    );
    expect(terminal.rawModes).toEqual([]);
    expect(ssm.calls()).toHaveLength(0);
  });

  test('no region anywhere: says where to set one', async () => {
    const run = await sandbox.run(['cameras', 'add', 'front-door', '--url', CAMERA_URL, '--no-auth']);

    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('no AWS region: pass --region <region>, set AWS_REGION');
  });

  test('--profile takes the region and credentials from the shared files; AWS_DEFAULT_REGION counts too', async () => {
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
    fs.writeFileSync(process.env.AWS_CONFIG_FILE!, '[profile site1]\nregion = ap-southeast-2\n');
    fs.writeFileSync(
      process.env.AWS_SHARED_CREDENTIALS_FILE!,
      '[site1]\naws_access_key_id = AKIAI44QH8DHBEXAMPLE\naws_secret_access_key = je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY\n',
    );
    ssm.on(PutParameterCommand).resolves({ Version: 1 });

    const withProfile = await sandbox.run([
      'cameras',
      'add',
      'front-door',
      '--url',
      CAMERA_URL,
      '--no-auth',
      '--profile',
      'site1',
      '--json',
    ]);
    process.env.AWS_DEFAULT_REGION = 'ca-central-1';
    const withDefaultRegion = await sandbox.run([
      'cameras',
      'add',
      'front-door',
      '--url',
      CAMERA_URL,
      '--no-auth',
      '--profile',
      'site1',
      '--json',
    ]);

    expect(withProfile.exitCode).toBe(0);
    expect(JSON.parse(withProfile.stdout).region).toBe('ap-southeast-2');
    expect(JSON.parse(withDefaultRegion.stdout).region).toBe('ca-central-1');
    const client = ssm.commandCalls(PutParameterCommand)[0].thisValue as SSMClient;
    expect(await client.config.region()).toBe('ap-southeast-2');
  });
});

describe('cameras list', () => {
  const storedParameter = (name: string, value: string, type = 'SecureString') => ({
    Name: `/kvs-gateway/cameras/${name}`,
    Type: type as 'SecureString',
    Value: value,
    Version: 2,
    LastModifiedDate: new Date('2026-11-20T10:00:00Z'),
  });

  beforeEach(() => {
    ssm
      .on(GetParametersByPathCommand)
      .resolvesOnce({ Parameters: [storedParameter('front-door', STORED_URL)], NextToken: 'page-2' })
      .resolvesOnce({
        Parameters: [
          storedParameter('old-gate', 'rtsp://admin:hunter2Sekret@192.0.2.99/live'),
          storedParameter('plain', 'rtsp://192.0.2.50/live', 'String'),
        ],
      });
  });

  test('shows config and SSM side by side, redacted, and which are missing where', async () => {
    const run = await sandbox.run(['cameras', 'list', '--region', 'eu-west-1']);

    expect(run.exitCode).toBe(0);
    const calls = ssm.commandCalls(GetParametersByPathCommand);
    expect(calls.map((call) => call.args[0].input)).toEqual([
      { Path: '/kvs-gateway/cameras', Recursive: false, WithDecryption: true },
      { Path: '/kvs-gateway/cameras', Recursive: false, WithDecryption: true, NextToken: 'page-2' },
    ]);
    const lines = run.stdout.split('\n');
    expect(lines[0]).toBe('Camera URL parameters under /kvs-gateway/cameras in eu-west-1:');
    expect(lines[1]).toMatch(/^CAMERA\s+IN CONFIG\s+IN SSM\s+URL$/);
    expect(lines).toContainEqual(
      expect.stringMatching(/^front-door\s+yes\s+yes\s+rtsp:\/\/viewer:\*\*\*\*@192\.0\.2\.10:554\/stream1$/),
    );
    expect(lines).toContainEqual(expect.stringMatching(/^lobby\s+yes\s+NO\s+-$/));
    expect(lines).toContainEqual(
      expect.stringMatching(/^old-gate\s+NO\s+yes\s+rtsp:\/\/admin:\*\*\*\*@192\.0\.2\.99\/live$/),
    );
    expect(run.stdout).toContain('Missing in SSM (the gateway cannot start these): lobby');
    expect(run.stdout).toContain('Missing in the config (not ingested): old-gate, plain');
    expect(run.stdout).toContain('plain: stored as String, not SecureString');
  });

  test('--json lists the same, redacted', async () => {
    const run = await sandbox.run(['cameras', 'list', '--region', 'eu-west-1', '--json']);

    const listing = JSON.parse(run.stdout);
    expect(listing.cameras.map((c: { camera: string }) => c.camera)).toEqual([
      'front-door',
      'lobby',
      'old-gate',
      'plain',
    ]);
    expect(listing.cameras[0]).toEqual({
      camera: 'front-door',
      parameterName: PARAMETER,
      inConfig: true,
      inSsm: true,
      streamName: 'front-door',
      url: 'rtsp://viewer:****@192.0.2.10:554/stream1',
      parameterType: 'SecureString',
      lastModified: '2026-11-20T10:00:00.000Z',
    });
    expect(listing.cameras[1]).toMatchObject({
      camera: 'lobby',
      inConfig: true,
      inSsm: false,
      streamName: 'site1.lobby',
    });
  });

  test('access denied on decrypting names the action', async () => {
    ssm.reset();
    ssm.on(GetParametersByPathCommand).rejects(
      new AccessDeniedException({
        message:
          'The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access (Service: AWSKMS).',
        Message:
          'The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access (Service: AWSKMS).',
        $metadata: {},
      }),
    );

    const run = await sandbox.run(['cameras', 'list', '--region', 'eu-west-1']);

    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain(
      'access denied: you are not allowed ssm:GetParametersByPath on parameters under /kvs-gateway/cameras in eu-west-1 (the KMS key policy may not allow you to use the key)',
    );
  });

  test('a config with a problem: names the field, calls nothing', async () => {
    fs.writeFileSync(
      path.join(sandbox.dir, 'broken.json'),
      JSON.stringify({ cameras: [{ name: 'front door' }] }),
    );

    const run = await sandbox.run(['cameras', 'list', '--config', 'broken.json', '--region', 'eu-west-1']);

    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('cameras[0].name: "front door": use letters, digits');
    expect(ssm.calls()).toHaveLength(0);
  });
});

describe('cameras remove', () => {
  test('--yes deletes the parameter and warns that the camera is still in the config', async () => {
    ssm.on(DeleteParameterCommand).resolves({});

    const run = await sandbox.run(['cameras', 'remove', 'front-door', '--yes', '--region', 'eu-west-1']);

    expect(run.exitCode).toBe(0);
    expect(ssm.commandCalls(DeleteParameterCommand).map((c) => c.args[0].input)).toEqual([
      { Name: PARAMETER },
    ]);
    expect(run.stdout).toBe(`Removed ${PARAMETER} (camera "front-door", eu-west-1).\n`);
    expect(run.stderr).toContain('note: camera "front-door" is still in the config');
  });

  test('asks on a terminal; "y" deletes, anything else keeps it', async () => {
    ssm.on(DeleteParameterCommand).resolves({});
    const yes = new FakeTerminal();
    yes.write('y\n');
    const no = new FakeTerminal();
    no.write('\n');

    const removed = await sandbox.run(['cameras', 'remove', 'old-gate', '--region', 'eu-west-1'], {
      stdin: yes,
    });
    const kept = await sandbox.run(['cameras', 'remove', 'old-gate', '--region', 'eu-west-1'], { stdin: no });

    expect(removed.exitCode).toBe(0);
    expect(removed.stderr).toContain(
      'Delete the URL parameter /kvs-gateway/cameras/old-gate of camera "old-gate" in eu-west-1? [y/N]',
    );
    expect(kept.exitCode).toBe(1);
    expect(kept.stderr).toContain('Nothing removed.');
    expect(ssm.commandCalls(DeleteParameterCommand)).toHaveLength(1);
  });

  test('stdin not a terminal and no --yes: refuses to delete, before any AWS call', async () => {
    const run = await sandbox.run(['cameras', 'remove', 'old-gate', '--region', 'eu-west-1']);

    expect(run.exitCode).toBe(2);
    expect(run.stderr).toBe(
      'kvs-gateway cameras remove: not asking for confirmation because stdin is not a terminal: pass --yes to remove\n',
    );
    expect(sandbox.sts.calls()).toHaveLength(0);
    expect(ssm.calls()).toHaveLength(0);
  });

  test('parameter not found: says there is nothing to remove', async () => {
    ssm.on(DeleteParameterCommand).rejects(new ParameterNotFound({ message: '', $metadata: {} }));

    const run = await sandbox.run(['cameras', 'remove', 'old-gate', '--yes', '--region', 'eu-west-1']);

    expect(run.exitCode).toBe(1);
    expect(run.stderr).toBe(
      'kvs-gateway cameras remove: camera "old-gate" has no URL parameter /kvs-gateway/cameras/old-gate in eu-west-1: nothing to remove (see "kvs-gateway cameras list")\n',
    );
  });
});
