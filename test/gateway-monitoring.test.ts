import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { StreamStack } from '../lib/stream-stack';
import { AlarmTopic, GatewayMonitoring, ShardAlarms, ShardCompute } from '../lib/gateway-monitoring';
import { MonitoringConfig } from '../lib/config';
import { shardsOf } from '../lib/shards';
import { compileSchedule, isRecording } from '../lib/recording-schedule';
import { buildGatewayApp, configWith, temporaryApp } from './support/gateway-app';
import { AlarmMetricQuery, evaluateAlarm } from './support/metric-math';

const monitoring: MonitoringConfig = {
  noFramesMinutes: 5,
  logRetentionDays: 30,
  alarmEmail: 'ops@example.com',
};

/**
 * A stack holding the monitoring of a config's camera streams as a compute stack builds it: the alarm
 * topic, each shard's alarms (here in the same stack, where a gateway puts them in the shard's nested
 * stack) and the dashboard, with each shard's compute built by `makeCompute` from constructs in the
 * stack. By default it sits in an app of its own, without the security review, so that the stand-in
 * gateway resources need no acknowledgements; `inSampleApp` puts it in the reviewed sample app.
 */
function monitoredStack(
  makeCompute: (stack: Stack, shard: number) => ShardCompute,
  config = configWith({ monitoring }),
  inSampleApp = false,
  memoryUtilization?: cloudwatch.IMetric,
): { app: App; outdir: string; stack: Stack; monitoring: GatewayMonitoring; shardAlarms: ShardAlarms[] } {
  const sample = inSampleApp ? buildGatewayApp(config) : undefined;
  const app = sample?.app ?? temporaryApp();
  const cameraStreams =
    sample?.streams.cameraStreams ??
    new StreamStack(app, 'StreamStack', {
      cameras: config.cameras,
      removalPolicy: config.streamRemovalPolicy,
    }).cameraStreams;
  const stack = new Stack(app, 'MonitoredGateway');
  const logGroup = new logs.LogGroup(stack, 'GatewayLogs', { retention: config.monitoring.logRetentionDays });
  const alarmTopic = new AlarmTopic(stack, 'AlarmTopic', {
    namePrefix: stack.stackName,
    alarmEmail: config.monitoring.alarmEmail,
  });
  const shards = shardsOf(cameraStreams).map((shard) => ({
    ...shard,
    compute: makeCompute(stack, shard.id),
  }));
  const shardAlarms = shards.map(
    (shard) =>
      new ShardAlarms(stack, `Shard${shard.id}Alarms`, {
        shard: shard.id,
        cameraStreams: shard.members,
        compute: shard.compute,
        namePrefix: stack.stackName,
        alarmTopic: alarmTopic.topic,
        noFramesMinutes: config.monitoring.noFramesMinutes,
      }),
  );
  const construct = new GatewayMonitoring(stack, 'Monitoring', {
    cameraStreams,
    monitoring: config.monitoring,
    gatewayKind: shards[0].compute.kind,
    shards: shards.map((shard) => ({ id: shard.id, compute: shard.compute })),
    alarmTopic: alarmTopic.topic,
    logGroups: [logGroup],
    namePrefix: stack.stackName,
    memoryUtilization,
  });
  return { app, outdir: sample?.outdir ?? app.outdir, stack, monitoring: construct, shardAlarms };
}

function realAutoScalingGroup(stack: Stack, shard: number): ShardCompute {
  const vpc =
    (stack.node.tryFindChild('Vpc') as ec2.Vpc) ?? new ec2.Vpc(stack, 'Vpc', { natGateways: 0, maxAzs: 2 });
  const autoScalingGroup = new autoscaling.AutoScalingGroup(stack, `Shard${shard}Gateway`, {
    vpc,
    vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
    instanceType: new ec2.InstanceType('t4g.small'),
    machineImage: ec2.MachineImage.latestAmazonLinux2023({ cpuType: ec2.AmazonLinuxCpuType.ARM_64 }),
    minCapacity: 1,
    maxCapacity: 1,
  });
  return { kind: 'ec2', autoScalingGroup };
}

