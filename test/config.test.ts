import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Ajv from 'ajv';
import {
  CONFIG_SCHEMA_FILE,
  gatewayConfigJsonSchema,
  GatewayConfigError,
  kvsStreamNameProblem,
  loadGatewayConfig,
  validateGatewayConfig,
} from '../lib/config';
import { instanceTypeArchitecture } from '../lib/ec2-instance-types';
import { sampleConfigJson } from './support/gateway-app';

function problemsOf(raw: unknown): readonly string[] {
  try {
    validateGatewayConfig(raw);
  } catch (error) {
    if (error instanceof GatewayConfigError) return error.problems;
    throw error;
  }
  throw new Error('the config was accepted');
}

const camera = { name: 'front-door' };
const withCameras = (...cameras: unknown[]) => ({ cameras });
const existingVpc = {
  mode: 'existing',
  vpcId: 'vpc-0123456789abcdef0',
  availabilityZones: ['eu-west-1a'],
  subnetIds: ['subnet-0123456789abcdef0'],
};

describe('a valid config', () => {
  test('the sample config is valid and gets its defaults', () => {
    const config = validateGatewayConfig(sampleConfigJson);
    expect(config.cameras.map((c) => c.streamName)).toEqual(['front-door', 'loading-dock', 'site1.lobby']);
    expect(config.cameras[2]).toEqual({
      name: 'lobby',
      streamName: 'site1.lobby',
      retentionHours: 168,
      codec: 'auto',
      audio: false,
      bitrateKbps: 2000,
      shard: 1,
    });
  });

  test('a config with one camera name gets secure, small defaults', () => {
    const config = validateGatewayConfig(withCameras(camera));
    expect(config).toEqual({
      cameras: [
        {
          name: 'front-door',
          streamName: 'front-door',
          retentionHours: 24,
          codec: 'auto',
          audio: false,
          bitrateKbps: 2000,
          shard: 1,
        },
      ],
      parameterPrefix: '/kvs-gateway/cameras',
      streamRemovalPolicy: 'retain',
      network: { mode: 'new', ipv6: false, maxAzs: 2 },
      ec2: {
        instanceType: 't4g.small',
        architecture: 'arm64',
        producerSdkTag: 'v3.5.0',
        fluentBitKeyFingerprint: 'C3C0A28534B9293EAF51FABD9F9DDC083888C1CD',
        rootVolumeGiB: 16,
        camerasPerInstance: 10,
      },
      fargate: { cpu: 512, memoryMiB: 1024, camerasPerTask: 4, architecture: 'arm64' },
      monitoring: { noFramesMinutes: 5, logRetentionDays: 30 },
    });
  });

  test('a site names its streams and camera parameters after it; names written out are kept', () => {
    const config = validateGatewayConfig({
      site: 'plant-2',
      cameras: [{ name: 'front-door' }, { name: 'dock', streamName: 'plant2.dock' }],
    });
    expect(config.site).toBe('plant-2');
    expect(config.cameras.map((c) => c.streamName)).toEqual(['plant-2-front-door', 'plant2.dock']);
    expect(config.parameterPrefix).toBe('/kvs-gateway/sites/plant-2/cameras');
    expect(
      validateGatewayConfig({ site: 'plant-2', parameterPrefix: '/cams', cameras: [camera] }).parameterPrefix,
    ).toBe('/cams');
    // Without a site, today's names; no "site" key in the result.
    expect(validateGatewayConfig(withCameras(camera))).not.toHaveProperty('site');
  });

  test('each camera keeps the shard it names, 1 when it names none', () => {
    const config = validateGatewayConfig(
      withCameras({ name: 'a', shard: 3 }, { name: 'b' }, { name: 'c', shard: 250 }),
    );
    expect(config.cameras.map((c) => c.shard)).toEqual([3, 1, 250]);
  });

  test('x86_64 defaults to an x86 instance type', () => {
    expect(
      validateGatewayConfig({ ...withCameras(camera), ec2: { architecture: 'x86_64' } }).ec2.instanceType,
    ).toBe('t3.small');
  });

  test('retention 0 keeps no video and 87600 is the longest', () => {
    const config = validateGatewayConfig(
      withCameras({ name: 'a', retentionHours: 0 }, { name: 'b', retentionHours: 87600 }),
    );
    expect(config.cameras.map((c) => c.retentionHours)).toEqual([0, 87600]);
  });

  test('a schedule is a default for every camera; a camera may have its own, or record "always"', () => {
    const shop = { timeZone: 'Europe/Berlin', windows: [{ days: 'mon-fri', from: '07:00', to: '19:00' }] };
    const nights = { timeZone: 'UTC', windows: [{ from: '22:00', to: '06:00' }] };
    const config = validateGatewayConfig({
      schedule: shop,
      cameras: [{ name: 'till' }, { name: 'gate', schedule: 'always' }, { name: 'yard', schedule: nights }],
    });
    expect(config.cameras.map((c) => [c.name, c.schedule])).toEqual([
      ['till', shop],
      ['gate', undefined],
      // "days" defaults to every day.
      ['yard', { timeZone: 'UTC', windows: [{ days: 'daily', from: '22:00', to: '06:00' }] }],
    ]);
    expect(config).not.toHaveProperty('schedule');
    expect(validateGatewayConfig(withCameras(camera)).cameras[0]).not.toHaveProperty('schedule');
  });

  test('an existing VPC needs no AWS call', () => {
    const config = validateGatewayConfig({ ...withCameras(camera), network: existingVpc });
    expect(config.network).toEqual({
      mode: 'existing',
      vpcId: 'vpc-0123456789abcdef0',
      availabilityZones: ['eu-west-1a'],
      subnetIds: ['subnet-0123456789abcdef0'],
      subnetsArePublic: false,
    });
  });
});

