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
import { MonitoringConfig } from './config';
import { CameraStream } from './stream-stack';

/** The compute that runs the camera pipelines, as the gateway-side alarms and the dashboard see it. */
export type MonitoredGateway =
  | {
      readonly kind: 'ec2';
      readonly autoScalingGroup: autoscaling.IAutoScalingGroup;
      /** The instance's memory use in percent (CloudWatch agent `mem_used_percent`), when it publishes one. */
      readonly memoryUtilization?: cloudwatch.IMetric;
    }
  | {
      readonly kind: 'fargate';
      /** One ECS service per shard of cameras. */
      readonly services: readonly ecs.IBaseService[];
      readonly desiredCountPerService: number;
    };

export interface GatewayMonitoringProps {
  readonly cameraStreams: readonly CameraStream[];
  readonly monitoring: MonitoringConfig;
  readonly gateway: MonitoredGateway;
  /** The log groups the camera pipelines write to; the saved Logs Insights queries search them. */
  readonly logGroups: readonly logs.ILogGroup[];
  /** Starts every alarm name and names the dashboard. @default the stack name */
  readonly namePrefix?: string;
  /**
   * A camera's latency alarm fires when KVS takes longer than this, on average for 5 minutes, to
   * receive one fragment. Fragments start at key frames, so in real time a fragment arrives over one
   * key-frame interval (1 to 4 s on most cameras); longer means the upload falls behind the camera.
   * @default 10 seconds
   */
  readonly fragmentLatencyThreshold?: Duration;
}

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

export interface CameraAlarms {
  readonly cameraName: string;
  readonly noFrames: cloudwatch.Alarm;
  readonly connectionErrors: cloudwatch.Alarm;
  readonly highLatency: cloudwatch.Alarm;
}

/**
 * Tells operators within minutes that a camera went dark or the gateway stopped: three alarms per
 * camera on the KVS metrics, the gateway's own alarms, one encrypted SNS topic for all of them,
 * a dashboard with one row per camera, and saved Logs Insights queries for the last errors.
 * It lives in the compute stack, so whichever gateway is deployed brings its own monitoring.
 */
export class GatewayMonitoring extends Construct {
  readonly alarmTopic: sns.ITopic;
  readonly cameraAlarms: readonly CameraAlarms[];
  readonly gatewayAlarms: readonly cloudwatch.Alarm[];
  readonly dashboard: cloudwatch.Dashboard;
  readonly lastErrorsQuery: logs.QueryDefinition;

  private readonly namePrefix: string;

  constructor(scope: Construct, id: string, props: GatewayMonitoringProps) {
    super(scope, id);
    this.namePrefix = props.namePrefix ?? Stack.of(this).stackName;
    const topic = this.createAlarmTopic(props.monitoring.alarmEmail);
    this.alarmTopic = topic;
    const notify = new cloudwatchActions.SnsAction(topic);

    const latencyThreshold = props.fragmentLatencyThreshold ?? Duration.seconds(10);
    this.cameraAlarms = props.cameraStreams.map((stream) =>
      this.createCameraAlarms(stream, props.monitoring.noFramesMinutes, latencyThreshold),
    );
    this.gatewayAlarms = this.createGatewayAlarms(props.gateway);
    for (const alarm of [...this.cameraAlarms.flatMap(alarmsOf), ...this.gatewayAlarms]) {
      alarm.addAlarmAction(notify);
      // The all-clear matters as much: the operator learns the camera came back without looking.
      alarm.addOkAction(notify);
    }

    this.dashboard = this.createDashboard(props, latencyThreshold);
    this.lastErrorsQuery = this.createLogQueries(props.logGroups);

    new CfnOutput(this, 'DashboardUrl', {
      description: 'The gateway dashboard: one row per camera',
      value: `https://${Aws.REGION}.console.aws.amazon.com/cloudwatch/home?region=${Aws.REGION}#dashboards/dashboard/${this.namePrefix}`,
    });
    new CfnOutput(this, 'AlarmTopicArn', {
      description:
        'Every camera and gateway alarm notifies this topic: subscribe your paging or chat tool to it',
      value: topic.topicArn,
    });
  }

  private createAlarmTopic(alarmEmail: string | undefined): sns.Topic {
    const topicKey = new kms.Key(this, 'AlarmTopicKey', {
      description: `Encrypts the ${this.namePrefix} alarm notifications`,
      enableKeyRotation: true,
      // It protects only notifications in flight: nothing needs it once the topic is gone.
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    const fromThisAccountsAlarms = {
      StringEquals: { 'aws:SourceAccount': Stack.of(this).account },
      ArnLike: {
        'aws:SourceArn': Stack.of(this).formatArn({
          service: 'cloudwatch',
          resource: 'alarm',
          resourceName: `${this.namePrefix}-*`,
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
        conditions: fromThisAccountsAlarms,
      }),
    );
    const topic = new sns.Topic(this, 'AlarmTopic', {
      displayName: `${this.namePrefix} camera and gateway alarms`,
      masterKey: topicKey,
      enforceSSL: true,
    });
    topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: fromThisAccountsAlarms,
      }),
    );
    if (alarmEmail) topic.addSubscription(new subscriptions.EmailSubscription(alarmEmail));
    return topic;
  }

