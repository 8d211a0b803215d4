import { Template, Match } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { cameraUrlParameterName, GatewayConfig } from '../lib/config';
import { cameraContainerName, shardCameras } from '../lib/fargate-stack';
import { buildGatewayApp, configWith, sampleConfigJson, SynthesizedGatewayApp } from './support/gateway-app';

type Json = Record<string, unknown>;
interface ContainerDefinition {
  Name: string;
  Essential: boolean;
  Command: string[];
  Environment?: { Name: string; Value: unknown }[];
  Secrets?: { Name: string; ValueFrom: unknown }[];
  HealthCheck?: { Command: string[]; Interval: number; Retries: number; StartPeriod: number };
  RestartPolicy?: { Enabled: boolean; IgnoredExitCodes: number[]; RestartAttemptPeriod: number };
  DependsOn?: { ContainerName: string; Condition: string }[];
  MountPoints: { SourceVolume: string; ContainerPath: string; ReadOnly: boolean }[];
  ReadonlyRootFilesystem: boolean;
  LinuxParameters?: Json;
  LogConfiguration: { LogDriver: string; Options: Json };
}
interface PolicyStatement {
  Action: string | string[];
  Resource: unknown;
  Effect: string;
}

const existingPrivateVpc = {
  mode: 'existing',
  vpcId: 'vpc-0123456789abcdef0',
  availabilityZones: ['eu-west-1a', 'eu-west-1b'],
  subnetIds: ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1'],
};

function fargateTemplate(gateway: SynthesizedGatewayApp): Template {
  return Template.fromStack(gateway.fargateGateway);
}

function taskDefinitions(template: Template): ContainerDefinition[][] {
  return Object.values(template.findResources('AWS::ECS::TaskDefinition')).map(
    (resource) => resource.Properties.ContainerDefinitions,
  );
}

function cameraContainers(template: Template): ContainerDefinition[] {
  return taskDefinitions(template)
    .flat()
    .filter((container) => container.Name !== 'credentials');
}

function policyStatements(template: Template, logicalIdPrefix: string): PolicyStatement[] {
  return Object.entries(template.findResources('AWS::IAM::Policy'))
    .filter(([id]) => id.startsWith(logicalIdPrefix))
    .flatMap(([, policy]) => policy.Properties.PolicyDocument.Statement);
}

function actionsOf(statement: PolicyStatement): string[] {
  return Array.isArray(statement.Action) ? statement.Action : [statement.Action];
}

/** Every string in a template, with CloudFormation functions left as they are. */
function allStrings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(allStrings);
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).flatMap(([key, item]) => [key, ...allStrings(item)]);
  }
  return [];
}

