import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { cameraNameLengthProblem, normalizedCameraName } from './camera-names';
import { decodeConfigFile } from './config-encoding';
import { parseConfigText, type TextProblem } from './config-text';
import { fieldName, generalSentence, problemSentences } from './config-problems';
import { instanceTypeArchitecture, instanceTypeProblem } from './ec2-instance-types';
import { parseClock, parseDays, RecordingSchedule } from './recording-schedule';
import { holdsUrlCredentials, show, showUnquoted } from './shown-value';
import { defaultParameterPrefix, defaultStreamName, SITE_PATTERN } from './site-names';
import { timeZoneProblem } from './time-zone-names';

/**
 * The gateway config: one file drives the streams, the compute stacks and the camera CLI.
 *
 * `GATEWAY_CONFIG_SCHEMA` is the single source of the rules: `validateGatewayConfig` parses with
 * it (every default applied, or a `GatewayConfigError` listing every problem at once, each naming
 * its field and the fix), the types below are inferred from it, and `gateway.config.schema.json`
 * (the JSON Schema editors use for completion and checks) is generated from it
 * (`npm run config-schema`; a test fails when the committed file differs).
 */

export const DEFAULT_CONFIG_FILE = 'gateway.config.json';
export const CONFIG_SCHEMA_FILE = 'gateway.config.schema.json';

export const KVS_STREAM_NAME_PATTERN = /^[a-zA-Z0-9_.-]{1,256}$/;
export const MAX_RETENTION_HOURS = 87600;
export const DEFAULT_PRODUCER_SDK_TAG = 'v3.5.0';
/**
 * The fingerprint of Fluent Bit's package repository key (packages.fluentbit.io/fluentbit.key,
 * "Fluentbit releases (Releases signing key)", as Fluent Bit's installation docs publish it since 1.9):
 * the install trusts the key it downloads only when it has this one (ec2.fluentBitKeyFingerprint).
 */
export const FLUENT_BIT_KEY_FINGERPRINT = 'C3C0A28534B9293EAF51FABD9F9DDC083888C1CD';
/** The most cameras one config deploys: the largest fleet the tests synthesize and check against the limits. */
export const MAX_CAMERAS = 1000;
/**
 * Shard numbers. Each shard is a nested stack (a stack holds 500 resources), and the dashboard names
 * each shard's alarm and graphs: with 250 shards and the longest camera names the largest template is
 * 0.76 MB of CloudFormation's 1 MB (measured; see test/gateway-scale.test.ts).
 */
export const MAX_SHARD = 250;
export const MAX_CAMERAS_PER_INSTANCE = 50;
/** ECS runs at most 10 containers per task: the credential refresher and up to 9 cameras. */
export const MAX_CAMERAS_PER_TASK = 9;
/** Windows per schedule: enough for three a day written day by day, few enough for one alarm expression. */
export const MAX_SCHEDULE_WINDOWS = 21;

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
const FARGATE_CPUS = [256, 512, 1024, 2048, 4096, 8192, 16384] as const;

function range(from: number, to: number, step: number): number[] {
  const values: number[] = [];
  for (let v = from; v <= to; v += step) values.push(v);
  return values;
}

const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

// ---- Field kinds: each carries its own sentence for a wrong value ----

function wholeNumber(min: number, max: number, unit = '') {
  const sentence = (issue: { input?: unknown }) =>
    `must be a whole number from ${min} to ${max}${unit}, got ${show(issue.input)}`;
  return z.int({ error: sentence }).min(min, { error: sentence }).max(max, { error: sentence });
}

/** A string matching `pattern`; `problem` says what the value is not, with an example. */
function text(pattern: RegExp, problem: (value: string) => string) {
  return z.string().regex(pattern, { error: (issue) => problem(issue.input as string) });
}

function choice<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, {
    error: (issue) => `${show(issue.input)} is not one of ${values.map((v) => `"${v}"`).join(', ')}`,
  });
}

