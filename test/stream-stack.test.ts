import { Template } from 'aws-cdk-lib/assertions';
import { buildGatewayApp, configWith } from './support/gateway-app';

const cameras = [
  { name: 'front-door', retentionHours: 72, codec: 'h264' },
  { name: 'dock', streamName: 'site1.dock', retentionHours: 0, codec: 'h265', audio: true },
  { name: 'lobby' },
];

describe('StreamStack', () => {
  const { streams } = buildGatewayApp(configWith({ cameras }));
  const template = Template.fromStack(streams);

  test('has one stream per camera with its name and retention', () => {
    template.resourceCountIs('AWS::KinesisVideo::Stream', 3);
    template.hasResourceProperties('AWS::KinesisVideo::Stream', {
      Name: 'front-door',
      DataRetentionInHours: 72,
      MediaType: 'video/h264',
    });
    template.hasResourceProperties('AWS::KinesisVideo::Stream', {
      Name: 'site1.dock',
      DataRetentionInHours: 0,
      MediaType: 'video/h265,audio/aac',
    });
    template.hasResourceProperties('AWS::KinesisVideo::Stream', { Name: 'lobby', DataRetentionInHours: 24 });
  });

  test('encrypts every stream with one customer-managed key that rotates', () => {
    template.resourceCountIs('AWS::KMS::Key', 1);
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    const keyId = Object.keys(template.findResources('AWS::KMS::Key'))[0];
    for (const stream of Object.values(template.findResources('AWS::KinesisVideo::Stream'))) {
      expect(stream.Properties.KmsKeyId).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
    }
  });

  test('keeps streams and key by default', () => {
    for (const type of ['AWS::KinesisVideo::Stream', 'AWS::KMS::Key']) {
      for (const resource of Object.values(template.findResources(type))) {
        expect(resource.DeletionPolicy).toBe('Retain');
      }
    }
  });

  test('deletes them with streamRemovalPolicy "destroy"', () => {
    const destroyed = Template.fromStack(
      buildGatewayApp(configWith({ cameras, streamRemovalPolicy: 'destroy' })).streams,
    );
    for (const stream of Object.values(destroyed.findResources('AWS::KinesisVideo::Stream'))) {
      expect(stream.DeletionPolicy).toBe('Delete');
    }
  });

  test('tags each stream with its camera', () => {
    template.hasResourceProperties('AWS::KinesisVideo::Stream', {
      Name: 'site1.dock',
      Tags: [
        { Key: 'kvs-gateway:camera', Value: 'dock' },
        { Key: 'project', Value: 'kvs-cloud-gateway' },
      ],
    });
  });

  test('exposes the camera streams to the compute stacks', () => {
    expect(streams.cameraStreams.map((s) => [s.camera.name, s.streamName])).toEqual([
      ['front-door', 'front-door'],
      ['dock', 'site1.dock'],
      ['lobby', 'lobby'],
    ]);
  });
});
