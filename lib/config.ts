import * as fs from 'node:fs';
import * as path from 'node:path';
import { cameraNameLengthProblem, normalizedCameraName } from './camera-names';
import { defaultParameterPrefix, defaultStreamName, SITE_PATTERN } from './site-names';

/**
 * The gateway config: one file drives the streams, the compute stacks and the camera CLI.
 * `validateGatewayConfig` turns untrusted JSON into a `GatewayConfig` with every default applied,
 * or throws a `GatewayConfigError` that lists every problem at once, each naming its field.
 */

export const DEFAULT_CONFIG_FILE = 'gateway.config.json';

export type CameraCodec = 'auto' | 'h264' | 'h265';
export type CpuArchitecture = 'x86_64' | 'arm64';
export type StreamRemovalPolicy = 'retain' | 'destroy';

export interface CameraConfig {
  /** Letters, digits, `_`, `.`, `-`: names the systemd unit, the container and the SSM parameter. */
  readonly name: string;
  /** The KVS stream name; defaults to the camera name (with a site: `<site>-<camera name>`). */
  readonly streamName: string;
  /** 0 keeps no video; otherwise hours of video KVS keeps (1..87600). */
  readonly retentionHours: number;
  readonly codec: CameraCodec;
  readonly audio: boolean;
  /** The camera's average bitrate, used for cost estimates only. */
  readonly bitrateKbps: number;
  /**
   * The group of cameras that run together: one EC2 instance or one Fargate task per shard. Set by the
   * user, never computed from the other cameras, so adding or removing a camera moves no other camera.
   */
  readonly shard: number;
}

export type NetworkConfig =
  | {
      readonly mode: 'new';
      readonly ipv6: boolean;
      readonly maxAzs: number;
    }
  | {
      readonly mode: 'existing';
      readonly vpcId: string;
      readonly availabilityZones: readonly string[];
      readonly subnetIds: readonly string[];
      /** Public subnets get a public IP per task; private ones need a route to AWS (NAT, endpoints, VPN). */
      readonly subnetsArePublic: boolean;
    };

export interface Ec2Config {
  readonly instanceType: string;
  readonly architecture: CpuArchitecture;
  /** Pins the image; when absent, Canonical's current Ubuntu 24.04 AMI is resolved at deploy time. */
  readonly amiId?: string;
  /** The Producer SDK release the install script builds kvssink from. */
  readonly producerSdkTag: string;
  readonly rootVolumeGiB: number;
  /** The most cameras one shard (one instance) may hold on the EC2 gateway. */
  readonly camerasPerInstance: number;
}

export interface FargateConfig {
  readonly cpu: number;
  readonly memoryMiB: number;
  /** The most cameras one shard (one task) may hold on the Fargate gateway. */
  readonly camerasPerTask: number;
  readonly architecture: CpuArchitecture;
}

export interface MonitoringConfig {
  /** Where alarms are emailed; no subscription when absent. */
  readonly alarmEmail?: string;
  /** Minutes with no frame arriving before a camera's alarm fires. */
  readonly noFramesMinutes: number;
  readonly logRetentionDays: number;
}

export interface GatewayConfig {
  /** Names this deployment apart from others in the account and region (see lib/site-names.ts). */
  readonly site?: string;
  readonly cameras: readonly CameraConfig[];
  /** SSM path under which each camera's RTSP URL is a SecureString named after the camera. */
  readonly parameterPrefix: string;
  readonly streamRemovalPolicy: StreamRemovalPolicy;
  readonly network: NetworkConfig;
  readonly ec2: Ec2Config;
  readonly fargate: FargateConfig;
  readonly monitoring: MonitoringConfig;
}