function nonEmptyList<T extends z.ZodType>(item: T) {
  const sentence = 'must be a non-empty list of strings';
  return z.array(item, { error: sentence }).min(1, { error: sentence });
}

/** Checks that run even when other fields of the same object are wrong: every problem at once. */
const ALWAYS = { when: () => true };

/** The object a check receives, or undefined when the value is not one (its type problem is reported). */
function fieldsOf(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

const kvsName = z
  .string()
  .min(1, { error: 'must be a non-empty string', abort: true })
  .max(256, {
    error: (issue) => `is ${(issue.input as string).length} characters: KVS stream names have at most 256`,
    abort: true,
  })
  .regex(KVS_STREAM_NAME_PATTERN, {
    error: (issue) => `${show(issue.input)}: use letters, digits, "_", "." or "-" (KVS stream names)`,
  });

/** Returns why `value` cannot name a KVS stream (and so a camera), or undefined when it can. */
export function kvsStreamNameProblem(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0) return 'must be a non-empty string';
  const result = kvsName.safeParse(value);
  return result.success ? undefined : result.error.issues[0].message;
}

/** The SSM parameter that holds a camera's RTSP URL (written by `kvs-gateway cameras add`). */
export function cameraUrlParameterName(parameterPrefix: string, cameraName: string): string {
  return `${parameterPrefix}/${cameraName}`;
}

// ---- The sections of the config ----

const CLOCK_HINT = 'use 24-hour "HH:MM", like "07:00" or "19:30"';

const SCHEDULE_WINDOW_SCHEMA = z
  .strictObject({
    days: z
      .string()
      .refine((days) => typeof parseDays(days) !== 'string', {
        error: (issue) => parseDays(String(issue.input)) as string,
      })
      .default('daily')
      .describe('The days the window starts on: "mon-fri", "sat,sun", "fri-mon" or "daily" (the default).'),
    from: z
      .string()
      .refine((from) => parseClock(from) !== undefined, {
        error: (issue) => `${show(issue.input)}: ${CLOCK_HINT} (00:00 to 23:59)`,
      })
      .describe('When recording starts, local time "HH:MM".'),
    to: z
      .string()
      .refine((to) => parseClock(to, true) !== undefined, {
        error: (issue) => `${show(issue.input)}: ${CLOCK_HINT} (00:00 to 24:00)`,
      })
      .describe(
        'When recording stops, local time "HH:MM" ("24:00" is midnight at the end of the day); a time not after "from" ends on the next day.',
      ),
  })
  .superRefine((window, ctx) => {
    const fields = fieldsOf(window);
    if (fields && typeof fields.from === 'string' && fields.from === fields.to) {
      ctx.addIssue({
        code: 'custom',
        path: ['to'],
        message: `is the same as "from" (${show(fields.from)}), so the window would be empty: for the whole day write "from": "00:00", "to": "24:00"`,
      });
    }
  }, ALWAYS);

const SCHEDULE_SCHEMA = z
  .strictObject({
    timeZone: z
      .string()
      .refine((zone) => timeZoneProblem(zone) === undefined, {
        error: (issue) => timeZoneProblem(String(issue.input)),
      })
      .describe(
        'The IANA time zone of the windows, like "Europe/Berlin" or "America/New_York": windows are wall-clock times there, daylight saving included.',
      ),
    windows: z
      .array(SCHEDULE_WINDOW_SCHEMA, {
        error: 'must be a list of windows like { "days": "mon-fri", "from": "07:00", "to": "19:00" }',
      })
      .min(1, {
        error:
          'must list at least one window, like { "days": "mon-fri", "from": "07:00", "to": "19:00" }; to stop a camera, remove it',
      })
      .max(MAX_SCHEDULE_WINDOWS, {
        error: (issue) =>
          `lists ${(issue.input as unknown[]).length} windows, more than ${MAX_SCHEDULE_WINDOWS}: give several days to one window ("days": "mon-fri")`,
      })
      .describe('The weekly windows in which the camera records; overlapping windows add up.'),
  })
  .describe(
    'When the camera records (docs/config.md#recording-schedules): weekly windows of wall-clock time in a time zone. Outside them the gateway does not connect to the camera and sends nothing to KVS.',
  );

