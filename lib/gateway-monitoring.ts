import { ArnFormat, Aws, CfnOutput, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { CameraAlarmKind, cameraAlarmName, GatewayAlarmKind, shardAlarmName } from './camera-names';
import { MonitoringConfig } from './config';
import { compileSchedule } from './recording-schedule';
import { scheduleMath } from './schedule-metric-math';
import { CameraStream } from './stream-stack';

/**
 * Tells operators within minutes that a camera went dark or the gateway stopped. Three parts, because
 * a gateway of 1,000 cameras spreads its resources over nested stacks, one per shard:
 *   - `AlarmTopic` (compute stack): one encrypted SNS topic that every alarm notifies;
 *   - `ShardAlarms` (each shard's nested stack): two alarms per camera and one for the shard's
 *     instance or task;
 *   - `GatewayMonitoring` (compute stack): the dashboard and the saved Logs Insights queries.
 * Alarm names are fixed (`<compute stack>-<camera>-no-frames`), so the dashboard refers to them by name,
 * not through a reference into each nested stack.
 */

/** A camera's latency alarm threshold unless told otherwise: see `ShardAlarmsProps.fragmentLatencyThreshold`. */
export const DEFAULT_FRAGMENT_LATENCY_THRESHOLD = Duration.seconds(10);

/** The compute that runs one shard's camera pipelines. */
export type ShardCompute =
  | { readonly kind: 'ec2'; readonly autoScalingGroup: autoscaling.IAutoScalingGroup }
  | { readonly kind: 'fargate'; readonly service: ecs.IBaseService; readonly desiredCount: number };

/** The KVS metrics of one stream (namespace `AWS/KinesisVideo`, dimension `StreamName`). */
export function cameraStreamMetrics(streamName: string) {
  const kvsMetric = (metricName: string, statistic: string) =>
    new cloudwatch.Metric({
      namespace: 'AWS/KinesisVideo',
      metricName,
      dimensionsMap: { StreamName: streamName },
      statistic,
      period: Duration.minutes(1),
    });
  return {
    incomingFrames: kvsMetric('PutMedia.IncomingFrames', cloudwatch.Stats.SUM),
    incomingBytes: kvsMetric('PutMedia.IncomingBytes', cloudwatch.Stats.SUM),
    connectionErrors: kvsMetric('PutMedia.ConnectionErrors', cloudwatch.Stats.SUM),
    errorAcks: kvsMetric('PutMedia.ErrorAckCount', cloudwatch.Stats.SUM),
    /** Time between the first and the last byte of a fragment reaching KVS (ms). */
    fragmentIngestionLatency: kvsMetric('PutMedia.FragmentIngestionLatency', cloudwatch.Stats.AVERAGE),
    /** Time to establish a PutMedia connection (ms); only reported when kvssink (re)connects. */
    connectLatency: kvsMetric('PutMedia.Latency', cloudwatch.Stats.AVERAGE),
  };
}

export interface AlarmTopicProps {
  /** The compute stack's name: alarms named `<it>-*` may publish. */
  readonly namePrefix: string;
  /** Where alarms are emailed; no subscription when absent. */
  readonly alarmEmail?: string;
}

/** The one topic every alarm of the gateway notifies, encrypted with a key of its own. */
export class AlarmTopic extends Construct {
  readonly topic: sns.Topic;

  constructor(scope: Construct, id: string, props: AlarmTopicProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const topicKey = new kms.Key(this, 'AlarmTopicKey', {
      description: `Encrypts the ${props.namePrefix} alarm notifications`,
      enableKeyRotation: true,
      // It protects only notifications in flight: nothing needs it once the topic is gone.
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    const fromThisGatewaysAlarms = {
      StringEquals: { 'aws:SourceAccount': stack.account },
      ArnLike: {
        'aws:SourceArn': stack.formatArn({
          service: 'cloudwatch',
          resource: 'alarm',
          resourceName: `${props.namePrefix}-*`,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      },
    };
    // CloudWatch publishes to an encrypted topic only when the key lets it create and use data keys
    // (SNS developer guide, "compatibility between event sources from AWS services and encrypted topics").
    topicKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: fromThisGatewaysAlarms,
      }),
    );
    this.topic = new sns.Topic(this, 'AlarmTopic', {
      displayName: `${props.namePrefix} camera and gateway alarms`,
      masterKey: topicKey,
      enforceSSL: true,
    });
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: fromThisGatewaysAlarms,
      }),
    );
    if (props.alarmEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
  }
}

