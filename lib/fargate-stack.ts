import * as path from 'node:path';
import { CfnOutput, IgnoreMode, Stack, StackProps } from 'aws-cdk-lib';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { FargateConfig, MonitoringConfig } from './config';
import { FargateGatewayShard, TASKS_PER_SHARD } from './fargate-gateway-shard';
import { createGatewayLogGroup } from './gateway-log-group';
import { AlarmTopic, GatewayMonitoring } from './gateway-monitoring';
import { NetworkStack } from './network-stack';
import { ProducerGuard } from './producer-guard';
import { shardsOf } from './shards';
import { StreamStack } from './stream-stack';

export { FargateGatewayShard, TASKS_PER_SHARD } from './fargate-gateway-shard';

/** The project root: the image's build context, narrowed by its `.dockerignore`. */
export const CONTAINER_BUILD_CONTEXT = path.join(__dirname, '..');
export const DOCKERFILE = 'container/Dockerfile';

export interface FargateGatewayStackProps extends StackProps {
  readonly fargate: FargateConfig;
  /** The config's site, which names the shards' camera lists; none: the names without a site. */
  readonly site?: string;
  /** SSM path under which each camera's RTSP URL is a SecureString (see `cameraUrlParameterName`). */
  readonly parameterPrefix: string;
  /** The Producer SDK release kvssink is built from: the same tag as the EC2 gateway's. */
  readonly producerSdkTag: string;
  /** Log retention, and the alarms and dashboard this stack brings. */
  readonly monitoring: MonitoringConfig;
  /** The site-wide parameter both gateways claim (`deployedGatewayParameterName`). */
  readonly deployedGatewayParameterName: string;
  readonly network: NetworkStack;
  readonly streams: StreamStack;
}

/**
 * The gateway as containers on ECS Fargate: no instance to patch. One ECS service (one task) per shard
 * of cameras (`cameras[].shard`), each shard a nested stack (`FargateGatewayShard`) that deploys with
 * this one. Here: what the shards share (cluster, image, log group, alarm topic, dashboard) and the
 * guard that keeps a second gateway of the site from streaming the same cameras.
 */
export class FargateGatewayStack extends Stack {
  readonly cluster: ecs.Cluster;
  readonly shards: readonly FargateGatewayShard[];
  readonly logGroup: logs.LogGroup;
  readonly producerGuard: ProducerGuard;
  readonly monitoring: GatewayMonitoring;

  constructor(scope: Construct, id: string, props: FargateGatewayStackProps) {
    super(scope, id, props);
    const { network, streams, fargate } = props;
    // The tasks write the streams: never before they exist.
    this.addStackDependency(streams);

    this.producerGuard = new ProducerGuard(this, 'ProducerGuard', {
      parameterName: props.deployedGatewayParameterName,
    });
    this.cluster = new ecs.Cluster(this, 'Cluster', {
      vpc: network.vpc,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
    });
    new CfnOutput(this, 'ClusterName', { value: this.cluster.clusterName });
    this.logGroup = createGatewayLogGroup(this, {
      keyDescription: 'Encrypts the KVS gateway container logs',
      retentionDays: props.monitoring.logRetentionDays,
    });
    // One image asset for every shard: its build context is fingerprinted once per synth.
    const imageAsset = new ecrAssets.DockerImageAsset(this, 'Image', {
      directory: CONTAINER_BUILD_CONTEXT,
      file: DOCKERFILE,
      ignoreMode: IgnoreMode.DOCKER,
      platform:
        fargate.architecture === 'arm64' ? ecrAssets.Platform.LINUX_ARM64 : ecrAssets.Platform.LINUX_AMD64,
      buildArgs: { PRODUCER_SDK_TAG: props.producerSdkTag },
    });
    const image = ecs.ContainerImage.fromDockerImageAsset(imageAsset);
    const alarmTopic = new AlarmTopic(this, 'AlarmTopic', {
      namePrefix: this.stackName,
      alarmEmail: props.monitoring.alarmEmail,
    });

    this.shards = shardsOf(streams.cameraStreams).map((shard) => {
      const shardStack = new FargateGatewayShard(this, `Shard${shard.id}`, {
        shard,
        fargate,
        parameterPrefix: props.parameterPrefix,
        site: props.site,
        cluster: this.cluster,
        image,
        logGroup: this.logGroup,
        network,
        streams,
        alarmTopic: alarmTopic.topic,
        gatewayStackName: this.stackName,
        noFramesMinutes: props.monitoring.noFramesMinutes,
      });
      this.producerGuard.guard(shardStack);
      return shardStack;
    });

    this.monitoring = new GatewayMonitoring(this, 'Monitoring', {
      cameraStreams: streams.cameraStreams,
      monitoring: props.monitoring,
      gatewayKind: 'fargate',
      shards: this.shards.map((shard) => ({
        id: shard.shardId,
        compute: { kind: 'fargate', service: shard.service, desiredCount: TASKS_PER_SHARD },
      })),
      alarmTopic: alarmTopic.topic,
      logGroups: [this.logGroup],
      namePrefix: this.stackName,
    });
  }
}