function realFargateService(stack: Stack, shard: number): ShardCompute {
  const cluster =
    (stack.node.tryFindChild('Cluster') as ecs.Cluster) ??
    new ecs.Cluster(stack, 'Cluster', {
      vpc: new ec2.Vpc(stack, 'Vpc', { natGateways: 0, maxAzs: 2 }),
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
    });
  const taskDefinition = new ecs.FargateTaskDefinition(stack, `Shard${shard}Task`, {
    cpu: 512,
    memoryLimitMiB: 1024,
  });
  taskDefinition.addContainer('camera', {
    image: ecs.ContainerImage.fromRegistry('public.ecr.aws/docker/library/busybox'),
  });
  const service = new ecs.FargateService(stack, `Shard${shard}`, {
    cluster,
    taskDefinition,
    desiredCount: 1,
    assignPublicIp: true,
    vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
  });
  return { kind: 'fargate', service, desiredCount: 1 };
}

// The sample config's cameras: front-door, loading-dock, and lobby whose stream is "site1.lobby".
const sampleStreams = [
  { camera: 'front-door', stream: 'front-door' },
  { camera: 'loading-dock', stream: 'loading-dock' },
  { camera: 'lobby', stream: 'site1.lobby' },
];

describe('GatewayMonitoring on an EC2 gateway', () => {
  const { stack } = monitoredStack(realAutoScalingGroup);
  const template = Template.fromStack(stack);

  test('has two alarms per camera and one for the instance of each shard', () => {
    template.resourceCountIs('AWS::CloudWatch::Alarm', 2 * sampleStreams.length + 1);
  });

  test.each(sampleStreams)(
    '$camera: no frames for noFramesMinutes raises an alarm, silence included',
    (s) => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: `MonitoredGateway-${s.camera}-no-frames`,
        Namespace: 'AWS/KinesisVideo',
        MetricName: 'PutMedia.IncomingFrames',
        Dimensions: [{ Name: 'StreamName', Value: s.stream }],
        Statistic: 'Sum',
        Period: 60,
        EvaluationPeriods: 5,
        DatapointsToAlarm: 5,
        Threshold: 1,
        ComparisonOperator: 'LessThanThreshold',
        TreatMissingData: 'breaching',
      });
    },
  );

  test.each(sampleStreams)(
    '$camera: connection errors or fragments slower than 10 s in 3 of 5 minutes raise one alarm',
    (s) => {
      const kvsMetric = (id: string, metricName: string, stat: string) => ({
        Id: id,
        MetricStat: {
          Metric: {
            Namespace: 'AWS/KinesisVideo',
            MetricName: metricName,
            Dimensions: [{ Name: 'StreamName', Value: s.stream }],
          },
          Period: 60,
          Stat: stat,
        },
        ReturnData: false,
      });
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: `MonitoredGateway-${s.camera}-upload-failing`,
        Metrics: Match.arrayWith([
          Match.objectLike({
            Expression: 'IF(FILL(errors, 0) >= 1 OR FILL(latency, 0) > 10000, 1, 0)',
            ReturnData: true,
          }),
          kvsMetric('errors', 'PutMedia.ConnectionErrors', 'Sum'),
          kvsMetric('latency', 'PutMedia.FragmentIngestionLatency', 'Average'),
        ]),
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        EvaluationPeriods: 5,
        DatapointsToAlarm: 3,
        TreatMissingData: 'notBreaching',
      });
    },
  );

  test('alarms on the instance status check by Auto Scaling group, a missing instance included', () => {
    const groups = template.findResources('AWS::AutoScaling::AutoScalingGroup');
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'MonitoredGateway-shard-1-instance-status-check',
      Namespace: 'AWS/EC2',
      MetricName: 'StatusCheckFailed',
      Dimensions: [{ Name: 'AutoScalingGroupName', Value: { Ref: Object.keys(groups)[0] } }],
      Statistic: 'Maximum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'breaching',
    });
  });

  test('every alarm notifies the one topic when it fires and when it clears', () => {
    const topicId = Object.keys(template.findResources('AWS::SNS::Topic'))[0];
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms).toHaveLength(7);
    for (const alarm of alarms) {
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
      expect(alarm.Properties.OKActions).toEqual([{ Ref: topicId }]);
    }
  });

  test('the topic is encrypted with a rotating key that CloudWatch alarms of this stack may use', () => {
    template.resourceCountIs('AWS::SNS::Topic', 1);
    const keyId = Object.keys(template.findResources('AWS::KMS::Key'))[0];
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } });
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
            Condition: {
              StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
              ArnLike: {
                'aws:SourceArn': {
                  'Fn::Join': ['', Match.arrayWith([':alarm:MonitoredGateway-*'])],
                },
              },
            },
          }),
        ]),
      },
    });
  });

  test('the topic key goes with the stack: it only protects notifications in flight', () => {
    for (const key of Object.values(template.findResources('AWS::KMS::Key'))) {
      expect(key.DeletionPolicy).toBe('Delete');
      expect(key.Properties.PendingWindowInDays).toBe(7);
    }
  });

  test("the topic policy refuses publishing without TLS and lets only this stack's alarms publish", () => {
    const topicId = Object.keys(template.findResources('AWS::SNS::Topic'))[0];
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: topicId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sns:Publish',
            Principal: '*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
          Match.objectLike({
            Effect: 'Allow',
            Action: 'sns:Publish',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Condition: Match.objectLike({ StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } }),
          }),
        ]),
      },
    });
  });

  test('emails the alarms to monitoring.alarmEmail, and to no one when it is absent', () => {
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
    });
    const { stack: silent } = monitoredStack(realAutoScalingGroup, configWith());
    Template.fromStack(silent).resourceCountIs('AWS::SNS::Subscription', 0);
  });

  test('the no-frames window follows monitoring.noFramesMinutes', () => {
    const { stack: slow } = monitoredStack(
      realAutoScalingGroup,
      configWith({ monitoring: { noFramesMinutes: 15 } }),
    );
    Template.fromStack(slow).hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'PutMedia.IncomingFrames',
      EvaluationPeriods: 15,
      DatapointsToAlarm: 15,
    });
  });
});