const retentionSentence = (issue: { input?: unknown }) =>
  `must be 0 (keep no video) or a whole number of hours from 1 to ${MAX_RETENTION_HOURS}, got ${show(issue.input)}`;

const CAMERA_SCHEMA = z.strictObject({
  name: kvsName.describe(
    'Letters, digits, "_", "." or "-": names the systemd unit, the container and the SSM parameter of the camera.',
  ),
  streamName: kvsName
    .optional()
    .describe('The KVS stream name; defaults to the camera name (with a "site": "<site>-<name>").'),
  retentionHours: z
    .int({ error: retentionSentence })
    .min(0, { error: retentionSentence })
    .max(MAX_RETENTION_HOURS, { error: retentionSentence })
    .default(24)
    .describe(`Hours of video KVS keeps (1 to ${MAX_RETENTION_HOURS}); 0 keeps no video (no playback).`),
  codec: choice(['auto', 'h264', 'h265'])
    .default('auto')
    .describe('The video codec the camera sends; "auto" takes what the camera offers.'),
  audio: z.boolean().default(false).describe("Also send the camera's audio track (AAC, A-law or mu-law)."),
  bitrateKbps: wholeNumber(64, 100000, ' kbit/s')
    .default(2000)
    .describe(
      "The camera's average bitrate (kbit/s), for the cost estimate and to check that a Fargate task's memory holds its cameras' buffers.",
    ),
  shard: wholeNumber(1, MAX_SHARD)
    .default(1)
    .describe(
      'The group of cameras that run together: one EC2 instance or one Fargate task per shard number. Yours to set, never computed from the other cameras, so adding or removing a camera moves no other camera (docs/operations-and-cost.md).',
    ),
  schedule: z
    .union([z.literal('always'), SCHEDULE_SCHEMA], {
      error: (issue) =>
        `${show(issue.input)}: use "always" or a schedule like { "timeZone": "Europe/Berlin", "windows": [{ "days": "mon-fri", "from": "07:00", "to": "19:00" }] }`,
    })
    .optional()
    .describe(
      'When this camera records; default: the config\'s "schedule", else always. "always" records around the clock whatever the default.',
    ),
});

const CAMERAS_REQUIRED = 'must list at least one camera, e.g. [{ "name": "front-door" }]';

const CAMERAS_SCHEMA = z
  .array(CAMERA_SCHEMA, { error: CAMERAS_REQUIRED })
  .min(1, { error: CAMERAS_REQUIRED })
  .max(MAX_CAMERAS, {
    error: (issue) =>
      `lists ${(issue.input as unknown[]).length} cameras; one config deploys at most ${MAX_CAMERAS}: split them over several configs, each with its own "site"`,
  })
  .describe('The cameras: one KVS stream and one gateway pipeline each.');

/**
 * The checks across cameras, read from the input as given (so that a camera with an unrelated problem
 * still counts) and with the site, which sets the default stream names and the longest camera name:
 * names and stream names unique, no two names alike but for case or "-", "_", ".", every name short
 * enough for the names derived from it.
 */