/** Resolves the `arn:${Partition}:ssm:${Region}:${Account}:parameter/...` joins the template uses. */
function joinedArn(value: unknown): string {
  const join = (value as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
  return join[1].map((part) => (typeof part === 'string' ? part : '*')).join(join[0]);
}

describe('FargateGatewayStack on the sample config', () => {
  const config = configWith();
  const gateway = buildGatewayApp(config);
  const template = fargateTemplate(gateway);

  test('one service per shard of camerasPerTask cameras, one container per camera plus the refresher', () => {
    expect(config.fargate.camerasPerTask).toBe(2);
    template.resourceCountIs('AWS::ECS::Service', 2);
    expect(taskDefinitions(template).map((containers) => containers.map((c) => c.Name))).toEqual([
      ['credentials', 'camera1-front-door', 'camera2-loading-dock'],
      ['credentials', 'camera1-lobby'],
    ]);
  });

  test('no NAT gateway and no load balancer in any stack', () => {
    for (const stack of [gateway.network, gateway.streams, gateway.ec2Gateway, gateway.fargateGateway]) {
      const stackTemplate = Template.fromStack(stack);
      stackTemplate.resourceCountIs('AWS::EC2::NatGateway', 0);
      stackTemplate.resourceCountIs('AWS::ElasticLoadBalancingV2::LoadBalancer', 0);
      stackTemplate.resourceCountIs('AWS::ElasticLoadBalancing::LoadBalancer', 0);
      stackTemplate.resourceCountIs('AWS::ElasticLoadBalancingV2::Listener', 0);
    }
  });

  test('tasks run in the public subnets with a public IP and the gateway security group (no inbound rule)', () => {
    template.allResourcesProperties('AWS::ECS::Service', {
      LaunchType: 'FARGATE',
      PlatformVersion: 'LATEST',
      LoadBalancers: [],
      NetworkConfiguration: {
        AwsvpcConfiguration: {
          AssignPublicIp: 'ENABLED',
          SecurityGroups: [Match.objectLike({ 'Fn::GetStackOutput': Match.anyValue() })],
          Subnets: Match.arrayWith([
            Match.objectLike({
              'Fn::GetStackOutput': Match.objectLike({ OutputName: Match.stringLikeRegexp('PublicSubnet') }),
            }),
          ]),
        },
      },
    });
    Template.fromStack(gateway.network).hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('no inbound rule'),
      SecurityGroupIngress: Match.absent(),
    });
  });

  test('one producer per stream: a deployment stops the old task first, with circuit breaker and rollback', () => {
    template.allResourcesProperties('AWS::ECS::Service', {
      DesiredCount: 1,
      DeploymentConfiguration: {
        MinimumHealthyPercent: 0,
        MaximumPercent: 100,
        DeploymentCircuitBreaker: { Enable: true, Rollback: true },
      },
    });
  });

  test('the camera URL comes from its SSM parameter as an ECS secret, never as an environment variable', () => {
    for (const container of cameraContainers(template)) {
      const cameraName = container.Environment?.find((e) => e.Name === 'CAMERA_NAME')?.Value as string;
      expect(container.Secrets).toHaveLength(1);
      expect(container.Secrets?.[0].Name).toBe('RTSP_URL');
      expect(joinedArn(container.Secrets?.[0].ValueFrom)).toBe(
        `arn:*:ssm:*:*:parameter${cameraUrlParameterName(config.parameterPrefix, cameraName)}`,
      );
      expect(container.Environment?.map((e) => e.Name)).not.toContain('RTSP_URL');
      expect(container.Environment?.map((e) => e.Name)).not.toContain('RTSP_URL_PARAMETER');
    }
    for (const container of taskDefinitions(template).flat()) {
      expect(allStrings(container.Environment ?? []).join(' ')).not.toMatch(/rtsp:\/\//i);
    }
    for (const stack of [gateway.network, gateway.streams, gateway.ec2Gateway, gateway.fargateGateway]) {
      expect(allStrings(Template.fromStack(stack).toJSON()).join('\n')).not.toMatch(/rtsp:\/\//i);
    }
  });

  test('each camera container gets its camera, stream, codec and audio switch', () => {
    const lobby = cameraContainers(template).find((c) => c.Name === 'camera1-lobby');
    expect(lobby?.Environment).toEqual([
      { Name: 'CAMERA_NAME', Value: 'lobby' },
      { Name: 'STREAM_NAME', Value: 'site1.lobby' },
      { Name: 'AWS_REGION', Value: { Ref: 'AWS::Region' } },
      { Name: 'CODEC', Value: 'auto' },
      { Name: 'AUDIO', Value: 'false' },
    ]);
    const dock = cameraContainers(template).find((c) => c.Name === 'camera2-loading-dock');
    expect(dock?.Environment).toEqual(
      expect.arrayContaining([
        { Name: 'CODEC', Value: 'h265' },
        { Name: 'AUDIO', Value: 'true' },
      ]),
    );
  });

  test('camera containers: health check on video flow, not essential, restarted in place unless a person must act', () => {
    for (const container of cameraContainers(template)) {
      expect(container.Command).toEqual(['camera']);
      expect(container.Essential).toBe(false);
      expect(container.HealthCheck).toEqual({
        Command: ['CMD', '/opt/kvs-gateway/bin/run-camera.sh', '--check-health'],
        Interval: 30,
        Timeout: 5,
        Retries: 3,
        StartPeriod: 60,
      });
      expect(container.RestartPolicy).toEqual({
        Enabled: true,
        IgnoredExitCodes: [0, 2, 3, 4, 5],
        RestartAttemptPeriod: 60,
      });
      expect(container.DependsOn).toEqual([{ ContainerName: 'credentials', Condition: 'HEALTHY' }]);
      expect(container.ReadonlyRootFilesystem).toBe(true);
      expect(container.MountPoints).toEqual([
        { SourceVolume: 'credentials', ContainerPath: '/run/kvs-gateway', ReadOnly: true },
        { SourceVolume: expect.stringMatching(/^scratch-\d+$/), ContainerPath: '/tmp', ReadOnly: false },
      ]);
    }
  });

  test('the credential refresher is the one essential container, health-checked on the credential file', () => {
    for (const containers of taskDefinitions(template)) {
      expect(containers.filter((c) => c.Essential).map((c) => c.Name)).toEqual(['credentials']);
      const credentials = containers.find((c) => c.Name === 'credentials');
      expect(credentials?.Command).toEqual(['credentials']);
      expect(credentials?.HealthCheck).toEqual({
        Command: ['CMD', '/opt/kvs-gateway/bin/entrypoint.sh', 'check-credentials'],
        Interval: 10,
        Timeout: 5,
        Retries: 3,
        StartPeriod: 10,
      });
      expect(credentials?.ReadonlyRootFilesystem).toBe(true);
      expect(credentials?.MountPoints).toEqual([
        { SourceVolume: 'credentials', ContainerPath: '/run/kvs-gateway', ReadOnly: false },
      ]);
    }
  });

  test('outputs name the cluster and, per shard, the service and its cameras', () => {
    template.hasOutput('ClusterName', { Value: { Ref: Match.stringLikeRegexp('^Cluster') } });
    template.hasOutput('Shard1ServiceName', {
      Description: 'ECS service of Shard1, cameras: front-door, loading-dock',
      Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Shard1Service'), 'Name'] },
    });
    template.hasOutput('Shard2ServiceName', { Description: 'ECS service of Shard2, cameras: lobby' });
  });

  test('every container runs under an init process that forwards signals and reaps zombies, with no capability', () => {
    for (const container of taskDefinitions(template).flat()) {
      expect([container.Name, container.LinuxParameters]).toEqual([
        container.Name,
        { Capabilities: { Drop: ['ALL'] }, InitProcessEnabled: true },
      ]);
    }
  });

  test('brings its monitoring: camera alarms, and a running-tasks alarm per shard service on Container Insights', () => {
    for (const camera of config.cameras) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: `FargateGatewayStack-${camera.name}-no-frames`,
      });
    }
    const serviceIds = Object.keys(template.findResources('AWS::ECS::Service'));
    serviceIds.forEach((serviceId, i) => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: `FargateGatewayStack-gateway-service-${i + 1}-running-tasks`,
        Namespace: 'ECS/ContainerInsights',
        MetricName: 'RunningTaskCount',
        Threshold: 1,
        Dimensions: Match.arrayWith([{ Name: 'ServiceName', Value: { 'Fn::GetAtt': [serviceId, 'Name'] } }]),
      });
    });
  });

  test('tasks follow the config: size and CPU architecture', () => {
    template.allResourcesProperties('AWS::ECS::TaskDefinition', {
      Cpu: '512',
      Memory: '1024',
      RequiresCompatibilities: ['FARGATE'],
      RuntimePlatform: { CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' },
    });
  });

  test('Container Insights on; logs to a KMS-encrypted log group with the configured retention', () => {
    template.hasResourceProperties('AWS::ECS::Cluster', {
      ClusterSettings: [{ Name: 'containerInsights', Value: 'enabled' }],
    });
    template.resourceCountIs('AWS::Logs::LogGroup', 1);
    const [logGroupId] = Object.keys(template.findResources('AWS::Logs::LogGroup'));
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      RetentionInDays: config.monitoring.logRetentionDays,
      KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^LogKey'), 'Arn'] },
    });
    template.hasResourceProperties('AWS::KMS::Key', {
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
    for (const container of taskDefinitions(template).flat()) {
      expect(container.LogConfiguration.LogDriver).toBe('awslogs');
      expect(container.LogConfiguration.Options['awslogs-group']).toEqual({ Ref: logGroupId });
    }
  });

  test('the task role writes exactly the camera streams and uses only the stream key', () => {
    const statements = policyStatements(template, 'TaskRole');
    expect(statements).toHaveLength(2);
    const [kvs, kms] = statements;
    expect(actionsOf(kvs).sort()).toEqual([
      'kinesisvideo:DescribeStream',
      'kinesisvideo:GetDataEndpoint',
      'kinesisvideo:PutMedia',
    ]);
    const outputs = (kvs.Resource as { 'Fn::GetStackOutput': { OutputName: string } }[]).map(
      (r) => r['Fn::GetStackOutput'].OutputName,
    );
    expect(outputs).toHaveLength(config.cameras.length);
    for (const camera of config.cameras) {
      expect(
        outputs.some((name) => name.includes(`Stream${camera.name.replace(/[^A-Za-z0-9]/g, '')}Arn`)),
      ).toBe(true);
    }
    expect(actionsOf(kms)).toEqual(['kms:GenerateDataKey']);
    expect(JSON.stringify(kms.Resource)).toMatch(/StreamKey/);
    expect(allStrings(statements.map((s) => s.Resource))).not.toContain('*');
  });

  test("each shard's execution role reads exactly its cameras' parameters; only the ECR token is unscoped", () => {
    const shards = shardCameras(config.cameras, config.fargate.camerasPerTask);
    shards.forEach((shard, i) => {
      const statements = policyStatements(template, `Shard${i + 1}TaskExecutionRole`);
      const ssmStatements = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('ssm:')));
      expect(ssmStatements).toHaveLength(1);
      expect(actionsOf(ssmStatements[0])).toContain('ssm:GetParameters');
      expect([ssmStatements[0].Resource].flat().map(joinedArn).sort()).toEqual(
        shard
          .map((c) => `arn:*:ssm:*:*:parameter${cameraUrlParameterName(config.parameterPrefix, c.name)}`)
          .sort(),
      );
      const unscoped = statements.filter((s) => s.Resource === '*');
      expect(unscoped.flatMap(actionsOf)).toEqual(['ecr:GetAuthorizationToken']);
      // The camera URLs are SecureStrings under the AWS managed key aws/ssm: ECS decrypts them without
      // kms:Decrypt on the execution role, so none is granted.
      expect(statements.flatMap(actionsOf).filter((a) => a.startsWith('kms:'))).toEqual([]);
    });
  });
});