export interface ShardAlarmsProps {
  readonly shard: number;
  /** The shard's cameras. */
  readonly cameraStreams: readonly CameraStream[];
  readonly compute: ShardCompute;
  /** The compute stack's name, which begins every alarm name. */
  readonly namePrefix: string;
  readonly alarmTopic: sns.ITopic;
  /** Minutes with no frame arriving before a camera's alarm fires. */
  readonly noFramesMinutes: number;
  /**
   * A camera's upload alarm counts a minute as bad when KVS took longer than this, on average, to
   * receive one fragment. Fragments start at key frames, so in real time a fragment arrives over one
   * key-frame interval (1 to 4 s on most cameras); longer means the upload falls behind the camera.
   * @default DEFAULT_FRAGMENT_LATENCY_THRESHOLD
   */
  readonly fragmentLatencyThreshold?: Duration;
}

export interface CameraAlarms {
  readonly cameraName: string;
  readonly noFrames: cloudwatch.Alarm;
  readonly uploadFailing: cloudwatch.Alarm;
}

/**
 * One shard's alarms. Two per camera: "no frames" (the camera, its network or the gateway is down) and
 * "upload failing" (KVS refuses the connection, or the upload falls behind); the second is one alarm on
 * both metrics (metric math) where there were two alarms, which halves the resources per camera at the
 * same price (CloudWatch bills an alarm per metric it reads). One more for the shard's instance or task.
 */
