import * as fs from 'node:fs';
import * as path from 'node:path';
import { Template, Match } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { KVS_BUFFER_SECONDS } from '../lib/camera-memory';
import { cameraContainerName } from '../lib/camera-names';
import { cameraUrlParameterName } from '../lib/config';
import { compileSchedule } from '../lib/recording-schedule';
import {
  buildGatewayApp,
  buildPartialGatewayApp,
  configWith,
  mergedTemplate,
  sampleConfigJson,
  WholeGatewayApp,
} from './support/gateway-app';

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

/** The compute stack and every shard's nested stack as one template (ids `Shard1.…`). */
function fargateTemplate(gateway: WholeGatewayApp): Template {
  return mergedTemplate(gateway.fargateGateway);
}

function shardTemplates(gateway: WholeGatewayApp): Template[] {
  return gateway.fargateGateway.shards.map((shard) => Template.fromStack(shard));
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

describe('FargateGatewayStack with recording schedules', () => {
  const shop = { timeZone: 'Europe/Berlin', windows: [{ days: 'mon-fri', from: '07:00', to: '19:00' }] };
  const config = configWith({
    site: 'plant-2',
    schedule: shop,
    cameras: [
      { name: 'till', retentionHours: 24 },
      { name: 'gate', retentionHours: 24, schedule: 'always' },
    ],
  });
  const template = fargateTemplate(buildGatewayApp(config));

  test("the shard's camera list holds the compiled schedules: the task reads them live, not from its definition", () => {
    const [parameter] = Object.values(template.findResources('AWS::SSM::Parameter')).filter((resource) =>
      String(resource.Properties.Name).endsWith('/camera-list'),
    );
    expect(parameter.Properties.Name).toBe('/kvs-gateway/sites/plant-2/fargate-gateway/shard-1/camera-list');
    const list = JSON.parse(parameter.Properties.Value);
    expect(list.schemaVersion).toBe(2);
    expect(list.schedules).toEqual([compileSchedule(shop)]);
    expect(list.cameras.map((c: { name: string; schedule?: number }) => [c.name, c.schedule])).toEqual([
      ['till', 0],
      ['gate', undefined],
    ]);
  });

  test('the credentials container syncs the schedules into the shared volume; each camera follows its file', () => {
    const [containers] = taskDefinitions(template);
    const credentials = containers.find((c) => c.Name === 'credentials');
    expect(credentials?.Environment).toEqual(
      expect.arrayContaining([
        {
          Name: 'KVS_CAMERA_LIST_PARAMETER',
          Value: '/kvs-gateway/sites/plant-2/fargate-gateway/shard-1/camera-list',
        },
        { Name: 'KVS_SCHEDULE_DIR', Value: '/run/kvs-gateway/schedules' },
      ]),
    );
    expect(
      cameraContainers(template).map((c) => c.Environment?.find((e) => e.Name === 'RECORDING_SCHEDULE_FILE')),
    ).toEqual([
      { Name: 'RECORDING_SCHEDULE_FILE', Value: '/run/kvs-gateway/schedules/till.schedule.json' },
      { Name: 'RECORDING_SCHEDULE_FILE', Value: '/run/kvs-gateway/schedules/gate.schedule.json' },
    ]);
  });
});

describe('FargateGatewayStack on the sample config', () => {
  const config = configWith();
  const gateway = buildGatewayApp(config);
  const template = fargateTemplate(gateway);

  test('one service per shard, each in its own nested stack; one container per camera plus the refresher', () => {
    expect(config.cameras.map((camera) => camera.shard)).toEqual([1, 1, 1]);
    template.resourceCountIs('AWS::ECS::Service', 1);
    Template.fromStack(gateway.fargateGateway).resourceCountIs('AWS::CloudFormation::Stack', 1);
    Template.fromStack(gateway.fargateGateway).resourceCountIs('AWS::ECS::Service', 0);
    expect(taskDefinitions(template).map((containers) => containers.map((c) => c.Name))).toEqual([
      ['credentials', 'camera-front-door', 'camera-loading-dock', 'camera-lobby'],
    ]);
  });

  test('no NAT gateway and no load balancer in any stack', () => {
    for (const stack of [gateway.network, gateway.streams, gateway.ec2Gateway, gateway.fargateGateway]) {
      const stackTemplate = mergedTemplate(stack);
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
      expect(allStrings(mergedTemplate(stack).toJSON()).join('\n')).not.toMatch(/rtsp:\/\//i);
    }
  });

  test('each camera container gets its camera, stream, codec and audio switch', () => {
    const lobby = cameraContainers(template).find((c) => c.Name === 'camera-lobby');
    expect(lobby?.Environment).toEqual([
      { Name: 'CAMERA_NAME', Value: 'lobby' },
      { Name: 'STREAM_NAME', Value: 'site1.lobby' },
      { Name: 'AWS_REGION', Value: { Ref: 'AWS::Region' } },
      { Name: 'CODEC', Value: 'auto' },
      { Name: 'AUDIO', Value: 'false' },
      { Name: 'RECORDING_SCHEDULE_FILE', Value: '/run/kvs-gateway/schedules/lobby.schedule.json' },
    ]);
    const dock = cameraContainers(template).find((c) => c.Name === 'camera-loading-dock');
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
        { SourceVolume: `scratch-${container.Name}`, ContainerPath: '/tmp', ReadOnly: false },
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

  test('outputs name the cluster and, in each shard, the service and its cameras', () => {
    Template.fromStack(gateway.fargateGateway).hasOutput('ClusterName', {
      Value: { Ref: Match.stringLikeRegexp('^Cluster') },
    });
    Template.fromStack(gateway.fargateGateway.shards[0]).hasOutput('ServiceName', {
      Description: 'ECS service of shard 1, cameras: front-door, loading-dock, lobby',
      Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Service'), 'Name'] },
    });
  });

  test('every container runs under an init process that forwards signals and reaps zombies, with no capability', () => {
    for (const container of taskDefinitions(template).flat()) {
      expect([container.Name, container.LinuxParameters]).toEqual([
        container.Name,
        { Capabilities: { Drop: ['ALL'] }, InitProcessEnabled: true },
      ]);
    }
  });

  test('brings its monitoring: camera alarms, and a running-tasks alarm on Container Insights in each shard', () => {
    for (const camera of config.cameras) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: `FargateGatewayStack-${camera.name}-no-frames`,
      });
    }
    shardTemplates(gateway).forEach((shard, i) => {
      const [serviceId] = Object.keys(shard.findResources('AWS::ECS::Service'));
      shard.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: `FargateGatewayStack-shard-${i + 1}-running-tasks`,
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
    for (const shard of shardTemplates(gateway)) {
      for (const container of taskDefinitions(shard).flat()) {
        expect(container.LogConfiguration.LogDriver).toBe('awslogs');
        // The parent's log group, passed to the shard's nested stack as a parameter.
        const parameter = (container.LogConfiguration.Options['awslogs-group'] as { Ref: string }).Ref;
        const nestedStack = Object.values(
          Template.fromStack(gateway.fargateGateway).findResources('AWS::CloudFormation::Stack'),
        )[0];
        expect(nestedStack.Properties.Parameters[parameter]).toEqual({ Ref: logGroupId });
      }
    }
  });

  test("each shard's task role writes exactly its cameras' streams, uses only the stream key, reads only its camera list", () => {
    const statements = policyStatements(template, 'Shard1.TaskRole');
    expect(statements).toHaveLength(3);
    const [kvs, kms, cameraList] = statements;
    expect(actionsOf(cameraList)).toEqual(['ssm:GetParameter']);
    expect(joinedArn(cameraList.Resource)).toBe(
      'arn:*:ssm:*:*:parameter/kvs-gateway/fargate-gateway/shard-1/camera-list',
    );
    expect(actionsOf(kvs).sort()).toEqual([
      'kinesisvideo:DescribeStream',
      'kinesisvideo:GetDataEndpoint',
      'kinesisvideo:PutMedia',
    ]);
    // Named by the stream's name: KVS ends a stream's ARN with its creation time.
    expect((kvs.Resource as unknown[]).map(joinedArn).sort()).toEqual(
      config.cameras.map((camera) => `arn:*:kinesisvideo:*:*:stream/${camera.streamName}/*`).sort(),
    );
    expect(actionsOf(kms)).toEqual(['kms:GenerateDataKey']);
    expect(JSON.stringify(kms.Resource)).toMatch(/StreamKey/);
    expect(allStrings(statements.map((s) => s.Resource))).not.toContain('*');
  });

  test("each shard's execution role reads exactly its cameras' parameters; only the ECR token is unscoped", () => {
    shardTemplates(gateway).forEach((shard, i) => {
      const cameras = config.cameras.filter(
        (camera) => camera.shard === gateway.fargateGateway.shards[i].shardId,
      );
      const statements = policyStatements(shard, 'TaskExecutionRole');
      const ssmStatements = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('ssm:')));
      expect(ssmStatements).toHaveLength(1);
      // ECS reads secrets with GetParameters alone (CDK's own grant would add three more actions).
      expect(actionsOf(ssmStatements[0])).toEqual(['ssm:GetParameters']);
      expect([ssmStatements[0].Resource].flat().map(joinedArn).sort()).toEqual(
        cameras
          .map((c) => `arn:*:ssm:*:*:parameter${cameraUrlParameterName(config.parameterPrefix, c.name)}`)
          .sort(),
      );
      const unscoped = statements.filter((s) => s.Resource === '*');
      expect(unscoped.flatMap(actionsOf)).toEqual(['ecr:GetAuthorizationToken']);
      // The camera URLs are SecureStrings under the AWS managed key aws/ssm: ECS decrypts them without
      // kms:Decrypt on the execution role, so none is granted.
      expect(statements.flatMap(actionsOf).filter((a) => a.startsWith('kms:'))).toEqual([]);
      // A task started by a deploy that adds a camera finds its parameter already granted.
      const service = Object.values(shard.findResources('AWS::ECS::Service'))[0];
      const policyId = Object.keys(shard.findResources('AWS::IAM::Policy')).find((id) =>
        id.startsWith('TaskExecutionRoleDefaultPolicy'),
      );
      expect(service.DependsOn).toContain(policyId);
    });
  });
});

describe('the security review of FargateGatewayStack', () => {
  test('the acknowledgements are narrow: another wildcard on the execution role is still a finding', () => {
    const gateway = buildGatewayApp();
    gateway.fargateGateway.shards[0].taskDefinition.obtainExecutionRole().addToPrincipalPolicy(
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

describe("shards follow each camera's shard", () => {
  const cameras = [...sampleConfigJson.cameras, { name: 'yard.north', shard: 3 }, { name: 'gate', shard: 2 }];

  test('one nested stack, service and task per shard number, cameras in config order', () => {
    const gateway = buildGatewayApp(configWith({ cameras }));
    expect(gateway.fargateGateway.shards.map((shard) => shard.node.id)).toEqual([
      'Shard1',
      'Shard2',
      'Shard3',
    ]);
    const cameraNamesPerTask = shardTemplates(gateway).map((shard) =>
      cameraContainers(shard).map((c) => c.Environment?.find((e) => e.Name === 'CAMERA_NAME')?.Value),
    );
    expect(cameraNamesPerTask).toEqual([['front-door', 'loading-dock', 'lobby'], ['gate'], ['yard.north']]);
    // Task definition families are account-wide: each names its gateway stack and shard.
    expect(
      shardTemplates(gateway).map(
        (shard) => Object.values(shard.findResources('AWS::ECS::TaskDefinition'))[0].Properties.Family,
      ),
    ).toEqual(['FargateGatewayStack-shard-1', 'FargateGatewayStack-shard-2', 'FargateGatewayStack-shard-3']);
  });

  test('a shard of more cameras than fargate.camerasPerTask leaves the Fargate gateway out, naming the cameras and the field', () => {
    const crowded = buildPartialGatewayApp(
      configWith({ cameras, fargate: { ...sampleConfigJson.fargate, camerasPerTask: 2 } }),
    );
    expect(crowded.fargateGateway).toBeUndefined();
    expect(crowded.leftOut).toEqual([
      {
        stackId: 'FargateGatewayStack',
        problems: [
          'cameras: shard 1 holds 3 cameras (cameras[0], cameras[1] and cameras[2]) but one Fargate task runs at most fargate.camerasPerTask = 2: give the last one listed another shard ("shard": 2 in cameras[2]) or raise fargate.camerasPerTask (at most 9)',
        ],
      },
    ]);
    expect(crowded.ec2Gateway).toBeDefined();
  });

  test("a shard whose cameras' full buffers would not fit the task's memory leaves the Fargate gateway out", () => {
    // 3 cameras at 20 Mbit/s: 120 s of video each (286 MiB) plus 50 MiB, and the task's 64 MiB.
    const fast = cameras.map((camera) => ({ ...camera, bitrateKbps: 20000 }));
    const short = buildPartialGatewayApp(configWith({ cameras: fast }));
    expect(short.fargateGateway).toBeUndefined();
    expect(short.leftOut).toEqual([
      {
        stackId: 'FargateGatewayStack',
        problems: [
          'fargate.memoryMiB: the 3 cameras of shard 1 need about 1073 MiB once a KVS outage fills their buffers (120 s of video at each camera\'s bitrateKbps, plus about 50 MiB a camera), more than the task\'s 1024 MiB: raise fargate.memoryMiB (and fargate.cpu to match), or give some of them another "shard"',
        ],
      },
    ]);
    const roomier = buildPartialGatewayApp(
      configWith({ cameras: fast, fargate: { ...sampleConfigJson.fargate, memoryMiB: 2048 } }),
    );
    expect(roomier.leftOut).toEqual([]);
  });

  test("the memory check's buffer is run-camera.sh's default KVS_BUFFER_SECONDS", () => {
    const script = fs.readFileSync(path.join(__dirname, '..', 'userdata', 'run-camera.sh'), 'utf8');
    expect(script).toMatch(new RegExp(`^\\s*whole_number KVS_BUFFER_SECONDS ${KVS_BUFFER_SECONDS}$`, 'm'));
  });

  test('container names are valid for ECS even when camera names hold dots', () => {
    expect(cameraContainerName('yard.north')).toBe('camera-yard_north');
    const gateway = buildGatewayApp(configWith({ cameras }));
    expect(cameraContainers(fargateTemplate(gateway)).map((c) => c.Name)).toContain('camera-yard_north');
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