interface DashboardWidget {
  type: string;
  width: number;
  properties: {
    title?: string;
    markdown?: string;
    metrics?: unknown[][];
  };
}

/** The dashboard body with its CloudFormation tokens (Refs) replaced by placeholders, parsed. */
function dashboardWidgets(template: Template): DashboardWidget[] {
  const dashboard = Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0];
  const body = dashboard.Properties.DashboardBody['Fn::Join'][1]
    .map((part: unknown) => (typeof part === 'string' ? part : 'TOKEN'))
    .join('');
  return JSON.parse(body).widgets;
}

describe('the dashboard', () => {
  const { stack } = monitoredStack(realAutoScalingGroup);
  const template = Template.fromStack(stack);
  const widgets = dashboardWidgets(template);

  test('is named after the stack, and its address is a stack output', () => {
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'MonitoredGateway' });
    const outputs = Object.values(template.findOutputs('*'));
    expect(JSON.stringify(outputs)).toContain('#dashboards/dashboard/MonitoredGateway');
  });

  test.each(sampleStreams)(
    'has a row for $camera: frames/s, bitrate, latency and errors of its stream',
    (s) => {
      const row = widgets.filter((w) => w.properties.title?.startsWith(`${s.camera}: `));
      expect(row.map((w) => w.properties.title)).toEqual([
        `${s.camera}: frames/s`,
        `${s.camera}: bitrate kbit/s`,
        `${s.camera}: PutMedia latency ms`,
        `${s.camera}: errors`,
      ]);
      expect(row.reduce((sum, w) => sum + w.width, 0)).toBe(24);
      const metricsOf = (w: DashboardWidget) => JSON.stringify(w.properties.metrics);
      expect(metricsOf(row[0])).toContain('"frames / PERIOD(frames)"');
      expect(metricsOf(row[0])).toContain(
        `"AWS/KinesisVideo","PutMedia.IncomingFrames","StreamName","${s.stream}"`,
      );
      expect(metricsOf(row[1])).toContain('"bytes * 8 / 1000 / PERIOD(bytes)"');
      expect(metricsOf(row[1])).toContain(
        `"AWS/KinesisVideo","PutMedia.IncomingBytes","StreamName","${s.stream}"`,
      );
      expect(metricsOf(row[2])).toContain(`"PutMedia.FragmentIngestionLatency","StreamName","${s.stream}"`);
      expect(metricsOf(row[2])).toContain(`"PutMedia.Latency","StreamName","${s.stream}"`);
      expect(metricsOf(row[3])).toContain(`"PutMedia.ConnectionErrors","StreamName","${s.stream}"`);
      expect(metricsOf(row[3])).toContain(`"PutMedia.ErrorAckCount","StreamName","${s.stream}"`);
    },
  );

  test("shows each shard instance's CPU, and says where memory comes from", () => {
    const cpu = widgets.find((w) => w.properties.title === 'Gateway instances: CPU %');
    expect(JSON.stringify(cpu?.properties.metrics)).toContain(
      '"AWS/EC2","CPUUtilization","AutoScalingGroupName","TOKEN",{"label":"shard 1"',
    );
    expect(widgets.some((w) => w.properties.markdown?.includes('mem_used_percent'))).toBe(true);
  });

  test('shows a memory graph when the EC2 stack provides the metric', () => {
    const { stack: withMemory } = monitoredStack(
      realAutoScalingGroup,
      configWith({ monitoring }),
      false,
      new cloudwatch.Metric({ namespace: 'CWAgent', metricName: 'mem_used_percent' }),
    );
    const memory = dashboardWidgets(Template.fromStack(withMemory)).find(
      (w) => w.properties.title === 'Gateway instances: memory %',
    );
    expect(JSON.stringify(memory?.properties.metrics)).toContain('"CWAgent","mem_used_percent"');
  });

  test('its alarm grid lists every no-frames alarm and every shard alarm, by the names the alarms have', () => {
    const alarmArns = widgets
      .filter((w) => w.type === 'alarm')
      .flatMap((w) => (w.properties as { alarms: string[] }).alarms);
    const alarmNames = Object.values(template.findResources('AWS::CloudWatch::Alarm'))
      .map((alarm) => alarm.Properties.AlarmName as string)
      .filter((name) => !name.endsWith('-upload-failing'));
    expect(
      alarmArns.map((arn) => arn.replace(/^arn:TOKEN:cloudwatch:TOKEN:TOKEN:alarm:/, '')).sort(),
    ).toEqual(alarmNames.sort());
  });
});

