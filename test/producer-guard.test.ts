import { Template } from 'aws-cdk-lib/assertions';
import { buildGatewayApp, configWith, WholeGatewayApp } from './support/gateway-app';

/**
 * Two gateways of one site would put two producers on every stream. Both gateway stacks create one
 * parameter under the same fixed name, which CloudFormation cannot create twice: deploying the second
 * gateway while the first exists fails on it, and nothing that streams is created before it.
 */

type Resource = {
  Type: string;
  Properties: Record<string, unknown>;
  DependsOn?: string[];
  DeletionPolicy?: string;
};

function guardOf(template: Template): [string, Resource] {
  const guards = Object.entries(template.findResources('AWS::SSM::Parameter') as Record<string, Resource>);
  expect(guards).toHaveLength(1);
  return guards[0];
}

function twoShardApp(site?: string): WholeGatewayApp {
  return buildGatewayApp(
    configWith({
      cameras: [{ name: 'front-door' }, { name: 'dock', shard: 2 }],
      ...(site ? { site } : {}),
    }),
  );
}

describe('one gateway per site', () => {
  const gateway = twoShardApp();
  const ec2 = Template.fromStack(gateway.ec2Gateway);
  const fargate = Template.fromStack(gateway.fargateGateway);

  test('both gateway stacks own a parameter of the same fixed name, holding their own stack name', () => {
    const [, ec2Guard] = guardOf(ec2);
    const [, fargateGuard] = guardOf(fargate);
    expect(ec2Guard.Properties.Name).toBe('/kvs-gateway/deployed-gateway');
    expect(fargateGuard.Properties.Name).toBe(ec2Guard.Properties.Name);
    expect([ec2Guard.Properties.Value, fargateGuard.Properties.Value]).toEqual([
      'Ec2GatewayStack',
      'FargateGatewayStack',
    ]);
    expect(ec2Guard.Properties.Description).toMatch(/destroy it first/);
  });

  test('it goes with its stack, so that the other gateway may be deployed after', () => {
    for (const template of [ec2, fargate]) {
      const [, guard] = guardOf(template);
      expect(guard.DeletionPolicy ?? 'Delete').toBe('Delete');
    }
  });

  test('every shard, so every instance and task, is created after it (and deleted before it)', () => {
    for (const template of [ec2, fargate]) {
      const [guardId] = guardOf(template);
      const shards = Object.values(
        template.findResources('AWS::CloudFormation::Stack') as Record<string, Resource>,
      );
      expect(shards).toHaveLength(2);
      for (const shard of shards) expect(shard.DependsOn).toContain(guardId);
      // What streams lives only in the shards' nested stacks.
      for (const type of [
        'AWS::AutoScaling::AutoScalingGroup',
        'AWS::ECS::Service',
        'AWS::ECS::TaskDefinition',
      ]) {
        template.resourceCountIs(type, 0);
      }
    }
    for (const shard of [...gateway.ec2Gateway.shards, ...gateway.fargateGateway.shards]) {
      const streamers = Template.fromStack(shard).toJSON().Resources as Record<string, { Type: string }>;
      expect(
        Object.values(streamers).filter((r) =>
          ['AWS::AutoScaling::AutoScalingGroup', 'AWS::ECS::Service'].includes(r.Type),
        ),
      ).toHaveLength(1);
    }
  });

  test('sites have guards of their own: two sites never block each other', () => {
    const plant = twoShardApp('plant-2');
    expect(guardOf(Template.fromStack(plant.ec2Gateway))[1].Properties.Name).toBe(
      '/kvs-gateway/sites/plant-2/deployed-gateway',
    );
    expect(guardOf(Template.fromStack(plant.fargateGateway))[1].Properties.Name).toBe(
      '/kvs-gateway/sites/plant-2/deployed-gateway',
    );
  });
});