function checkCameraNames(raw: Record<string, unknown>, ctx: z.core.$RefinementCtx<unknown>): void {
  const site = typeof raw.site === 'string' && SITE_PATTERN.test(raw.site) ? raw.site : undefined;
  if (!Array.isArray(raw.cameras) || raw.cameras.length > MAX_CAMERAS) return;
  const named = (raw.cameras as unknown[]).map((camera) => {
    const fields = fieldsOf(camera);
    const name = fields && kvsStreamNameProblem(fields.name) === undefined ? String(fields.name) : undefined;
    const streamName =
      fields?.streamName === undefined
        ? name && defaultStreamName(site, name)
        : kvsStreamNameProblem(fields.streamName) === undefined
          ? String(fields.streamName)
          : undefined;
    return { name, streamName };
  });
  const problem = (i: number, key: string, message: string) =>
    ctx.addIssue({ code: 'custom', path: ['cameras', i, key], message });
  for (const key of ['name', 'streamName'] as const) {
    const firstIndex = new Map<string, number>();
    named.forEach((camera, i) => {
      const value = camera[key];
      if (value === undefined) return;
      const first = firstIndex.get(value);
      if (first === undefined) firstIndex.set(value, i);
      else problem(i, key, `"${value}" is already used by cameras[${first}]; names must be unique`);
    });
  }
  const firstLookAlike = new Map<string, number>();
  named.forEach(({ name }, i) => {
    if (name === undefined) return;
    const tooLong = cameraNameLengthProblem(site, name);
    if (tooLong) problem(i, 'name', tooLong);
    const key = normalizedCameraName(name);
    const first = firstLookAlike.get(key);
    if (first === undefined) firstLookAlike.set(key, i);
    else if (named[first].name !== name)
      problem(
        i,
        'name',
        `"${name}" differs from cameras[${first}].name "${named[first].name}" only in case or in "-", "_" or ".": the names become containers, units, alarms and logs where that difference is lost or easy to misread; rename one`,
      );
  });
}

const NEW_VPC_KEYS = ['ipv6', 'maxAzs'] as const;
const EXISTING_VPC_KEYS = ['vpcId', 'availabilityZones', 'subnetIds', 'subnetsArePublic'] as const;
const EXISTING_VPC_REQUIRED = ['vpcId', 'availabilityZones', 'subnetIds'] as const;

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

const NETWORK_SCHEMA = z
  .strictObject({
    mode: choice(['new', 'existing'])
      .default('new')
      .describe(
        '"new": the stacks make a VPC with public subnets and no NAT gateway; "existing": use yours.',
      ),
    ipv6: z.boolean().optional().meta({ default: false, description: 'Dual-stack subnets ("mode": "new").' }),
    maxAzs: wholeNumber(2, 6)
      .optional()
      .meta({ default: 2, description: 'Availability zones of the new VPC ("mode": "new").' }),
    vpcId: text(/^vpc-[0-9a-f]{8,17}$/, (v) => `${show(v)} is not a VPC id (vpc-0123456789abcdef0)`)
      .optional()
      .describe('Your VPC ("mode": "existing").'),
    availabilityZones: nonEmptyList(
      text(/^[a-z]{2}(-[a-z]+)+-\d[a-z]$/, (v) => `${show(v)} is not an availability zone (eu-west-1a)`),
    )
      .optional()
      .describe('The zone of each subnet, in the same order ("mode": "existing").'),
    subnetIds: nonEmptyList(
      text(/^subnet-[0-9a-f]{8,17}$/, (v) => `${show(v)} is not a subnet id (subnet-0123456789abcdef0)`),
    )
      .optional()
      .describe('The subnets the gateway runs in ("mode": "existing").'),
    subnetsArePublic: z.boolean().optional().meta({
      default: false,
      description:
        'Public subnets get a public IP per instance or task; private ones need a route to AWS (NAT, endpoints, VPN).',
    }),
  })
  .superRefine((network, ctx) => {
    const fields = fieldsOf(network);
    if (!fields) return;
    const problem = (key: string, message: string) => ctx.addIssue({ code: 'custom', path: [key], message });
    if (fields.mode === 'new') {
      for (const key of EXISTING_VPC_KEYS) {
        if (fields[key] !== undefined) problem(key, 'only applies with "mode": "existing"');
      }
    } else if (fields.mode === 'existing') {
      for (const key of NEW_VPC_KEYS) {
        if (fields[key] !== undefined) problem(key, 'only applies with "mode": "new"');
      }
      if (fields.vpcId === undefined) problem('vpcId', 'is required');
      for (const key of ['subnetIds', 'availabilityZones']) {
        if (fields[key] === undefined) problem(key, 'must be a non-empty list of strings');
      }
      const { subnetIds, availabilityZones } = fields;
      if (
        Array.isArray(subnetIds) &&
        Array.isArray(availabilityZones) &&
        subnetIds.length > 0 &&
        availabilityZones.length > 0 &&
        subnetIds.length !== availabilityZones.length
      ) {
        problem(
          'subnetIds',
          `lists ${subnetIds.length} subnet(s) but network.availabilityZones lists ${availabilityZones.length}: give one zone per subnet, in the same order`,
        );
      }
    }
  }, ALWAYS)
  // The same mode rules for editors (the check above is what synth runs).
  .meta({
    if: { properties: { mode: { const: 'existing' } }, required: ['mode'] },
    then: {
      required: [...EXISTING_VPC_REQUIRED],
      properties: Object.fromEntries(NEW_VPC_KEYS.map((key) => [key, false])),
    },
    else: { properties: Object.fromEntries(EXISTING_VPC_KEYS.map((key) => [key, false])) },
  })
  .transform((network): NetworkConfig =>
    network.mode === 'new'
      ? { mode: 'new', ipv6: network.ipv6 ?? false, maxAzs: network.maxAzs ?? 2 }
      : {
          mode: 'existing',
          vpcId: network.vpcId!,
          availabilityZones: network.availabilityZones!,
          subnetIds: network.subnetIds!,
          subnetsArePublic: network.subnetsArePublic ?? false,
        },
  );

