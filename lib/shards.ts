import { cameraList } from './camera-list';
import { CAMERA_BASE_MIB, cameraMemoryMiB, KVS_BUFFER_SECONDS } from './camera-memory';
import { STACK_IDS } from './site-names';
import {
  CameraConfig,
  GatewayConfig,
  MAX_CAMERAS_PER_INSTANCE,
  MAX_CAMERAS_PER_TASK,
  MAX_SHARD,
} from './config';

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

/** Cameras named one by one in a problem; the rest are counted. */
const MAX_CAMERAS_NAMED = 6;

function listed(fields: readonly string[]): string {
  if (fields.length > MAX_CAMERAS_NAMED) {
    return `${fields.slice(0, MAX_CAMERAS_NAMED).join(', ')} and ${fields.length - MAX_CAMERAS_NAMED} more`;
  }
  return fields.length > 1 ? `${fields.slice(0, -1).join(', ')} and ${fields[fields.length - 1]}` : fields[0];
}

/**
 * One problem per shard that holds more cameras than its gateway runs in one place (the first few),
 * with the edit that fits it: the cameras listed last in the shard to the lowest shards with room.
 */
function shardCapacityProblems(cameras: readonly CameraConfig[], capacity: ShardCapacity): string[] {
  const indexed = cameras.map((camera, index) => ({ camera, index }));
  const shards = shardsOf(indexed);
  const crowded = shards.filter((shard) => shard.members.length > capacity.limit);
  const count = new Map(shards.map((shard) => [shard.id, shard.members.length]));
  const roomIn = (from: number) => {
    let shard = from;
    while ((count.get(shard) ?? 0) >= capacity.limit) shard++;
    count.set(shard, (count.get(shard) ?? 0) + 1);
    return shard;
  };
  const raise =
    capacity.limit < capacity.maximum ? ` or raise ${capacity.field} (at most ${capacity.maximum})` : '';
  const problems = crowded.slice(0, MAX_SHARDS_NAMED).map((shard) => {
    const moved = shard.members.slice(capacity.limit).map((member) => ({ member, to: roomIn(1) }));
    const edits = [...new Set(moved.map((move) => move.to))].map(
      (to) =>
        `"shard": ${to} in ${listed(moved.filter((move) => move.to === to).map((move) => `cameras[${move.member.index}]`))}`,
    );
    const last = moved.length === 1 ? 'the last one listed' : `the last ${moved.length} listed`;
    return (
      `cameras: shard ${shard.id} holds ${shard.members.length} cameras (${listed(shard.members.map((member) => `cameras[${member.index}]`))}) ` +
      `but ${capacity.runsOn} runs at most ${capacity.field} = ${capacity.limit}: give ${last} another shard (${edits.join('; ')})${raise}`
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

/** A gateway stack the config does not fit, with every reason (field and fix). */
export interface LeftOutGateway {
  readonly stackId: string;
  readonly problems: readonly string[];
}

/** The gateways the config does not fit: the app leaves them out, npm run synth and doctor say so. */
export function gatewaysLeftOut(config: GatewayConfig): LeftOutGateway[] {
  return [
    { stackId: STACK_IDS.ec2Gateway, problems: ec2GatewayProblems(config) },
    { stackId: STACK_IDS.fargateGateway, problems: fargateGatewayProblems(config) },
  ].filter((gateway) => gateway.problems.length > 0);
}

export interface NewCameraShard {
  readonly shard: number;
  /** The lower shards passed over, each with the gateway it has no room on. */
  readonly passedOver: readonly { readonly shard: number; readonly gateway: string }[];
}

/**
 * The shard for a camera added to the config: the lowest one where it keeps every gateway that runs
 * the config today running it (a new shard when none has room). Only the new camera gets a shard:
 * no other camera moves. Undefined when every shard number is taken and full.
 */
export function shardForNewCamera(config: GatewayConfig, camera: CameraConfig): NewCameraShard | undefined {
  const gateways = [
    { gateway: 'the EC2 gateway', problems: ec2GatewayProblems },
    { gateway: 'the Fargate gateway', problems: fargateGatewayProblems },
  ];
  // A gateway the config does not fit yet is only held to not getting worse.
  const before = new Map(gateways.map(({ gateway, problems }) => [gateway, problems(config).length]));
  const used = new Set(config.cameras.map((c) => c.shard));
  const passedOver: { shard: number; gateway: string }[] = [];
  for (let shard = 1; shard <= MAX_SHARD; shard++) {
    if (!used.has(shard)) return { shard, passedOver };
    const withCamera = { ...config, cameras: [...config.cameras, { ...camera, shard }] };
    const full = gateways.find(({ gateway, problems }) => problems(withCamera).length > before.get(gateway)!);
    if (!full) return { shard, passedOver };
    passedOver.push({ shard, gateway: full.gateway });
  }
  return undefined;
}
