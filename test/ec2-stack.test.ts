import * as fs from 'node:fs';
import * as path from 'node:path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { CAMERA_LIST_SCHEMA_VERSION } from '../lib/camera-list';
import { GatewayConfig } from '../lib/config';
import { INSTALL_TIMEOUT, USERDATA_DIR } from '../lib/ec2-stack';
import { buildGatewayApp, buildPartialGatewayApp, configWith, sampleConfigJson } from './support/gateway-app';

interface Templates {
  /** The compute stack: what the shards share. */
  ec2: Template;
  /** The nested stack of the first shard: its instance, camera list, role and alarms. */
  shard: Template;
  shards: Template[];
  streams: Template;
  network: Template;
  config: GatewayConfig;
  gateway: ReturnType<typeof buildGatewayApp>;
}

function synthesize(changes: Record<string, unknown> = {}): Templates {
  const config = configWith(changes);
  const gateway = buildGatewayApp(config);
  const shards = gateway.ec2Gateway.shards.map((shard) => Template.fromStack(shard));
  return {
    ec2: Template.fromStack(gateway.ec2Gateway),
    shard: shards[0],
    shards,
    streams: Template.fromStack(gateway.streams),
    network: Template.fromStack(gateway.network),
    config,
    gateway,
  };
}

type Json = Record<string, unknown>;

function onlyResource(template: Template, type: string): Json {
  const resources = Object.values(template.findResources(type));
  expect(resources).toHaveLength(1);
  return resources[0] as Json;
}

function launchTemplateData(template: Template): Json {
  return (onlyResource(template, 'AWS::EC2::LaunchTemplate').Properties as Json).LaunchTemplateData as Json;
}

/** The user-data with CloudFormation intrinsics rendered as readable placeholders. */
function userDataText(template: Template): string {
  const userData = launchTemplateData(template).UserData as {
    'Fn::Base64': { 'Fn::Join': [string, unknown[]] };
  };
  return userData['Fn::Base64']['Fn::Join'][1]
    .map((part) => (typeof part === 'string' ? part : `<${JSON.stringify(part)}>`))
    .join('');
}

interface Statement {
  Action: string | string[];
  Resource: unknown;
  Effect: string;
}

function instanceStatements(template: Template): Statement[] {
  const policy = onlyResource(template, 'AWS::IAM::Policy');
  return ((policy.Properties as Json).PolicyDocument as { Statement: Statement[] }).Statement;
}

function statementFor(template: Template, action: string): Statement {
  const matching = instanceStatements(template).filter((s) => [s.Action].flat().includes(action));
  expect(matching).toHaveLength(1);
  return matching[0];
}

/** Follows a cross-stack reference into StreamStack: the logical id of the resource whose ARN it is. */
function streamStackResourceOf(reference: unknown, streams: Template): string {
  const outputName = (reference as { 'Fn::GetStackOutput': { OutputName: string } })['Fn::GetStackOutput']
    .OutputName;
  const output = streams.toJSON().Outputs[outputName] as { Value: { 'Fn::GetAtt': [string, string] } };
  expect(output.Value['Fn::GetAtt'][1]).toBe('Arn');
  return output.Value['Fn::GetAtt'][0];
}