describe('a bad config is rejected with the field and the fix', () => {
  const cases: [string, unknown, string[]][] = [
    ['not an object', [], ['config: must be an object']],
    ['no cameras key', {}, ['cameras: must list at least one camera']],
    ['an empty camera list', withCameras(), ['cameras: must list at least one camera']],
    ['a camera without a name', withCameras({ codec: 'h264' }), ['cameras[0].name: is required']],
    [
      'a name with a space',
      withCameras({ name: 'front door' }),
      ['cameras[0].name: "front door": use letters, digits, "_", "." or "-" (KVS stream names)'],
    ],
    ['an empty name', withCameras({ name: '' }), ['cameras[0].name: must be a non-empty string']],
    [
      'a name over 256 characters',
      withCameras({ name: 'a'.repeat(257) }),
      ['cameras[0].name: is 257 characters: KVS stream names have at most 256'],
    ],
    [
      'a stream name with a slash',
      withCameras({ name: 'a', streamName: 'site/a' }),
      ['cameras[0].streamName: "site/a": use letters, digits'],
    ],
    ['a name that is a number', withCameras({ name: 42 }), ['cameras[0].name: must be a string, got 42']],
    [
      'two cameras with one name',
      withCameras({ name: 'a' }, { name: 'b' }, { name: 'a' }),
      ['cameras[2].name: "a" is already used by cameras[0]; names must be unique'],
    ],
    [
      'two cameras writing one stream',
      withCameras({ name: 'a', streamName: 's' }, { name: 'b', streamName: 's' }),
      ['cameras[1].streamName: "s" is already used by cameras[0]'],
    ],
    [
      'a stream name equal to another camera default',
      withCameras({ name: 'a' }, { name: 'b', streamName: 'a' }),
      ['cameras[1].streamName: "a" is already used by cameras[0]'],
    ],
    [
      'negative retention',
      withCameras({ name: 'a', retentionHours: -1 }),
      [
        'cameras[0].retentionHours: must be 0 (keep no video) or a whole number of hours from 1 to 87600, got -1',
      ],
    ],
    ['retention over ten years', withCameras({ name: 'a', retentionHours: 87601 }), ['got 87601']],
    [
      'fractional retention',
      withCameras({ name: 'a', retentionHours: 1.5 }),
      ['cameras[0].retentionHours', 'got 1.5'],
    ],
    [
      'an unknown codec',
      withCameras({ name: 'a', codec: 'mjpeg' }),
      ['cameras[0].codec: "mjpeg" is not one of "auto", "h264", "h265"'],
    ],
    [
      'audio as a string',
      withCameras({ name: 'a', audio: 'yes' }),
      ['cameras[0].audio: must be true or false, got "yes"'],
    ],
    [
      'a typo in a camera key',
      withCameras({ name: 'a', retentionHour: 24 }),
      ['cameras[0].retentionHour: unknown key (did you mean "retentionHours"?)'],
    ],
    [
      'a typo in a top-level key',
      { ...withCameras(camera), paramterPrefix: '/x' },
      ['paramterPrefix: unknown key (did you mean "parameterPrefix"?)'],
    ],
    [
      'a URL with credentials',
      withCameras({ name: 'a', url: 'rtsp://admin:secret@192.0.2.10/stream1' }),
      [
        'cameras[0].url: holds a URL with a user and password; credentials never go in the config: store the camera URL with "npx kvs-gateway cameras add',
      ],
    ],
    [
      'credentials hidden in a stream name field',
      withCameras({ name: 'a', streamName: 'rtsp://u:p@192.0.2.1/x' }),
      ['cameras[0].streamName: holds a URL with a user and password'],
    ],
    [
      'arm64 with an x86 instance type',
      { ...withCameras(camera), ec2: { architecture: 'arm64', instanceType: 'c5.large' } },
      ['ec2.instanceType: "c5.large" is not a Graviton type but ec2.architecture is "arm64"'],
    ],
    [
      'x86_64 with a Graviton instance type',
      { ...withCameras(camera), ec2: { architecture: 'x86_64', instanceType: 'c7g.large' } },
      ['ec2.instanceType: "c7g.large" is a Graviton (arm64) type but ec2.architecture is "x86_64"'],
    ],
    [
      'an unknown architecture',
      { ...withCameras(camera), ec2: { architecture: 'aarch64' } },
      ['ec2.architecture: "aarch64" is not one of "x86_64", "arm64"'],
    ],
    [
      'a malformed AMI id',
      { ...withCameras(camera), ec2: { amiId: 'ubuntu-24.04' } },
      ['ec2.amiId: "ubuntu-24.04" is not an AMI id'],
    ],
    [
      'a branch instead of an SDK tag',
      { ...withCameras(camera), ec2: { producerSdkTag: 'master' } },
      ['ec2.producerSdkTag: "master" is not a release tag'],
    ],
    [
      'a Fargate memory size that does not fit the CPU',
      { ...withCameras(camera), fargate: { cpu: 256, memoryMiB: 4096 } },
      ['fargate.memoryMiB: 4096 does not go with fargate.cpu 256; use 512 to 2048'],
    ],
    [
      'an unknown Fargate CPU size',
      { ...withCameras(camera), fargate: { cpu: 300 } },
      ['fargate.cpu: 300 is not a Fargate size'],
    ],
    [
      'too many cameras per task',
      { ...withCameras(camera), fargate: { camerasPerTask: 10 } },
      // ECS runs at most 10 containers per task, one of them the credential refresher.
      ['fargate.camerasPerTask: must be a whole number from 1 to 9, got 10'],
    ],
    [
      'too many cameras per instance',
      { ...withCameras(camera), ec2: { camerasPerInstance: 51 } },
      ['ec2.camerasPerInstance: must be a whole number from 1 to 50, got 51'],
    ],
    [
      'a shard that is not a positive whole number',
      withCameras({ name: 'a', shard: 0 }, { name: 'b', shard: 1.5 }, { name: 'c', shard: 'east' }),
      [
        'cameras[0].shard: must be a whole number from 1 to 250, got 0',
        'cameras[1].shard: must be a whole number from 1 to 250, got 1.5',
        'cameras[2].shard: must be a whole number from 1 to 250, got "east"',
      ],
    ],
    [
      'more cameras than one config deploys',
      withCameras(...Array.from({ length: 1001 }, (_, i) => ({ name: `camera-${i}` }))),
      [
        'cameras: lists 1001 cameras; one config deploys at most 1000: split them over several configs, each with its own "site"',
      ],
    ],
    [
      'a site with a space',
      { ...withCameras(camera), site: 'plant 2' },
      [
        'site: "plant 2": use 1 to 32 letters, digits or "-", starting with a letter (it begins every stack name)',
      ],
    ],
    [
      'a site starting with a digit',
      { ...withCameras(camera), site: '2nd-floor' },
      ['site: "2nd-floor": use 1 to 32 letters, digits or "-", starting with a letter'],
    ],
    [
      'a site longer than 32 characters',
      { ...withCameras(camera), site: 'a'.repeat(33) },
      ['site: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa": use 1 to 32 letters'],
    ],
    [
      'names that differ only in "-"',
      withCameras({ name: 'front-door' }, { name: 'frontdoor' }),
      [
        'cameras[1].name: "frontdoor" differs from cameras[0].name "front-door" only in case or in "-", "_" or ".": the names become containers, units, alarms and logs where that difference is lost or easy to misread; rename one',
      ],
    ],
    [
      'names that differ only in "." and "_" (one ECS container name)',
      withCameras({ name: 'site1.front' }, { name: 'site1_front' }),
      ['cameras[1].name: "site1_front" differs from cameras[0].name "site1.front" only in case'],
    ],
    [
      'names that differ only in case',
      withCameras({ name: 'Front-Door' }, { name: 'front-door' }),
      ['cameras[1].name: "front-door" differs from cameras[0].name "Front-Door" only in case'],
    ],
    [
      'a name too long for its alarm names',
      withCameras({ name: 'a'.repeat(221) }),
      [
        'cameras[0].name: is 221 characters; at most 220 fit its CloudWatch alarm names ("FargateGatewayStack-<name>-upload-failing", at most 255)',
      ],
    ],
    [
      'a site makes the alarm names longer, and the longest name shorter',
      { ...withCameras({ name: 'a'.repeat(220) }), site: 'plant-2' },
      [
        'cameras[0].name: is 220 characters; at most 212 fit its CloudWatch alarm names ("plant-2-FargateGatewayStack-<name>-upload-failing", at most 255)',
      ],
    ],
    [
      'a parameter prefix with a trailing slash',
      { ...withCameras(camera), parameterPrefix: '/kvs/' },
      ['parameterPrefix: "/kvs/": use an SSM path like "/kvs-gateway/cameras"'],
    ],
    [
      'an existing VPC without ids',
      { ...withCameras(camera), network: { mode: 'existing' } },
      ['network.vpcId: is required', 'network.subnetIds: must be a non-empty list of strings'],
    ],
    [
      'an existing VPC with mismatched zones',
      {
        ...withCameras(camera),
        network: {
          mode: 'existing',
          vpcId: 'vpc-0123456789abcdef0',
          availabilityZones: ['eu-west-1a'],
          subnetIds: ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1'],
        },
      },
      ['network.subnetIds: lists 2 subnet(s) but network.availabilityZones lists 1'],
    ],
    [
      'new-VPC options on an existing VPC',
      {
        ...withCameras(camera),
        network: {
          mode: 'existing',
          ipv6: true,
          vpcId: 'vpc-0123456789abcdef0',
          availabilityZones: ['eu-west-1a'],
          subnetIds: ['subnet-0123456789abcdef0'],
        },
      },
      ['network.ipv6: only applies with "mode": "new"'],
    ],
    [
      'one availability zone',
      { ...withCameras(camera), network: { maxAzs: 1 } },
      ['network.maxAzs: must be a whole number from 2 to 6, got 1'],
    ],
    [
      'a log retention CloudWatch does not offer',
      { ...withCameras(camera), monitoring: { logRetentionDays: 10 } },
      ['monitoring.logRetentionDays: CloudWatch Logs keeps logs for one of 1, 3, 5, 7, 14, 30'],
    ],
    [
      'a bad alarm email',
      { ...withCameras(camera), monitoring: { alarmEmail: 'ops' } },
      ['monitoring.alarmEmail: "ops" is not an email address'],
    ],
    [
      'a schedule in a time zone that does not exist, with a typo',
      {
        ...withCameras(camera),
        schedule: { timeZone: 'Europe/Berln', windows: [{ from: '07:00', to: '19:00' }] },
      },
      [
        'schedule.timeZone: "Europe/Berln" is not a time zone of the IANA database',
        'did you mean "Europe/Berlin"?',
      ],
    ],
    [
      "a schedule in an old zone name the gateway's tzdata lacks",
      withCameras({
        name: 'a',
        schedule: { timeZone: 'Asia/Calcutta', windows: [{ from: '09:00', to: '17:00' }] },
      }),
      [
        'cameras[0].schedule.timeZone: "Asia/Calcutta" is another name of "Asia/Kolkata": write "Asia/Kolkata"',
      ],
    ],
    [
      'a window with days, times and an empty length that are wrong',
      {
        ...withCameras(camera),
        schedule: {
          timeZone: 'UTC',
          windows: [
            { days: 'mon-fry', from: '7:00', to: '24:01' },
            { days: 'sat', from: '08:00', to: '08:00' },
          ],
        },
      },
      [
        'schedule.windows[0].days: "mon-fry": use day names (mon, tue, wed, thu, fri, sat, sun)',
        'schedule.windows[0].from: "7:00": use 24-hour "HH:MM"',
        'schedule.windows[0].to: "24:01": use 24-hour "HH:MM", like "07:00" or "19:30" (00:00 to 24:00)',
        'schedule.windows[1].to: is the same as "from" ("08:00"), so the window would be empty',
      ],
    ],
    [
      'a schedule without windows, and a camera schedule that is neither "always" nor a schedule',
      {
        cameras: [{ name: 'a', schedule: 'never' }],
        schedule: { timeZone: 'UTC', windows: [] },
      },
      [
        'schedule.windows: must list at least one window',
        'cameras[0].schedule: "never": use "always" or a schedule like',
      ],
    ],
    [
      'an unknown removal policy',
      { ...withCameras(camera), streamRemovalPolicy: 'delete' },
      ['streamRemovalPolicy: "delete" is not one of "retain", "destroy"'],
    ],
    ['"ec2": null', { ...withCameras(camera), ec2: null }, ['ec2: must be an object']],
    ['"fargate": null', { ...withCameras(camera), fargate: null }, ['fargate: must be an object']],
    [
      'a Fargate CPU that is a name of every object ("constructor")',
      { ...withCameras(camera), fargate: { cpu: 'constructor' } },
      ['fargate.cpu: "constructor" is not a Fargate size'],
    ],
    [
      'an instance type EC2 does not offer',
      { ...withCameras(camera), ec2: { instanceType: 't4g.smal' } },
      [
        'ec2.instanceType: "t4g.smal" is not an EC2 instance type (did you mean "t4g.small"?) (lib/ec2-instance-types.json of',
      ],
    ],
    [
      'an instance type in capitals',
      { ...withCameras(camera), ec2: { instanceType: 'T4G.Small' } },
      ['ec2.instanceType: "T4G.Small" is not an EC2 instance type (did you mean "t4g.small"?)'],
    ],
    [
      'a size its family does not come in',
      { ...withCameras(camera), ec2: { instanceType: 't4g.enormous' } },
      [
        'ec2.instanceType: "t4g.enormous" is not an EC2 instance type: t4g comes in nano, micro, small, medium, large, xlarge, 2xlarge',
      ],
    ],
    [
      'an instance type nothing is near',
      { ...withCameras(camera), ec2: { instanceType: 'raspberry-pi' } },
      [
        'ec2.instanceType: "raspberry-pi" is not an EC2 instance type: the EC2 gateway runs on e.g. t4g.small (arm64) or t3.small (x86_64)',
      ],
    ],
    [
      'an x86 instance type with the default architecture (arm64)',
      { ...withCameras(camera), ec2: { instanceType: 'm7i-flex.large' } },
      ['ec2.instanceType: "m7i-flex.large" is not a Graviton type but ec2.architecture is "arm64"'],
    ],
  ];

  test.each(cases)('%s', (_name, raw, expected) => {
    const problems = problemsOf(raw);
    for (const message of expected) {
      expect(problems.some((problem) => problem.includes(message))).toBe(true);
    }
  });

  test(`there are at least 20 cases (${cases.length})`, () => {
    expect(cases.length).toBeGreaterThanOrEqual(20);
  });

  test('every problem is reported at once', () => {
    const problems = problemsOf({
      cameras: [{ name: 'front door', retentionHours: -5 }, { codec: 'vp8' }],
      ec2: { architecture: 'arm64', instanceType: 'm5.large' },
      fargate: { cpu: 256, memoryMiB: 8192 },
      colour: 'blue',
    });
    expect(problems).toHaveLength(7);
    expect(problems.map((p) => p.split(':')[0])).toEqual([
      'colour',
      'cameras[0].name',
      'cameras[0].retentionHours',
      'cameras[1].name',
      'cameras[1].codec',
      'ec2.instanceType',
      'fargate.memoryMiB',
    ]);
  });

  test('the error message names the file and lists each problem', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvs-config-'));
    const file = path.join(dir, 'bad.json');
    fs.writeFileSync(file, JSON.stringify({ cameras: [{ name: 'a b' }] }));
    expect(() => loadGatewayConfig(file)).toThrow(
      /bad\.json has 1 problem\(s\):\n {2}- cameras\[0\]\.name: "a b"/,
    );
    fs.writeFileSync(file, '{ "cameras": [ }');
    expect(() => loadGatewayConfig(file)).toThrow(/bad\.json has 1 problem\(s\):\n {2}- is not valid JSON/);
    expect(() => loadGatewayConfig(path.join(dir, 'missing.json'))).toThrow(/cannot be read/);
  });
});

