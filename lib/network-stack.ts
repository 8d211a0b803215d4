import { RemovalPolicy, Stack, StackProps, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { NetworkConfig } from './config';

export interface NetworkStackProps extends StackProps {
  readonly network: NetworkConfig;
  readonly logRetentionDays: number;
}

/**
 * Where the gateway runs: a VPC whose only way out is an internet gateway (no NAT gateway, whose
 * hourly and per-GB charges would dwarf a small gateway's bill), or the user's existing VPC when
 * the cameras are reached over a site-to-site VPN or Direct Connect.
 */
export class NetworkStack extends Stack {
  readonly vpc: ec2.IVpc;
  /** Egress only: the gateway pulls from cameras and pushes to KVS, nothing ever connects to it. */
  readonly gatewaySecurityGroup: ec2.ISecurityGroup;
  readonly gatewaySubnets: ec2.SubnetSelection;
  /** True when the gateway subnets reach the internet through an internet gateway and need a public IPv4. */
  readonly assignPublicIp: boolean;

  constructor(scope: Construct, id: string, props: NetworkStackProps) {
    super(scope, id, props);
    const { network } = props;

    if (network.mode === 'existing') {
      this.vpc = ec2.Vpc.fromVpcAttributes(this, 'Vpc', {
        vpcId: network.vpcId,
        availabilityZones: [...network.availabilityZones],
        ...(network.subnetsArePublic
          ? { publicSubnetIds: [...network.subnetIds] }
          : { privateSubnetIds: [...network.subnetIds] }),
      });
      Validations.of(this.vpc).acknowledge({
        id: 'Annotation::@aws-cdk/aws-ec2:noSubnetRouteTableId',
        reason:
          'The gateway only places network interfaces in these subnets; it never reads their route tables.',
      });
      this.gatewaySubnets = {
        subnetType: network.subnetsArePublic ? ec2.SubnetType.PUBLIC : ec2.SubnetType.PRIVATE_WITH_EGRESS,
      };
      this.assignPublicIp = network.subnetsArePublic;
    } else {
      const flowLogGroup = new logs.LogGroup(this, 'FlowLogs', {
        retention: props.logRetentionDays as logs.RetentionDays,
        removalPolicy: RemovalPolicy.DESTROY,
      });
      const subnetConfiguration: ec2.SubnetConfiguration[] = [
        { name: 'Public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24, mapPublicIpOnLaunch: false },
      ];
      const ipv6EgressOnly = network.gatewaySubnets === 'ipv6-egress-only';
      if (ipv6EgressOnly) {
        // Private dual-stack subnets whose only route out is ::/0 through an egress-only internet
        // gateway: no NAT gateway and no public IPv4 address to pay for, but IPv4 destinations are
        // unreachable from them.
        subnetConfiguration.push({
          name: 'Ipv6EgressOnly',
          subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS,
          cidrMask: 24,
        });
      }
      this.vpc = new ec2.Vpc(this, 'Vpc', {
        ipAddresses: ec2.IpAddresses.cidr('10.42.0.0/16'),
        maxAzs: network.maxAzs,
        natGateways: 0,
        ipProtocol: network.ipv6 ? ec2.IpProtocol.DUAL_STACK : ec2.IpProtocol.IPV4_ONLY,
        subnetConfiguration,
        restrictDefaultSecurityGroup: true,
        flowLogs: {
          All: {
            destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogGroup),
            trafficType: ec2.FlowLogTrafficType.ALL,
            maxAggregationInterval: ec2.FlowLogMaxAggregationInterval.TEN_MINUTES,
          },
        },
      });
      // By default the gateway lives in the public subnets with a public IPv4 address, because most
      // cameras are reachable over IPv4 only; the security group below keeps it unreachable.
      this.gatewaySubnets = {
        subnetType: ipv6EgressOnly ? ec2.SubnetType.PRIVATE_WITH_EGRESS : ec2.SubnetType.PUBLIC,
      };
      this.assignPublicIp = !ipv6EgressOnly;
    }

    this.gatewaySecurityGroup = new ec2.SecurityGroup(this, 'GatewaySecurityGroup', {
      vpc: this.vpc,
      description: 'KVS gateway: no inbound rule; outbound to cameras (RTSP) and AWS endpoints (HTTPS)',
      allowAllOutbound: true,
      allowAllIpv6Outbound: network.mode === 'new' && network.ipv6,
    });
  }
}
