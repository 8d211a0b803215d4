import * as path from 'node:path';
import { CfnOutput, Duration, IgnoreMode, Stack, StackProps, Validations } from 'aws-cdk-lib';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { cameraUrlParameterName, FargateConfig, MonitoringConfig } from './config';
import { createGatewayLogGroup } from './gateway-log-group';
import { GatewayMonitoring } from './gateway-monitoring';
import { NetworkStack } from './network-stack';
import { CameraStream, StreamStack } from './stream-stack';

/** The project root: the image's build context, narrowed by its `.dockerignore`. */
export const CONTAINER_BUILD_CONTEXT = path.join(__dirname, '..');
export const DOCKERFILE = 'container/Dockerfile';
/** Where the image installs the gateway's scripts (container/Dockerfile). */
const GATEWAY_BIN = '/opt/kvs-gateway/bin';
/** Two tasks writing one KVS stream conflict: each shard runs exactly one task. */
const TASKS_PER_SHARD = 1;
/** run-camera.sh's exit codes that mean a person must act: restarting cannot help (see the script). */
const PERMANENT_EXIT_CODES = [2, 3, 4, 5];

export interface FargateGatewayStackProps extends StackProps {
  readonly fargate: FargateConfig;
  /** SSM path under which each camera's RTSP URL is a SecureString (see `cameraUrlParameterName`). */
  readonly parameterPrefix: string;
  /** The Producer SDK release kvssink is built from: the same tag as the EC2 gateway's. */
  readonly producerSdkTag: string;
  /** Log retention, and the alarms and dashboard this stack brings (GatewayMonitoring). */
  readonly monitoring: MonitoringConfig;
  readonly network: NetworkStack;
  readonly streams: StreamStack;
}

/**
 * An ECS container name for a camera: letters, digits, "_" and "-" only, so "." becomes "_"; the
 * camera's place in its task keeps names that differ only there apart.
 */
