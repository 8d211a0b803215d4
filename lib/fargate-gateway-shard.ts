import { CfnOutput, Duration, NestedStack, Validations } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { cameraContainerName } from './camera-names';
import { cameraUrlParameterName, FargateConfig } from './config';
import { ShardAlarms } from './gateway-monitoring';
import { NetworkStack } from './network-stack';
import { Shard, shardCameraListJson } from './shards';
import { cameraListParameterName } from './site-names';
import { CameraStream, StreamStack, streamArnAcknowledgements } from './stream-stack';

/** Where the image installs the gateway's scripts (container/Dockerfile). */
const GATEWAY_BIN = '/opt/kvs-gateway/bin';
/** The task's shared volume: the credential file, and the cameras' recording schedules under it. */
const SHARED_FOLDER = '/run/kvs-gateway';
const SCHEDULE_FOLDER = `${SHARED_FOLDER}/schedules`;
/** Two tasks writing one KVS stream conflict: each shard runs exactly one task. */
export const TASKS_PER_SHARD = 1;
/** run-camera.sh's exit codes that mean a person must act: restarting cannot help (see the script). */
const PERMANENT_EXIT_CODES = [2, 3, 4, 5];

/**
 * A camera URL parameter as a container secret, read by ECS with the execution role. ECS asks for
 * secrets with ssm:GetParameters only (and SSM decrypts under the AWS managed key aws/ssm without a KMS
 * grant), so that is all the role gets: `Secret.fromSsmParameter` would add GetParameter,
 * GetParameterHistory and DescribeParameters, which nothing calls.
 */
class CameraUrlSecret extends ecs.Secret {
  readonly hasField = false;

  constructor(private readonly parameter: ssm.IParameter) {
    super();
  }

  get arn(): string {
    return this.parameter.parameterArn;
  }

  grantRead(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['ssm:GetParameters'],
      resourceArns: [this.parameter.parameterArn],
    });
  }
}

/**
 * An init process as PID 1 (ECS's tini): it forwards ECS's SIGTERM to the script and reaps the
 * processes GStreamer and the scripts leave behind, which a shell as PID 1 would do neither of.
 * No Linux capability: the gateway only opens outbound connections and writes its own files.
 */
function hardenedLinuxParameters(scope: Construct, id: string): ecs.LinuxParameters {
  const linuxParameters = new ecs.LinuxParameters(scope, id, { initProcessEnabled: true });
  linuxParameters.dropCapabilities(ecs.Capability.ALL);
  return linuxParameters;
}

export interface FargateGatewayShardProps {
  readonly shard: Shard<CameraStream>;
  readonly fargate: FargateConfig;
  /** SSM path under which each camera's RTSP URL is a SecureString (see `cameraUrlParameterName`). */
  readonly parameterPrefix: string;
  /** The config's site, which names the shard's camera list. */
  readonly site?: string;
  readonly cluster: ecs.ICluster;
  readonly image: ecs.ContainerImage;
  readonly logGroup: logs.ILogGroup;
  readonly network: NetworkStack;
  readonly streams: StreamStack;
  readonly alarmTopic: sns.ITopic;
  /** The compute stack's name: it begins alarm names and the task definition's family. */
  readonly gatewayStackName: string;
  readonly noFramesMinutes: number;
}

/**
 * One shard of the Fargate gateway, in a nested stack of its own: one ECS service running one task, in
 * which one container per camera of the shard runs the EC2 gateway's run script and one essential
 * container keeps kvssink's credential file fresh for all of them. Its task role may write the
 * shard's streams only.
 */
export class FargateGatewayShard extends NestedStack {
  /** The shard number of its cameras (`cameras[].shard`). */
  readonly shardId: number;
  readonly service: ecs.FargateService;
  readonly taskDefinition: ecs.FargateTaskDefinition;
  readonly taskRole: iam.Role;
  readonly alarms: ShardAlarms;
  /** The shard's camera list, from which the task takes its cameras' recording schedules (live). */
  readonly cameraListParameter: ssm.StringParameter;

