import { cameraList } from './camera-list';
import { CAMERA_BASE_MIB, cameraMemoryMiB, KVS_BUFFER_SECONDS } from './camera-memory';
import { CameraConfig, GatewayConfig, MAX_CAMERAS_PER_INSTANCE, MAX_CAMERAS_PER_TASK } from './config';

/**
 * A shard is the group of cameras one EC2 instance or one Fargate task runs, and one nested stack
 * holds its resources. Its members come from each camera's own `shard` field and from nothing else,
 * so adding, removing or changing one camera never moves another camera, and never touches the
 * resources of another shard.
 */
export interface Shard<T> {
  readonly id: number;
  /** In config order. */
  readonly members: readonly T[];
}

/** Groups items by their camera's shard, shards in ascending order. */
export function shardsOf<T extends { readonly camera: CameraConfig }>(items: readonly T[]): Shard<T>[] {
  const byShard = new Map<number, T[]>();
  for (const item of items) {
    const members = byShard.get(item.camera.shard) ?? [];
    members.push(item);
    byShard.set(item.camera.shard, members);
  }
  return [...byShard.entries()].sort(([a], [b]) => a - b).map(([id, members]) => ({ id, members }));
}

export interface ShardCapacity {
  /** What runs a shard: "one EC2 instance", "one Fargate task". */
  readonly runsOn: string;
  /** The config field that sets the limit and its value. */
  readonly field: string;
  readonly limit: number;
  /** The field's own maximum, to say how far it may be raised. */
  readonly maximum: number;
}

/** Shards named one by one in a capacity problem; the rest are counted. */
const MAX_SHARDS_NAMED = 5;

/** One problem per shard that holds more cameras than its gateway runs in one place (the first few). */
function shardCapacityProblems(cameras: readonly CameraConfig[], capacity: ShardCapacity): string[] {
  const indexed = cameras.map((camera, index) => ({ camera, index }));
  const crowded = shardsOf(indexed).filter((shard) => shard.members.length > capacity.limit);
  const raise =
    capacity.limit < capacity.maximum ? ` or raise ${capacity.field} (at most ${capacity.maximum})` : '';
  const problems = crowded.slice(0, MAX_SHARDS_NAMED).map((shard) => {
    const fields = shard.members.map((member) => `cameras[${member.index}]`);
    const listed =
      fields.length > 6
        ? `${fields.slice(0, 6).join(', ')} and ${fields.length - 6} more`
        : fields.join(', ');
    return (
      `cameras: shard ${shard.id} holds ${shard.members.length} cameras (${listed}) but ${capacity.runsOn} runs at most ` +
      `${capacity.field} = ${capacity.limit}: give some of them another "shard"${raise}`
    );
  });
  if (crowded.length > MAX_SHARDS_NAMED) {
    problems.push(
      `cameras: ${crowded.length - MAX_SHARDS_NAMED} more shards (${crowded
        .slice(MAX_SHARDS_NAMED)
        .map((shard) => shard.id)
        .join(', ')}) hold more than ${capacity.field} = ${capacity.limit} cameras`,
    );
  }
  return problems;
}

/** An SSM parameter (advanced tier) holds 8 KB: the most a shard's camera list may take. */
export const MAX_CAMERA_LIST_BYTES = 8192;

/** The camera list of one shard's instance, as the EC2 gateway writes it (lib/camera-list.ts). */
export function shardCameraListJson(
  config: Pick<GatewayConfig, 'parameterPrefix'>,
  cameras: readonly CameraConfig[],
): string {
  return JSON.stringify(cameraList({ parameterPrefix: config.parameterPrefix, cameras }));
}

/**
 * Why the EC2 gateway cannot run this config, or nothing. A config sized for one gateway may not fit the
 * other (a Fargate task runs at most 9 cameras, an instance up to 50): each gateway is checked alone, and
 * one that does not fit is left out of the app (see createGatewayStacks) while the other still deploys.
 */
export function ec2GatewayProblems(config: GatewayConfig): string[] {
  const oversizedLists = shardsOf(config.cameras.map((camera) => ({ camera }))).flatMap((shard) => {
    const bytes = Buffer.byteLength(
      shardCameraListJson(
        config,
        shard.members.map((m) => m.camera),
      ),
    );
    return bytes > MAX_CAMERA_LIST_BYTES
      ? [
          `cameras: the camera list of shard ${shard.id} is ${bytes} bytes, more than an SSM parameter holds (${MAX_CAMERA_LIST_BYTES}): give some of its cameras another "shard", or shorter names`,
        ]
      : [];
  });
  return [
    ...shardCapacityProblems(config.cameras, {
      runsOn: 'one EC2 instance',
      field: 'ec2.camerasPerInstance',
      limit: config.ec2.camerasPerInstance,
      maximum: MAX_CAMERAS_PER_INSTANCE,
    }),
    ...oversizedLists,
  ];
}

/** What a Fargate task needs besides its cameras: the credential refresher and the container runtime. */
const FARGATE_TASK_RESERVE_MIB = 64;

/** One problem per shard whose cameras would not fit the task's memory once their buffers are full. */
function taskMemoryProblems(config: GatewayConfig): string[] {
  const { memoryMiB } = config.fargate;
  const short = shardsOf(config.cameras.map((camera) => ({ camera })))
    .map((shard) => ({
      shard,
      needMiB: Math.ceil(
        FARGATE_TASK_RESERVE_MIB +
          shard.members.reduce((sum, member) => sum + cameraMemoryMiB(member.camera.bitrateKbps), 0),
      ),
    }))
    .filter(({ needMiB }) => needMiB > memoryMiB);
  return short
    .slice(0, MAX_SHARDS_NAMED)
    .map(
      ({ shard, needMiB }) =>
        `fargate.memoryMiB: the ${shard.members.length} cameras of shard ${shard.id} need about ${needMiB} MiB once ` +
        `a KVS outage fills their buffers (${KVS_BUFFER_SECONDS} s of video at each camera's bitrateKbps, plus about ${CAMERA_BASE_MIB} MiB a camera), ` +
        `more than the task's ${memoryMiB} MiB: raise fargate.memoryMiB (and fargate.cpu to match), or give some of them another "shard"`,
    );
}

/** Why the Fargate gateway cannot run this config, or nothing (see `ec2GatewayProblems`). */
export function fargateGatewayProblems(config: GatewayConfig): string[] {
  return [
    ...shardCapacityProblems(config.cameras, {
      runsOn: 'one Fargate task',
      field: 'fargate.camerasPerTask',
      limit: config.fargate.camerasPerTask,
      maximum: MAX_CAMERAS_PER_TASK,
    }),
    ...taskMemoryProblems(config),
  ];
}
