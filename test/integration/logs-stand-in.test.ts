import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  CloudWatchLogsClient,
  CreateLogStreamCommand,
  DescribeLogStreamsCommand,
  PutLogEventsCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { AwsStandIn, AwsStandInState, STAND_IN_CREDENTIALS } from '../support/aws-stand-ins';

/** The CloudWatch Logs stand-in speaks the real protocol: the AWS SDK's own client against it. */

const GROUP = 'Logs6819BB44-Ec2GatewayStack';
let dir: string;
let state: AwsStandInState;
let standIn: AwsStandIn;

function client(secret = STAND_IN_CREDENTIALS.SecretAccessKey): CloudWatchLogsClient {
  return new CloudWatchLogsClient({
    endpoint: standIn.url,
    region: 'eu-west-1',
    maxAttempts: 1,
    credentials: {
      accessKeyId: STAND_IN_CREDENTIALS.AccessKeyId,
      secretAccessKey: secret,
      sessionToken: STAND_IN_CREDENTIALS.Token,
    },
  });
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvs-logs-'));
  state = new AwsStandInState(dir);
  state.setLogGroups([GROUP]);
  standIn = await AwsStandIn.start('logs', state);
});

afterAll(async () => {
  await standIn?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('takes events into a stream it created, in order, and records what IAM authorizes', async () => {
  const logs = client();
  const stream = 'i-0abc/gateway.kvs-camera@front-door.service';
  await logs.send(new CreateLogStreamCommand({ logGroupName: GROUP, logStreamName: stream }));
  await expect(
    logs.send(new CreateLogStreamCommand({ logGroupName: GROUP, logStreamName: stream })),
  ).rejects.toMatchObject({ name: 'ResourceAlreadyExistsException' });
  await logs.send(
    new PutLogEventsCommand({
      logGroupName: GROUP,
      logStreamName: stream,
      logEvents: [
        { timestamp: 1_700_000_000_000, message: 'one' },
        { timestamp: 1_700_000_000_001, message: 'two' },
      ],
    }),
  );
  const described = await logs.send(new DescribeLogStreamsCommand({ logGroupName: GROUP }));
  expect(described.logStreams?.map((s) => s.logStreamName)).toEqual([stream]);
  expect(state.logEvents().map((e) => [e.group, e.stream, e.message])).toEqual([
    [GROUP, stream, 'one'],
    [GROUP, stream, 'two'],
  ]);
  const arn = `arn:aws:logs:eu-west-1:123456789012:log-group:${GROUP}`;
  expect(state.requestRecords().map((r) => r.authorizations.map((a) => `${a.action} ${a.resource}`))).toEqual(
    [
      [`logs:CreateLogStream ${arn}:log-stream:${stream}`],
      [`logs:CreateLogStream ${arn}:log-stream:${stream}`],
      [`logs:PutLogEvents ${arn}:log-stream:${stream}`],
      [`logs:DescribeLogStreams ${arn}`],
    ],
  );
});

test('refuses what CloudWatch Logs refuses: a missing stream or group, events out of order, a wrong signature', async () => {
  const logs = client();
  await expect(
    logs.send(
      new PutLogEventsCommand({
        logGroupName: GROUP,
        logStreamName: 'never-created',
        logEvents: [{ timestamp: 1, message: 'x' }],
      }),
    ),
  ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  await expect(
    logs.send(new CreateLogStreamCommand({ logGroupName: 'no-such-group', logStreamName: 's' })),
  ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  await logs.send(new CreateLogStreamCommand({ logGroupName: GROUP, logStreamName: 'ordered' }));
  await expect(
    logs.send(
      new PutLogEventsCommand({
        logGroupName: GROUP,
        logStreamName: 'ordered',
        logEvents: [
          { timestamp: 2, message: 'later' },
          { timestamp: 1, message: 'earlier' },
        ],
      }),
    ),
  ).rejects.toMatchObject({ name: 'InvalidParameterException' });
  await expect(
    client('not-the-secret').send(new DescribeLogStreamsCommand({ logGroupName: GROUP })),
  ).rejects.toMatchObject({ name: 'SignatureDoesNotMatch' });
});