describe('many cameras', () => {
  const cameras = (count: number, perShard: number) =>
    Array.from({ length: count }, (_, i) => ({
      name: `camera-${i + 1}`,
      retentionHours: 1,
      shard: Math.floor(i / perShard) + 1,
    }));

  test('40 cameras in 4 shards: 84 alarms, 44 of them in the grid, a row per camera', () => {
    const { stack } = monitoredStack(
      realAutoScalingGroup,
      configWith({ cameras: cameras(40, 10), monitoring }),
    );
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::CloudWatch::Alarm', 84);
    const widgets = dashboardWidgets(template);
    const alarmWidgets = widgets.filter((w) => w.type === 'alarm');
    expect(alarmWidgets.map((w) => (w.properties as { alarms: unknown[] }).alarms.length)).toEqual([44]);
    expect(widgets.filter((w) => w.properties.title?.endsWith(': frames/s'))).toHaveLength(40);
  });

  test('more cameras than the dashboard draws: their alarms in grids of 100, no per-camera graphs, and a note', () => {
    const { stack } = monitoredStack(
      realAutoScalingGroup,
      configWith({ cameras: cameras(150, 10), monitoring }),
    );
    const widgets = dashboardWidgets(Template.fromStack(stack));
    const alarmWidgets = widgets.filter((w) => w.type === 'alarm');
    expect(alarmWidgets.map((w) => (w.properties as { alarms: unknown[] }).alarms.length)).toEqual([100, 65]);
    expect(widgets.filter((w) => w.properties.title?.endsWith(': frames/s'))).toHaveLength(0);
    expect(widgets[0].properties.markdown).toContain('150 camera(s) in 15 shard(s)');
    expect(widgets[0].properties.markdown).toContain('Per-camera graphs are drawn for up to 100 cameras');
  });
});