/** The part of an ARN after `arn:<partition>:<service>:<region>:<account>`. */
function arnSuffix(resource: unknown, service: string): string {
  const parts = (resource as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
  expect(parts.slice(0, 6)).toEqual([
    'arn:',
    { Ref: 'AWS::Partition' },
    `:${service}:`,
    { Ref: 'AWS::Region' },
    ':',
    { Ref: 'AWS::AccountId' },
  ]);
  return parts.slice(6).join('');
}

const parameterArnSuffix = (resource: unknown) => arnSuffix(resource, 'ssm');

/** The value the parent passes for a nested stack's parameter (`{ Ref: <parameter> }` in the shard). */
function parentValueOf(reference: unknown, parent: Template): unknown {
  const parameter = (reference as { Ref: string }).Ref;
  const nestedStacks = Object.values(parent.findResources('AWS::CloudFormation::Stack'));
  return (nestedStacks[0].Properties as { Parameters: Json }).Parameters[parameter];
}

describe('Ec2GatewayStack on the sample config (one shard)', () => {
  const { ec2, shard, shards, streams, network, config } = synthesize();

  test('one nested stack per shard holds the instance; the compute stack holds what the shards share', () => {
    expect(shards).toHaveLength(1);
    ec2.resourceCountIs('AWS::CloudFormation::Stack', 1);
    for (const type of ['AWS::EC2::LaunchTemplate', 'AWS::AutoScaling::AutoScalingGroup', 'AWS::IAM::Role']) {
      ec2.resourceCountIs(type, 0);
      shard.resourceCountIs(type, 1);
    }
    ec2.resourceCountIs('AWS::Logs::LogGroup', 1);
    ec2.resourceCountIs('AWS::SNS::Topic', 1);
    ec2.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });

  test('requires IMDSv2, has no key pair and puts no inbound rule anywhere', () => {
    const data = launchTemplateData(shard);
    expect(data.MetadataOptions).toEqual({ HttpTokens: 'required', HttpPutResponseHopLimit: 1 });
    expect(data).not.toHaveProperty('KeyName');
    for (const template of [ec2, shard]) {
      template.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
      template.resourceCountIs('AWS::EC2::SecurityGroup', 0);
    }
    const groups = (data.NetworkInterfaces as Json[])[0].Groups as unknown[];
    expect(groups).toHaveLength(1);
    expect(JSON.stringify(groups[0])).toContain('GatewaySecurityGroup');
    const securityGroup = onlyResource(network, 'AWS::EC2::SecurityGroup').Properties as Json;
    expect(securityGroup.SecurityGroupIngress).toBeUndefined();
    network.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
  });

  test('runs the configured instance type on an encrypted gp3 root volume', () => {
    const data = launchTemplateData(shard);
    expect(data.InstanceType).toBe('t4g.small');
    expect(data.BlockDeviceMappings).toEqual([
      {
        DeviceName: '/dev/sda1',
        Ebs: { DeleteOnTermination: true, Encrypted: true, VolumeSize: 16, VolumeType: 'gp3' },
      },
    ]);
  });

  test("resolves Canonical's current Ubuntu 24.04 image for the architecture when an instance launches", () => {
    expect(launchTemplateData(shard).ImageId).toBe(
      'resolve:ssm:/aws/service/canonical/ubuntu/server/24.04/stable/current/arm64/hvm/ebs-gp3/ami-id',
    );
  });

  test('is an Auto Scaling group of one that waits for the install signal and replaces with a rolling update', () => {
    shard.hasResource('AWS::AutoScaling::AutoScalingGroup', {
      Properties: Match.objectLike({ MinSize: '1', MaxSize: '2', HealthCheckType: 'EC2' }),
      CreationPolicy: { ResourceSignal: { Count: 1, Timeout: 'PT25M' } },
      UpdatePolicy: Match.objectLike({
        AutoScalingRollingUpdate: Match.objectLike({
          MaxBatchSize: 1,
          MinInstancesInService: 1,
          WaitOnResourceSignals: true,
          PauseTime: 'PT25M',
        }),
      }),
    });
    expect(INSTALL_TIMEOUT.toMinutes()).toBe(25);
    expect(onlyResource(shard, 'AWS::AutoScaling::AutoScalingGroup').Properties).not.toHaveProperty(
      'DesiredCapacity',
    );
  });

  test("the user-data signals this group of the shard's stack, with the Producer SDK tag and the shard's camera list", () => {
    const text = userDataText(shard);
    const groupId = Object.keys(shard.findResources('AWS::AutoScaling::AutoScalingGroup'))[0];
    expect(text).toContain(`KVS_SIGNAL_RESOURCE='${groupId}'`);
    // The group is in the nested stack: the signal goes to that stack, which the role may signal.
    expect(text).toContain(`KVS_STACK_NAME='<{"Ref":"AWS::StackName"}>'`);
    expect(text).toContain("KVS_PRODUCER_SDK_TAG='v3.5.0'");
    // Fluent Bit's repository key is trusted only with this fingerprint (lib/config.ts).
    expect(text).toContain("KVS_FLUENT_BIT_KEY_FINGERPRINT='C3C0A28534B9293EAF51FABD9F9DDC083888C1CD'");
    expect(text).toContain("KVS_CAMERA_LIST_PARAMETER='/kvs-gateway/ec2-gateway/shard-1/camera-list'");
    // The signed requests (curl --aws-sigv4) first: the bootstrap needs no AWS CLI to signal.
    const library = fs.readFileSync(path.join(USERDATA_DIR, 'aws-request.sh'), 'utf8');
    const bootstrap = fs.readFileSync(path.join(USERDATA_DIR, 'bootstrap.sh'), 'utf8');
    expect(text).toContain(`${library}\n${bootstrap}`);
    expect(bootstrap).toContain('cloudformation_signal_resource "$KVS_STACK_NAME" "$KVS_SIGNAL_RESOURCE"');
    expect(text).not.toMatch(/\baws (cloudformation|s3|ssm) /);
    expect(statementFor(shard, 'cloudformation:SignalResource').Resource).toEqual({ Ref: 'AWS::StackId' });
    const logGroup = /KVS_LOG_GROUP='<(.*?)>'/.exec(text)![1];
    expect(parentValueOf(JSON.parse(logGroup), ec2)).toEqual({
      Ref: Object.keys(ec2.findResources('AWS::Logs::LogGroup'))[0],
    });
  });

  test('the user-data fits the 16 KB EC2 limit with room to spare', () => {
    expect(Buffer.byteLength(userDataText(shard))).toBeLessThan(12 * 1024);
  });

  test('the user-data holds no camera, no URL and no credential', () => {
    const text = userDataText(shard);
    for (const camera of config.cameras) expect(text).not.toContain(camera.name);
    expect(text).not.toMatch(/rtsp:\/\//);
    expect(text).not.toMatch(/\b(AKIA|ASIA)[A-Z0-9]{16}\b|aws_secret_access_key\s*=/i);
  });

  test("writes every camera of the shard, and no URL, to the shard's camera-list parameter", () => {
    const parameter = onlyResource(shard, 'AWS::SSM::Parameter').Properties as Json;
    expect(parameter).toMatchObject({
      Name: '/kvs-gateway/ec2-gateway/shard-1/camera-list',
      Type: 'String',
      Tier: 'Standard',
    });
    const list = JSON.parse(parameter.Value as string);
    // No camera has a recording schedule: version 1, which reconcilers older than schedules read too.
    expect(CAMERA_LIST_SCHEMA_VERSION).toBe(2);
    expect(list).toEqual({
      schemaVersion: 1,
      cameras: [
        {
          name: 'front-door',
          streamName: 'front-door',
          codec: 'auto',
          audio: false,
          urlParameter: '/kvs-gateway/cameras/front-door',
        },
        {
          name: 'loading-dock',
          streamName: 'loading-dock',
          codec: 'h265',
          audio: true,
          urlParameter: '/kvs-gateway/cameras/loading-dock',
        },
        {
          name: 'lobby',
          streamName: 'site1.lobby',
          codec: 'auto',
          audio: false,
          urlParameter: '/kvs-gateway/cameras/lobby',
        },
      ],
    });
    expect(parameter.Value).not.toMatch(/:\/\//);
    // The instance reads it at boot: the group waits for it.
    const parameterId = Object.keys(shard.findResources('AWS::SSM::Parameter'))[0];
    expect(onlyResource(shard, 'AWS::AutoScaling::AutoScalingGroup').DependsOn).toContain(parameterId);
    // A deploy that adds a camera grants its URL parameter before the list names it.
    const policyId = Object.keys(shard.findResources('AWS::IAM::Policy'))[0];
    expect(onlyResource(shard, 'AWS::SSM::Parameter').DependsOn).toContain(policyId);
  });

  test("may write to exactly the shard's streams, and use their key to encrypt only", () => {
    const kvs = statementFor(shard, 'kinesisvideo:PutMedia');
    expect([kvs.Action].flat().sort()).toEqual([
      'kinesisvideo:DescribeStream',
      'kinesisvideo:GetDataEndpoint',
      'kinesisvideo:PutMedia',
    ]);
    // Named by the stream's name: KVS ends a stream's ARN with its creation time.
    const written = (kvs.Resource as unknown[]).map((arn) => arnSuffix(arn, 'kinesisvideo'));
    expect(written.sort()).toEqual(config.cameras.map((camera) => `:stream/${camera.streamName}/*`).sort());

    const key = statementFor(shard, 'kms:GenerateDataKey');
    expect(key.Action).toBe('kms:GenerateDataKey');
    expect(
      streams.findResources('AWS::KMS::Key')[streamStackResourceOf(key.Resource, streams)],
    ).toBeDefined();
    expect(instanceStatements(shard).flatMap((s) => [s.Action].flat())).not.toContain('kms:Decrypt');
  });

  test("may read exactly the shard's camera list and its cameras' URL parameters", () => {
    // The run scripts decrypt their URL (GetParameter); the reconciler reads the list and the URLs'
    // versions (GetParameters). The list is never read with GetParameter.
    const urls = config.cameras.map((camera) => `:parameter/kvs-gateway/cameras/${camera.name}`);
    const decrypt = statementFor(shard, 'ssm:GetParameter');
    expect([decrypt.Action].flat()).toEqual(['ssm:GetParameter']);
    expect((decrypt.Resource as unknown[]).map(parameterArnSuffix).sort()).toEqual(urls.sort());
    const versions = statementFor(shard, 'ssm:GetParameters');
    expect([versions.Action].flat()).toEqual(['ssm:GetParameters']);
    expect((versions.Resource as unknown[]).map(parameterArnSuffix).sort()).toEqual(
      [':parameter/kvs-gateway/ec2-gateway/shard-1/camera-list', ...urls].sort(),
    );
  });

  test('uses a wildcard resource only where no ARN can be known (each acknowledged in the stack)', () => {
    const wildcards = instanceStatements(shard).filter((s) => JSON.stringify(s.Resource).includes('*'));
    expect(wildcards.map((s) => [s.Action].flat().sort())).toEqual([
      ['kinesisvideo:DescribeStream', 'kinesisvideo:GetDataEndpoint', 'kinesisvideo:PutMedia'],
      ['ssm:UpdateInstanceInformation'],
      [
        'ssmmessages:CreateControlChannel',
        'ssmmessages:CreateDataChannel',
        'ssmmessages:OpenControlChannel',
        'ssmmessages:OpenDataChannel',
      ],
    ]);
    expect(statementFor(shard, 's3:GetObject').Resource).toEqual({
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':s3:::',
          expect.anything(),
          expect.stringMatching(/^\/[0-9a-f]{64}\.zip$/),
        ],
      ],
    });
    shard.resourceCountIs('AWS::IAM::ManagedPolicy', 0);
    const role = onlyResource(shard, 'AWS::IAM::Role').Properties as Json;
    expect(role).not.toHaveProperty('ManagedPolicyArns');
  });

  test('ships logs to a KMS-encrypted log group with the configured retention', () => {
    ec2.hasResourceProperties('AWS::Logs::LogGroup', {
      RetentionInDays: config.monitoring.logRetentionDays,
      KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^LogKey'), 'Arn'] },
    });
    ec2.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: { 'Fn::Join': ['', ['logs.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } },
            Condition: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': Match.anyValue() } },
          }),
        ]),
      },
    });
    expect([statementFor(shard, 'logs:PutLogEvents').Action].flat().sort()).toEqual([
      'logs:CreateLogStream',
      'logs:PutLogEvents',
    ]);
  });

  test("tags the shard's group and instance with the gateway and the shard, which the session command finds", () => {
    const group = onlyResource(shard, 'AWS::AutoScaling::AutoScalingGroup').Properties as Json;
    expect(group.Tags).toEqual(
      expect.arrayContaining([
        { Key: 'kvs-gateway:gateway', PropagateAtLaunch: true, Value: 'Ec2GatewayStack' },
        { Key: 'kvs-gateway:shard', PropagateAtLaunch: true, Value: '1' },
      ]),
    );
    const outputs = ec2.toJSON().Outputs as Record<string, { Value: unknown }>;
    const command = JSON.stringify(outputs.SessionCommand.Value);
    expect(command).toContain('aws ssm start-session --region');
    expect(command).toContain(
      'Name=tag:kvs-gateway:gateway,Values=Ec2GatewayStack Name=tag:kvs-gateway:shard,Values=1',
    );
  });

  test('outputs the session command and the log group; each shard its group and camera list', () => {
    expect(Object.keys(ec2.toJSON().Outputs)).toEqual(
      expect.arrayContaining(['SessionCommand', 'LogGroupName']),
    );
    expect(Object.keys(shard.toJSON().Outputs)).toEqual(
      expect.arrayContaining(['AutoScalingGroupName', 'CameraListParameter']),
    );
  });
});

