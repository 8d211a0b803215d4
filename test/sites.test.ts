import { deployedGatewayParameterName } from '../lib/site-names';
import { synthesizedTemplates } from './support/cloud-assembly';
import { buildGatewayApp, configWith } from './support/gateway-app';

/**
 * Two configs deploy side by side in one account and region when no name one creates is a name the
 * other creates. The names are read from the synthesized templates (every top-level property of a
 * resource that names it, nested stacks included) and the stack names from the cloud assembly.
 */
jest.setTimeout(5 * 60_000);

type Resource = { Type: string; Properties?: Record<string, unknown> };

/** Properties that give a resource its name in the account and region (CloudFormation: "physical ID"). */
const NAME_PROPERTIES: Record<string, string> = {
  'AWS::KinesisVideo::Stream': 'Name',
  'AWS::SSM::Parameter': 'Name',
  'AWS::CloudWatch::Alarm': 'AlarmName',
  'AWS::CloudWatch::Dashboard': 'DashboardName',
  'AWS::Logs::QueryDefinition': 'Name',
  'AWS::Logs::LogGroup': 'LogGroupName',
  'AWS::ECS::TaskDefinition': 'Family',
  'AWS::ECS::Cluster': 'ClusterName',
  'AWS::ECS::Service': 'ServiceName',
  'AWS::AutoScaling::AutoScalingGroup': 'AutoScalingGroupName',
  'AWS::EC2::LaunchTemplate': 'LaunchTemplateName',
  'AWS::IAM::Role': 'RoleName',
  'AWS::SNS::Topic': 'TopicName',
  'AWS::KMS::Alias': 'AliasName',
};

interface SiteNames {
  readonly stackNames: string[];
  /** `<type> <name>` of every resource named in a template. */
  readonly physicalNames: string[];
  /** Resource types whose names CloudFormation makes up (unique by construction). */
  readonly generatedNameTypes: Set<string>;
}

const cameras = [
  { name: 'front-door' },
  { name: 'loading-dock', shard: 2 },
  { name: 'lobby', streamName: 'lobby-camera' },
];

function namesOf(site: string | undefined): SiteNames {
  const config = configWith({ cameras, ...(site ? { site } : {}) });
  const gateway = buildGatewayApp(config);
  const assembly = gateway.app.synth();
  const physicalNames: string[] = [];
  const generatedNameTypes = new Set<string>();
  for (const { template } of synthesizedTemplates(gateway.outdir)) {
    const resources = template.Resources as Record<string, Resource>;
    // A name made from another resource's generated name (/aws/codebuild/<project>) is as unique as it.
    const madeFromGeneratedName = (name: unknown) =>
      Object.keys(resources).some((id) => JSON.stringify(name).includes(`{"Ref":"${id}"}`));
    for (const resource of Object.values(resources)) {
      const property = NAME_PROPERTIES[resource.Type];
      const name = property ? resource.Properties?.[property] : undefined;
      if (typeof name === 'string') physicalNames.push(`${resource.Type} ${name}`);
      else if (name !== undefined && !madeFromGeneratedName(name))
        physicalNames.push(`${resource.Type} ${JSON.stringify(name)}`);
      else generatedNameTypes.add(resource.Type);
    }
  }
  return { stackNames: assembly.stacks.map((stack) => stack.stackName), physicalNames, generatedNameTypes };
}