describe('GatewayMonitoring on a Fargate gateway', () => {
  const twoShards = configWith({
    cameras: [{ name: 'front-door' }, { name: 'loading-dock', shard: 2 }, { name: 'lobby', shard: 2 }],
    monitoring,
  });
  const { stack } = monitoredStack(realFargateService, twoShards);
  const template = Template.fromStack(stack);
  const services = Object.keys(template.findResources('AWS::ECS::Service'));

  test('alarms when a shard service runs fewer tasks than desired, one alarm per shard', () => {
    template.resourceCountIs('AWS::CloudWatch::Alarm', 2 * 3 + services.length);
    services.forEach((serviceId, i) => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: `MonitoredGateway-shard-${i + 1}-running-tasks`,
        Namespace: 'ECS/ContainerInsights',
        MetricName: 'RunningTaskCount',
        Dimensions: Match.arrayWith([{ Name: 'ServiceName', Value: { 'Fn::GetAtt': [serviceId, 'Name'] } }]),
        Threshold: 1,
        ComparisonOperator: 'LessThanThreshold',
        TreatMissingData: 'breaching',
      });
    });
  });

  test("the dashboard shows every shard service's CPU and memory", () => {
    const widgets = dashboardWidgets(template);
    for (const title of ['Gateway tasks: CPU %', 'Gateway tasks: memory %']) {
      const widget = widgets.find((w) => w.properties.title === title);
      expect(widget?.properties.metrics).toHaveLength(services.length);
      expect(JSON.stringify(widget?.properties.metrics)).toContain('"AWS/ECS"');
    }
  });
});

describe('saved Logs Insights queries', () => {
  const { stack } = monitoredStack(realAutoScalingGroup);
  const template = Template.fromStack(stack);

  test('list the last errors per camera from the run script lines in the gateway log group', () => {
    const logGroupId = Object.keys(template.findResources('AWS::Logs::LogGroup'))[0];
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    template.hasResourceProperties('AWS::Logs::QueryDefinition', {
      Name: 'MonitoredGateway/camera-errors',
      LogGroupNames: [{ Ref: logGroupId }],
      QueryString: Match.stringLikeRegexp('parse @message /run-camera'),
    });
    template.hasResourceProperties('AWS::Logs::QueryDefinition', {
      Name: 'MonitoredGateway/errors-per-camera',
      QueryString: Match.stringLikeRegexp(
        'stats count\\(\\*\\) as problems, latest\\(detail\\) as lastProblem',
      ),
    });
  });
});

