import { GatewayConfig } from '../lib/config';
import { streamGroupOf } from '../lib/stream-stack';
import { synthesizedTemplates } from './support/cloud-assembly';
import { buildGatewayApp, configWith } from './support/gateway-app';

/**
 * A camera's shard depends on nothing but its own entry: adding, removing or changing one camera
 * changes only its own shard's resources. The app is synthesized before and after each change, and
 * every task definition, launch template and camera list is compared, as is every template.
 */
jest.setTimeout(5 * 60_000);

type Json = Record<string, unknown>;
type Resource = { Type: string; Properties?: Json };

/** 9 cameras, 3 in each of shards 1, 2 and 3 (room for one more in each: 4 a Fargate task). */
const BEFORE = Array.from({ length: 9 }, (_, i) => ({
  name: `camera-${String(i + 1).padStart(2, '0')}`,
  shard: Math.floor(i / 3) + 1,
}));

const WATCHED_TYPES = ['AWS::ECS::TaskDefinition', 'AWS::EC2::LaunchTemplate', 'AWS::SSM::Parameter'];

interface Synthesized {
  /** Every template's text by file name (nested templates included). */
  readonly templates: Map<string, string>;
  /** The task definitions, launch templates and camera lists, by `<template file>/<logical id>`. */
  readonly watched: Map<string, string>;
  /** Which template file holds each shard's nested stack, per gateway. */
  readonly shardFiles: Map<string, string>;
}

function synthesize(cameras: readonly Json[]): Synthesized {
  const config: GatewayConfig = configWith({ cameras });
  const gateway = buildGatewayApp(config);
  gateway.app.synth();
  const templates = synthesizedTemplates(gateway.outdir);
  const watched = new Map<string, string>();
  for (const t of templates) {
    for (const [id, resource] of Object.entries(t.template.Resources as Record<string, Resource>)) {
      if (WATCHED_TYPES.includes(resource.Type)) watched.set(`${t.file}/${id}`, JSON.stringify(resource));
    }
  }
  const shardFiles = new Map<string, string>();
  for (const stack of [gateway.ec2Gateway, gateway.fargateGateway]) {
    for (const shard of stack.shards) {
      shardFiles.set(`${stack.node.id}/${shard.shardId}`, shard.templateFile);
    }
  }
  return {
    templates: new Map(templates.map((t) => [t.file, JSON.stringify(t.template)])),
    watched,
    shardFiles,
  };
}

function changedKeys(before: Map<string, string>, after: Map<string, string>): string[] {
  const keys = new Set([...before.keys(), ...after.keys()]);
  return [...keys].filter((key) => before.get(key) !== after.get(key)).sort();
}

/** The template files of a shard's nested stacks on both gateways. */
function shardFilesOf(synthesized: Synthesized, shard: number): string[] {
  return ['Ec2GatewayStack', 'FargateGatewayStack'].flatMap((gateway) => {
    const file = synthesized.shardFiles.get(`${gateway}/${shard}`);
    return file ? [file] : [];
  });
}

/** The stream group template of a stream (`StreamStackStreamGroup<n>…`). */
function streamGroupFile(synthesized: Synthesized, streamName: string): string {
  const prefix = `StreamStackStreamGroup${streamGroupOf(streamName)}`;
  const files = [...synthesized.templates.keys()].filter(
    (file) => file.startsWith(prefix) && /^[0-9A-F]{8}\.nested/.test(file.slice(prefix.length)),
  );
  expect(files).toHaveLength(1);
  return files[0];
}

describe('a change to one camera changes only its own shard', () => {
  const before = synthesize(BEFORE);

  const cases: [string, Json[], { shard: number; camera: string }][] = [
    ['removing the first camera', BEFORE.slice(1), { shard: 1, camera: 'camera-01' }],
    [
      'adding a camera to shard 2',
      [...BEFORE.slice(0, 4), { name: 'camera-new', shard: 2 }, ...BEFORE.slice(4)],
      { shard: 2, camera: 'camera-new' },
    ],
    [
      'changing the codec of a camera in shard 3',
      BEFORE.map((camera) => (camera.name === 'camera-08' ? { ...camera, codec: 'h265' } : camera)),
      { shard: 3, camera: 'camera-08' },
    ],
  ];

  test.each(cases)('%s', (_name, cameras, changed) => {
    const after = synthesize(cameras);
    const ownShard = shardFilesOf(before, changed.shard);
    expect(ownShard).toHaveLength(2);
    const inOwnShard = (key: string) => ownShard.some((file) => key.startsWith(`${file}/`));

    // No task definition, launch template or camera list outside the camera's shard changes.
    const watchedChanges = changedKeys(before.watched, after.watched);
    expect(watchedChanges.length).toBeGreaterThan(0);
    expect(watchedChanges.filter((key) => !inOwnShard(key))).toEqual([]);
    // Cameras are live configuration on EC2: not even the shard's own launch template changes.
    expect(
      watchedChanges.filter((key) => before.watched.get(key)?.includes('"AWS::EC2::LaunchTemplate"')),
    ).toEqual([]);

    // Nor does any template but the camera's shard's, its stream's group and the parents that point at them.
    const streamGroup = streamGroupFile(changed.camera === 'camera-new' ? after : before, changed.camera);
    expect(changedKeys(before.templates, after.templates)).toEqual(
      [
        ...ownShard,
        streamGroup,
        'Ec2GatewayStack.template.json',
        'FargateGatewayStack.template.json',
        'StreamStack.template.json',
      ].sort(),
    );
  });

  test('a camera in a new shard adds that shard and changes no existing one', () => {
    const after = synthesize([...BEFORE, { name: 'camera-new', shard: 4 }]);
    const newShard = shardFilesOf(after, 4);
    expect(newShard).toHaveLength(2);
    const changed = changedKeys(before.templates, after.templates);
    expect(changed.filter((file) => [1, 2, 3].some((s) => shardFilesOf(before, s).includes(file)))).toEqual(
      [],
    );
    expect(changed).toEqual(expect.arrayContaining(newShard));
    expect(
      changedKeys(before.watched, after.watched).filter(
        (key) => !newShard.some((f) => key.startsWith(`${f}/`)),
      ),
    ).toEqual([]);
  });
});
