import { Aws, NestedStack, RemovalPolicy, Stack, StackProps, Tags } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kinesisvideo from 'aws-cdk-lib/aws-kinesisvideo';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { CameraConfig, StreamRemovalPolicy } from './config';

export interface StreamStackProps extends StackProps {
  readonly cameras: readonly CameraConfig[];
  /** `retain` keeps streams (and their video) and the key when the stack is deleted. */
  readonly removalPolicy: StreamRemovalPolicy;
}

/** One camera's KVS stream, as the compute stacks and the monitoring need it. */
export interface CameraStream {
  readonly camera: CameraConfig;
  readonly streamName: string;
}

/**
 * The streams are spread over this many nested stacks (a stack holds at most 500 resources). A stream's
 * group is a hash of its own name, never of its place among the others: moving a stream from one stack
 * to another would delete it in one and create it in the other, which fails (the name is taken) or, with
 * "destroy", loses its video.
 */
export const STREAM_GROUPS = 32;

/** FNV-1a (32 bit): small, stable across Node.js versions and machines, well spread for short names. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

export function streamGroupOf(streamName: string): number {
  return fnv1a(streamName) % STREAM_GROUPS;
}

/**
 * The ARN of a stream by its name. KVS ends stream ARNs with the stream's creation time, so a producer's
 * policy names the stream and leaves that suffix open; the compute stacks then need no reference into
 * this stack per stream (1,000 of them would pass the 200 outputs a template may have).
 */
export function streamArnPattern(streamName: string): string {
  return `arn:${Aws.PARTITION}:kinesisvideo:${Aws.REGION}:${Aws.ACCOUNT_ID}:stream/${streamName}/*`;
}

/**
 * One acknowledgement per stream of `streamArnPattern` (cdk-nag names each wildcard resource as it reads
 * it in the template): the pattern leaves open only the stream's creation time.
 */
export function streamArnAcknowledgements(cameraStreams: readonly CameraStream[]) {
  return cameraStreams.map((stream) => ({
    id: `AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kinesisvideo:<AWS::Region>:<AWS::AccountId>:stream/${stream.streamName}/*]`,
    reason: `KVS stream ARNs end in the stream's creation time, which no template knows: the ARN names stream "${stream.streamName}" and leaves only that suffix open.`,
  }));
}

/** What KVS records as the stream's media type; left unset when the camera's codec is probed at run time. */
function mediaTypeOf(camera: CameraConfig): string | undefined {
  if (camera.codec === 'auto') return undefined;
  const video = camera.codec === 'h264' ? 'video/h264' : 'video/h265';
  return camera.audio ? `${video},audio/aac` : video;
}

interface StreamGroupStackProps {
  readonly cameras: readonly CameraConfig[];
  readonly streamKeyArn: string;
  readonly removalPolicy: RemovalPolicy;
}

/** The streams whose names hash to one group. */
class StreamGroupStack extends NestedStack {
  constructor(scope: Construct, id: string, props: StreamGroupStackProps) {
    super(scope, id, { description: `KVS cloud gateway: camera streams, ${id}` });
    for (const camera of props.cameras) {
      const stream = new kinesisvideo.CfnStream(this, `Stream-${camera.name}`, {
        name: camera.streamName,
        dataRetentionInHours: camera.retentionHours,
        mediaType: mediaTypeOf(camera),
        kmsKeyId: props.streamKeyArn,
      });
      stream.applyRemovalPolicy(props.removalPolicy);
      Tags.of(stream).add('kvs-gateway:camera', camera.name);
    }
  }
}

/**
 * One KVS stream per camera, encrypted with a customer-managed key, so that who may write and read
 * video is decided by this key's policy and IAM, and every use of it is in CloudTrail.
 */
export class StreamStack extends Stack {
  readonly cameraStreams: readonly CameraStream[];
  readonly streamKey: kms.IKey;

  constructor(scope: Construct, id: string, props: StreamStackProps) {
    super(scope, id, props);
    const removalPolicy = props.removalPolicy === 'retain' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    const streamKey = new kms.Key(this, 'StreamKey', {
      description: 'Encrypts the KVS gateway camera streams at rest',
      enableKeyRotation: true,
      // Retained video can only be read while its key exists: the key never goes before the streams.
      removalPolicy,
    });
    this.streamKey = streamKey;

    const groups = new Map<number, CameraConfig[]>();
    for (const camera of props.cameras) {
      const group = streamGroupOf(camera.streamName);
      groups.set(group, [...(groups.get(group) ?? []), camera]);
    }
    for (const [group, cameras] of [...groups.entries()].sort(([a], [b]) => a - b)) {
      const groupStack = new StreamGroupStack(this, `StreamGroup${group}`, {
        cameras,
        streamKeyArn: streamKey.keyArn,
        removalPolicy,
      });
      // A group never goes before the key that encrypts its streams' video.
      groupStack.node.addDependency(streamKey);
    }
    this.cameraStreams = props.cameras.map((camera) => ({ camera, streamName: camera.streamName }));
  }

  /** What kvssink needs to write these streams, and nothing more. */
  grantProducer(grantee: iam.IGrantable, cameraStreams: readonly CameraStream[]): void {
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['kinesisvideo:DescribeStream', 'kinesisvideo:GetDataEndpoint', 'kinesisvideo:PutMedia'],
      resourceArns: cameraStreams.map((stream) => streamArnPattern(stream.streamName)),
    });
    // KVS encrypts each fragment under a data key generated with the stream's key on the producer's behalf.
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['kms:GenerateDataKey'],
      resourceArns: [this.streamKey.keyArn],
    });
  }
}