export class ShardAlarms extends Construct {
  readonly cameraAlarms: readonly CameraAlarms[];
  readonly gatewayAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: ShardAlarmsProps) {
    super(scope, id);
    const latencyThreshold = props.fragmentLatencyThreshold ?? DEFAULT_FRAGMENT_LATENCY_THRESHOLD;
    this.cameraAlarms = props.cameraStreams.map((stream) =>
      this.createCameraAlarms(stream, props, latencyThreshold),
    );
    this.gatewayAlarm = this.createGatewayAlarm(props);
    const notify = new cloudwatchActions.SnsAction(props.alarmTopic);
    for (const alarm of [...this.cameraAlarms.flatMap(alarmsOf), this.gatewayAlarm]) {
      alarm.addAlarmAction(notify);
      // The all-clear matters as much: the operator learns the camera came back without looking.
      alarm.addOkAction(notify);
    }
  }

  private createCameraAlarms(
    stream: CameraStream,
    props: ShardAlarmsProps,
    latencyThreshold: Duration,
  ): CameraAlarms {
    const camera = stream.camera.name;
    const metrics = cameraStreamMetrics(stream.streamName);
    const scope = new Construct(this, `Camera-${camera}`);
    const name = (kind: CameraAlarmKind) => cameraAlarmName(props.namePrefix, camera, kind);
    const { noFramesMinutes } = props;
    const uploadTrouble = new cloudwatch.MathExpression({
      // KVS publishes neither metric in a minute without connection attempts or fragments: that minute is fine.
      expression: `IF(FILL(errors, 0) >= 1 OR FILL(latency, 0) > ${latencyThreshold.toMilliseconds()}, 1, 0)`,
      usingMetrics: { errors: metrics.connectionErrors, latency: metrics.fragmentIngestionLatency },
      label: 'minutes with connection errors or slow fragments',
      period: Duration.minutes(1),
    });
    const schedule = stream.camera.schedule ? compileSchedule(stream.camera.schedule) : undefined;
    // With a recording schedule the alarm reads the frames only in the schedule's minutes; outside them
    // it reads 1 (fine): off schedule is not an outage, and on schedule silence still is.
    const frames = schedule
      ? scheduleMath(schedule, metrics.incomingFrames, 'frames (1 while off schedule)').valueWhileRecording
      : metrics.incomingFrames;
    const offSchedule = schedule
      ? ` It watches only the recording schedule's windows (${schedule.timeZone}): off schedule the camera is stopped and this alarm stays OK.`
      : '';
    return {
      cameraName: camera,
      noFrames: frames.createAlarm(scope, 'NoFrames', {
        alarmName: name('no-frames'),
        alarmDescription: `No video frame from camera "${camera}" reached KVS stream "${stream.streamName}" for ${noFramesMinutes} minute(s): the camera, its network or the gateway (shard ${props.shard}) is down.${offSchedule} Check the dashboard and the "camera-errors" Logs Insights query.`,
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        // One-minute periods, all breaching: the alarm fires noFramesMinutes after the last frame.
        evaluationPeriods: noFramesMinutes,
        datapointsToAlarm: noFramesMinutes,
        // KVS publishes nothing for a stream that receives nothing: silence is the outage itself (with a
        // schedule the expression has a value every minute, 0 for silence in a window).
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      }),
      uploadFailing: uploadTrouble.createAlarm(scope, 'UploadFailing', {
        alarmName: name('upload-failing'),
        alarmDescription: `Camera "${camera}" (stream "${stream.streamName}", shard ${props.shard}): in 3 of the last 5 minutes kvssink could not open a PutMedia connection, or fragments took over ${latencyThreshold.toSeconds()} s to arrive. Connection errors: check the gateway's IAM role, the stream's KMS key and the route to KVS. Slow fragments: the upload falls behind (bandwidth or CPU). The camera's dashboard row shows which.`,
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        // A single failed reconnect or slow minute is normal (kvssink retries); most minutes are not.
        evaluationPeriods: 5,
        datapointsToAlarm: 3,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    };
  }

  private createGatewayAlarm(props: ShardAlarmsProps): cloudwatch.Alarm {
    const { compute, shard, namePrefix } = props;
    if (compute.kind === 'ec2') {
      return instanceStatusCheckFailed(compute.autoScalingGroup).createAlarm(this, 'InstanceStatusCheck', {
        alarmName: shardAlarmName(namePrefix, shard, 'instance-status-check'),
        alarmDescription: `The gateway instance of shard ${shard} failed its EC2 status checks, or no instance has reported for 5 minutes: every camera of the shard is down until the Auto Scaling group replaces it.`,
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 5,
        datapointsToAlarm: 5,
        // No instance in the group reports nothing: that is the gateway being down.
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      });
    }
    return runningTaskCount(compute.service).createAlarm(this, 'RunningTasks', {
      alarmName: shardAlarmName(namePrefix, shard, 'running-tasks'),
      alarmDescription: `Fewer than ${compute.desiredCount} task(s) of gateway service ${compute.service.serviceName} (shard ${shard}) ran for 5 minutes: its cameras are down while ECS restarts the task (look at the service's events and stopped tasks).`,
      threshold: compute.desiredCount,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 5,
      datapointsToAlarm: 5,
      // Container Insights reports nothing when no task runs (or when it is off): treat as down.
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
  }
}

export interface MonitoredShard {
  readonly id: number;
  readonly compute: ShardCompute;
}

export interface GatewayMonitoringProps {
  /** Every camera of the gateway. */
  readonly cameraStreams: readonly CameraStream[];
  readonly monitoring: MonitoringConfig;
  readonly gatewayKind: 'ec2' | 'fargate';
  readonly shards: readonly MonitoredShard[];
  readonly alarmTopic: sns.ITopic;
  /** The log groups the camera pipelines write to; the saved Logs Insights queries search them. */
  readonly logGroups: readonly logs.ILogGroup[];
  /** The compute stack's name: it begins every alarm name and names the dashboard. */
  readonly namePrefix: string;
  /** The EC2 instances' memory use in percent (CloudWatch agent `mem_used_percent`), when they publish one. */
  readonly memoryUtilization?: cloudwatch.IMetric;
  /** @default DEFAULT_FRAGMENT_LATENCY_THRESHOLD */
  readonly fragmentLatencyThreshold?: Duration;
}

/** Per-camera graphs for at most this many cameras: four widgets each, and a dashboard holds 500. */
export const MAX_CAMERA_ROWS = 100;
/** An alarm status widget lists at most 100 alarms. */
const MAX_ALARMS_PER_WIDGET = 100;
/** Lines per gateway graph, so that a graph of a few hundred shards stays readable and within limits. */
const MAX_METRICS_PER_GRAPH = 100;

/**
 * The gateway's dashboard (every alarm's state, the gateway's CPU and memory per shard, one row of
 * graphs per camera up to `MAX_CAMERA_ROWS`) and saved Logs Insights queries for the last errors.
 */
export class GatewayMonitoring extends Construct {
  readonly dashboard: cloudwatch.Dashboard;
  readonly lastErrorsQuery: logs.QueryDefinition;

  constructor(scope: Construct, id: string, props: GatewayMonitoringProps) {
    super(scope, id);
    this.dashboard = this.createDashboard(props);
    this.lastErrorsQuery = this.createLogQueries(props.namePrefix, props.logGroups);

    new CfnOutput(this, 'DashboardUrl', {
      description: 'The gateway dashboard: every alarm, the gateway per shard, a row per camera',
      value: `https://${Aws.REGION}.console.aws.amazon.com/cloudwatch/home?region=${Aws.REGION}#dashboards/dashboard/${props.namePrefix}`,
    });
    new CfnOutput(this, 'AlarmTopicArn', {
      description:
        'Every camera and gateway alarm notifies this topic: subscribe your paging or chat tool to it',
      value: props.alarmTopic.topicArn,
    });
  }

  private createDashboard(props: GatewayMonitoringProps): cloudwatch.Dashboard {
    const { namePrefix, cameraStreams, shards } = props;
    const latencyThreshold = props.fragmentLatencyThreshold ?? DEFAULT_FRAGMENT_LATENCY_THRESHOLD;
    const gatewayAlarmKind: GatewayAlarmKind =
      props.gatewayKind === 'ec2' ? 'instance-status-check' : 'running-tasks';
    // The state of every camera (no frames) and of every shard's instance or task, at a glance. The
    // upload alarms notify like the others but stay off the grid: 1,000 cameras' alarm ARNs would
    // take a third of the template's megabyte.
    const alarmNames = [
      ...shards.map((shard) => shardAlarmName(namePrefix, shard.id, gatewayAlarmKind)),
      ...cameraStreams.map((stream) => cameraAlarmName(namePrefix, stream.camera.name, 'no-frames')),
    ];
    const stack = Stack.of(this);
    const alarmArns = alarmNames.map((name) =>
      stack.formatArn({
        service: 'cloudwatch',
        resource: 'alarm',
        resourceName: name,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      }),
    );
    const shownCameras = cameraStreams.length <= MAX_CAMERA_ROWS ? cameraStreams : [];
    const scheduled = cameraStreams.filter((stream) => stream.camera.schedule).length;
    const header: cloudwatch.IWidget[] = [
      new cloudwatch.TextWidget({
        markdown: [
          `# ${namePrefix}: KVS camera gateway`,
          `${cameraStreams.length} camera(s) in ${shards.length} shard(s). A camera alarms after ${props.monitoring.noFramesMinutes} minute(s) without a frame.`,
          scheduled > 0
            ? `${scheduled} camera(s) record on a schedule: off schedule they are stopped and their alarm stays OK; their frames graph shows the off-schedule minutes in grey.`
            : '',
          `Last errors: Logs Insights, saved query \`${namePrefix}/camera-errors\`.`,
          shownCameras.length < cameraStreams.length
            ? `Per-camera graphs are drawn for up to ${MAX_CAMERA_ROWS} cameras; each alarm above opens its camera's graph.`
            : '',
        ]
          .filter(Boolean)
          .join('\n\n'),
        width: 8,
        height: 6,
      }),
      ...chunks(alarmArns, MAX_ALARMS_PER_WIDGET).map(
        (arns, i) => new AlarmStatusByArnWidget(i === 0 ? 'Alarms' : `Alarms (${i + 1})`, arns, 16, 6),
      ),
    ];
    const rows = [
      header,
      gatewayWidgets(props),
      ...shownCameras.map((stream) => cameraWidgets(stream, latencyThreshold)),
    ];
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: namePrefix,
      defaultInterval: Duration.hours(3),
    });
    for (const row of rows) dashboard.addWidgets(...row);
    return dashboard;
  }

  private createLogQueries(namePrefix: string, logGroups: readonly logs.ILogGroup[]): logs.QueryDefinition {
    // run-camera.sh writes `run-camera[<camera>]: <message>`; kvssink's own lines carry no camera
    // name, but their log stream (one per camera unit or container) says which camera they belong to.
    const parseCameraLine = '@message /run-camera\\[(?<camera>[^\\]]+)\\]: (?<detail>.*)/';
    const isProblem =
      'detail like /(?i)(error|fail|refused|denied|unauthori[sz]ed|timed? ?out|stall|warning|restarting)/';
    const lastErrors = new logs.QueryDefinition(this, 'CameraErrorsQuery', {
      queryDefinitionName: `${namePrefix}/camera-errors`,
      queryString: new logs.QueryString({
        fields: ['@timestamp', '@message', '@logStream'],
        parseStatements: [parseCameraLine],
        filterStatements: ['ispresent(camera)', isProblem],
        sort: '@timestamp desc',
        limit: 200,
        display: '@timestamp, camera, detail, @logStream',
      }),
      logGroups: [...logGroups],
    });
    new logs.QueryDefinition(this, 'ErrorsPerCameraQuery', {
      queryDefinitionName: `${namePrefix}/errors-per-camera`,
      queryString: new logs.QueryString({
        fields: ['@timestamp', '@message'],
        parseStatements: [parseCameraLine],
        filterStatements: ['ispresent(camera)', isProblem],
        statsStatements: [
          'count(*) as problems, latest(detail) as lastProblem, max(@timestamp) as lastSeen by camera',
        ],
        sort: 'lastSeen desc',
      }),
      logGroups: [...logGroups],
    });
    return lastErrors;
  }
}

/**
 * CloudWatch's alarm status widget for alarms known by ARN: what `AlarmStatusWidget` renders, without
 * an imported alarm construct for each of the gateway's 1,000 cameras.
 */
class AlarmStatusByArnWidget extends cloudwatch.ConcreteWidget {
  constructor(
    private readonly title: string,
    private readonly alarmArns: readonly string[],
    width: number,
    height: number,
  ) {
    super(width, height);
  }

  toJson() {
    return [
      {
        type: 'alarm',
        width: this.width,
        height: this.height,
        x: this.x,
        y: this.y,
        properties: { title: this.title, alarms: this.alarmArns },
      },
    ];
  }
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const result: T[][] = [];
  for (let i = 0; i < items.length; i += size) result.push(items.slice(i, i + size));
  return result;
}

function alarmsOf(alarms: CameraAlarms): cloudwatch.Alarm[] {
  return [alarms.noFrames, alarms.uploadFailing];
}

function instanceStatusCheckFailed(group: autoscaling.IAutoScalingGroup): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: 'AWS/EC2',
    metricName: 'StatusCheckFailed',
    dimensionsMap: { AutoScalingGroupName: group.autoScalingGroupName },
    statistic: cloudwatch.Stats.MAXIMUM,
    period: Duration.minutes(1),
  });
}