  constructor(scope: Construct, id: string, props: FargateGatewayShardProps) {
    super(scope, id, {
      description: `KVS cloud gateway on ECS Fargate, shard ${props.shard.id}: ${props.shard.members.length} camera(s)`,
    });
    this.shardId = props.shard.id;
    const { fargate, network, shard, image } = props;
    const logPrefix = `shard-${shard.id}`;

    // kvssink writes the shard's streams, nothing else. Its credentials reach kvssink through the
    // credential file, refreshed before they expire.
    this.taskRole = new iam.Role(this, 'TaskRole', {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
      description: `KVS gateway task of shard ${shard.id}: write its camera streams`,
    });
    props.streams.grantProducer(this.taskRole, shard.members);
    Validations.of(this.taskRole).acknowledge(...streamArnAcknowledgements(shard.members));

    // Live configuration, as on EC2: the recording schedules come from this list, read by the task every
    // minute, so that a changed schedule never needs a new task definition (which restarts every camera).
    const cameraListName = cameraListParameterName(props.site, shard.id, 'fargate');
    this.cameraListParameter = new ssm.StringParameter(this, 'CameraList', {
      parameterName: cameraListName,
      description: `The camera list of Fargate gateway shard ${shard.id}: its task reads the recording schedules from it`,
      stringValue: shardCameraListJson(
        { parameterPrefix: props.parameterPrefix },
        shard.members.map((member) => member.camera),
      ),
    });
    this.taskRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['ssm:GetParameter'],
        resources: [
          this.formatArn({ service: 'ssm', resource: 'parameter', resourceName: cameraListName.slice(1) }),
        ],
      }),
    );

    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'Task', {
      // Account-wide names: the site's stack name keeps two sites' revisions apart.
      family: `${props.gatewayStackName}-shard-${shard.id}`,
      cpu: fargate.cpu,
      memoryLimitMiB: fargate.memoryMiB,
      runtimePlatform: {
        cpuArchitecture:
          fargate.architecture === 'arm64' ? ecs.CpuArchitecture.ARM64 : ecs.CpuArchitecture.X86_64,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
      taskRole: this.taskRole,
    });
    const taskDefinition = this.taskDefinition;
    // ECS creates each task's volumes with the owner and mode their folder has in the image (VOLUME).
    taskDefinition.addVolume({ name: 'credentials' });

    // The only essential container: without fresh credentials no camera can write, so the task (and
    // every camera in it) is replaced when the refresher fails for good. Cameras are never essential.
    const credentials = taskDefinition.addContainer('credentials', {
      image,
      linuxParameters: hardenedLinuxParameters(this, 'CredentialsLinux'),
      command: ['credentials'],
      essential: true,
      readonlyRootFilesystem: true,
      environment: {
        AWS_REGION: this.region,
        KVS_CAMERA_LIST_PARAMETER: cameraListName,
        KVS_SCHEDULE_DIR: SCHEDULE_FOLDER,
      },
      logging: ecs.LogDrivers.awsLogs({ logGroup: props.logGroup, streamPrefix: logPrefix }),
      // The cameras start when this check first passes, and Docker runs the first check one interval
      // after the start: a short interval starts them sooner (the check only reads a small file).
      healthCheck: {
        command: ['CMD', `${GATEWAY_BIN}/entrypoint.sh`, 'check-credentials'],
        interval: Duration.seconds(10),
        timeout: Duration.seconds(5),
        retries: 3,
        startPeriod: Duration.seconds(10),
      },
    });
    credentials.addMountPoints({
      sourceVolume: 'credentials',
      containerPath: SHARED_FOLDER,
      readOnly: false,
    });

    for (const cameraStream of shard.members) {
      const { camera } = cameraStream;
      const containerName = cameraContainerName(camera.name);
      const scratchVolume = `scratch-${containerName}`;
      taskDefinition.addVolume({ name: scratchVolume });
      const urlParameter = ssm.StringParameter.fromSecureStringParameterAttributes(
        this,
        `Url-${camera.name}`,
        {
          parameterName: cameraUrlParameterName(props.parameterPrefix, camera.name),
        },
      );
      const container = taskDefinition.addContainer(containerName, {
        image,
        linuxParameters: hardenedLinuxParameters(this, `Linux-${camera.name}`),
        command: ['camera'],
        // A camera that fails stops alone; the others in the task go on. ECS restarts it in place
        // unless it exited on an error that only a person can fix (then the no-frames alarm fires).
        essential: false,
        enableRestartPolicy: true,
        restartAttemptPeriod: Duration.seconds(60),
        restartIgnoredExitCodes: [0, ...PERMANENT_EXIT_CODES],
        readonlyRootFilesystem: true,
        environment: {
          CAMERA_NAME: camera.name,
          STREAM_NAME: cameraStream.streamName,
          AWS_REGION: this.region,
          CODEC: camera.codec,
          AUDIO: String(camera.audio),
          // Written by the credentials container from the camera list (absent: waits a little, then records).
          RECORDING_SCHEDULE_FILE: `${SCHEDULE_FOLDER}/${camera.name}.schedule.json`,
        },
        // ECS reads the SecureString with the execution role and hands it to the container only:
        // the URL and its password are in no template, task definition or log.
        secrets: { RTSP_URL: new CameraUrlSecret(urlParameter) },
        // Log streams are named <camera>/<container>/<task id>, whichever shard the camera runs in.
        logging: ecs.LogDrivers.awsLogs({ logGroup: props.logGroup, streamPrefix: camera.name }),
        // Fails once no video frame has passed for 30 s: run-camera.sh keeps its health file fresh from
        // the video pad, so a process that runs without video is unhealthy.
        healthCheck: {
          command: ['CMD', `${GATEWAY_BIN}/run-camera.sh`, '--check-health'],
          interval: Duration.seconds(30),
          timeout: Duration.seconds(5),
          retries: 3,
          startPeriod: Duration.seconds(60),
        },
        // run-camera.sh gives kvssink up to 20 s after SIGTERM to upload what it buffered.
        stopTimeout: Duration.seconds(30),
      });
      container.addMountPoints(
        { sourceVolume: 'credentials', containerPath: SHARED_FOLDER, readOnly: true },
        { sourceVolume: scratchVolume, containerPath: '/tmp', readOnly: false },
      );
      container.addContainerDependencies({
        container: credentials,
        condition: ecs.ContainerDependencyCondition.HEALTHY,
      });
    }

    Validations.of(taskDefinition.obtainExecutionRole()).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
      reason:
        'ecr:GetAuthorizationToken has no resource-level permissions (IAM allows only "*"); every other statement names the image repository, the log group or the camera parameters.',
    });
    Validations.of(taskDefinition).acknowledge({
      id: 'AwsSolutions::AwsSolutions-ECS2',
      reason:
        'The environment holds only the camera and stream names, the region, the codec, the audio switch, the name of the camera list parameter and the path of a schedule file; the camera URL comes from SSM as a secret.',
    });

    const executionRole = taskDefinition.obtainExecutionRole();
    this.service = new ecs.FargateService(this, 'Service', {
      cluster: props.cluster,
      taskDefinition,
      desiredCount: TASKS_PER_SHARD,
      // Two producers on one KVS stream conflict: a deployment stops the old task before it starts the new one.
      minHealthyPercent: 0,
      maxHealthyPercent: 100,
      circuitBreaker: { enable: true, rollback: true },
      platformVersion: ecs.FargatePlatformVersion.LATEST,
      vpcSubnets: network.gatewaySubnets,
      securityGroups: [network.gatewaySecurityGroup],
      assignPublicIp: network.assignPublicIp,
      propagateTags: ecs.PropagatedTagSource.SERVICE,
    });

    // A task reads every camera's URL when it starts, in GetParameters calls that fail whole when the
    // role may not read one name: a deploy that adds a camera grants its parameter before the service
    // starts a task that asks for it, or every camera of the shard would stay down.
    this.service.node.addDependency(executionRole);

    this.alarms = new ShardAlarms(this, 'Alarms', {
      shard: shard.id,
      cameraStreams: shard.members,
      compute: { kind: 'fargate', service: this.service, desiredCount: TASKS_PER_SHARD },
      namePrefix: props.gatewayStackName,
      alarmTopic: props.alarmTopic,
      noFramesMinutes: props.noFramesMinutes,
    });

    // What an operator needs to restart a shard after fixing a camera (update-service --force-new-deployment).
    new CfnOutput(this, 'ServiceName', {
      description:
        `ECS service of shard ${shard.id}, cameras: ${shard.members.map((c) => c.camera.name).join(', ')}`.slice(
          0,
          1024,
        ),
      value: this.service.serviceName,
    });
  }
}