const ARCHITECTURE = choice(['x86_64', 'arm64']);

const EC2_SCHEMA = z
  .strictObject({
    // Checked against the types EC2 offers below (with a "did you mean"); the pattern is for editors.
    instanceType: z
      .string()
      .meta({ pattern: '^[a-z][a-z0-9-]*\\.[a-z0-9-]+$' })
      .optional()
      .describe('The instance type; default: t4g.small for arm64, t3.small for x86_64.'),
    architecture: ARCHITECTURE.default('arm64').describe('Must match the instance type (Graviton is arm64).'),
    amiId: text(/^ami-[0-9a-f]{8,17}$/, (v) => `${show(v)} is not an AMI id (ami-0123456789abcdef0)`)
      .optional()
      .describe(
        "Pins the image; when absent, Canonical's current Ubuntu 24.04 AMI is resolved at deploy time.",
      ),
    producerSdkTag: text(
      /^v\d+\.\d+\.\d+$/,
      (v) => `${show(v)} is not a release tag (${DEFAULT_PRODUCER_SDK_TAG})`,
    )
      .default(DEFAULT_PRODUCER_SDK_TAG)
      .describe('The Producer SDK release the install script builds kvssink from.'),
    fluentBitKeyFingerprint: text(
      /^([0-9A-F]{40}|[0-9A-F]{64})$/,
      (v) =>
        `${show(v)} is not an OpenPGP key fingerprint (40 upper-case hex digits, ${FLUENT_BIT_KEY_FINGERPRINT})`,
    )
      .default(FLUENT_BIT_KEY_FINGERPRINT)
      .describe(
        "The fingerprint the install requires of Fluent Bit's package repository key before apt trusts it; the default is the one Fluent Bit publishes.",
      ),
    rootVolumeGiB: wholeNumber(8, 1024, ' GiB').default(16).describe('Size of the root volume (GiB).'),
    camerasPerInstance: wholeNumber(1, MAX_CAMERAS_PER_INSTANCE)
      .default(10)
      .describe(
        'The most cameras one shard (one instance) may hold; a t4g.small runs about 10 within its CPU baseline.',
      ),
  })
  .superRefine((ec2, ctx) => {
    const fields = fieldsOf(ec2);
    if (typeof fields?.instanceType !== 'string') return;
    const { instanceType, architecture } = fields;
    // The architecture is the instance family's (lib/ec2-instance-types.json, from the AWS Price List).
    const offered = instanceTypeArchitecture(instanceType);
    const message =
      offered === undefined
        ? instanceTypeProblem(instanceType)
        : architecture === 'arm64' && offered === 'x86_64'
          ? `"${instanceType}" is not a Graviton type but ec2.architecture is "arm64": choose a Graviton type (t4g.small, c7g.large) or set "architecture": "x86_64"`
          : architecture === 'x86_64' && offered === 'arm64'
            ? `"${instanceType}" is a Graviton (arm64) type but ec2.architecture is "x86_64": set "architecture": "arm64" or choose an x86 type (t3.small)`
            : undefined;
    if (message) ctx.addIssue({ code: 'custom', path: ['instanceType'], message });
  }, ALWAYS)
  .transform(({ instanceType, ...ec2 }) => ({
    instanceType: instanceType ?? (ec2.architecture === 'arm64' ? 't4g.small' : 't3.small'),
    ...ec2,
  }));