describe('a password pasted into any field is never repeated', () => {
  // A "/", a space and an "@" in the password: it was never percent-encoded, as pasted from a camera's page.
  const password = 'pa/ss Sekret@42';
  const url = `rtsp://admin:${password}@192.0.2.10:554/Streaming/Channels/101`;
  const cases: [string, Record<string, unknown>][] = [
    ['cameras[0].streamName', withCameras({ name: 'a', streamName: url })],
    ['cameras[0].name', withCameras({ name: url })],
    ['cameras[0].codec', withCameras({ name: 'a', codec: url })],
    ['site', { ...withCameras(camera), site: url }],
    ['parameterPrefix', { ...withCameras(camera), parameterPrefix: url }],
    ['ec2.instanceType', { ...withCameras(camera), ec2: { instanceType: url } }],
    ['monitoring.alarmEmail', { ...withCameras(camera), monitoring: { alarmEmail: url } }],
    ['cameras[0].url', withCameras({ name: 'a', url })],
    [
      `cameras[0]["rtsp://admin:****@192.0.2.10:554/Streaming/Channels/101"]`,
      withCameras({ name: 'a', [url]: 1 }),
    ],
  ];

  test.each(cases)('%s: one sentence, pointing to the camera CLI, without the password', (field, raw) => {
    let error: GatewayConfigError | undefined;
    try {
      validateGatewayConfig(raw);
    } catch (thrown) {
      error = thrown as GatewayConfigError;
    }
    expect(error).toBeInstanceOf(GatewayConfigError);
    expect(error!.message).not.toContain('Sekret');
    expect(error!.problems.filter((problem) => problem.startsWith(`${field}:`))).toEqual([
      `${field}: holds a URL with a user and password; credentials never go in the config: store the camera URL with "npx kvs-gateway cameras add <name> --url rtsp://host/path --user <user>"`,
    ]);
  });
});