/** Container Insights' count of a service's running tasks (AWS/ECS itself has no such metric). */
function runningTaskCount(service: ecs.IBaseService): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: 'ECS/ContainerInsights',
    metricName: 'RunningTaskCount',
    dimensionsMap: { ClusterName: service.cluster.clusterName, ServiceName: service.serviceName },
    statistic: cloudwatch.Stats.AVERAGE,
    period: Duration.minutes(1),
  });
}

function ecsServiceMetric(service: ecs.IBaseService, metricName: string, label: string): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: 'AWS/ECS',
    metricName,
    dimensionsMap: { ClusterName: service.cluster.clusterName, ServiceName: service.serviceName },
    statistic: cloudwatch.Stats.AVERAGE,
    period: Duration.minutes(1),
    label,
  });
}

/** One graph per `MAX_METRICS_PER_GRAPH` shards, titled with the shards it shows when there are several. */
function shardGraphs(
  title: string,
  shards: readonly MonitoredShard[],
  metricOf: (shard: MonitoredShard) => cloudwatch.IMetric,
  options: Omit<cloudwatch.GraphWidgetProps, 'title' | 'left'>,
): cloudwatch.GraphWidget[] {
  const groups = chunks(shards, MAX_METRICS_PER_GRAPH);
  return groups.map(
    (group) =>
      new cloudwatch.GraphWidget({
        ...options,
        title: groups.length === 1 ? title : `${title} (shards ${group[0].id}-${group[group.length - 1].id})`,
        left: group.map(metricOf),
      }),
  );
}

