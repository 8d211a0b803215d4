import * as fs from 'node:fs';
import {
  AccessDeniedException as KvsAccessDeniedException,
  DescribeStreamCommand,
  GetDataEndpointCommand,
  KinesisVideoClient,
  ResourceNotFoundException as StreamNotFoundException,
} from '@aws-sdk/client-kinesis-video';
import {
  ClientLimitExceededException,
  GetHLSStreamingSessionURLCommand,
  KinesisVideoArchivedMediaClient,
  NoDataRetentionException,
  NotAuthorizedException,
  ResourceNotFoundException as NoFragmentsException,
} from '@aws-sdk/client-kinesis-video-archived-media';
import { AccessDeniedException, GetParametersByPathCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { buildRtspUrl } from '../../lib/rtsp-url';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { CliError } from '../../lib/cli/aws-errors';
import { runDoctor } from '../../lib/cli/doctor';
import { validateGatewayConfig } from '../../lib/config';
import { CliSandbox, CONFIG, expectNoPasswordIn, PASSWORD } from './cli-harness';

const ssm = mockClient(SSMClient);
const kinesisVideo = mockClient(KinesisVideoClient);
const archivedMedia = mockClient(KinesisVideoArchivedMediaClient);
let sandbox: CliSandbox;

const DATA_ENDPOINT = 'https://b-1234abcd.kinesisvideo.eu-west-1.amazonaws.com';
const HLS_URL =
  'https://b-1234abcd.kinesisvideo.eu-west-1.amazonaws.com/hls/v1/getHLSMasterPlaylist.m3u8?SessionToken=CiAbc';
const streamInfo = (name: string, retention: number, mediaType = 'video/h264') => ({
  StreamInfo: {
    StreamName: name,
    StreamARN: `arn:aws:kinesisvideo:eu-west-1:111122223333:stream/${name}/1700000000000`,
    Status: 'ACTIVE' as const,
    DataRetentionInHours: retention,
    MediaType: mediaType,
  },
});

beforeEach(() => {
  ssm.reset();
  kinesisVideo.reset();
  archivedMedia.reset();
  sandbox = new CliSandbox();
});

afterEach(() => {
  expectNoPasswordIn(sandbox.outputLines());
  sandbox.dispose();
});

describe('view', () => {
  beforeEach(() => {
    kinesisVideo.on(DescribeStreamCommand).resolves(streamInfo('front-door', 24));
    kinesisVideo.on(GetDataEndpointCommand).resolves({ DataEndpoint: DATA_ENDPOINT });
    archivedMedia.on(GetHLSStreamingSessionURLCommand).resolves({ HLSStreamingSessionURL: HLS_URL });
  });

  test('asks the data endpoint for a LIVE session with the expiry, and prints the URL', async () => {
    const run = await sandbox.run(['view', 'front-door', '--region', 'eu-west-1', '--expires', '2h']);

    expect(run.exitCode).toBe(0);
    expect(kinesisVideo.commandCalls(DescribeStreamCommand)[0].args[0].input).toEqual({
      StreamName: 'front-door',
    });
    expect(kinesisVideo.commandCalls(GetDataEndpointCommand)[0].args[0].input).toEqual({
      StreamName: 'front-door',
      APIName: 'GET_HLS_STREAMING_SESSION_URL',
    });
    const sessionCall = archivedMedia.commandCalls(GetHLSStreamingSessionURLCommand)[0];
    expect(sessionCall.args[0].input).toEqual({
      StreamName: 'front-door',
      PlaybackMode: 'LIVE',
      Expires: 7200,
    });
    const client = sessionCall.thisValue as KinesisVideoArchivedMediaClient;
    const endpoint = await client.config.endpoint!();
    expect(endpoint.hostname).toBe('b-1234abcd.kinesisvideo.eu-west-1.amazonaws.com');
    expect(run.stdout).toMatch(
      /^Live HLS URL for camera "front-door" \(stream front-door\), valid until \d{4}-\d\d-\d\dT[\d:.]+Z:\n/,
    );
    expect(run.stdout).toContain(`${HLS_URL}\n`);
    expect(run.opened).toEqual([]);
  });

  test('uses the stream name from the config and the default expiry of an hour', async () => {
    kinesisVideo.on(DescribeStreamCommand).resolves(streamInfo('site1.lobby', 168, 'video/h265'));

    const run = await sandbox.run(['view', 'lobby', '--region', 'eu-west-1', '--json']);

    expect(run.exitCode).toBe(0);
    expect(archivedMedia.commandCalls(GetHLSStreamingSessionURLCommand)[0].args[0].input).toEqual({
      StreamName: 'site1.lobby',
      PlaybackMode: 'LIVE',
      Expires: 3600,
    });
    const session = JSON.parse(run.stdout);
    expect(session).toMatchObject({
      camera: 'lobby',
      streamName: 'site1.lobby',
      hlsUrl: HLS_URL,
      h265: true,
    });
    expect(Date.parse(session.expiresAt) - Date.now()).toBeGreaterThan(3590_000);
    expect(run.stderr).toContain('Most browsers cannot play H.265');
  });

  test('--open writes a private, self-contained player page and opens it', async () => {
    const run = await sandbox.run(['view', 'front-door', '--region', 'eu-west-1', '--open']);

    expect(run.exitCode).toBe(0);
    expect(run.opened).toHaveLength(1);
    const page = run.opened[0];
    expect(run.stdout).toContain(`Player page: ${page}\n`);
    expect(fs.statSync(page).mode & 0o777).toBe(0o600);
    const html = fs.readFileSync(page, 'utf8');
    expect(html).toContain('<h1>front-door</h1>');
    expect(html).toContain(JSON.stringify(HLS_URL));
    expect(html).toContain('Hls.isSupported()');
    expect(html).not.toMatch(/<script[^>]+src=/);
    expect(html).not.toContain('id="h265"');
  });

  test('--out writes the page where asked, without opening it', async () => {
    const run = await sandbox.run([
      'view',
      'front-door',
      '--region',
      'eu-west-1',
      '--out',
      'pages/door.html',
    ]);

    expect(run.exitCode).toBe(0);
    expect(run.opened).toEqual([]);
    expect(fs.existsSync(`${sandbox.dir}/pages/door.html`)).toBe(true);
  });

  test.each([
    [
      'the stream does not exist',
      () =>
        kinesisVideo.on(DescribeStreamCommand).rejects(
          new StreamNotFoundException({
            message: 'The requested stream is not found or not active.',
            $metadata: {},
          }),
        ),
      'stream "front-door" (camera "front-door") does not exist in eu-west-1: deploy the gateway first ("npx cdk deploy"), or check --region',
    ],
    [
      'the stream keeps no data (DescribeStream)',
      () => kinesisVideo.on(DescribeStreamCommand).resolves(streamInfo('front-door', 0)),
      'stream "front-door" keeps no video (data retention 0 hours) and HLS playback needs retention: set "retentionHours" of camera "front-door" to 1 or more in the config and deploy again',
    ],
    [
      'the stream keeps no data (GetHLSStreamingSessionURL)',
      () =>
        archivedMedia
          .on(GetHLSStreamingSessionURLCommand)
          .rejects(new NoDataRetentionException({ message: '', $metadata: {} })),
      'keeps no video (data retention 0 hours)',
    ],
    [
      'no fragments in the last 30 seconds',
      () =>
        archivedMedia.on(GetHLSStreamingSessionURLCommand).rejects(
          new NoFragmentsException({
            message: 'No fragments found in the stream for the streaming request.',
            $metadata: {},
          }),
        ),
      'stream "front-door" has received no video in the last 30 seconds: check that the camera "front-door" is online and its gateway service is running',
    ],
    [
      'not authorized for the session',
      () =>
        archivedMedia
          .on(GetHLSStreamingSessionURLCommand)
          .rejects(
            new NotAuthorizedException({ message: 'Unauthorized', $metadata: { httpStatusCode: 403 } }),
          ),
      'access denied: you are not allowed kinesisvideo:GetHLSStreamingSessionURL on arn:aws:kinesisvideo:eu-west-1:111122223333:stream/front-door/1700000000000 in eu-west-1',
    ],
    [
      'access denied on GetDataEndpoint',
      () =>
        kinesisVideo.on(GetDataEndpointCommand).rejects(
          new KvsAccessDeniedException({
            message:
              'User: arn:aws:iam::111122223333:user/ops is not authorized to perform: kinesisvideo:GetDataEndpoint on resource: arn:aws:kinesisvideo:eu-west-1:111122223333:stream/front-door/1700000000000',
            $metadata: {},
          }),
        ),
      'access denied: you are not allowed kinesisvideo:GetDataEndpoint on arn:aws:kinesisvideo:eu-west-1:111122223333:stream/front-door/1700000000000 in eu-west-1',
    ],
    [
      'throttled',
      () =>
        archivedMedia
          .on(GetHLSStreamingSessionURLCommand)
          .rejects(new ClientLimitExceededException({ message: 'limit', $metadata: { attempts: 5 } })),
      'AWS throttled kinesisvideo:GetHLSStreamingSessionURL on arn:aws:kinesisvideo:eu-west-1:111122223333:stream/front-door/1700000000000 (ClientLimitExceededException) and it still failed after 5 attempts with backoff: try again in a minute',
    ],
  ])('%s: says what to do', async (_what, arrange, message) => {
    arrange();

    const run = await sandbox.run(['view', 'front-door', '--region', 'eu-west-1', '--open']);

    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain(message);
    expect(run.opened).toEqual([]);
  });

  test.each([
    [['view', 'yard'], 'camera "yard" is not in the config; its cameras are: front-door, lobby', 1],
    [['view', 'front-door', '--expires', '10'], '--expires "10": give 300 to 43200 seconds (5m to 12h)', 2],
    [['view', 'front-door', '--expires', '13h'], '--expires "13h": give 300 to 43200 seconds', 2],
    [
      ['view', 'front-door', '--out', 'gateway.config.json/page.html'],
      'gateway.config.json is a file, not a folder',
      2,
    ],
  ])('%j: refused before calling AWS', async (args, message, exitCode) => {
    const run = await sandbox.run([...args, '--region', 'eu-west-1']);

    expect(run.exitCode).toBe(exitCode);
    expect(run.stderr).toContain(message);
    expect(kinesisVideo.calls()).toHaveLength(0);
  });
});

describe('a config section that is null', () => {
  test.each([
    ['doctor', 'ec2'],
    ['doctor', 'fargate'],
    ['cost', 'ec2'],
    ['cost', 'fargate'],
  ])('%s with "%s": null names the field (no stack trace)', async (command, section) => {
    fs.writeFileSync(`${sandbox.dir}/gateway.config.json`, JSON.stringify({ ...CONFIG, [section]: null }));

    const run = await sandbox.run([
      command,
      '--region',
      'eu-west-1',
      ...(command === 'cost' ? ['--offline'] : []),
    ]);

    expect(run.exitCode).toBe(1);
    expect(`${run.stdout}${run.stderr}`).toContain(`${section}: must be an object`);
    expect(run.stderr).not.toMatch(/TypeError|unexpected error/);
  });
});

describe('doctor', () => {
  test('a gateway the config does not fit is a warning naming the fix (the other gateway may be the one deployed)', async () => {
    const cameras = ['a', 'b', 'c', 'd', 'e'].map((name) => ({ name }));
    fs.writeFileSync(`${sandbox.dir}/gateway.config.json`, JSON.stringify({ cameras }));
    ssm.on(GetParametersByPathCommand).resolves({ Parameters: [] });

    const run = await sandbox.run(['doctor', '--region', 'eu-west-1', '--json']);

    const report = JSON.parse(run.stdout);
    expect(report.checks.filter((c: { subject: string }) => c.subject === 'gateways')).toEqual([
      {
        status: 'warn',
        subject: 'gateways',
        message:
          'FargateGatewayStack does not fit the config, so the app leaves it out: cameras: shard 1 holds 5 cameras (cameras[0], cameras[1], cameras[2], cameras[3] and cameras[4]) but one Fargate task runs at most fargate.camerasPerTask = 4: give the last one listed another shard ("shard": 2 in cameras[4]) or raise fargate.camerasPerTask (at most 9)',
      },
    ]);
  });

  const stored = (name: string, type: 'SecureString' | 'String' = 'SecureString') => ({
    Name: `/kvs-gateway/cameras/${name}`,
    Type: type,
    Value: buildRtspUrl({ url: 'rtsp://192.0.2.10/live', user: 'viewer', password: PASSWORD }),
  });

  test('all good: exit 0, every camera and stream checked', async () => {
    ssm.on(GetParametersByPathCommand).resolves({ Parameters: [stored('front-door'), stored('lobby')] });
    kinesisVideo
      .on(DescribeStreamCommand, { StreamName: 'front-door' })
      .resolves(streamInfo('front-door', 24))
      .on(DescribeStreamCommand, { StreamName: 'site1.lobby' })
      .resolves(streamInfo('site1.lobby', 168, 'video/h265'));

    const run = await sandbox.run(['doctor', '--region', 'eu-west-1']);

    expect(run.stdout).toMatch(/^All checks passed/m);
    expect(run.exitCode).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^OK\s+config\s+gateway\.config\.json: 2 camera\(s\); camera names and stream names are valid and unique$/,
      ),
    );
    expect(lines[0]).toMatch(/^(OK|WARN)\s+node\s+Node\.js v\d+/);
    expect(lines).toContainEqual(expect.stringMatching(/^OK\s+region\s+eu-west-1 \(from --region\)$/));
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^OK\s+credentials\s+arn:aws:iam::111122223333:user\/tester \(account 111122223333\), from the access key in AWS_ACCESS_KEY_ID$/,
      ),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^OK\s+front-door\s+\/kvs-gateway\/cameras\/front-door = rtsp:\/\/viewer:\*\*\*\*@192\.0\.2\.10\/live$/,
      ),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(/^OK\s+stream site1\.lobby\s+ACTIVE, keeps 168 h of video, video\/h265$/),
    );
  });

  test('a camera without its parameter, a String parameter, an extra parameter, a stream not deployed: exit 1', async () => {
    ssm
      .on(GetParametersByPathCommand)
      .resolves({ Parameters: [stored('lobby', 'String'), stored('old-gate')] });
    kinesisVideo
      .on(DescribeStreamCommand, { StreamName: 'front-door' })
      .rejects(new StreamNotFoundException({ message: 'not found', $metadata: {} }))
      .on(DescribeStreamCommand, { StreamName: 'site1.lobby' })
      .resolves(streamInfo('site1.lobby', 24));

    const run = await sandbox.run(['doctor', '--region', 'eu-west-1', '--json']);

    expect(run.exitCode).toBe(1);
    const report = JSON.parse(run.stdout);
    expect(report.ok).toBe(false);
    const bySubject = (subject: string) =>
      report.checks.filter((c: { subject: string }) => c.subject === subject);
    expect(bySubject('front-door')).toEqual([
      {
        status: 'fail',
        subject: 'front-door',
        message:
          'no URL parameter /kvs-gateway/cameras/front-door: run "npx kvs-gateway cameras add front-door --url rtsp://<host>:554/<path> --user <user>"',
      },
    ]);
    expect(bySubject('lobby')[0]).toMatchObject({
      status: 'fail',
      message: expect.stringContaining('stored as String, not SecureString'),
    });
    expect(bySubject('old-gate')[0]).toMatchObject({
      status: 'warn',
      message: expect.stringContaining('is not a camera in the config'),
    });
    expect(bySubject('stream front-door')[0]).toMatchObject({
      status: 'warn',
      message: 'does not exist yet in eu-west-1: deploying the gateway creates it',
    });
    expect(bySubject('stream site1.lobby')[0]).toMatchObject({
      status: 'warn',
      message: 'ACTIVE, keeps 24 h of video but the config says 168 h: deploy to apply the config',
    });
  });

  test('an invalid config: each problem is a failed check, AWS is still checked', async () => {
    fs.writeFileSync(
      `${sandbox.dir}/gateway.config.json`,
      JSON.stringify({
        cameras: [{ name: 'a', streamName: 'same' }, { name: 'b', streamName: 'same' }, { name: 'c d' }],
      }),
    );

    const run = await sandbox.run(['doctor', '--region', 'eu-west-1']);

    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain(
      'cameras[1].streamName: "same" is already used by cameras[0]; names must be unique',
    );
    expect(run.stdout).toContain('cameras[2].name: "c d": use letters, digits');
    expect(run.stdout).toMatch(/^OK\s+credentials\s+arn:aws:iam::111122223333:user\/tester/m);
    expect(ssm.calls()).toHaveLength(0);
  });

  test('no credentials from the real provider chain: exit 1, no AWS call', async () => {
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;

    const run = await sandbox.run(['doctor', '--region', 'eu-west-1']);

    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(
      /^FAIL\s+credentials\s+no AWS credentials found \(profile "default"\): run "aws configure"/m,
    );
    expect(ssm.calls()).toHaveLength(0);
  });

  test('keys AWS rejects are a failed check naming where they come from, not "found"', async () => {
    sandbox.sts.on(GetCallerIdentityCommand).rejects(
      Object.assign(new Error('The security token included in the request is invalid.'), {
        name: 'InvalidClientTokenId',
        $metadata: { httpStatusCode: 403 },
      }),
    );

    const run = await sandbox.run(['doctor', '--region', 'eu-west-1']);

    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(
      /^FAIL\s+credentials\s+AWS did not accept your credentials \(the access key in AWS_ACCESS_KEY_ID\) \(InvalidClientTokenId\) in eu-west-1/m,
    );
    expect(ssm.calls()).toHaveLength(0);
    expect(kinesisVideo.calls()).toHaveLength(0);
  });

  test('each check is printed as soon as it is done, before the slow ones finish', async () => {
    const printed: string[] = [];
    let release!: () => void;
    const slowClients = new Promise<never>((_resolve, reject) => {
      release = () => reject(new CliError('no AWS region: test'));
    });
    const done = runDoctor({
      configFile: 'gateway.config.json',
      loadConfig: () => validateGatewayConfig(CONFIG),
      createClients: () => slowClients,
      onCheck: (check) => printed.push(check.subject),
    });
    await new Promise((resolve) => setImmediate(resolve));

    expect(printed).toEqual(['node', 'config']);
    release();
    expect((await done).checks.map((check) => check.subject)).toEqual(['node', 'config', 'region']);
  });

  test('a profile that does not exist: named, exit 1', async () => {
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;

    const run = await sandbox.run(['doctor', '--region', 'eu-west-1', '--profile', 'site9']);

    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(
      /^FAIL\s+credentials\s+AWS profile "site9" \(--profile\) is in neither ~\/\.aws\/config nor ~\/\.aws\/credentials \(no profiles there\): create it with "aws configure --profile site9"/m,
    );
  });

  test('an unknown AWS_PROFILE is named, with the profiles there are', async () => {
    fs.writeFileSync(process.env.AWS_CONFIG_FILE!, '[profile site1]\nregion = ap-southeast-2\n');
    process.env.AWS_PROFILE = 'stie1';

    const run = await sandbox.run(['doctor']);

    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(
      /^FAIL\s+credentials\s+AWS profile "stie1" \(AWS_PROFILE\) is in neither ~\/\.aws\/config nor ~\/\.aws\/credentials \(profiles there: site1\)/m,
    );
  });

  test('no region: exit 1', async () => {
    const run = await sandbox.run(['doctor']);

    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(/^FAIL\s+region\s+no AWS region: pass --region/m);
  });

  test('access denied on the parameters and on the streams: failed checks that name the action', async () => {
    ssm.on(GetParametersByPathCommand).rejects(
      new AccessDeniedException({
        message:
          'User: arn:aws:iam::111122223333:user/ops is not authorized to perform: ssm:GetParametersByPath on resource: arn:aws:ssm:eu-west-1:111122223333:parameter/kvs-gateway/cameras',
        Message:
          'User: arn:aws:iam::111122223333:user/ops is not authorized to perform: ssm:GetParametersByPath on resource: arn:aws:ssm:eu-west-1:111122223333:parameter/kvs-gateway/cameras',
        $metadata: {},
      }),
    );
    kinesisVideo
      .on(DescribeStreamCommand)
      .rejects(new KvsAccessDeniedException({ message: 'denied', $metadata: {} }));

    const run = await sandbox.run(['doctor', '--region', 'eu-west-1']);

    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(
      /^FAIL\s+parameters\s+access denied: you are not allowed ssm:GetParametersByPath on arn:aws:ssm:eu-west-1:111122223333:parameter\/kvs-gateway\/cameras in eu-west-1/m,
    );
    expect(run.stdout).toMatch(
      /^FAIL\s+stream front-door\s+access denied: you are not allowed kinesisvideo:DescribeStream on stream front-door in eu-west-1/m,
    );
  });
});

