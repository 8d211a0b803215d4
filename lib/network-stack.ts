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
 * Where the gateway runs: a VPC with public subnets and no NAT gateway (whose hourly and per-GB
 * charges would dwarf a small gateway's bill), or the user's existing VPC when the cameras are
 * reached over a site-to-site VPN or Direct Connect.
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
      const vpc = new ec2.Vpc(this, 'Vpc', {
        ipAddresses: ec2.IpAddresses.cidr('10.42.0.0/16'),
        maxAzs: network.maxAzs,
        natGateways: 0,
        ipProtocol: network.ipv6 ? ec2.IpProtocol.DUAL_STACK : ec2.IpProtocol.IPV4_ONLY,
        subnetConfiguration: [
          { name: 'Public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24, mapPublicIpOnLaunch: false },
        ],
        restrictDefaultSecurityGroup: true,
        flowLogs: {
          All: {
            destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogGroup),
            trafficType: ec2.FlowLogTrafficType.ALL,
            maxAggregationInterval: ec2.FlowLogMaxAggregationInterval.TEN_MINUTES,
          },
        },
      });
      if (network.ipv6) routeIpv6ThroughEgressOnlyGateway(this, vpc);
      this.vpc = vpc;
      // The gateway gets a public IPv4 address because most cameras, github.com (the install) and
      // kvssink's default endpoints are IPv4-only; the security group below keeps it unreachable.
      this.gatewaySubnets = { subnetType: ec2.SubnetType.PUBLIC };
      this.assignPublicIp = true;
    }

    this.gatewaySecurityGroup = new ec2.SecurityGroup(this, 'GatewaySecurityGroup', {
      vpc: this.vpc,
      description: 'KVS gateway: no inbound rule; outbound to cameras (RTSP) and AWS endpoints (HTTPS)',
      allowAllOutbound: true,
      allowAllIpv6Outbound: network.mode === 'new' && network.ipv6,
    });
  }
}

/**
 * Sends the public subnets' IPv6 traffic (::/0) through an egress-only internet gateway instead of the
 * internet gateway: IPv6 addresses are globally routable, so this makes "nothing connects in" a
 * property of the routes as well as of the security group. IPv4 keeps the internet gateway.
 */
function routeIpv6ThroughEgressOnlyGateway(scope: Construct, vpc: ec2.Vpc): void {
  const egressOnlyGateway = new ec2.CfnEgressOnlyInternetGateway(scope, 'EgressOnlyInternetGateway', {
    vpcId: vpc.vpcId,
  });
  for (const subnet of vpc.publicSubnets as ec2.PublicSubnet[]) {
    // The Vpc construct gives dual-stack public subnets a ::/0 route to the internet gateway; replace it.
    subnet.node.tryRemoveChild('DefaultRoute6');
    subnet.addIpv6DefaultEgressOnlyInternetRoute(egressOnlyGateway.ref);
  }
}
