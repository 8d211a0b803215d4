import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { CpuArchitecture, SourcePin, SourcePins } from './config';

/** What runs on the instance and decides what a kvssink build holds: a change to either is a new build. */
const USERDATA_DIR = path.join(__dirname, '..', 'userdata');
export const KVSSINK_RECIPE_FILES = ['build-kvssink.sh', 'kvssink-cache.sh'] as const;
/** The distribution release of the image the EC2 gateway launches (ubuntuImageParameter). */
export const GATEWAY_IMAGE_RELEASE = 'ubuntu-24.04';

/** A pin as the scripts take it (build-kvssink.sh, the user-data, the image's build arguments). */
export function pinText(pin: SourcePin): string {
  return `${pin.tag}@${pin.commit}`;
}

/**
 * The one object a deployment's instances share their kvssink build through, for these pins on this
 * architecture: `kvssink/ubuntu-24.04/arm64/v3.5.0-<16 hex>.tar.gz`. The hex is a hash of the three pins
 * and of the recipe's files, so that moving a pin or changing how kvssink is built names a new object and
 * the old one is never reused.
 */
export function kvssinkCacheKey(pins: SourcePins, architecture: CpuArchitecture): string {
  const build = createHash('sha256');
  for (const pin of [pins.producerSdk, pins.producerC, pins.pic]) build.update(`${pinText(pin)}\n`);
  for (const file of KVSSINK_RECIPE_FILES) build.update(fs.readFileSync(path.join(USERDATA_DIR, file)));
  const debianArchitecture = architecture === 'arm64' ? 'arm64' : 'amd64';
  return `kvssink/${GATEWAY_IMAGE_RELEASE}/${debianArchitecture}/${pins.producerSdk.tag}-${build.digest('hex').slice(0, 16)}.tar.gz`;
}

/** Where the gateway's roles live (their IAM path): the cache bucket lets nothing else in. */
export function gatewayRolePath(stackName: string): string {
  return `/kvs-gateway/${stackName}/`;
}

export interface KvssinkCacheProps {
  readonly pins: SourcePins;
  readonly architecture: CpuArchitecture;
  /** The IAM path of every role that may read and publish the build (gatewayRolePath). */
  readonly rolePath: string;
}

/**
 * The EC2 gateway's kvssink cache: the first instance that builds kvssink for the pinned sources
 * publishes it here (userdata/kvssink-cache.sh), and every later one (a replacement, another shard)
 * downloads it instead of installing compilers and building for minutes. The bucket is encrypted,
 * versioned, private, and refuses every write that would replace an object (PutObject without
 * If-None-Match: *) and every read or write by a principal outside the gateway's role path; each
 * instance role may read and create exactly the pinned key. docs/security.md says why that is safe.
 */
export class KvssinkCache extends Construct {
  readonly bucket: s3.Bucket;
  readonly key: string;

  constructor(scope: Construct, id: string, props: KvssinkCacheProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.key = kvssinkCacheKey(props.pins, props.architecture);
    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      versioned: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      // A few MB of builds; a bucket with objects cannot be deleted by CloudFormation, and deleting it
      // would cost the next deployment one build. `cdk destroy` keeps it: delete it in the console.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const objects = this.bucket.arnForObjects('*');
    // The first publication stays: no principal, however broad its own permissions, replaces an object.
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'OnlyNewObjects',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:PutObject'],
        resources: [objects],
        conditions: { Null: { 's3:if-none-match': 'true' } },
      }),
    );
    // Only the gateway's roles read or write builds (an account's CI or admin roles often hold s3:* on *).
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'OnlyGatewayRoles',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:GetObject', 's3:PutObject'],
        resources: [objects],
        conditions: {
          ArnNotLike: {
            'aws:PrincipalArn': stack.formatArn({
              service: 'iam',
              region: '',
              resource: 'role',
              resourceName: `${props.rolePath.replace(/^\//, '')}*`,
            }),
          },
        },
      }),
    );
    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions::AwsSolutions-S1',
      reason:
        'The bucket holds only kvssink builds: each instance role may read and create one pinned key, the bucket policy refuses any write that would replace an object and any access from outside the gateway role path, and versioning keeps every version. Server access logs would need a second bucket holding more than this one.',
    });
  }

  /** The object's location as the user-data names it. */
  get url(): string {
    return `s3://${this.bucket.bucketName}/${this.key}`;
  }

  /** Lets an instance role read the pinned build (GetObject, which HeadObject needs too) and create it. */
  grantInstance(role: iam.IRole): void {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject', 's3:PutObject'],
        resources: [this.bucket.arnForObjects(this.key)],
      }),
    );
  }
}
