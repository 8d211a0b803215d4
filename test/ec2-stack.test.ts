import * as fs from 'node:fs';
import * as path from 'node:path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { CAMERA_LIST_SCHEMA_VERSION } from '../lib/camera-list';
import { GatewayConfig } from '../lib/config';
import { INSTALL_TIMEOUT, USERDATA_DIR } from '../lib/ec2-stack';
import { buildGatewayApp, configWith, sampleConfigJson } from './support/gateway-app';

interface Templates {
  ec2: Template;
  streams: Template;
  network: Template;
  config: GatewayConfig;
}

function synthesize(changes: Record<string, unknown> = {}): Templates {
  const config = configWith(changes);
  const gateway = buildGatewayApp(config);
  return {
    ec2: Template.fromStack(gateway.ec2Gateway),
    streams: Template.fromStack(gateway.streams),
    network: Template.fromStack(gateway.network),
    config,
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

function parameterArnSuffix(resource: unknown): string {
  const parts = (resource as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
  expect(parts.slice(0, 6)).toEqual([
    'arn:',
    { Ref: 'AWS::Partition' },
    ':ssm:',
    { Ref: 'AWS::Region' },
    ':',
    { Ref: 'AWS::AccountId' },
  ]);
  return parts.slice(6).join('');
}

describe('Ec2GatewayStack on the sample config', () => {
  const { ec2, streams, network, config } = synthesize();

  test('requires IMDSv2, has no key pair and puts no inbound rule anywhere', () => {
    const data = launchTemplateData(ec2);
    expect(data.MetadataOptions).toEqual({ HttpTokens: 'required', HttpPutResponseHopLimit: 1 });
    expect(data).not.toHaveProperty('KeyName');
    ec2.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
    ec2.resourceCountIs('AWS::EC2::SecurityGroup', 0);
    const groups = (data.NetworkInterfaces as Json[])[0].Groups as unknown[];
    expect(groups).toHaveLength(1);
    expect(JSON.stringify(groups[0])).toContain('GatewaySecurityGroup');
    const securityGroup = onlyResource(network, 'AWS::EC2::SecurityGroup').Properties as Json;
    expect(securityGroup.SecurityGroupIngress).toBeUndefined();
    network.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
  });

  test('runs the configured instance type on an encrypted gp3 root volume', () => {
    const data = launchTemplateData(ec2);
    expect(data.InstanceType).toBe('t4g.small');
    expect(data.BlockDeviceMappings).toEqual([
      {
        DeviceName: '/dev/sda1',
        Ebs: { DeleteOnTermination: true, Encrypted: true, VolumeSize: 16, VolumeType: 'gp3' },
      },
    ]);
  });

  test("resolves Canonical's current Ubuntu 24.04 image for the architecture when an instance launches", () => {
    expect(launchTemplateData(ec2).ImageId).toBe(
      'resolve:ssm:/aws/service/canonical/ubuntu/server/24.04/stable/current/arm64/hvm/ebs-gp3/ami-id',
    );
  });

  test('is an Auto Scaling group of one that waits for the install signal and replaces with a rolling update', () => {
    ec2.hasResource('AWS::AutoScaling::AutoScalingGroup', {
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
    expect(onlyResource(ec2, 'AWS::AutoScaling::AutoScalingGroup').Properties).not.toHaveProperty(
      'DesiredCapacity',
    );
  });

  test('the user-data signals this group of this stack, with the Producer SDK tag and the camera list name', () => {
    const text = userDataText(ec2);
    const groupId = Object.keys(ec2.findResources('AWS::AutoScaling::AutoScalingGroup'))[0];
    expect(text).toContain(`KVS_SIGNAL_RESOURCE='${groupId}'`);
    expect(text).toContain("KVS_STACK_NAME='Ec2GatewayStack'");
    expect(text).toContain("KVS_PRODUCER_SDK_TAG='v3.5.0'");
    expect(text).toContain("KVS_CAMERA_LIST_PARAMETER='/kvs-gateway/Ec2GatewayStack/camera-list'");
    // The signed requests (curl --aws-sigv4) first: the bootstrap needs no AWS CLI to signal.
    const library = fs.readFileSync(path.join(USERDATA_DIR, 'aws-request.sh'), 'utf8');
    const bootstrap = fs.readFileSync(path.join(USERDATA_DIR, 'bootstrap.sh'), 'utf8');
    expect(text).toContain(`${library}\n${bootstrap}`);
    expect(bootstrap).toContain('cloudformation_signal_resource "$KVS_STACK_NAME" "$KVS_SIGNAL_RESOURCE"');
    expect(text).not.toMatch(/\baws (cloudformation|s3|ssm) /);
    expect(statementFor(ec2, 'cloudformation:SignalResource').Resource).toEqual({ Ref: 'AWS::StackId' });
  });

  test('the user-data fits the 16 KB EC2 limit with room to spare', () => {
    expect(Buffer.byteLength(userDataText(ec2))).toBeLessThan(12 * 1024);
  });

  test('the user-data holds no camera, no URL and no credential', () => {
    const text = userDataText(ec2);
    for (const camera of config.cameras) expect(text).not.toContain(camera.name);
    expect(text).not.toMatch(/rtsp:\/\//);
    expect(text).not.toMatch(/\b(AKIA|ASIA)[A-Z0-9]{16}\b|aws_secret_access_key\s*=/i);
  });

  test('writes every camera, and no URL, to the camera-list parameter', () => {
    const parameter = onlyResource(ec2, 'AWS::SSM::Parameter').Properties as Json;
    expect(parameter).toMatchObject({
      Name: '/kvs-gateway/Ec2GatewayStack/camera-list',
      Type: 'String',
      Tier: 'Standard',
    });
    const list = JSON.parse(parameter.Value as string);
    expect(list).toEqual({
      schemaVersion: CAMERA_LIST_SCHEMA_VERSION,
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
  });

  test('may write to exactly the configured streams, and use their key to encrypt only', () => {
    const kvs = statementFor(ec2, 'kinesisvideo:PutMedia');
    expect([kvs.Action].flat().sort()).toEqual([
      'kinesisvideo:DescribeStream',
      'kinesisvideo:GetDataEndpoint',
      'kinesisvideo:PutMedia',
    ]);
    const streamResources = streams.findResources('AWS::KinesisVideo::Stream');
    const namesWritten = (kvs.Resource as unknown[]).map(
      (reference) => (streamResources[streamStackResourceOf(reference, streams)].Properties as Json).Name,
    );
    expect(namesWritten.sort()).toEqual(config.cameras.map((camera) => camera.streamName).sort());

    const key = statementFor(ec2, 'kms:GenerateDataKey');
    expect(key.Action).toBe('kms:GenerateDataKey');
    expect(
      streams.findResources('AWS::KMS::Key')[streamStackResourceOf(key.Resource, streams)],
    ).toBeDefined();
    expect(instanceStatements(ec2).flatMap((s) => [s.Action].flat())).not.toContain('kms:Decrypt');
  });

  test('may read exactly the camera list and the configured cameras’ URL parameters', () => {
    const ssm = statementFor(ec2, 'ssm:GetParameter');
    expect([ssm.Action].flat().sort()).toEqual(['ssm:GetParameter', 'ssm:GetParameters']);
    expect((ssm.Resource as unknown[]).map(parameterArnSuffix).sort()).toEqual(
      [
        ':parameter/kvs-gateway/Ec2GatewayStack/camera-list',
        ...config.cameras.map((camera) => `:parameter/kvs-gateway/cameras/${camera.name}`),
      ].sort(),
    );
  });

  test('uses a wildcard resource only where no ARN can be known (each acknowledged in the stack)', () => {
    const wildcards = instanceStatements(ec2).filter((s) => JSON.stringify(s.Resource).includes('*'));
    expect(wildcards.map((s) => [s.Action].flat().sort())).toEqual([
      ['ssm:UpdateInstanceInformation'],
      [
        'ssmmessages:CreateControlChannel',
        'ssmmessages:CreateDataChannel',
        'ssmmessages:OpenControlChannel',
        'ssmmessages:OpenDataChannel',
      ],
    ]);
    expect(statementFor(ec2, 's3:GetObject').Resource).toEqual({
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
    ec2.resourceCountIs('AWS::IAM::ManagedPolicy', 0);
    const role = onlyResource(ec2, 'AWS::IAM::Role').Properties as Json;
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
    expect([statementFor(ec2, 'logs:PutLogEvents').Action].flat().sort()).toEqual([
      'logs:CreateLogStream',
      'logs:PutLogEvents',
    ]);
  });

  test('outputs the group name, a ready-to-paste session command and the log group', () => {
    const outputs = ec2.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(Object.keys(outputs)).toEqual(
      expect.arrayContaining([
        'AutoScalingGroupName',
        'SessionCommand',
        'LogGroupName',
        'CameraListParameter',
      ]),
    );
    expect(JSON.stringify(outputs.SessionCommand.Value)).toContain('aws ssm start-session --region');
  });
});

describe('Ec2GatewayStack variants', () => {
  test.each([
    ['arm64', 't4g.small', 'arm64'],
    ['x86_64', 't3.small', 'amd64'],
  ])('%s uses a matching Ubuntu image', (architecture, instanceType, imageArch) => {
    const { ec2 } = synthesize({ ec2: { architecture, instanceType } });
    expect(launchTemplateData(ec2)).toMatchObject({
      InstanceType: instanceType,
      ImageId: `resolve:ssm:/aws/service/canonical/ubuntu/server/24.04/stable/current/${imageArch}/hvm/ebs-gp3/ami-id`,
    });
  });

  test('an AMI id in the config pins the image', () => {
    const { ec2 } = synthesize({ ec2: { amiId: 'ami-0123456789abcdef0' } });
    expect(launchTemplateData(ec2).ImageId).toBe('ami-0123456789abcdef0');
  });

  test('adding a camera changes the camera-list parameter but not the launch template', () => {
    const before = synthesize();
    const after = synthesize({
      cameras: [...sampleConfigJson.cameras, { name: 'parking', codec: 'h264' }],
    });
    expect(launchTemplateData(after.ec2)).toEqual(launchTemplateData(before.ec2));
    const listOf = (t: Template) =>
      JSON.parse((onlyResource(t, 'AWS::SSM::Parameter').Properties as Json).Value as string);
    expect(listOf(after.ec2).cameras.map((c: { name: string }) => c.name)).toEqual([
      'front-door',
      'loading-dock',
      'lobby',
      'parking',
    ]);
    expect(listOf(after.ec2)).not.toEqual(listOf(before.ec2));
  });

  test('a new Producer SDK tag changes the user-data, so the rolling update replaces the instance', () => {
    const before = synthesize();
    const after = synthesize({ ec2: { ...sampleConfigJson.ec2, producerSdkTag: 'v3.6.0' } });
    expect(userDataText(after.ec2)).not.toEqual(userDataText(before.ec2));
    expect(userDataText(after.ec2)).toContain("KVS_PRODUCER_SDK_TAG='v3.6.0'");
  });

  test('a gateway in private subnets gets no public IP', () => {
    const { ec2 } = synthesize({
      network: {
        mode: 'existing',
        vpcId: 'vpc-0123456789abcdef0',
        availabilityZones: ['eu-west-1a'],
        subnetIds: ['subnet-0123456789abcdef0'],
      },
    });
    expect((launchTemplateData(ec2).NetworkInterfaces as Json[])[0].AssociatePublicIpAddress).toBe(false);
  });

  test('a camera list longer than a standard parameter holds uses the advanced tier', () => {
    const cameras = Array.from({ length: 40 }, (_, i) => ({ name: `camera-with-a-long-name-${i}` }));
    const { ec2 } = synthesize({ cameras });
    expect((onlyResource(ec2, 'AWS::SSM::Parameter').Properties as Json).Tier).toBe('Advanced');
  });
});