test('the queries pick the problems out of run-camera.sh lines and leave the rest', () => {
  const { stack } = monitoredStack(realAutoScalingGroup);
  const query = Object.values(Template.fromStack(stack).findResources('AWS::Logs::QueryDefinition')).find(
    (q) => q.Properties.Name === 'MonitoredGateway/camera-errors',
  )?.Properties.QueryString as string;
  // Logs Insights writes regexes as /.../ with an inline (?i); JavaScript takes the same pattern with a flag.
  const parse = new RegExp(/\| parse @message \/(.*)\/\n/.exec(query)![1]);
  const problem = new RegExp(/\| filter detail like \/\(\?i\)(.*)\/\n/.exec(query)![1], 'i');
  const lines = {
    'run-camera[lobby]: authentication failed (2 in a row): waiting 240s before trying again': 'lobby',
    'run-camera[site1.dock]: error: the SSM parameter /kvs-gateway/cameras/site1.dock does not exist':
      'site1.dock',
    'run-camera[front-door]: pipeline ended after 12s (10s of video); restarting in 2s (attempt 3)':
      'front-door',
    'run-camera[front-door]: warning: AUDIO=true but the camera sends no AAC or G.711 audio': 'front-door',
  };
  for (const [line, camera] of Object.entries(lines)) {
    const parsed = parse.exec(line);
    expect(parsed?.groups?.camera).toBe(camera);
    expect(problem.test(parsed!.groups!.detail)).toBe(true);
  }
  for (const healthy of [
    'run-camera[lobby]: video flowing',
    'run-camera[lobby]: starting: stream site1.lobby',
  ]) {
    expect(problem.test(parse.exec(healthy)!.groups!.detail)).toBe(false);
  }
});

interface ValidationReport {
  pluginReports: { pluginName: string; conclusion: string; violations: { ruleName: string }[] }[];
}

describe('the sample app with monitoring under the security review', () => {
  // Stand-ins imported by name: the review then sees the monitoring only, as the compute stacks add it.
  const imported: Record<string, (stack: Stack, shard: number) => ShardCompute> = {
    ec2: (stack, shard) => ({
      kind: 'ec2',
      autoScalingGroup: autoscaling.AutoScalingGroup.fromAutoScalingGroupName(
        stack,
        `Group${shard}`,
        'gateway',
      ),
    }),
    fargate: (stack, shard) => {
      const cluster = ecs.Cluster.fromClusterAttributes(stack, `Cluster${shard}`, {
        clusterName: 'gateway',
        vpc: ec2.Vpc.fromVpcAttributes(stack, `Vpc${shard}`, {
          vpcId: 'vpc-0123456789abcdef0',
          availabilityZones: ['eu-west-1a'],
        }),
      });
      return {
        kind: 'fargate',
        service: ecs.FargateService.fromFargateServiceAttributes(stack, `Service${shard}`, {
          cluster,
          serviceName: `shard-${shard}`,
        }),
        desiredCount: 1,
      };
    },
  };

  test.each(Object.keys(imported))(
    '%s: synthesizes with no unacknowledged finding and no warning',
    (kind) => {
      const { app, outdir, stack } = monitoredStack(imported[kind], configWith({ monitoring }), true);
      const assembly = app.synth();
      const report: ValidationReport = JSON.parse(
        fs.readFileSync(path.join(outdir, 'validation-report.json'), 'utf8'),
      );
      expect(report.pluginReports.filter((plugin) => plugin.conclusion !== 'success')).toEqual([]);
      for (const synthesized of assembly.stacks) {
        expect(synthesized.messages.filter((message) => message.level !== 'info')).toEqual([]);
      }
      Annotations.fromStack(stack).hasNoWarning('*', Match.anyValue());
    },
  );
});

