import { RemovalPolicy, Stack, StackProps, Tags } from 'aws-cdk-lib';
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
  readonly streamArn: string;
}

/** What KVS records as the stream's media type; left unset when the camera's codec is probed at run time. */
function mediaTypeOf(camera: CameraConfig): string | undefined {
  if (camera.codec === 'auto') return undefined;
  const video = camera.codec === 'h264' ? 'video/h264' : 'video/h265';
  return camera.audio ? `${video},audio/aac` : video;
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

    this.cameraStreams = props.cameras.map((camera) => {
      const stream = new kinesisvideo.CfnStream(this, `Stream-${camera.name}`, {
        name: camera.streamName,
        dataRetentionInHours: camera.retentionHours,
        mediaType: mediaTypeOf(camera),
        kmsKeyId: streamKey.keyArn,
      });
      stream.applyRemovalPolicy(removalPolicy);
      Tags.of(stream).add('kvs-gateway:camera', camera.name);
      return { camera, streamName: camera.streamName, streamArn: stream.attrArn };
    });
  }

  /** What kvssink needs to write the camera streams, and nothing more. */
  grantProducer(grantee: iam.IGrantable): void {
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['kinesisvideo:DescribeStream', 'kinesisvideo:GetDataEndpoint', 'kinesisvideo:PutMedia'],
      resourceArns: this.cameraStreams.map((stream) => stream.streamArn),
    });
    // KVS encrypts each fragment under a data key generated with the stream's key on the producer's behalf.
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['kms:GenerateDataKey'],
      resourceArns: [this.streamKey.keyArn],
    });
  }
}