describe('two sites in one account and region', () => {
  const plant1 = namesOf('plant-1');
  const plant2 = namesOf('plant-2');

  test('share no stack name and no physical name, with the same camera names', () => {
    expect(plant1.physicalNames.length).toBeGreaterThan(20);
    expect(plant1.stackNames.filter((name) => plant2.stackNames.includes(name))).toEqual([]);
    // A stream named in the config ("lobby-camera") is the user's: it is the one name shared.
    expect(plant1.physicalNames.filter((name) => plant2.physicalNames.includes(name))).toEqual([
      'AWS::KinesisVideo::Stream lobby-camera',
    ]);
  });

  test('every name carries the site: stacks, streams, parameters, alarms, dashboards, queries, task families', () => {
    expect(plant2.stackNames.sort()).toEqual([
      'plant-2-Ec2GatewayStack',
      'plant-2-FargateGatewayStack',
      'plant-2-NetworkStack',
      'plant-2-StreamStack',
    ]);
    const unmarked = plant2.physicalNames.filter(
      (name) => !/[ /]plant-2[-/]/.test(name) && name !== 'AWS::KinesisVideo::Stream lobby-camera',
    );
    expect(unmarked).toEqual([]);
    expect(plant2.physicalNames).toEqual(
      expect.arrayContaining([
        'AWS::KinesisVideo::Stream plant-2-front-door',
        'AWS::SSM::Parameter /kvs-gateway/sites/plant-2/deployed-gateway',
        'AWS::SSM::Parameter /kvs-gateway/sites/plant-2/ec2-gateway/shard-2/camera-list',
        'AWS::CloudWatch::Alarm plant-2-FargateGatewayStack-front-door-no-frames',
        'AWS::CloudWatch::Dashboard plant-2-Ec2GatewayStack',
        'AWS::Logs::QueryDefinition plant-2-FargateGatewayStack/camera-errors',
        'AWS::ECS::TaskDefinition plant-2-FargateGatewayStack-shard-1',
      ]),
    );
  });

  test("the names CloudFormation makes up carry the stack's name, so the site", () => {
    // Log groups, clusters, services, groups, roles, topics: CloudFormation names them
    // <stack name>-<logical id>-<random>, and a nested stack's name starts with its parent's.
    expect([...plant2.generatedNameTypes]).toEqual(
      expect.arrayContaining([
        'AWS::Logs::LogGroup',
        'AWS::ECS::Cluster',
        'AWS::AutoScaling::AutoScalingGroup',
      ]),
    );
  });

  test("the camera URLs of a site are under the site's path, where the camera CLI writes them", () => {
    expect(configWith({ cameras, site: 'plant-2' }).parameterPrefix).toBe(
      '/kvs-gateway/sites/plant-2/cameras',
    );
  });
});

describe('no site: the names the gateway always had', () => {
  const names = namesOf(undefined);

  test('stacks, streams and parameters are unprefixed', () => {
    expect(names.stackNames.sort()).toEqual([
      'Ec2GatewayStack',
      'FargateGatewayStack',
      'NetworkStack',
      'StreamStack',
    ]);
    expect(names.physicalNames).toEqual(
      expect.arrayContaining([
        'AWS::KinesisVideo::Stream front-door',
        `AWS::SSM::Parameter ${deployedGatewayParameterName(undefined)}`,
        'AWS::CloudWatch::Alarm Ec2GatewayStack-front-door-no-frames',
        'AWS::CloudWatch::Dashboard FargateGatewayStack',
      ]),
    );
    expect(configWith({ cameras }).parameterPrefix).toBe('/kvs-gateway/cameras');
  });

  test('no name of the site-less deployment is a name of a site', () => {
    const plant = namesOf('plant-1');
    expect(names.physicalNames.filter((name) => plant.physicalNames.includes(name))).toEqual([
      'AWS::KinesisVideo::Stream lobby-camera',
    ]);
  });
});

test("the stack the user types is the stack id; CloudFormation gets the site's name", () => {
  const gateway = buildGatewayApp(configWith({ cameras, site: 'plant-2' }));
  const assembly = gateway.app.synth();
  // `cdk deploy Ec2GatewayStack -c config=plant-2.json` selects by this id.
  expect(assembly.getStackArtifact('Ec2GatewayStack').stackName).toBe('plant-2-Ec2GatewayStack');
  expect(assembly.getStackArtifact('FargateGatewayStack').stackName).toBe('plant-2-FargateGatewayStack');
});