describe('the security review of FargateGatewayStack', () => {
  test('the acknowledgements are narrow: another wildcard on the execution role is still a finding', () => {
    const gateway = buildGatewayApp();
    gateway.fargateGateway.services[0].taskDefinition.obtainExecutionRole().addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['ssm:GetParameters'],
        resources: ['arn:aws:ssm:eu-west-1:123456789012:parameter/*'],
      }),
    );
    expect(() => gateway.app.synth()).toThrow(
      /AwsSolutions-IAM5\[Resource::arn:aws:ssm:eu-west-1:123456789012:parameter\/\*\]/,
    );
  });
});

describe('sharding follows camerasPerTask', () => {
  const fourCameras = [...sampleConfigJson.cameras, { name: 'yard.north' }];

  test.each([
    [1, [['front-door'], ['loading-dock'], ['lobby'], ['yard.north']]],
    [
      2,
      [
        ['front-door', 'loading-dock'],
        ['lobby', 'yard.north'],
      ],
    ],
    [4, [['front-door', 'loading-dock', 'lobby', 'yard.north']]],
    [10, [['front-door', 'loading-dock', 'lobby', 'yard.north']]],
  ])('camerasPerTask %i', (camerasPerTask, expectedShards) => {
    const config: GatewayConfig = configWith({
      cameras: fourCameras,
      fargate: { ...sampleConfigJson.fargate, camerasPerTask },
    });
    const template = fargateTemplate(buildGatewayApp(config));
    template.resourceCountIs('AWS::ECS::Service', expectedShards.length);
    template.resourceCountIs('AWS::ECS::TaskDefinition', expectedShards.length);
    const cameraNamesPerTask = taskDefinitions(template).map((containers) =>
      containers
        .filter((c) => c.Name !== 'credentials')
        .map((c) => c.Environment?.find((e) => e.Name === 'CAMERA_NAME')?.Value),
    );
    expect(cameraNamesPerTask).toEqual(expectedShards);
  });

  test('container names are valid for ECS even when camera names hold dots', () => {
    expect(cameraContainerName('yard.north', 1)).toBe('camera2-yard_north');
    expect(cameraContainerName('a'.repeat(256), 0)).toMatch(/^camera1-a+$/);
    expect(cameraContainerName('a'.repeat(256), 0)).toHaveLength(255);
  });

  test('shardCameras keeps config order and never makes an empty shard', () => {
    expect(shardCameras(['a', 'b', 'c'], 2)).toEqual([['a', 'b'], ['c']]);
    expect(shardCameras(['a'], 4)).toEqual([['a']]);
    expect(shardCameras([], 4)).toEqual([]);
  });
});

describe('FargateGatewayStack with other network and compute choices', () => {
  test('an existing VPC with private subnets: no public IP, the given subnets', () => {
    const template = fargateTemplate(buildGatewayApp(configWith({ network: existingPrivateVpc })));
    template.allResourcesProperties('AWS::ECS::Service', {
      NetworkConfiguration: {
        AwsvpcConfiguration: {
          AssignPublicIp: 'DISABLED',
          Subnets: ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1'],
        },
      },
    });
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
  });

  test('x86_64 tasks when the config asks for them', () => {
    const template = fargateTemplate(
      buildGatewayApp(configWith({ fargate: { ...sampleConfigJson.fargate, architecture: 'x86_64' } })),
    );
    template.allResourcesProperties('AWS::ECS::TaskDefinition', {
      RuntimePlatform: { CpuArchitecture: 'X86_64', OperatingSystemFamily: 'LINUX' },
    });
  });
});
