import * as path from 'node:path';
import { DeployedApp } from './support/deployed-app';
import { buildGatewayApp, configWith } from './support/gateway-app';
import { describeFindings, PermissionCheck, readRequestRecords } from './support/permission-check';

/**
 * Requests of programs CI cannot run, recorded by hand from the real programs against the project's
 * stand-ins and judged here against the roles that make them, as the box, task and CLI tests judge
 * theirs. test/fixtures/kvssink-v3.5.0-requests.jsonl: the real kvssink (Producer SDK v3.5.0, built with
 * userdata/build-kvssink.sh, never committed) streaming camera "front-door" to the KVS API stand-in
 * (test/support/kvs-api-stand-in.py --record) for 25 s, as the run script configures it
 * (allow-create-stream=false, a credential file). test/fixtures/fluent-bit-v5.1.1-requests.jsonl: the real
 * Fluent Bit (v5.1.1, built from its sources, never committed) on the box's fluent-bit.conf, reading the
 * journal of a booted EC2 box and shipping it to the CloudWatch Logs stand-in (docs/ec2-gateway.md#logs).
 */

const PLACE = { account: '123456789012', region: 'eu-west-1' };
const FIXTURES = path.join(__dirname, 'fixtures');

let deployment: DeployedApp;
beforeAll(() => {
  deployment = new DeployedApp(buildGatewayApp(configWith()).app.synth().directory, PLACE);
});

const kvssink = () => readRequestRecords(path.join(FIXTURES, 'kvssink-v3.5.0-requests.jsonl'));

test("the real kvssink's requests: DescribeStream, GetDataEndpoint, PutMedia (and KVS using the stream's key)", () => {
  expect(
    kvssink()
      .flatMap((r) => r.authorizations.map((a) => a.action))
      .sort(),
  ).toEqual([
    'kinesisvideo:DescribeStream',
    'kinesisvideo:GetDataEndpoint',
    'kinesisvideo:PutMedia',
    'kms:GenerateDataKey',
  ]);
});

test.each([
  ['the EC2 instance role', 'InstanceRole'],
  ['the Fargate task role', 'TaskRole'],
])(
  "the real kvssink's requests are allowed by %s of the camera's shard, and use all it grants for the stream",
  async (_, roleId) => {
    const role = deployment
      .roles()
      .find((r) => r.logicalId.startsWith(roleId) && r.stack.name.includes('Shard1'))!;
    const records = kvssink();
    const check = new PermissionCheck(deployment, new Map([[records[0].accessKeyId, { role }]]));
    const report = await check.judge(records);
    expect(describeFindings(report.findings)).toEqual([]);
    expect(report.unused.filter((grant) => /stream\/front-door\/|kms:/.test(grant))).toEqual([]);
  },
);

test("the real Fluent Bit's requests are allowed by the EC2 instance role: one CreateLogStream and PutLogEvents per unit", async () => {
  const records = readRequestRecords(path.join(FIXTURES, 'fluent-bit-v5.1.1-requests.jsonl'));
  const streams = new Set(
    records.flatMap((r) => r.authorizations.map((a) => a.resource.replace(/.*:log-stream:/, ''))),
  );
  expect([...streams].sort()).toEqual(
    expect.arrayContaining([
      'i-0b0c5e5e5e5e5e5e5/gateway.kvs-camera@front-door.service',
      'i-0b0c5e5e5e5e5e5e5/gateway.kvs-reconcile-cameras.service',
      'i-0b0c5e5e5e5e5e5e5/gateway.kvs-credentials.service',
    ]),
  );
  const role = deployment.roles().find((r) => r.logicalId.startsWith('InstanceRole'))!;
  const check = new PermissionCheck(deployment, new Map([[records[0].accessKeyId, { role }]]));
  const report = await check.judge(records);
  expect(describeFindings(report.findings)).toEqual([]);
  expect(report.unused.filter((grant) => /: logs:/.test(grant))).toEqual([]);
});
