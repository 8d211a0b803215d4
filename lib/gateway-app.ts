import { App, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { GatewayConfig } from './config';
import { Ec2GatewayStack } from './ec2-stack';
import { FargateGatewayStack } from './fargate-stack';
import { NetworkStack } from './network-stack';
import { gatewaysLeftOut, type LeftOutGateway } from './shards';
import { deployedGatewayParameterName, siteStackName, STACK_IDS, StackId } from './site-names';
import { StreamStack } from './stream-stack';

export interface GatewayStacks {
  readonly network: NetworkStack;
  readonly streams: StreamStack;
  /** Absent when the config does not fit it (see `leftOut`). */
  readonly ec2Gateway?: Ec2GatewayStack;
  readonly fargateGateway?: FargateGatewayStack;
  readonly leftOut: readonly LeftOutGateway[];
}

/**
 * Creates every stack of the gateway for one validated config, reviewed by cdk-nag's AwsSolutions pack.
 * The construct ids are what the user types (`cdk deploy Ec2GatewayStack -c config=site2.json`); the
 * CloudFormation stack names carry the config's site, so that sites deploy side by side.
 * A gateway whose shards the config does not fit (`gatewaysLeftOut`) is left out, with its reasons in
 * `leftOut`, rather than failing the app: the other gateway still deploys (npm run synth fails on it,
 * unless told which gateway to synthesize: scripts/check-synth-config.ts).
 */
export function createGatewayStacks(app: App, config: GatewayConfig): GatewayStacks {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  Tags.of(app).add('project', 'kvs-cloud-gateway');
  if (config.site) Tags.of(app).add('kvs-gateway:site', config.site);
  const stackName = (id: StackId) => siteStackName(config.site, id);
  const site = config.site ? ` (site ${config.site})` : '';
  const deployedGateway = deployedGatewayParameterName(config.site);

  const network = new NetworkStack(app, STACK_IDS.network, {
    stackName: stackName(STACK_IDS.network),
    description: `KVS cloud gateway${site}: VPC with no NAT gateway and an egress-only gateway security group`,
    network: config.network,
    logRetentionDays: config.monitoring.logRetentionDays,
  });
  const streams = new StreamStack(app, STACK_IDS.streams, {
    stackName: stackName(STACK_IDS.streams),
    description: `KVS cloud gateway${site}: one encrypted Kinesis video stream per camera`,
    cameras: config.cameras,
    removalPolicy: config.streamRemovalPolicy,
  });
  const leftOut = gatewaysLeftOut(config);
  const fits = (stackId: string) => !leftOut.some((gateway) => gateway.stackId === stackId);
  // Deploy one of the two, never both: each claims the site's deployedGateway parameter (ProducerGuard).
  const ec2Gateway = fits(STACK_IDS.ec2Gateway)
    ? new Ec2GatewayStack(app, STACK_IDS.ec2Gateway, {
        stackName: stackName(STACK_IDS.ec2Gateway),
        description: `KVS cloud gateway on EC2${site}: one self-installing Ubuntu instance per shard, one systemd unit per camera`,
        config,
        deployedGatewayParameterName: deployedGateway,
        network,
        streams,
      })
    : undefined;
  const fargateGateway = fits(STACK_IDS.fargateGateway)
    ? new FargateGatewayStack(app, STACK_IDS.fargateGateway, {
        stackName: stackName(STACK_IDS.fargateGateway),
        description: `KVS cloud gateway on ECS Fargate${site}: one task per shard, one container per camera`,
        fargate: config.fargate,
        site: config.site,
        parameterPrefix: config.parameterPrefix,
        producerSdkTag: config.ec2.producerSdkTag,
        monitoring: config.monitoring,
        deployedGatewayParameterName: deployedGateway,
        network,
        streams,
      })
    : undefined;
  return { network, streams, ec2Gateway, fargateGateway, leftOut };
}