function gatewayWidgets(props: GatewayMonitoringProps): cloudwatch.IWidget[] {
  const percentAxis = { min: 0, max: 100, label: '%', showUnits: false };
  const label = (shard: MonitoredShard) => `shard ${shard.id}`;
  if (props.gatewayKind === 'ec2') {
    const cpu = shardGraphs(
      'Gateway instances: CPU %',
      props.shards,
      (shard) =>
        new cloudwatch.Metric({
          namespace: 'AWS/EC2',
          metricName: 'CPUUtilization',
          dimensionsMap: {
            AutoScalingGroupName: (shard.compute as { autoScalingGroup: autoscaling.IAutoScalingGroup })
              .autoScalingGroup.autoScalingGroupName,
          },
          statistic: cloudwatch.Stats.AVERAGE,
          period: Duration.minutes(5),
          label: label(shard),
        }),
      { leftYAxis: percentAxis, width: 12 },
    );
    const memory = props.memoryUtilization
      ? new cloudwatch.GraphWidget({
          title: 'Gateway instances: memory %',
          left: [props.memoryUtilization],
          leftYAxis: percentAxis,
          width: 12,
        })
      : new cloudwatch.TextWidget({
          markdown:
            '**Gateway instances: memory %**\n\nEC2 does not measure memory; it appears here once the instances publish `mem_used_percent` with the CloudWatch agent.',
          width: 12,
          height: 6,
        });
    return [...cpu, memory];
  }
  // Running tasks: each shard's running-tasks alarm, in the grid above.
  const serviceOf = (shard: MonitoredShard) => (shard.compute as { service: ecs.IBaseService }).service;
  return [
    ...shardGraphs(
      'Gateway tasks: CPU %',
      props.shards,
      (shard) => ecsServiceMetric(serviceOf(shard), 'CPUUtilization', label(shard)),
      { leftYAxis: percentAxis, width: 12 },
    ),
    ...shardGraphs(
      'Gateway tasks: memory %',
      props.shards,
      (shard) => ecsServiceMetric(serviceOf(shard), 'MemoryUtilization', label(shard)),
      { leftYAxis: percentAxis, width: 12 },
    ),
  ];
}