describe('Ec2GatewayStack variants', () => {
  test.each([
    ['arm64', 't4g.small', 'arm64'],
    ['x86_64', 't3.small', 'amd64'],
  ])('%s uses a matching Ubuntu image', (architecture, instanceType, imageArch) => {
    const { shard } = synthesize({ ec2: { architecture, instanceType } });
    expect(launchTemplateData(shard)).toMatchObject({
      InstanceType: instanceType,
      ImageId: `resolve:ssm:/aws/service/canonical/ubuntu/server/24.04/stable/current/${imageArch}/hvm/ebs-gp3/ami-id`,
    });
  });

  test('an AMI id in the config pins the image', () => {
    const { shard } = synthesize({ ec2: { amiId: 'ami-0123456789abcdef0' } });
    expect(launchTemplateData(shard).ImageId).toBe('ami-0123456789abcdef0');
  });

  test('a new Producer SDK tag changes the user-data, so the rolling update replaces the instance', () => {
    const before = synthesize();
    const after = synthesize({ ec2: { ...sampleConfigJson.ec2, producerSdkTag: 'v3.6.0' } });
    expect(userDataText(after.shard)).not.toEqual(userDataText(before.shard));
    expect(userDataText(after.shard)).toContain("KVS_PRODUCER_SDK_TAG='v3.6.0'");
  });

  test('a gateway in private subnets gets no public IP', () => {
    const { shard } = synthesize({
      network: {
        mode: 'existing',
        vpcId: 'vpc-0123456789abcdef0',
        availabilityZones: ['eu-west-1a'],
        subnetIds: ['subnet-0123456789abcdef0'],
      },
    });
    expect((launchTemplateData(shard).NetworkInterfaces as Json[])[0].AssociatePublicIpAddress).toBe(false);
  });

  test('a camera list longer than a standard parameter holds uses the advanced tier', () => {
    const cameras = Array.from({ length: 9 }, (_, i) => ({
      name: `camera-with-a-very-${'long-'.repeat(36)}name-${i}`,
    }));
    const { shard } = synthesize({ cameras, fargate: { ...sampleConfigJson.fargate, camerasPerTask: 9 } });
    expect((onlyResource(shard, 'AWS::SSM::Parameter').Properties as Json).Tier).toBe('Advanced');
  });
});

