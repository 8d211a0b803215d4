import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DeployedApp, type DeployedRole } from './support/deployed-app';
import { buildGatewayApp, configWith } from './support/gateway-app';
import {
  type AwsRequestRecord,
  awsManagedKeyArn,
  describeFindings,
  PermissionCheck,
} from './support/permission-check';

/**
 * The permission check itself: requests are judged against the synthesized templates as
 * CloudFormation would deploy them, and a policy without one of the actions a request needs fails it.
 * (The requests the gateway really makes are recorded and judged by the box, Fargate and CLI tests.)
 */

interface PolicyProperties {
  readonly Roles: unknown;
  readonly PolicyDocument: { Statement: { Action: string | string[] }[] };
}

const PLACE = { account: '123456789012', region: 'eu-west-1' };
const KEY = 'ASIAUNITTESTKEY00001';

let assembly: string;
let deployment: DeployedApp;

beforeAll(() => {
  assembly = buildGatewayApp(configWith()).app.synth().directory;
  deployment = new DeployedApp(assembly, PLACE);
});

function instanceRole(app: DeployedApp): DeployedRole {
  const role = app.roles().find((r) => r.logicalId.startsWith('InstanceRole'));
  if (!role) throw new Error('no instance role');
  return role;
}

const parameterArn = (name: string) => `arn:aws:ssm:${PLACE.region}:${PLACE.account}:parameter${name}`;

/** What the EC2 gateway asks for, as the stand-ins record it. */
function gatewayRecords(app: DeployedApp): AwsRequestRecord[] {
  const shard = instanceRole(app).stack;
  const stream = `arn:aws:kinesisvideo:${PLACE.region}:${PLACE.account}:stream/front-door/1700000000000`;
  const logGroup = app.resourcesOf('AWS::Logs::LogGroup').find((g) => g.stack.name === 'Ec2GatewayStack')!;
  const logStream = `${String(logGroup.stack.attribute(logGroup.logicalId, 'Arn')).replace(/:\*$/, '')}:log-stream:i-0abc/gateway.kvs-camera@front-door.service`;
  return [
    {
      accessKeyId: KEY,
      service: 'ssm',
      operation: 'GetParameters',
      authorizations: [
        {
          action: 'ssm:GetParameters',
          resource: parameterArn('/kvs-gateway/ec2-gateway/shard-1/camera-list'),
        },
        { action: 'ssm:GetParameters', resource: parameterArn('/kvs-gateway/cameras/front-door') },
      ],
    },
    {
      accessKeyId: KEY,
      service: 'ssm',
      operation: 'GetParameter',
      authorizations: [
        { action: 'ssm:GetParameter', resource: parameterArn('/kvs-gateway/cameras/front-door') },
        {
          action: 'kms:Decrypt',
          resource: awsManagedKeyArn(PLACE.account, PLACE.region, 'aws/ssm'),
          context: {
            'kms:ViaService': `ssm.${PLACE.region}.amazonaws.com`,
            'kms:CallerAccount': PLACE.account,
            'kms:EncryptionContext:PARAMETER_ARN': parameterArn('/kvs-gateway/cameras/front-door'),
          },
        },
      ],
    },
    {
      accessKeyId: KEY,
      service: 'cloudformation',
      operation: 'SignalResource',
      authorizations: [{ action: 'cloudformation:SignalResource', resource: shard.arn }],
    },
    {
      accessKeyId: KEY,
      service: 'kinesisvideo',
      operation: 'PutMedia',
      authorizations: [
        { action: 'kinesisvideo:PutMedia', resource: stream },
        {
          action: 'kms:GenerateDataKey',
          resource: `kms-key-of:${stream}`,
          context: {
            'kms:ViaService': `kinesisvideo.${PLACE.region}.amazonaws.com`,
            'kms:CallerAccount': PLACE.account,
          },
        },
      ],
    },
    {
      accessKeyId: KEY,
      service: 'logs',
      operation: 'PutLogEvents',
      authorizations: [{ action: 'logs:PutLogEvents', resource: logStream }],
    },
  ];
}

test("the EC2 gateway's requests are allowed by its shard's instance role, as deployed", async () => {
  const check = new PermissionCheck(deployment, new Map([[KEY, { role: instanceRole(deployment) }]]));
  const report = await check.judge(gatewayRecords(deployment));
  expect(describeFindings(report.findings)).toEqual([]);
  expect(report.judged).toBe(8);
  // What these few requests did not use is listed: another camera's URL is one of them.
  expect(report.unused).toContainEqual(expect.stringMatching(/ssm:GetParameter on .*cameras\/lobby$/));
});