/** One dashboard row: frames/s, bitrate, latency and errors of one camera's stream. */
function cameraWidgets(stream: CameraStream, latencyThreshold: Duration): cloudwatch.IWidget[] {
  const camera = stream.camera.name;
  const metrics = cameraStreamMetrics(stream.streamName);
  const schedule = stream.camera.schedule ? compileSchedule(stream.camera.schedule) : undefined;
  // A camera with a recording schedule: its off-schedule minutes are marked (1 on the right axis).
  const offSchedule = schedule
    ? new cloudwatch.MathExpression({
        expression: '1 - recording',
        usingMetrics: { recording: scheduleMath(schedule, metrics.incomingFrames, '').recording },
        label: `off schedule (${schedule.timeZone})`,
        period: Duration.minutes(1),
        color: '#bbbbbb',
      })
    : undefined;
  return [
    new cloudwatch.GraphWidget({
      title: `${camera}: frames/s${schedule ? ' (grey: off schedule)' : ''}`,
      left: [
        new cloudwatch.MathExpression({
          expression: 'frames / PERIOD(frames)',
          usingMetrics: { frames: metrics.incomingFrames },
          label: 'frames/s',
          period: Duration.minutes(1),
        }),
      ],
      leftYAxis: { min: 0, showUnits: false },
      ...(offSchedule
        ? { right: [offSchedule], rightYAxis: { min: 0, max: 1, showUnits: false, label: 'off schedule' } }
        : {}),
      width: 6,
    }),
    new cloudwatch.GraphWidget({
      title: `${camera}: bitrate kbit/s`,
      left: [
        new cloudwatch.MathExpression({
          expression: 'bytes * 8 / 1000 / PERIOD(bytes)',
          usingMetrics: { bytes: metrics.incomingBytes },
          label: 'kbit/s',
          period: Duration.minutes(1),
        }),
      ],
      leftAnnotations: [{ value: stream.camera.bitrateKbps, label: 'configured', color: '#aaaaaa' }],
      leftYAxis: { min: 0, showUnits: false },
      width: 6,
    }),
    new cloudwatch.GraphWidget({
      title: `${camera}: PutMedia latency ms`,
      left: [
        metrics.fragmentIngestionLatency.with({ label: 'fragment ingestion' }),
        metrics.connectLatency.with({ label: 'connect' }),
      ],
      leftAnnotations: [{ value: latencyThreshold.toMilliseconds(), label: 'alarm' }],
      leftYAxis: { min: 0, showUnits: false },
      width: 6,
    }),
    new cloudwatch.GraphWidget({
      title: `${camera}: errors`,
      left: [
        metrics.connectionErrors.with({ label: 'connection errors' }),
        metrics.errorAcks.with({ label: 'error acks' }),
      ],
      leftYAxis: { min: 0, showUnits: false },
      width: 6,
    }),
  ];
}