  private createCameraAlarms(
    stream: CameraStream,
    noFramesMinutes: number,
    latencyThreshold: Duration,
  ): CameraAlarms {
    const camera = stream.camera.name;
    const metrics = cameraStreamMetrics(stream.streamName);
    const scope = new Construct(this, `Camera-${camera}`);
    return {
      cameraName: camera,
      noFrames: metrics.incomingFrames.createAlarm(scope, 'NoFrames', {
        alarmName: `${this.namePrefix}-${camera}-no-frames`,
        alarmDescription: `No video frame from camera "${camera}" reached KVS stream "${stream.streamName}" for ${noFramesMinutes} minute(s): the camera, its network or the gateway is down. Check the dashboard and the "camera-errors" Logs Insights query.`,
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        // One-minute periods, all breaching: the alarm fires noFramesMinutes after the last frame.
        evaluationPeriods: noFramesMinutes,
        datapointsToAlarm: noFramesMinutes,
        // KVS publishes nothing for a stream that receives nothing: silence is the outage itself.
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      }),
      connectionErrors: metrics.connectionErrors.createAlarm(scope, 'ConnectionErrors', {
        alarmName: `${this.namePrefix}-${camera}-connection-errors`,
        alarmDescription: `kvssink failed to open a PutMedia connection to KVS stream "${stream.streamName}" (camera "${camera}") in 3 of the last 5 minutes: check the gateway's IAM role, the stream's KMS key and its route to the KVS endpoint.`,
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        // A single failed reconnect is normal (kvssink retries); errors in most minutes are not.
        evaluationPeriods: 5,
        datapointsToAlarm: 3,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      highLatency: metrics.fragmentIngestionLatency.createAlarm(scope, 'HighLatency', {
        alarmName: `${this.namePrefix}-${camera}-high-latency`,
        alarmDescription: `Fragments of KVS stream "${stream.streamName}" (camera "${camera}") took more than ${latencyThreshold.toSeconds()} s to arrive for 5 minutes: the gateway's upload falls behind the camera (bandwidth or CPU), so video reaches KVS late and kvssink's buffer fills.`,
        threshold: latencyThreshold.toMilliseconds(),
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 5,
        datapointsToAlarm: 5,
        // No fragments is the no-frames alarm's job.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    };
  }

  private createGatewayAlarms(gateway: MonitoredGateway): cloudwatch.Alarm[] {
    if (gateway.kind === 'ec2') {
      const statusCheckFailed = new cloudwatch.Metric({
        namespace: 'AWS/EC2',
        metricName: 'StatusCheckFailed',
        dimensionsMap: { AutoScalingGroupName: gateway.autoScalingGroup.autoScalingGroupName },
        statistic: cloudwatch.Stats.MAXIMUM,
        period: Duration.minutes(1),
      });
      return [
        statusCheckFailed.createAlarm(this, 'GatewayInstanceStatusCheck', {
          alarmName: `${this.namePrefix}-gateway-instance-status-check`,
          alarmDescription:
            'The gateway instance failed its EC2 status checks, or no instance has reported for 5 minutes: every camera on it is down until the Auto Scaling group replaces it.',
          threshold: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          evaluationPeriods: 5,
          datapointsToAlarm: 5,
          // No instance in the group reports nothing: that is the gateway being down.
          treatMissingData: cloudwatch.TreatMissingData.BREACHING,
        }),
      ];
    }
    return gateway.services.map((service, i) =>
      runningTaskCount(service).createAlarm(this, `GatewayService${i + 1}RunningTasks`, {
        alarmName: `${this.namePrefix}-gateway-service-${i + 1}-running-tasks`,
        alarmDescription: `Fewer than ${gateway.desiredCountPerService} task(s) of gateway service ${service.serviceName} ran for 5 minutes: its cameras are down while ECS restarts the task (look at the service's events and stopped tasks).`,
        threshold: gateway.desiredCountPerService,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: 5,
        datapointsToAlarm: 5,
        // Container Insights reports nothing when no task runs (or when it is off): treat as down.
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      }),
    );
  }

  private createDashboard(props: GatewayMonitoringProps, latencyThreshold: Duration): cloudwatch.Dashboard {
    const header: cloudwatch.IWidget[] = [
      new cloudwatch.TextWidget({
        markdown: [
          `# ${this.namePrefix}: KVS camera gateway`,
          `${props.cameraStreams.length} camera(s). A camera alarms after ${props.monitoring.noFramesMinutes} minute(s) without a frame.`,
          `Last errors: Logs Insights, saved query \`${this.namePrefix}/camera-errors\`.`,
        ].join('\n\n'),
        width: 8,
        height: 6,
      }),
      ...chunks([...this.gatewayAlarms, ...this.cameraAlarms.flatMap(alarmsOf)], MAX_ALARMS_PER_WIDGET).map(
        (alarms, i) =>
          new cloudwatch.AlarmStatusWidget({
            title: i === 0 ? 'Alarms' : `Alarms (${i + 1})`,
            alarms,
            width: 16,
            height: 6,
          }),
      ),
    ];
    const rows = [
      header,
      gatewayWidgets(props.gateway),
      ...props.cameraStreams.map((stream) => cameraWidgets(stream, latencyThreshold)),
    ];
    const widgetCount = rows.reduce((count, row) => count + row.length, 0);
    if (widgetCount > MAX_DASHBOARD_WIDGETS) {
      throw new Error(
        `cameras: ${props.cameraStreams.length} cameras need ${widgetCount} dashboard widgets, more than the ${MAX_DASHBOARD_WIDGETS} a CloudWatch dashboard holds; split the cameras over several gateways`,
      );
    }
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: this.namePrefix,
      defaultInterval: Duration.hours(3),
    });
    for (const row of rows) dashboard.addWidgets(...row);
    return dashboard;
  }

  private createLogQueries(logGroups: readonly logs.ILogGroup[]): logs.QueryDefinition {
    // run-camera.sh writes `run-camera[<camera>]: <message>`; kvssink's own lines carry no camera
    // name, but their log stream (one per camera unit or container) says which camera they belong to.
    const parseCameraLine = '@message /run-camera\\[(?<camera>[^\\]]+)\\]: (?<detail>.*)/';
    const isProblem =
      'detail like /(?i)(error|fail|refused|denied|unauthori[sz]ed|timed? ?out|stall|warning|restarting)/';
    const lastErrors = new logs.QueryDefinition(this, 'CameraErrorsQuery', {
      queryDefinitionName: `${this.namePrefix}/camera-errors`,
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
      queryDefinitionName: `${this.namePrefix}/errors-per-camera`,
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

const MAX_DASHBOARD_WIDGETS = 500;
/** An alarm status widget lists at most 100 alarms. */
const MAX_ALARMS_PER_WIDGET = 100;

function chunks<T>(items: readonly T[], size: number): T[][] {
  const result: T[][] = [];
  for (let i = 0; i < items.length; i += size) result.push(items.slice(i, i + size));
  return result;
}

function alarmsOf(alarms: CameraAlarms): cloudwatch.Alarm[] {
  return [alarms.noFrames, alarms.connectionErrors, alarms.highLatency];
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

function gatewayWidgets(gateway: MonitoredGateway): cloudwatch.IWidget[] {
  const percentAxis = { min: 0, max: 100, label: '%', showUnits: false };
  if (gateway.kind === 'ec2') {
    const cpu = new cloudwatch.Metric({
      namespace: 'AWS/EC2',
      metricName: 'CPUUtilization',
      dimensionsMap: { AutoScalingGroupName: gateway.autoScalingGroup.autoScalingGroupName },
      statistic: cloudwatch.Stats.AVERAGE,
      period: Duration.minutes(5),
      label: 'CPU',
    });
    return [
      new cloudwatch.GraphWidget({
        title: 'Gateway instance: CPU %',
        left: [cpu],
        leftYAxis: percentAxis,
        width: 12,
      }),
      gateway.memoryUtilization
        ? new cloudwatch.GraphWidget({
            title: 'Gateway instance: memory %',
            left: [gateway.memoryUtilization],
            leftYAxis: percentAxis,
            width: 12,
          })
        : new cloudwatch.TextWidget({
            markdown:
              '**Gateway instance: memory %**\n\nEC2 does not measure memory; it appears here once the instance publishes `mem_used_percent` with the CloudWatch agent.',
            width: 12,
            height: 6,
          }),
    ];
  }
  const shard = (i: number) => `service ${i + 1}`;
  return [
    new cloudwatch.GraphWidget({
      title: 'Gateway tasks: CPU %',
      left: gateway.services.map((service, i) => ecsServiceMetric(service, 'CPUUtilization', shard(i))),
      leftYAxis: percentAxis,
      width: 8,
    }),
    new cloudwatch.GraphWidget({
      title: 'Gateway tasks: memory %',
      left: gateway.services.map((service, i) => ecsServiceMetric(service, 'MemoryUtilization', shard(i))),
      leftYAxis: percentAxis,
      width: 8,
    }),
    new cloudwatch.GraphWidget({
      title: 'Gateway tasks: running',
      left: gateway.services.map((service, i) => runningTaskCount(service).with({ label: shard(i) })),
      leftAnnotations: [{ value: gateway.desiredCountPerService, label: 'desired' }],
      leftYAxis: { min: 0, showUnits: false },
      width: 8,
    }),
  ];
}

/** One dashboard row: frames/s, bitrate, latency and errors of one camera's stream. */
function cameraWidgets(stream: CameraStream, latencyThreshold: Duration): cloudwatch.IWidget[] {
  const camera = stream.camera.name;
  const metrics = cameraStreamMetrics(stream.streamName);
  return [
    new cloudwatch.GraphWidget({
      title: `${camera}: frames/s`,
      left: [
        new cloudwatch.MathExpression({
          expression: 'frames / PERIOD(frames)',
          usingMetrics: { frames: metrics.incomingFrames },
          label: 'frames/s',
          period: Duration.minutes(1),
        }),
      ],
      leftYAxis: { min: 0, showUnits: false },
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