export function cameraContainerName(cameraName: string, indexInTask: number): string {
  return `camera${indexInTask + 1}-${cameraName.replace(/\./g, '_')}`.slice(0, 255);
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

/** Splits the cameras into consecutive groups of at most `camerasPerTask`, one group per task. */
export function shardCameras<T>(cameras: readonly T[], camerasPerTask: number): T[][] {
  const shards: T[][] = [];
  for (let i = 0; i < cameras.length; i += camerasPerTask) shards.push(cameras.slice(i, i + camerasPerTask));
  return shards;
}

/**
 * The gateway as containers on ECS Fargate: no instance to patch. Cameras are sharded over tasks, one
 * service per shard; in a task, one container per camera runs the EC2 gateway's run script, and one
 * essential container keeps kvssink's credential file fresh for all of them.
 */
export class FargateGatewayStack extends Stack {
  readonly cluster: ecs.Cluster;
  readonly services: readonly ecs.FargateService[];
  readonly taskRole: iam.Role;
  readonly logGroup: logs.LogGroup;
  readonly monitoring: GatewayMonitoring;

  constructor(scope: Construct, id: string, props: FargateGatewayStackProps) {
    super(scope, id, props);
    const { network, streams, fargate } = props;

    this.cluster = new ecs.Cluster(this, 'Cluster', {
      vpc: network.vpc,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
    });

    new CfnOutput(this, 'ClusterName', { value: this.cluster.clusterName });
    this.logGroup = createGatewayLogGroup(this, {
      keyDescription: 'Encrypts the KVS gateway container logs',
      retentionDays: props.monitoring.logRetentionDays,
    });

    const image = ecs.ContainerImage.fromAsset(CONTAINER_BUILD_CONTEXT, {
      file: DOCKERFILE,
      ignoreMode: IgnoreMode.DOCKER,
      platform:
        fargate.architecture === 'arm64' ? ecrAssets.Platform.LINUX_ARM64 : ecrAssets.Platform.LINUX_AMD64,
      buildArgs: { PRODUCER_SDK_TAG: props.producerSdkTag },
    });

    // One role for every task: kvssink writes the camera streams, nothing else. Its credentials reach
    // kvssink through the credential file, refreshed before they expire.
    this.taskRole = new iam.Role(this, 'TaskRole', {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
      description: 'KVS gateway tasks: write the camera streams',
    });
    streams.grantProducer(this.taskRole);

    this.services = shardCameras(streams.cameraStreams, fargate.camerasPerTask).map((shard, i) =>
      this.createShardService(`Shard${i + 1}`, shard, image, props),
    );

    this.monitoring = new GatewayMonitoring(this, 'Monitoring', {
      cameraStreams: streams.cameraStreams,
      monitoring: props.monitoring,
      gateway: { kind: 'fargate', services: this.services, desiredCountPerService: TASKS_PER_SHARD },
      logGroups: [this.logGroup],
    });
  }

  private createShardService(
    id: string,
    shard: readonly CameraStream[],
    image: ecs.ContainerImage,
    props: FargateGatewayStackProps,
  ): ecs.FargateService {
    const { fargate, network } = props;
    const shardScope = new Construct(this, id);
    const taskDefinition = new ecs.FargateTaskDefinition(shardScope, 'Task', {
      cpu: fargate.cpu,
      memoryLimitMiB: fargate.memoryMiB,
      runtimePlatform: {
        cpuArchitecture:
          fargate.architecture === 'arm64' ? ecs.CpuArchitecture.ARM64 : ecs.CpuArchitecture.X86_64,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
      taskRole: this.taskRole,
    });
    // ECS creates each task's volumes with the owner and mode their folder has in the image (VOLUME).
    taskDefinition.addVolume({ name: 'credentials' });

    // The only essential container: without fresh credentials no camera can write, so the task (and
    // every camera in it) is replaced when the refresher fails for good. Cameras are never essential.
    const credentials = taskDefinition.addContainer('credentials', {
      image,
      linuxParameters: hardenedLinuxParameters(shardScope, 'CredentialsLinux'),
      command: ['credentials'],
      essential: true,
      readonlyRootFilesystem: true,
      logging: ecs.LogDrivers.awsLogs({ logGroup: this.logGroup, streamPrefix: id }),
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
      containerPath: '/run/kvs-gateway',
      readOnly: false,
    });

    shard.forEach((cameraStream, indexInTask) => {
      const { camera } = cameraStream;
      const containerName = cameraContainerName(camera.name, indexInTask);
      const scratchVolume = `scratch-${indexInTask + 1}`;
      taskDefinition.addVolume({ name: scratchVolume });
      const urlParameter = ssm.StringParameter.fromSecureStringParameterAttributes(
        shardScope,
        `Url-${camera.name}`,
        { parameterName: cameraUrlParameterName(props.parameterPrefix, camera.name) },
      );
      const container = taskDefinition.addContainer(containerName, {
        image,
        linuxParameters: hardenedLinuxParameters(shardScope, `Linux-${camera.name}`),
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
        },
        // ECS reads the SecureString with the execution role and hands it to the container only:
        // the URL and its password are in no template, task definition or log.
        secrets: { RTSP_URL: ecs.Secret.fromSsmParameter(urlParameter) },
        // Log streams are named <camera>/<container>/<task id>, whichever task the camera runs in.
        logging: ecs.LogDrivers.awsLogs({ logGroup: this.logGroup, streamPrefix: camera.name }),
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
        { sourceVolume: 'credentials', containerPath: '/run/kvs-gateway', readOnly: true },
        { sourceVolume: scratchVolume, containerPath: '/tmp', readOnly: false },
      );
      container.addContainerDependencies({
        container: credentials,
        condition: ecs.ContainerDependencyCondition.HEALTHY,
      });
    });

    Validations.of(taskDefinition.obtainExecutionRole()).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
      reason:
        'ecr:GetAuthorizationToken has no resource-level permissions (IAM allows only "*"); every other statement names the image repository, the log group or the camera parameters.',
    });
    Validations.of(taskDefinition).acknowledge({
      id: 'AwsSolutions::AwsSolutions-ECS2',
      reason:
        'The environment holds only the camera and stream names, the region, the codec and the audio switch; the camera URL comes from SSM as a secret.',
    });

    const service = new ecs.FargateService(shardScope, 'Service', {
      cluster: this.cluster,
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
    // What an operator needs to restart a shard after fixing a camera (update-service --force-new-deployment).
    new CfnOutput(this, `${id}ServiceName`, {
      description: `ECS service of ${id}, cameras: ${shard.map((c) => c.camera.name).join(', ')}`.slice(
        0,
        1024,
      ),
      value: service.serviceName,
    });
    return service;
  }
}
