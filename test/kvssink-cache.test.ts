import { CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { gatewayRolePath, kvssinkCacheKey } from '../lib/kvssink-cache';
import { buildGatewayApp, configWith } from './support/gateway-app';

/**
 * The EC2 gateway's kvssink cache as the stacks synthesize it: who may read and write the build, that
 * no write replaces one, and that many shards at a first deploy wait for one build.
 */

type Json = Record<string, unknown>;
interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Json;
  Principal?: unknown;
}

const config = configWith({
  cameras: [{ name: 'gate' }, { name: 'yard', shard: 2 }, { name: 'dock', shard: 5 }],
});
const gateway = buildGatewayApp(config);
const ec2 = Template.fromStack(gateway.ec2Gateway);
const shards = gateway.ec2Gateway.shards.map((shard) => Template.fromStack(shard));
const key = kvssinkCacheKey(config.pins, config.ec2.architecture);

function only(template: Template, type: string): Json {
  const resources = Object.values(template.findResources(type));
  expect(resources).toHaveLength(1);
  return resources[0] as Json;
}

const bucketPolicy = () =>
  ((only(ec2, 'AWS::S3::BucketPolicy').Properties as Json).PolicyDocument as { Statement: Statement[] })
    .Statement;

describe('the kvssink cache bucket', () => {
  test('is encrypted, versioned, private, owned by the account and kept when the stack goes', () => {
    const bucket = only(ec2, 'AWS::S3::Bucket');
    expect(bucket).toMatchObject({
      DeletionPolicy: 'Retain',
      Properties: {
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
        VersioningConfiguration: { Status: 'Enabled' },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      },
    });
  });

  test('refuses any write that does not create a new object, from anyone', () => {
    expect(bucketPolicy().find((st) => st.Sid === 'OnlyNewObjects')).toEqual({
      Sid: 'OnlyNewObjects',
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 's3:PutObject',
      Resource: expect.anything(),
      Condition: { Null: { 's3:if-none-match': 'true' } },
    });
  });

  test('refuses reads and writes by any principal outside the gateway role path, and plain HTTP', () => {
    const outsiders = bucketPolicy().find((st) => st.Sid === 'OnlyGatewayRoles')!;
    expect(outsiders).toMatchObject({
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: ['s3:GetObject', 's3:PutObject'],
    });
    expect(JSON.stringify(outsiders.Condition)).toContain(`:role${gatewayRolePath('Ec2GatewayStack')}*`);
    expect(bucketPolicy()).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Action: 's3:*',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    );
  });
});

describe("each shard's instance", () => {
  test.each(shards.map((shard, i) => [gateway.ec2Gateway.shards[i].shardId, shard]))(
    'shard %i: its role is under the gateway role path and may read and create exactly the pinned build, nothing else in the bucket',
    (_id, shard) => {
      shard.hasResourceProperties('AWS::IAM::Role', { Path: '/kvs-gateway/Ec2GatewayStack/' });
      const statements = (
        (only(shard, 'AWS::IAM::Policy').Properties as Json).PolicyDocument as { Statement: Statement[] }
      ).Statement;
      const onCache = statements.filter((st) => JSON.stringify(st.Resource).includes('KvssinkCacheBucket'));
      expect(onCache).toEqual([
        {
          Effect: 'Allow',
          Action: ['s3:GetObject', 's3:PutObject'],
          Resource: {
            'Fn::Join': [
              '',
              [
                { Ref: expect.stringMatching(/^referencetoEc2GatewayStackKvssinkCacheBucket\w+Arn$/) },
                `/${key}`,
              ],
            ],
          },
        },
      ]);
    },
  );

  test('every shard installs the same build: the same cache key in every user-data', () => {
    for (const shard of shards) {
      const userData = JSON.stringify(
        (only(shard, 'AWS::EC2::LaunchTemplate').Properties as { LaunchTemplateData: Json })
          .LaunchTemplateData.UserData,
      );
      expect(userData).toContain(`/${key}'`);
    }
  });

  test('at a first deploy the first shard builds alone: every other shard waits for its nested stack', () => {
    const [first, ...others] = gateway.ec2Gateway.shards;
    const logicalId = (shard: (typeof others)[number]) =>
      gateway.ec2Gateway.resolve((shard.nestedStackResource as CfnElement).logicalId) as string;
    const resources = ec2.toJSON().Resources as Record<string, { DependsOn?: string[] }>;
    expect(resources[logicalId(first)].DependsOn ?? []).not.toEqual(
      expect.arrayContaining(others.map((other) => logicalId(other))),
    );
    for (const other of others) {
      expect([other.shardId, resources[logicalId(other)].DependsOn]).toEqual([
        other.shardId,
        expect.arrayContaining([logicalId(first)]),
      ]);
    }
  });
});