describe('the config file', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvs-config-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  function load(text: string) {
    const file = path.join(dir, 'gateway.config.json');
    fs.writeFileSync(file, text);
    return loadGatewayConfig(file);
  }

  test('comments and trailing commas are accepted (JSONC), so a documented example copies as it is', () => {
    const config = load(`{
  // one camera for now
  "cameras": [
    { "name": "front-door", "retentionHours": 72 }, /* the porch */
  ],
}`);
    expect(config.cameras).toEqual([expect.objectContaining({ name: 'front-door', retentionHours: 72 })]);
  });

  test('a key given twice is a problem naming the field and both places, not "the last one wins"', () => {
    const text = `{
  "cameras": [
    { "name": "front-door", "retentionHours": 72,
      "retentionHours": 0 }
  ],
  "monitoring": { "noFramesMinutes": 5 },
  "monitoring": { "noFramesMinutes": 10 }
}`;
    let problems: readonly string[] = [];
    try {
      load(text);
    } catch (error) {
      problems = (error as GatewayConfigError).problems;
    }
    expect(problems).toEqual([
      'cameras[0].retentionHours: given twice (line 3, column 29 and line 4, column 7); JSON would keep only the last one: remove one of them',
      'monitoring: given twice (line 6, column 3 and line 7, column 3); JSON would keep only the last one: remove one of them',
    ]);
  });

  test('a repeated key and a wrong value are reported together', () => {
    expect(() => load('{ "cameras": [{ "name": "a b" }], "cameras": [{ "name": "a b" }] }')).toThrow(
      /2 problem\(s\):\n {2}- cameras: given twice .*\n {2}- cameras\[0\]\.name: "a b": use letters/,
    );
  });

  test('a syntax error names the line and column', () => {
    expect(() => load('{\n  "cameras": [\n    { "name": "a" }\n    { "name": "b" }\n  ]\n}')).toThrow(
      /has 1 problem\(s\):\n {2}- is not valid JSON at line 4, column 5: comma expected/,
    );
    expect(() => load('{ "cameras": [')).toThrow(
      /is not valid JSON at line 1, column 15: close bracket expected/,
    );
  });
});