describe('help', () => {
  test.each([
    [['--help'], 'Usage: kvs-gateway <command> [options]'],
    [['cameras', '--help'], 'Usage: kvs-gateway cameras <add|list|remove> [options]'],
    [['cameras', 'add', '--help'], 'Usage: kvs-gateway cameras add <name> --url <rtsp-url>'],
    [['cameras', 'list', '--help'], 'Usage: kvs-gateway cameras list [options]'],
    [['cameras', 'remove', '-h'], 'Usage: kvs-gateway cameras remove <name> [--yes] [options]'],
    [['doctor', '--help'], 'Usage: kvs-gateway doctor [options]'],
    [
      ['view', '--help'],
      'Usage: kvs-gateway view <name> [--from <time> [--to <time>]] [--expires <duration>]',
    ],
    [['status', '--help'], 'Usage: kvs-gateway status [name...] [--watch [--interval <seconds>]]'],
    [['clip', '--help'], 'Usage: kvs-gateway clip <name> --from <time> [--to <time>] [--out <file.mp4>]'],
  ])('%j prints its usage and exits 0', async (args, usage) => {
    const run = await sandbox.run(args);

    expect(run.exitCode).toBe(0);
    expect(run.stdout.startsWith(usage)).toBe(true);
    expect(run.stdout).toContain('--region <region>');
  });

  test.each([
    [[]],
    [['cameras']],
    [['camera', 'list']],
    [['cameras', 'rm', 'x']],
    [['toString']],
    [['cameras', 'constructor']],
    [['--region', 'x', 'doctor']],
  ])('%j: usage on stderr, exit 2', async (args) => {
    const run = await sandbox.run(args);

    expect(run.exitCode).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('Usage: kvs-gateway');
  });

  test('the config file comes from --config; a missing file is named', async () => {
    const run = await sandbox.run(['cameras', 'list', '--config', 'site2.json', '--region', 'eu-west-1']);

    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('site2.json has 1 problem(s):');
    expect(run.stderr).toContain('cannot be read');
  });
});
