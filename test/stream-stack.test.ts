import { NestedStack, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { StreamStack, STREAM_GROUPS, streamGroupOf } from '../lib/stream-stack';
import { buildGatewayApp, configWith } from './support/gateway-app';

const cameras = [
  { name: 'front-door', retentionHours: 72, codec: 'h264' },
  { name: 'dock', streamName: 'site1.dock', retentionHours: 0, codec: 'h265', audio: true },
  { name: 'lobby' },
];

type Resource = { Properties: Record<string, unknown>; DeletionPolicy?: string };

/** Every stream of the stack, from its nested group stacks, with the group it is in. */
function streamResources(streams: StreamStack): (Resource & { group: string })[] {
  return streams.node.children
    .filter((child): child is NestedStack => child instanceof Stack && (child as Stack).nested)
    .flatMap((group) =>
      Object.values(Template.fromStack(group).findResources('AWS::KinesisVideo::Stream')).map((stream) => ({
        ...(stream as Resource),
        group: group.node.id,
      })),
    );
}

describe('StreamStack', () => {
  const { streams } = buildGatewayApp(configWith({ cameras }));
  const template = Template.fromStack(streams);
  const resources = streamResources(streams);
  const byName = (name: string) => resources.find((r) => r.Properties.Name === name)!;

  test('has one stream per camera with its name and retention', () => {
    expect(resources).toHaveLength(3);
    expect(byName('front-door').Properties).toMatchObject({
      DataRetentionInHours: 72,
      MediaType: 'video/h264',
    });
    expect(byName('site1.dock').Properties).toMatchObject({
      DataRetentionInHours: 0,
      MediaType: 'video/h265,audio/aac',
    });
    expect(byName('lobby').Properties).toMatchObject({ DataRetentionInHours: 24 });
    expect(byName('lobby').Properties).not.toHaveProperty('MediaType');
  });

  test('each stream sits in the nested stack its own name hashes to, whatever the other cameras', () => {
    for (const stream of resources) {
      expect(stream.group).toBe(`StreamGroup${streamGroupOf(stream.Properties.Name as string)}`);
    }
    // Pinned: a change to the hash would move existing streams between stacks, which fails to deploy
    // (the stream name is taken) or, with "destroy", deletes their video.
    expect(['front-door', 'site1.dock', 'lobby', 'camera-0001'].map(streamGroupOf)).toEqual([7, 30, 19, 22]);
    const groups = new Set(Array.from({ length: 1000 }, (_, i) => streamGroupOf(`camera-${i}`)));
    expect(groups.size).toBe(STREAM_GROUPS);
  });

  test('encrypts every stream with one customer-managed key that rotates', () => {
    template.resourceCountIs('AWS::KMS::Key', 1);
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    const keyId = Object.keys(template.findResources('AWS::KMS::Key'))[0];
    // Each group stack gets the key's ARN as a parameter.
    for (const group of Object.values(template.findResources('AWS::CloudFormation::Stack'))) {
      expect(Object.values(group.Properties.Parameters)).toEqual([{ 'Fn::GetAtt': [keyId, 'Arn'] }]);
      expect(group.DependsOn).toContain(keyId);
    }
    for (const stream of resources) expect(stream.Properties.KmsKeyId).toEqual({ Ref: expect.any(String) });
  });

  test('keeps streams and key by default', () => {
    for (const resource of [...resources, ...Object.values(template.findResources('AWS::KMS::Key'))]) {
      expect(resource.DeletionPolicy).toBe('Retain');
    }
  });

  test('deletes them with streamRemovalPolicy "destroy"', () => {
    const destroyed = streamResources(
      buildGatewayApp(configWith({ cameras, streamRemovalPolicy: 'destroy' })).streams,
    );
    for (const stream of destroyed) expect(stream.DeletionPolicy).toBe('Delete');
  });

  test('tags each stream with its camera', () => {
    expect(byName('site1.dock').Properties.Tags).toEqual([
      { Key: 'kvs-gateway:camera', Value: 'dock' },
      { Key: 'project', Value: 'kvs-cloud-gateway' },
    ]);
  });

  test('exposes the camera streams to the compute stacks', () => {
    expect(streams.cameraStreams.map((s) => [s.camera.name, s.streamName])).toEqual([
      ['front-door', 'front-door'],
      ['dock', 'site1.dock'],
      ['lobby', 'lobby'],
    ]);
  });

  test('has no output per stream: the compute stacks find a stream by its name', () => {
    expect(Object.keys(template.findOutputs('*')).length).toBeLessThanOrEqual(1);
  });
});