const FARGATE_SCHEMA = z
  .strictObject({
    cpu: z
      .literal(FARGATE_CPUS, {
        error: (issue) => `${show(issue.input)} is not a Fargate size; use one of ${FARGATE_CPUS.join(', ')}`,
      })
      .default(512)
      .describe('CPU units per task (1024 = 1 vCPU).'),
    memoryMiB: wholeNumber(512, 122880, ' MiB')
      .default(1024)
      .describe('Memory per task (MiB); each CPU size allows a range.'),
    camerasPerTask: wholeNumber(1, MAX_CAMERAS_PER_TASK)
      .default(4)
      .describe(
        'The most cameras one shard (one task) may hold; ECS runs at most 10 containers per task, the credential refresher and 9 cameras.',
      ),
    architecture: ARCHITECTURE.default('arm64'),
  })
  .superRefine((fargate, ctx) => {
    const { cpu, memoryMiB } = fieldsOf(fargate) ?? {};
    if (typeof cpu !== 'number' || !Object.hasOwn(FARGATE_MEMORY_BY_CPU, cpu)) return;
    const allowed = FARGATE_MEMORY_BY_CPU[cpu];
    if (typeof memoryMiB !== 'number' || allowed.includes(memoryMiB)) return;
    const step = allowed.length > 1 ? allowed[1] - allowed[0] : 0;
    ctx.addIssue({
      code: 'custom',
      path: ['memoryMiB'],
      message: `${show(memoryMiB)} does not go with fargate.cpu ${cpu}; use ${allowed[0]} to ${allowed[allowed.length - 1]} in steps of ${step}`,
    });
  }, ALWAYS);

const MONITORING_SCHEMA = z.strictObject({
  alarmEmail: text(/^[^@\s]+@[^@\s]+\.[^@\s]+$/, (v) => `${show(v)} is not an email address`)
    .optional()
    .describe('Where alarms are emailed; no subscription when absent.'),
  noFramesMinutes: wholeNumber(1, 1440, ' minutes')
    .default(5)
    .describe("Minutes with no frame arriving before a camera's alarm fires."),
  logRetentionDays: z
    .literal(LOG_RETENTION_DAYS, {
      error: (issue) =>
        `CloudWatch Logs keeps logs for one of ${LOG_RETENTION_DAYS.join(', ')} days, not ${show(issue.input)}`,
    })
    .default(30)
    .describe('Days CloudWatch Logs keeps the gateway logs.'),
});

const CREDENTIALS_SENTENCE =
  'holds a URL with a user and password; credentials never go in the config: ' +
  'store the camera URL with "npx kvs-gateway cameras add <name> --url rtsp://host/path --user <user>"';

/**
 * Fields anywhere in the config, known or not, holding a URL with a user and password in them (in
 * their value, or in their key). It reads the document as given: the schema's parsed value has
 * dropped the unknown keys.
 */