describe('a camera with a recording schedule: its no-frames alarm', () => {
  const shop = { timeZone: 'Europe/Berlin', windows: [{ days: 'mon-fri', from: '07:00', to: '19:00' }] };
  const config = configWith({
    monitoring,
    cameras: [
      { name: 'till', bitrateKbps: 2000, schedule: shop },
      { name: 'gate', bitrateKbps: 2000 },
    ],
  });
  const { stack } = monitoredStack(realAutoScalingGroup, config);
  const template = Template.fromStack(stack);
  const alarms = template.findResources('AWS::CloudWatch::Alarm');
  const alarmNamed = (name: string) =>
    Object.values(alarms).find((alarm) => alarm.Properties.AlarmName === name)!.Properties;
  const till = alarmNamed('MonitoredGateway-till-no-frames');
  const queries = till.Metrics as AlarmMetricQuery[];
  const compiled = compileSchedule(shop);

  test('reads the frames metric through an expression, with the same threshold, periods and missing data as the others', () => {
    expect(till).toMatchObject({
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      EvaluationPeriods: 5,
      DatapointsToAlarm: 5,
      TreatMissingData: 'breaching',
      AlarmDescription: expect.stringContaining(
        "It watches only the recording schedule's windows (Europe/Berlin)",
      ),
    });
    const metrics = queries.filter((query) => query.MetricStat);
    expect(metrics).toEqual([
      {
        Id: 'frames',
        MetricStat: {
          Metric: {
            Namespace: 'AWS/KinesisVideo',
            MetricName: 'PutMedia.IncomingFrames',
            Dimensions: [{ Name: 'StreamName', Value: 'till' }],
          },
          Period: 60,
          Stat: 'Sum',
        },
        ReturnData: false,
      },
    ]);
    expect(queries.find((query) => query.ReturnData !== false)?.Expression).toBe('IF(recording, frames, 1)');
    // CloudWatch's limits: 10 expressions an alarm, 2,048 characters each.
    const expressions = queries.filter((query) => query.Expression);
    expect(expressions.length).toBeLessThanOrEqual(10);
    for (const query of expressions) expect(query.Expression!.length).toBeLessThanOrEqual(2048);
    // A camera without a schedule keeps the plain metric alarm.
    expect(alarmNamed('MonitoredGateway-gate-no-frames')).toMatchObject({
      MetricName: 'PutMedia.IncomingFrames',
    });
  });

  test('evaluated minute by minute, it reads the frames in the windows (0 without any) and 1 outside, across DST', () => {
    const instants = [
      '2026-03-27T17:59:00Z', // Friday 18:59 CET: in the window
      '2026-03-27T18:00:00Z', // 19:00: out
      '2026-03-29T12:00:00Z', // Sunday: out
      '2026-03-30T04:59:00Z', // Monday 06:59 CEST (the clocks went forward on Sunday): out
      '2026-03-30T05:00:00Z', // 07:00 CEST: in
      '2026-10-26T05:59:00Z', // Monday 06:59 CET (back on Sunday): out
      '2026-10-26T06:00:00Z', // 07:00 CET: in
      '2045-07-03T04:59:00Z', // a Monday in 2045, 06:59 CEST: out
      '2045-07-03T05:00:00Z', // 07:00 CEST: in
    ].map(Date.parse);
    // And a minute every 9,973 minutes (a prime: all minutes of the week come round) for twenty years.
    for (let at = Date.UTC(2026, 0, 1); at < Date.UTC(2046, 0, 1); at += 9973 * 60_000) instants.push(at);
    expect(instants.length).toBeGreaterThan(1000);
    for (const at of instants) {
      const seconds = at / 1000;
      const recording = isRecording(compiled, at);
      expect([new Date(at).toISOString(), evaluateAlarm(queries, seconds, undefined)]).toEqual([
        new Date(at).toISOString(),
        recording ? 0 : 1,
      ]);
      expect(evaluateAlarm(queries, seconds, 250)).toBe(recording ? 250 : 1);
    }
  });

  test("the dashboard marks the off-schedule minutes on the camera's frames graph", () => {
    const dashboard = JSON.stringify(template.findResources('AWS::CloudWatch::Dashboard'));
    expect(dashboard).toContain('till: frames/s (grey: off schedule)');
    expect(dashboard).toContain('off schedule (Europe/Berlin)');
    expect(dashboard).toContain('1 camera(s) record on a schedule');
    expect(dashboard).not.toContain('gate: frames/s (grey');
  });
});