test('a request the role does not allow fails the check: a parameter of another shard, a stream, a key', async () => {
  const check = new PermissionCheck(deployment, new Map([[KEY, { role: instanceRole(deployment) }]]));
  const other = `arn:aws:kinesisvideo:${PLACE.region}:${PLACE.account}:stream/not-ours/1700000000000`;
  const report = await check.judge([
    {
      accessKeyId: KEY,
      service: 'ssm',
      operation: 'GetParameter',
      authorizations: [
        { action: 'ssm:GetParameter', resource: parameterArn('/kvs-gateway/cameras/not-ours') },
      ],
    },
    {
      accessKeyId: KEY,
      service: 'kinesisvideo',
      operation: 'PutMedia',
      authorizations: [{ action: 'kinesisvideo:PutMedia', resource: other }],
    },
    {
      accessKeyId: KEY,
      service: 'kms',
      operation: 'Decrypt',
      authorizations: [
        { action: 'kms:Decrypt', resource: awsManagedKeyArn(PLACE.account, PLACE.region, 'aws/ssm') },
      ],
    },
    {
      accessKeyId: 'AKIAUNKNOWNKEY000000',
      service: 'sts',
      operation: 'GetCallerIdentity',
      authorizations: [],
    },
  ]);
  expect(report.findings.map((f) => [f.action, f.decision])).toEqual([
    ['ssm:GetParameter', 'ImplicitlyDenied'],
    ['kinesisvideo:PutMedia', 'ImplicitlyDenied'],
    // The managed key allows only calls through SSM: a direct Decrypt is denied by its key policy.
    ['kms:Decrypt', 'ImplicitlyDenied'],
    ['?', 'signed with a key the test did not name a principal for'],
  ]);
});

test('removing one action from the synthesized role makes the same requests fail', async () => {
  // The templates as a deploy would upload them, with ssm:GetParameters taken out of the instance role.
  const edited = fs.mkdtempSync(path.join(os.tmpdir(), 'kvs-permission-edit-'));
  fs.cpSync(assembly, edited, { recursive: true });
  const role = instanceRole(deployment);
  const file = path.join(edited, role.stack.id);
  const template = JSON.parse(fs.readFileSync(file, 'utf8'));
  const policies = Object.values(
    template.Resources as Record<string, { Type: string; Properties: PolicyProperties }>,
  ).filter(
    (resource) =>
      resource.Type === 'AWS::IAM::Policy' &&
      JSON.stringify(resource.Properties.Roles).includes(role.logicalId),
  );
  let removed = 0;
  for (const statement of policies.flatMap((policy) => policy.Properties.PolicyDocument.Statement)) {
    const actions = [statement.Action].flat();
    statement.Action = actions.filter((action: string) => action !== 'ssm:GetParameters');
    removed += actions.length - statement.Action.length;
  }
  expect(removed).toBe(1);
  fs.writeFileSync(file, JSON.stringify(template));
  const withoutAction = new DeployedApp(edited, PLACE);
  const check = new PermissionCheck(withoutAction, new Map([[KEY, { role: instanceRole(withoutAction) }]]));
  const report = await check.judge(gatewayRecords(withoutAction));
  expect(describeFindings(report.findings)).toEqual([
    expect.stringMatching(/SSM GetParameters needs ssm:GetParameters on .*camera-list: ImplicitlyDenied$/i),
    expect.stringMatching(/needs ssm:GetParameters on .*cameras\/front-door: ImplicitlyDenied$/),
  ]);
  fs.rmSync(edited, { recursive: true, force: true });
});

test('a request the stand-in refused as IAM would must be one the policies deny, at least in part', async () => {
  const check = new PermissionCheck(deployment, new Map([[KEY, { role: instanceRole(deployment) }]]));
  const reconcilerRead = gatewayRecords(deployment)[0];
  const allowedButRefused: AwsRequestRecord = { ...reconcilerRead, outcome: 'denied' };
  // GetParameters with a name the role may not read is refused whole: consistent with the policies.
  const partlyDenied: AwsRequestRecord = {
    ...reconcilerRead,
    outcome: 'denied',
    authorizations: [
      ...reconcilerRead.authorizations,
      { action: 'ssm:GetParameters', resource: parameterArn('/kvs-gateway/cameras/not-ours') },
    ],
  };
  const report = await check.judge([allowedButRefused, partlyDenied]);
  expect(report.findings.map((f) => f.decision)).toEqual([
    'refused by the stand-in, but the policies allow all of it',
  ]);
});