function fieldsWithCredentials(value: unknown, path: PropertyKey[]): PropertyKey[][] {
  if (typeof value === 'string') return holdsUrlCredentials(value) ? [path] : [];
  if (Array.isArray(value)) return value.flatMap((item, i) => fieldsWithCredentials(item, [...path, i]));
  const fields = fieldsOf(value);
  return fields
    ? Object.entries(fields).flatMap(([key, item]) =>
        holdsUrlCredentials(key) ? [[...path, key]] : fieldsWithCredentials(item, [...path, key]),
      )
    : [];
}

export const GATEWAY_CONFIG_SCHEMA = z
  .strictObject({
    $schema: z
      .string()
      .optional()
      .describe('The JSON Schema of this file, for your editor: "./gateway.config.schema.json".'),
    site: text(
      SITE_PATTERN,
      (v) =>
        `${show(v)}: use 1 to 32 letters, digits or "-", starting with a letter (it begins every stack name)`,
    )
      .optional()
      .describe(
        'Names this deployment apart from others in the account and region: it begins every stack, parameter, alarm and dashboard name, and the default stream names. Choose it before the first deploy. Default: none (the names without a site).',
      ),
    cameras: CAMERAS_SCHEMA,
    parameterPrefix: text(
      /^(\/[a-zA-Z0-9_.-]+)+$/,
      (v) =>
        `${show(v)}: use an SSM path like "/kvs-gateway/cameras" (starts with "/", no trailing "/", letters, digits, "_", "." or "-")`,
    )
      .max(900, { error: 'must be at most 900 characters (SSM parameter names have at most 1011)' })
      .optional()
      .meta({
        default: '/kvs-gateway/cameras',
        description:
          "SSM path under which each camera's RTSP URL is a SecureString named after the camera. Default: /kvs-gateway/cameras, with a site /kvs-gateway/sites/<site>/cameras.",
      }),
    streamRemovalPolicy: choice(['retain', 'destroy'])
      .default('retain')
      .describe('What happens to the streams (and their video) when the stack is deleted.'),
    schedule: SCHEDULE_SCHEMA.optional().describe(
      'When every camera without a "schedule" of its own records (docs/config.md#recording-schedules); default: always.',
    ),
    network: NETWORK_SCHEMA.prefault({}),
    ec2: EC2_SCHEMA.prefault({}).describe('The EC2 gateway (Ec2GatewayStack).'),
    fargate: FARGATE_SCHEMA.prefault({}).describe('The Fargate gateway (FargateGatewayStack).'),
    monitoring: MONITORING_SCHEMA.prefault({}).describe('Alarms, dashboard and logs.'),
  })
  .superRefine((config, ctx) => {
    const fields = fieldsOf(config);
    if (fields) checkCameraNames(fields, ctx);
  }, ALWAYS)
  .transform(
    ({ $schema: _schema, site, cameras, parameterPrefix, schedule: defaultSchedule, ...config }) => ({
      ...(site ? { site } : {}),
      cameras: cameras.map(({ streamName, schedule, ...camera }) => {
        const recordingSchedule: RecordingSchedule | undefined =
          schedule === 'always' ? undefined : (schedule ?? defaultSchedule);
        return {
          ...camera,
          streamName: streamName ?? defaultStreamName(site, camera.name),
          // Absent: the camera records around the clock.
          ...(recordingSchedule ? { schedule: recordingSchedule } : {}),
        };
      }),
      parameterPrefix: parameterPrefix ?? defaultParameterPrefix(site),
      ...config,
    }),
  )
  .meta({
    title: 'KVS Cloud Gateway config',
    description: 'The config of a KVS Cloud Gateway (docs/config.md).',
  });

