import { Aws, CfnOutput, Stack, StackProps } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';
import { GatewayConfig } from './config';
import { Ec2GatewayShard, GATEWAY_TAG, SHARD_TAG, USERDATA_DIR } from './ec2-gateway-shard';
import { createGatewayLogGroup } from './gateway-log-group';
import { AlarmTopic, GatewayMonitoring } from './gateway-monitoring';
import { gatewayRolePath, KvssinkCache } from './kvssink-cache';
import { NetworkStack } from './network-stack';
import { ProducerGuard } from './producer-guard';
import { shardsOf } from './shards';
import { StreamStack } from './stream-stack';

export {
  Ec2GatewayShard,
  GATEWAY_TAG,
  INSTALL_TIMEOUT,
  SHARD_TAG,
  ubuntuImageParameter,
  USERDATA_DIR,
  USERDATA_SCRIPTS,
  userDataScript,
} from './ec2-gateway-shard';

export interface Ec2GatewayStackProps extends StackProps {
  readonly config: GatewayConfig;
  /** The site-wide parameter both gateways claim (`deployedGatewayParameterName`). */
  readonly deployedGatewayParameterName: string;
  readonly network: NetworkStack;
  readonly streams: StreamStack;
}

/**
 * The EC2 gateway: one instance per shard of cameras (`cameras[].shard`), each shard a nested stack
 * (`Ec2GatewayShard`) that deploys with this one. Here: what the shards share (the log group, the
 * gateway files, the alarm topic, the dashboard) and the guard that keeps a second gateway of the
 * site from streaming the same cameras.
 */
export class Ec2GatewayStack extends Stack {
  readonly shards: readonly Ec2GatewayShard[];
  readonly logGroup: logs.LogGroup;
  readonly producerGuard: ProducerGuard;
  readonly monitoring: GatewayMonitoring;
  readonly kvssinkCache: KvssinkCache;

  constructor(scope: Construct, id: string, props: Ec2GatewayStackProps) {
    super(scope, id, props);
    const { config, streams } = props;
    // The instances write the streams: never before they exist.
    this.addStackDependency(streams);

    this.producerGuard = new ProducerGuard(this, 'ProducerGuard', {
      parameterName: props.deployedGatewayParameterName,
    });
    this.logGroup = createGatewayLogGroup(this, {
      keyDescription: 'Encrypts the KVS EC2 gateway logs',
      retentionDays: config.monitoring.logRetentionDays,
    }).logGroup;
    const gatewayFiles = new s3assets.Asset(this, 'GatewayFiles', { path: USERDATA_DIR });
    this.kvssinkCache = new KvssinkCache(this, 'KvssinkCache', {
      pins: config.pins,
      architecture: config.ec2.architecture,
      rolePath: gatewayRolePath(this.stackName),
    });
    const alarmTopic = new AlarmTopic(this, 'AlarmTopic', {
      namePrefix: this.stackName,
      alarmEmail: config.monitoring.alarmEmail,
    });

    this.shards = shardsOf(streams.cameraStreams).map((shard) => {
      const shardStack = new Ec2GatewayShard(this, `Shard${shard.id}`, {
        shard,
        config,
        network: props.network,
        streams,
        logGroup: this.logGroup,
        gatewayFiles,
        alarmTopic: alarmTopic.topic,
        kvssinkCache: this.kvssinkCache,
        gatewayStackName: this.stackName,
      });
      this.producerGuard.guard(shardStack);
      return shardStack;
    });
    // The first shard's instance builds kvssink and publishes it before it signals; every other shard
    // waits for that, so that many shards starting at once download one build instead of each building.
    for (const shard of this.shards.slice(1)) shard.node.addDependency(this.shards[0]);

    this.monitoring = new GatewayMonitoring(this, 'Monitoring', {
      cameraStreams: streams.cameraStreams,
      monitoring: config.monitoring,
      gatewayKind: 'ec2',
      shards: this.shards.map((shard) => ({
        id: shard.shardId,
        compute: { kind: 'ec2', autoScalingGroup: shard.autoScalingGroup },
      })),
      alarmTopic: alarmTopic.topic,
      logGroups: [this.logGroup],
      namePrefix: this.stackName,
    });

    new CfnOutput(this, 'SessionCommand', {
      description:
        "Opens a shell on shard 1's instance through SSM Session Manager (needs the session-manager-plugin); for a camera of another shard, put its shard number in place of the 1",
      value: [
        'aws ssm start-session --region',
        Aws.REGION,
        '--target "$(aws ec2 describe-instances --region',
        Aws.REGION,
        `--filters Name=tag:${GATEWAY_TAG},Values=${this.stackName} Name=tag:${SHARD_TAG},Values=1 Name=instance-state-name,Values=running`,
        `--query 'Reservations[0].Instances[0].InstanceId' --output text)"`,
      ].join(' '),
    });
    new CfnOutput(this, 'LogGroupName', {
      description: 'The gateway units, reconcilers, credential refreshers and installs of every shard',
      value: this.logGroup.logGroupName,
    });
  }
}
