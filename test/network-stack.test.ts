import { Match, Template } from 'aws-cdk-lib/assertions';
import { buildGatewayApp, configWith } from './support/gateway-app';

function networkTemplate(network: Record<string, unknown>): Template {
  return Template.fromStack(buildGatewayApp(configWith({ network })).network);
}

describe('NetworkStack with a new VPC', () => {
  const template = networkTemplate({ mode: 'new' });

  test('has public subnets in two zones behind an internet gateway, and no NAT gateway', () => {
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.resourceCountIs('AWS::EC2::InternetGateway', 1);
    template.resourcePropertiesCountIs('AWS::EC2::Subnet', { MapPublicIpOnLaunch: false }, 2);
    template.resourceCountIs('AWS::EC2::Subnet', 2);
    template.hasResourceProperties('AWS::EC2::Route', {
      DestinationCidrBlock: '0.0.0.0/0',
      GatewayId: Match.anyValue(),
    });
    template.resourceCountIs('AWS::EC2::EgressOnlyInternetGateway', 0);
  });

  test('logs all traffic of the VPC to a log group with retention', () => {
    template.hasResourceProperties('AWS::EC2::FlowLog', { ResourceType: 'VPC', TrafficType: 'ALL' });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  test('locks down the default security group', () => {
    template.resourceCountIs('Custom::VpcRestrictDefaultSG', 1);
  });

  test('gives the gateway a security group with no inbound rule', () => {
    template.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
    const groups = template.findResources('AWS::EC2::SecurityGroup');
    expect(Object.keys(groups)).toHaveLength(1);
    for (const group of Object.values(groups)) {
      expect(group.Properties.SecurityGroupIngress).toBeUndefined();
      expect(group.Properties.SecurityGroupEgress).toEqual([
        expect.objectContaining({ CidrIp: '0.0.0.0/0', IpProtocol: '-1' }),
      ]);
    }
  });
});

describe('NetworkStack with IPv6', () => {
  const { network } = buildGatewayApp(configWith({ network: { mode: 'new', ipv6: true } }));
  const template = Template.fromStack(network);

  test('is dual stack with no NAT gateway', () => {
    template.resourceCountIs('AWS::EC2::VPCCidrBlock', 1);
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.resourcePropertiesCountIs('AWS::EC2::Subnet', { AssignIpv6AddressOnCreation: true }, 2);
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      SecurityGroupEgress: Match.arrayWith([Match.objectLike({ CidrIpv6: '::/0' })]),
    });
    template.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
  });

  test('IPv6 leaves only through an egress-only internet gateway; IPv4 through the internet gateway', () => {
    template.resourceCountIs('AWS::EC2::EgressOnlyInternetGateway', 1);
    const routes = Object.values(template.findResources('AWS::EC2::Route')).map((r) => r.Properties);
    const ipv6Routes = routes.filter((r) => r.DestinationIpv6CidrBlock === '::/0');
    expect(ipv6Routes).toHaveLength(2);
    for (const route of ipv6Routes) {
      expect(route.EgressOnlyInternetGatewayId).toBeDefined();
      expect(route.GatewayId).toBeUndefined();
    }
    expect(routes.filter((r) => r.DestinationCidrBlock === '0.0.0.0/0' && r.GatewayId)).toHaveLength(2);
    expect(network.assignPublicIp).toBe(true);
  });
});

describe('NetworkStack with an existing VPC', () => {
  const network = {
    mode: 'existing',
    vpcId: 'vpc-0123456789abcdef0',
    availabilityZones: ['eu-west-1a', 'eu-west-1b'],
    subnetIds: ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1'],
  };

  test('creates no VPC, only the gateway security group in the given VPC', () => {
    const { network: stack } = buildGatewayApp(configWith({ network }));
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::EC2::VPC', 0);
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.hasResourceProperties('AWS::EC2::SecurityGroup', { VpcId: 'vpc-0123456789abcdef0' });
    expect(stack.vpc.selectSubnets(stack.gatewaySubnets).subnetIds).toEqual(network.subnetIds);
    expect(stack.assignPublicIp).toBe(false);
  });

  test('public subnets get a public IP', () => {
    const { network: stack } = buildGatewayApp(
      configWith({ network: { ...network, subnetsArePublic: true } }),
    );
    expect(stack.assignPublicIp).toBe(true);
    expect(stack.vpc.selectSubnets(stack.gatewaySubnets).subnetIds).toEqual(network.subnetIds);
  });
});