describe('the JSON Schema for editors', () => {
  const schemaFile = path.join(__dirname, '..', CONFIG_SCHEMA_FILE);

  test(`${CONFIG_SCHEMA_FILE} is the one generated from lib/config.ts (run "npm run config-schema" after a change)`, () => {
    expect(JSON.parse(fs.readFileSync(schemaFile, 'utf8'))).toEqual(gatewayConfigJsonSchema());
  });

  test('the sample config names the schema', () => {
    expect(sampleConfigJson.$schema).toBe(`./${CONFIG_SCHEMA_FILE}`);
  });

  // What an editor checks with the schema alone (a JSON Schema validator), beside what synth checks.
  const editorCheck = new Ajv({ allErrors: true, strict: false }).compile(gatewayConfigJsonSchema());

  test.each([
    ['the sample', sampleConfigJson],
    ['one camera', withCameras(camera)],
    ['an existing VPC', { ...withCameras(camera), network: existingVpc }],
  ])('an editor accepts %s', (_name, raw) => {
    expect(editorCheck(raw)).toBe(true);
  });

  test.each([
    ['a typo in a camera key', withCameras({ name: 'a', retentionHour: 24 })],
    ['a typo in a top-level key', { ...withCameras(camera), paramterPrefix: '/x' }],
    ['a name with a space', withCameras({ name: 'front door' })],
    ['an unknown codec', withCameras({ name: 'a', codec: 'mjpeg' })],
    ['fractional retention', withCameras({ name: 'a', retentionHours: 1.5 })],
    ['no cameras', {}],
    ['an unknown Fargate CPU size', { ...withCameras(camera), fargate: { cpu: 300 } }],
    [
      'a log retention CloudWatch does not offer',
      { ...withCameras(camera), monitoring: { logRetentionDays: 10 } },
    ],
    ['an existing VPC without ids', { ...withCameras(camera), network: { mode: 'existing' } }],
    [
      'new-VPC options on an existing VPC',
      { ...withCameras(camera), network: { mode: 'existing', ipv6: true } },
    ],
    [
      'existing-VPC options on a new VPC',
      { ...withCameras(camera), network: { vpcId: 'vpc-0123456789abcdef0' } },
    ],
  ])('an editor flags %s too', (_name, raw) => {
    expect(editorCheck(raw)).toBe(false);
    expect(() => validateGatewayConfig(raw)).toThrow(GatewayConfigError);
  });
});

describe('shared rules', () => {
  test.each([
    ['t4g.small', 'arm64'],
    ['c7gn.xlarge', 'arm64'],
    ['x2gd.medium', 'arm64'],
    ['a1.large', 'arm64'],
    ['im4gn.large', 'arm64'],
    ['t3.small', 'x86_64'],
    ['c5n.large', 'x86_64'],
    ['m7i-flex.large', 'x86_64'],
    ['g4dn.xlarge', 'x86_64'],
    ['t4g.smal', undefined],
  ])('%s is offered with architecture %s', (type, architecture) => {
    expect(instanceTypeArchitecture(type)).toBe(architecture);
  });

  test('KVS stream names', () => {
    expect(kvsStreamNameProblem('site1.lobby_cam-2')).toBeUndefined();
    expect(kvsStreamNameProblem('a'.repeat(256))).toBeUndefined();
    expect(kvsStreamNameProblem('café')).toMatch(/use letters, digits/);
  });
});