export type GatewayConfig = z.output<typeof GATEWAY_CONFIG_SCHEMA>;
export type CameraConfig = GatewayConfig['cameras'][number];
export type Ec2Config = GatewayConfig['ec2'];
export type FargateConfig = GatewayConfig['fargate'];
export type MonitoringConfig = GatewayConfig['monitoring'];
export type CameraCodec = CameraConfig['codec'];
export type CpuArchitecture = Ec2Config['architecture'];
export type StreamRemovalPolicy = GatewayConfig['streamRemovalPolicy'];

/** The JSON Schema of the config file (draft-07, which every common editor reads). */
export function gatewayConfigJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(GATEWAY_CONFIG_SCHEMA, { io: 'input', target: 'draft-07' });
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

/**
 * Every problem of a parsed config document, or its config with every default applied. A field
 * that holds credentials, or a number that could not be read as written, gets that one sentence: the
 * schema's sentence about it would only repeat the value (a password among others).
 */
function checkConfig(
  raw: unknown,
  textProblems: readonly TextProblem[] = [],
): { config?: GatewayConfig; problems: string[] } {
  const credentials = fieldsWithCredentials(raw, []);
  const reported = new Set(
    [...credentials, ...textProblems.flatMap((problem) => (problem.path ? [problem.path] : []))].map(
      fieldName,
    ),
  );
  const result = GATEWAY_CONFIG_SCHEMA.safeParse(raw, { reportInput: true, error: generalSentence });
  const problems = [
    ...textProblems.map(textProblemSentence),
    ...(result.success ? [] : problemSentences(result.error.issues, GATEWAY_CONFIG_SCHEMA, reported)),
    ...credentials.map((path) => `${fieldName(path)}: ${CREDENTIALS_SENTENCE}`),
  ];
  return result.success && problems.length === 0 ? { config: result.data, problems } : { problems };
}

function textProblemSentence(problem: TextProblem): string {
  return problem.path ? `${fieldName(problem.path)}: ${problem.message}` : problem.message;
}

/** Validates untrusted JSON; throws a GatewayConfigError that lists every problem found. */
export function validateGatewayConfig(raw: unknown, source = 'gateway config'): GatewayConfig {
  const { config, problems } = checkConfig(raw);
  if (!config) throw new GatewayConfigError(source, problems);
  return config;
}

/**
 * How errors and notes name a config file, the same in the CDK app and in every CLI command: relative
 * to the folder the command runs in (the project folder), absolute when it is outside that folder.
 */
export function configFileName(file: string, cwd: string = process.cwd()): string {
  const absolute = path.resolve(cwd, file);
  const relative = path.relative(cwd, absolute);
  return showUnquoted(
    relative === '' || relative.startsWith('..') || path.isAbsolute(relative) ? absolute : relative,
  );
}

/** Reads and validates a config file (UTF-8 JSON with comments); errors name the file and every problem in it. */
export function loadGatewayConfig(file: string, cwd: string = process.cwd()): GatewayConfig {
  const source = configFileName(file, cwd);
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(path.resolve(cwd, file));
  } catch (error) {
    throw new GatewayConfigError(source, [`cannot be read: ${readProblem(error)}`]);
  }
  return gatewayConfigFromFile(bytes, source);
}

/** Validates the bytes of a config file; `source` names the file in the errors. */
export function gatewayConfigFromFile(bytes: Uint8Array, source: string): GatewayConfig {
  const decoded = decodeConfigFile(bytes);
  if ('problem' in decoded) throw new GatewayConfigError(source, [decoded.problem]);
  const parsed = parseConfigText(decoded.text);
  if (parsed.value === undefined)
    throw new GatewayConfigError(source, parsed.problems.map(textProblemSentence));
  const { config, problems } = checkConfig(parsed.value, parsed.problems);
  if (!config) throw new GatewayConfigError(source, problems);
  return config;
}

/** Why a file could not be read, without its path (the message names the file once, as everywhere). */
function readProblem(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return 'there is no such file (choose one with --config <file>, or -c config=<file> for cdk)';
    case 'EISDIR':
      return 'it is a folder, not a file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    default:
      return code ?? String(error);
  }
}