export class GatewayConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    super(`${source} has ${problems.length} problem(s):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'GatewayConfigError';
  }
}

export const KVS_STREAM_NAME_PATTERN = /^[a-zA-Z0-9_.-]{1,256}$/;
export const MAX_RETENTION_HOURS = 87600;
export const DEFAULT_PRODUCER_SDK_TAG = 'v3.5.0';
/** The most cameras one config deploys: the largest fleet the tests synthesize and check against the limits. */
export const MAX_CAMERAS = 1000;
/** Shard numbers; each shard is a nested stack, and a stack holds at most 500 resources. */
export const MAX_SHARD = 400;
export const MAX_CAMERAS_PER_INSTANCE = 50;
/** ECS runs at most 10 containers per task: the credential refresher and up to 9 cameras. */
export const MAX_CAMERAS_PER_TASK = 9;

/** Returns why `value` cannot name a KVS stream (and so a camera), or undefined when it can. */
export function kvsStreamNameProblem(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0) return 'must be a non-empty string';
  if (value.length > 256) return `is ${value.length} characters: KVS stream names have at most 256`;
  if (!KVS_STREAM_NAME_PATTERN.test(value)) {
    return `${JSON.stringify(value)}: use letters, digits, "_", "." or "-" (KVS stream names)`;
  }
  return undefined;
}

/** The SSM parameter that holds a camera's RTSP URL (written by `kvs-gateway cameras add`). */
export function cameraUrlParameterName(parameterPrefix: string, cameraName: string): string {
  return `${parameterPrefix}/${cameraName}`;
}

/** Graviton types: `a1`, or a family whose attributes after the generation contain `g` (t4g, c7gn, x2gd). */
export function isGravitonInstanceType(instanceType: string): boolean {
  const family = instanceType.split('.')[0];
  if (family === 'a1') return true;
  const match = /^[a-z]+\d+([a-z-]*)$/.exec(family);
  return match !== null && match[1].includes('g');
}

/** Fargate's supported CPU units and the memory sizes (MiB) each allows. */
const FARGATE_MEMORY_BY_CPU: Record<number, readonly number[]> = {
  256: [512, 1024, 2048],
  512: range(1024, 4096, 1024),
  1024: range(2048, 8192, 1024),
  2048: range(4096, 16384, 1024),
  4096: range(8192, 30720, 1024),
  8192: range(16384, 61440, 4096),
  16384: range(32768, 122880, 8192),
};

function range(from: number, to: number, step: number): number[] {
  const values: number[] = [];
  for (let v = from; v <= to; v += step) values.push(v);
  return values;
}

const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

type JsonObject = Record<string, unknown>;

/** Collects problems with their field paths while reading one level of the config at a time. */
class ConfigReader {
  readonly problems: string[] = [];

  object(value: unknown, field: string, allowedKeys: readonly string[]): JsonObject | undefined {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.problems.push(`${field || 'config'}: must be an object`);
      return undefined;
    }
    for (const key of Object.keys(value)) {
      if (!allowedKeys.includes(key)) {
        const hint = closest(key, allowedKeys);
        this.problems.push(
          `${field === '' ? '' : `${field}.`}${key}: unknown key${hint ? ` (did you mean "${hint}"?)` : ''}; allowed: ${allowedKeys.join(', ')}`,
        );
      }
    }
    return value as JsonObject;
  }

  optionalObject(parent: JsonObject, key: string, field: string, allowedKeys: readonly string[]): JsonObject {
    if (parent[key] === undefined) return {};
    return this.object(parent[key], field, allowedKeys) ?? {};
  }

  string<T extends string>(
    parent: JsonObject,
    key: string,
    field: string,
    fallback: T | undefined,
    check?: (value: string) => string | undefined,
  ): T | undefined {
    const value = parent[key];
    if (value === undefined) return fallback;
    if (typeof value !== 'string') {
      this.problems.push(`${field}: must be a string, got ${JSON.stringify(value)}`);
      return fallback;
    }
    const problem = check?.(value);
    if (problem) {
      this.problems.push(`${field}: ${problem}`);
      return fallback;
    }
    return value as T;
  }

  requiredString(
    parent: JsonObject,
    key: string,
    field: string,
    check: (value: string) => string | undefined,
  ): string | undefined {
    if (parent[key] === undefined) {
      this.problems.push(`${field}: is required`);
      return undefined;
    }
    return this.string<string>(parent, key, field, undefined, check);
  }

  choice<T extends string>(
    parent: JsonObject,
    key: string,
    field: string,
    choices: readonly T[],
    fallback: T,
  ): T {
    return (
      this.string<T>(parent, key, field, fallback, (value) =>
        (choices as readonly string[]).includes(value)
          ? undefined
          : `${JSON.stringify(value)} is not one of ${choices.map((c) => `"${c}"`).join(', ')}`,
      ) ?? fallback
    );
  }

  integer(
    parent: JsonObject,
    key: string,
    field: string,
    fallback: number,
    min: number,
    max: number,
    unit = '',
  ): number {
    const value = parent[key];
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      this.problems.push(
        `${field}: must be a whole number from ${min} to ${max}${unit}, got ${JSON.stringify(value)}`,
      );
      return fallback;
    }
    return value;
  }

  boolean(parent: JsonObject, key: string, field: string, fallback: boolean): boolean {
    const value = parent[key];
    if (value === undefined) return fallback;
    if (typeof value !== 'boolean') {
      this.problems.push(`${field}: must be true or false, got ${JSON.stringify(value)}`);
      return fallback;
    }
    return value;
  }

  stringList(
    parent: JsonObject,
    key: string,
    field: string,
    check: (value: string) => string | undefined,
  ): string[] {
    const value = parent[key];
    if (!Array.isArray(value) || value.length === 0) {
      this.problems.push(`${field}: must be a non-empty list of strings`);
      return [];
    }
    return value.flatMap((item, i) => {
      const problem = typeof item === 'string' ? check(item) : 'must be a string';
      if (problem) {
        this.problems.push(`${field}[${i}]: ${problem}`);
        return [];
      }
      return [item as string];
    });
  }
}

/** The allowed key nearest to a typo, when it is near enough to be a useful hint. */
function closest(key: string, allowed: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of allowed) {
    const distance = editDistance(key.toLowerCase(), name.toLowerCase());
    if (distance <= Math.max(2, Math.floor(name.length / 3)) && (!best || distance < best.distance)) {
      best = { name, distance };
    }
  }
  return best?.name;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j] + 1,
        current[j - 1] + 1,
        previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length];
}

const URL_WITH_CREDENTIALS = /[a-z][a-z0-9+.-]*:\/\/[^/\s"@]*:[^/\s"]*@/i;

/** Finds strings anywhere in the config that look like URLs with a user and password in them. */
function findUrlsWithCredentials(value: unknown, field: string): string[] {
  if (typeof value === 'string') {
    return URL_WITH_CREDENTIALS.test(value)
      ? [
          `${field}: holds a URL with a user and password; credentials never go in the config: ` +
            'store the camera URL with "npx kvs-gateway cameras add <name> --url rtsp://host/path --user <user>"',
        ]
      : [];
  }
  if (Array.isArray(value))
    return value.flatMap((item, i) => findUrlsWithCredentials(item, `${field}[${i}]`));
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).flatMap(([key, item]) =>
      findUrlsWithCredentials(item, field === '' ? key : `${field}.${key}`),
    );
  }
  return [];
}

const CAMERA_KEYS = ['name', 'streamName', 'retentionHours', 'codec', 'audio', 'bitrateKbps', 'shard'];
const TOP_LEVEL_KEYS = [
  '$schema',
  'site',
  'cameras',
  'parameterPrefix',
  'streamRemovalPolicy',
  'network',
  'ec2',
  'fargate',
  'monitoring',
];

function readCamera(
  reader: ConfigReader,
  value: unknown,
  field: string,
  site: string | undefined,
): CameraConfig | undefined {
  const camera = reader.object(value, field, CAMERA_KEYS);
  if (!camera) return undefined;
  const name = reader.requiredString(
    camera,
    'name',
    `${field}.name`,
    (v) => kvsStreamNameProblem(v) ?? cameraNameLengthProblem(site, v),
  );
  // The name's length check (alarm names hold the site and more) keeps "<site>-<name>" within KVS's 256.
  const streamName = reader.string<string>(
    camera,
    'streamName',
    `${field}.streamName`,
    name === undefined ? undefined : defaultStreamName(site, name),
    kvsStreamNameProblem,
  );
  const retentionHours = camera.retentionHours;
  if (
    retentionHours !== undefined &&
    (typeof retentionHours !== 'number' ||
      !Number.isInteger(retentionHours) ||
      retentionHours < 0 ||
      retentionHours > MAX_RETENTION_HOURS)
  ) {
    reader.problems.push(
      `${field}.retentionHours: must be 0 (keep no video) or a whole number of hours from 1 to ${MAX_RETENTION_HOURS}, got ${JSON.stringify(retentionHours)}`,
    );
  }
  const codec = reader.choice<CameraCodec>(
    camera,
    'codec',
    `${field}.codec`,
    ['auto', 'h264', 'h265'],
    'auto',
  );
  const audio = reader.boolean(camera, 'audio', `${field}.audio`, false);
  const bitrateKbps = reader.integer(
    camera,
    'bitrateKbps',
    `${field}.bitrateKbps`,
    2000,
    64,
    100000,
    ' kbit/s',
  );
  const shard = reader.integer(camera, 'shard', `${field}.shard`, 1, 1, MAX_SHARD);
  if (name === undefined || streamName === undefined) return undefined;
  return {
    name,
    streamName,
    retentionHours: typeof retentionHours === 'number' ? retentionHours : 24,
    codec,
    audio,
    bitrateKbps,
    shard,
  };
}

function readNetwork(reader: ConfigReader, root: JsonObject): NetworkConfig {
  const network = reader.optionalObject(root, 'network', 'network', [
    'mode',
    'ipv6',
    'maxAzs',
    'vpcId',
    'availabilityZones',
    'subnetIds',
    'subnetsArePublic',
  ]);
  const mode = reader.choice(network, 'mode', 'network.mode', ['new', 'existing'], 'new');
  if (mode === 'new') {
    for (const key of ['vpcId', 'availabilityZones', 'subnetIds', 'subnetsArePublic']) {
      if (network[key] !== undefined) {
        reader.problems.push(`network.${key}: only applies with "mode": "existing"`);
      }
    }
    return {
      mode,
      ipv6: reader.boolean(network, 'ipv6', 'network.ipv6', false),
      maxAzs: reader.integer(network, 'maxAzs', 'network.maxAzs', 2, 2, 6),
    };
  }
  for (const key of ['ipv6', 'maxAzs']) {
    if (network[key] !== undefined) reader.problems.push(`network.${key}: only applies with "mode": "new"`);
  }
  const vpcId =
    reader.requiredString(network, 'vpcId', 'network.vpcId', (v) =>
      /^vpc-[0-9a-f]{8,17}$/.test(v)
        ? undefined
        : `${JSON.stringify(v)} is not a VPC id (vpc-0123456789abcdef0)`,
    ) ?? '';
  const subnetIds = reader.stringList(network, 'subnetIds', 'network.subnetIds', (v) =>
    /^subnet-[0-9a-f]{8,17}$/.test(v)
      ? undefined
      : `${JSON.stringify(v)} is not a subnet id (subnet-0123456789abcdef0)`,
  );
  const availabilityZones = reader.stringList(
    network,
    'availabilityZones',
    'network.availabilityZones',
    (v) =>
      /^[a-z]{2}(-[a-z]+)+-\d[a-z]$/.test(v)
        ? undefined
        : `${JSON.stringify(v)} is not an availability zone (eu-west-1a)`,
  );
  if (subnetIds.length > 0 && availabilityZones.length > 0 && subnetIds.length !== availabilityZones.length) {
    reader.problems.push(
      `network.subnetIds: lists ${subnetIds.length} subnet(s) but network.availabilityZones lists ${availabilityZones.length}: give one zone per subnet, in the same order`,
    );
  }
  return {
    mode,
    vpcId,
    subnetIds,
    availabilityZones,
    subnetsArePublic: reader.boolean(network, 'subnetsArePublic', 'network.subnetsArePublic', false),
  };
}

function readEc2(reader: ConfigReader, root: JsonObject): Ec2Config {
  const ec2 = reader.optionalObject(root, 'ec2', 'ec2', [
    'instanceType',
    'architecture',
    'amiId',
    'producerSdkTag',
    'rootVolumeGiB',
    'camerasPerInstance',
  ]);
  const architecture = reader.choice<CpuArchitecture>(
    ec2,
    'architecture',
    'ec2.architecture',
    ['x86_64', 'arm64'],
    'arm64',
  );
  const instanceType =
    reader.string<string>(
      ec2,
      'instanceType',
      'ec2.instanceType',
      architecture === 'arm64' ? 't4g.small' : 't3.small',
      (v) =>
        /^[a-z][a-z0-9-]*\.[a-z0-9]+$/.test(v)
          ? undefined
          : `${JSON.stringify(v)} is not an instance type (t4g.small)`,
    ) ?? 't4g.small';
  if (ec2.instanceType !== undefined && typeof ec2.instanceType === 'string') {
    const graviton = isGravitonInstanceType(instanceType);
    if (architecture === 'arm64' && !graviton) {
      reader.problems.push(
        `ec2.instanceType: "${instanceType}" is not a Graviton type but ec2.architecture is "arm64": choose a Graviton type (t4g.small, c7g.large) or set "architecture": "x86_64"`,
      );
    } else if (architecture === 'x86_64' && graviton) {
      reader.problems.push(
        `ec2.instanceType: "${instanceType}" is a Graviton (arm64) type but ec2.architecture is "x86_64": set "architecture": "arm64" or choose an x86 type (t3.small)`,
      );
    }
  }
  const amiId = reader.string<string>(ec2, 'amiId', 'ec2.amiId', undefined, (v) =>
    /^ami-[0-9a-f]{8,17}$/.test(v)
      ? undefined
      : `${JSON.stringify(v)} is not an AMI id (ami-0123456789abcdef0)`,
  );
  const producerSdkTag =
    reader.string<string>(ec2, 'producerSdkTag', 'ec2.producerSdkTag', DEFAULT_PRODUCER_SDK_TAG, (v) =>
      /^v\d+\.\d+\.\d+$/.test(v)
        ? undefined
        : `${JSON.stringify(v)} is not a release tag (${DEFAULT_PRODUCER_SDK_TAG})`,
    ) ?? DEFAULT_PRODUCER_SDK_TAG;
  return {
    instanceType,
    architecture,
    ...(amiId ? { amiId } : {}),
    producerSdkTag,
    rootVolumeGiB: reader.integer(ec2, 'rootVolumeGiB', 'ec2.rootVolumeGiB', 16, 8, 1024, ' GiB'),
    camerasPerInstance: reader.integer(
      ec2,
      'camerasPerInstance',
      'ec2.camerasPerInstance',
      10,
      1,
      MAX_CAMERAS_PER_INSTANCE,
    ),
  };
}

function readFargate(reader: ConfigReader, root: JsonObject): FargateConfig {
  const fargate = reader.optionalObject(root, 'fargate', 'fargate', [
    'cpu',
    'memoryMiB',
    'camerasPerTask',
    'architecture',
  ]);
  const cpu = reader.integer(fargate, 'cpu', 'fargate.cpu', 512, 256, 16384);
  const memoryMiB = reader.integer(fargate, 'memoryMiB', 'fargate.memoryMiB', 1024, 512, 122880, ' MiB');
  const allowedMemory = FARGATE_MEMORY_BY_CPU[cpu];
  if (!allowedMemory) {
    reader.problems.push(
      `fargate.cpu: ${cpu} is not a Fargate size; use one of ${Object.keys(FARGATE_MEMORY_BY_CPU).join(', ')}`,
    );
  } else if (!allowedMemory.includes(memoryMiB)) {
    reader.problems.push(
      `fargate.memoryMiB: ${memoryMiB} does not go with fargate.cpu ${cpu}; use ${allowedMemory[0]} to ${allowedMemory[allowedMemory.length - 1]} in steps of ${allowedMemory.length > 1 ? allowedMemory[1] - allowedMemory[0] : 0}`,
    );
  }
  return {
    cpu,
    memoryMiB,
    camerasPerTask: reader.integer(
      fargate,
      'camerasPerTask',
      'fargate.camerasPerTask',
      4,
      1,
      MAX_CAMERAS_PER_TASK,
    ),
    architecture: reader.choice<CpuArchitecture>(
      fargate,
      'architecture',
      'fargate.architecture',
      ['x86_64', 'arm64'],
      'arm64',
    ),
  };
}

function readMonitoring(reader: ConfigReader, root: JsonObject): MonitoringConfig {
  const monitoring = reader.optionalObject(root, 'monitoring', 'monitoring', [
    'alarmEmail',
    'noFramesMinutes',
    'logRetentionDays',
  ]);
  const alarmEmail = reader.string<string>(
    monitoring,
    'alarmEmail',
    'monitoring.alarmEmail',
    undefined,
    (v) =>
      /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(v) ? undefined : `${JSON.stringify(v)} is not an email address`,
  );
  const logRetentionDays = reader.integer(
    monitoring,
    'logRetentionDays',
    'monitoring.logRetentionDays',
    30,
    1,
    3653,
    ' days',
  );
  if (!LOG_RETENTION_DAYS.includes(logRetentionDays)) {
    reader.problems.push(
      `monitoring.logRetentionDays: CloudWatch Logs keeps logs for one of ${LOG_RETENTION_DAYS.join(', ')} days, not ${logRetentionDays}`,
    );
  }
  return {
    ...(alarmEmail ? { alarmEmail } : {}),
    noFramesMinutes: reader.integer(
      monitoring,
      'noFramesMinutes',
      'monitoring.noFramesMinutes',
      5,
      1,
      1440,
      ' minutes',
    ),
    logRetentionDays,
  };
}

/** Validates untrusted JSON; throws a GatewayConfigError that lists every problem found. */
export function validateGatewayConfig(raw: unknown, source = 'gateway config'): GatewayConfig {
  const reader = new ConfigReader();
  const root = reader.object(raw, '', TOP_LEVEL_KEYS);
  if (!root) throw new GatewayConfigError(source, reader.problems);
  reader.problems.push(...findUrlsWithCredentials(root, ''));

  const site = reader.string<string>(root, 'site', 'site', undefined, (v) =>
    SITE_PATTERN.test(v)
      ? undefined
      : `${JSON.stringify(v)}: use 1 to 32 letters, digits or "-", starting with a letter (it begins every stack name)`,
  );

  const cameras: CameraConfig[] = [];
  if (!Array.isArray(root.cameras) || root.cameras.length === 0) {
    reader.problems.push('cameras: must list at least one camera, e.g. [{ "name": "front-door" }]');
  } else if (root.cameras.length > MAX_CAMERAS) {
    reader.problems.push(
      `cameras: lists ${root.cameras.length} cameras; one config deploys at most ${MAX_CAMERAS}: split them over several configs, each with its own "site"`,
    );
  } else {
    const readCameras = root.cameras.map((value, i) => readCamera(reader, value, `cameras[${i}]`, site));
    reportDuplicates(reader, readCameras, 'name');
    reportDuplicates(reader, readCameras, 'streamName');
    reportLookAlikeNames(reader, readCameras);
    for (const camera of readCameras) if (camera) cameras.push(camera);
  }

  const fallbackPrefix = defaultParameterPrefix(site);
  const parameterPrefix =
    reader.string<string>(root, 'parameterPrefix', 'parameterPrefix', fallbackPrefix, (v) =>
      /^(\/[a-zA-Z0-9_.-]+)+$/.test(v) && v.length <= 900
        ? undefined
        : `${JSON.stringify(v)}: use an SSM path like "/kvs-gateway/cameras" (starts with "/", no trailing "/", letters, digits, "_", "." or "-")`,
    ) ?? fallbackPrefix;

  const config: GatewayConfig = {
    ...(site ? { site } : {}),
    cameras,
    parameterPrefix,
    streamRemovalPolicy: reader.choice<StreamRemovalPolicy>(
      root,
      'streamRemovalPolicy',
      'streamRemovalPolicy',
      ['retain', 'destroy'],
      'retain',
    ),
    network: readNetwork(reader, root),
    ec2: readEc2(reader, root),
    fargate: readFargate(reader, root),
    monitoring: readMonitoring(reader, root),
  };
  if (reader.problems.length > 0) throw new GatewayConfigError(source, reader.problems);
  return config;
}

function reportDuplicates(
  reader: ConfigReader,
  cameras: readonly (CameraConfig | undefined)[],
  key: 'name' | 'streamName',
): void {
  const firstIndex = new Map<string, number>();
  cameras.forEach((camera, i) => {
    if (!camera) return;
    const value = camera[key];
    const first = firstIndex.get(value);
    if (first === undefined) firstIndex.set(value, i);
    else
      reader.problems.push(
        `cameras[${i}].${key}: "${camera[key]}" is already used by cameras[${first}]; names must be unique`,
      );
  });
}

/** Names that differ only in case or in "-", "_" and "." (see `normalizedCameraName`). */
function reportLookAlikeNames(reader: ConfigReader, cameras: readonly (CameraConfig | undefined)[]): void {
  const firstIndex = new Map<string, number>();
  cameras.forEach((camera, i) => {
    if (!camera) return;
    const key = normalizedCameraName(camera.name);
    const first = firstIndex.get(key);
    if (first === undefined) firstIndex.set(key, i);
    else if (cameras[first]?.name !== camera.name)
      reader.problems.push(
        `cameras[${i}].name: "${camera.name}" differs from cameras[${first}].name "${cameras[first]?.name}" only in case or in "-", "_" or ".": the names become containers, units, alarms and logs where that difference is lost or easy to misread; rename one`,
      );
  });
}

/** Reads and validates a config file; errors name the file and every problem in it. */
export function loadGatewayConfig(file: string): GatewayConfig {
  const source = path.relative(process.cwd(), file) || file;
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new GatewayConfigError(source, [`cannot be read: ${(error as Error).message}`]);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new GatewayConfigError(source, [`is not valid JSON: ${(error as Error).message}`]);
  }
  return validateGatewayConfig(raw, source);
}
