import { App, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { GatewayConfig } from './config';
import { Ec2GatewayStack } from './ec2-stack';
import { FargateGatewayStack } from './fargate-stack';
import { NetworkStack } from './network-stack';
import { StreamStack } from './stream-stack';

export interface GatewayStacks {
  readonly network: NetworkStack;
  readonly streams: StreamStack;
  readonly ec2Gateway: Ec2GatewayStack;
  readonly fargateGateway: FargateGatewayStack;
}

/** Creates every stack of the gateway for one validated config, reviewed by cdk-nag's AwsSolutions pack. */
export function createGatewayStacks(app: App, config: GatewayConfig): GatewayStacks {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  Tags.of(app).add('project', 'kvs-cloud-gateway');

  const network = new NetworkStack(app, 'NetworkStack', {
    description: 'KVS cloud gateway: VPC with no NAT gateway and an egress-only gateway security group',
    network: config.network,
    logRetentionDays: config.monitoring.logRetentionDays,
  });
  const streams = new StreamStack(app, 'StreamStack', {
    description: 'KVS cloud gateway: one encrypted Kinesis video stream per camera',
    cameras: config.cameras,
    removalPolicy: config.streamRemovalPolicy,
  });
  const ec2Gateway = new Ec2GatewayStack(app, 'Ec2GatewayStack', {
    description: 'KVS cloud gateway on EC2: one self-installing Ubuntu instance, one systemd unit per camera',
    config,
    network,
    streams,
  });
  const fargateGateway = new FargateGatewayStack(app, 'FargateGatewayStack', {
    description: 'KVS cloud gateway on ECS Fargate: one container per camera, cameras sharded over tasks',
    fargate: config.fargate,
    parameterPrefix: config.parameterPrefix,
    producerSdkTag: config.ec2.producerSdkTag,
    monitoring: config.monitoring,
    network,
    streams,
  });
  return { network, streams, ec2Gateway, fargateGateway };
}