describe('cameras sharded over instances', () => {
  const cameras = [
    { name: 'gate', shard: 2 },
    { name: 'yard' },
    { name: 'dock', shard: 2 },
    { name: 'roof', shard: 7 },
  ];
  const { ec2, shards, gateway } = synthesize({ cameras });
  const listOf = (t: Template) =>
    JSON.parse((onlyResource(t, 'AWS::SSM::Parameter').Properties as Json).Value as string);

  test('one nested stack, instance and camera list per shard number in the config; each runs its own cameras', () => {
    expect(gateway.ec2Gateway.shards.map((shard) => shard.node.id)).toEqual(['Shard1', 'Shard2', 'Shard7']);
    ec2.resourceCountIs('AWS::CloudFormation::Stack', 3);
    expect(shards.map((t) => listOf(t).cameras.map((c: { name: string }) => c.name))).toEqual([
      ['yard'],
      ['gate', 'dock'],
      ['roof'],
    ]);
    expect(shards.map((t) => (onlyResource(t, 'AWS::SSM::Parameter').Properties as Json).Name)).toEqual([
      '/kvs-gateway/ec2-gateway/shard-1/camera-list',
      '/kvs-gateway/ec2-gateway/shard-2/camera-list',
      '/kvs-gateway/ec2-gateway/shard-7/camera-list',
    ]);
    for (const t of shards) t.resourceCountIs('AWS::AutoScaling::AutoScalingGroup', 1);
  });

  test("each shard's instance may write its own cameras' streams and read their URLs, no other", () => {
    const shard2 = shards[1];
    const written = (statementFor(shard2, 'kinesisvideo:PutMedia').Resource as unknown[]).map((arn) =>
      arnSuffix(arn, 'kinesisvideo'),
    );
    expect(written.sort()).toEqual([':stream/dock/*', ':stream/gate/*']);
    const read = (statementFor(shard2, 'ssm:GetParameters').Resource as unknown[]).map(parameterArnSuffix);
    expect(read.sort()).toEqual(
      [
        ':parameter/kvs-gateway/cameras/dock',
        ':parameter/kvs-gateway/cameras/gate',
        ':parameter/kvs-gateway/ec2-gateway/shard-2/camera-list',
      ].sort(),
    );
  });

  test('a shard of more cameras than ec2.camerasPerInstance leaves the EC2 gateway out, naming the cameras and the field', () => {
    const crowded = buildPartialGatewayApp(
      configWith({ cameras, ec2: { ...sampleConfigJson.ec2, camerasPerInstance: 1 } }),
    );
    expect(crowded.ec2Gateway).toBeUndefined();
    expect(crowded.leftOut).toEqual([
      {
        stackId: 'Ec2GatewayStack',
        problems: [
          'cameras: shard 2 holds 2 cameras (cameras[0] and cameras[2]) but one EC2 instance runs at most ec2.camerasPerInstance = 1: give the last one listed another shard ("shard": 3 in cameras[2]) or raise ec2.camerasPerInstance (at most 50)',
        ],
      },
    ]);
    // Only this gateway: the Fargate gateway still deploys the same config, and the synth passes the review.
    expect(crowded.fargateGateway).toBeDefined();
    expect(() => crowded.app.synth()).not.toThrow();
  });

  test('a shard whose camera list outgrows an SSM parameter leaves the EC2 gateway out, naming the shard', () => {
    const longNames = Array.from({ length: 9 }, (_, i) => ({ name: `${'x'.repeat(200)}-${i}` }));
    const crowded = buildPartialGatewayApp(
      configWith({
        cameras: longNames,
        parameterPrefix: `/${'kvs-gateway-camera-urls'.repeat(30)}`,
        fargate: { ...sampleConfigJson.fargate, camerasPerTask: 9 },
      }),
    );
    expect(crowded.leftOut).toEqual([
      {
        stackId: 'Ec2GatewayStack',
        problems: [
          expect.stringMatching(
            /^cameras: the camera list of shard 1 is \d+ bytes, more than an SSM parameter holds \(8192\): give some of its cameras another "shard", or shorter names$/,
          ),
        ],
      },
    ]);
  });
});
