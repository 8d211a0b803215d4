import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SourcePins } from '../../lib/config';
import { kvssinkCacheKey } from '../../lib/kvssink-cache';
import { runCommand } from '../system/support/command';
import { AwsStandIn, AwsStandInState, STAND_IN_CREDENTIALS } from '../support/aws-stand-ins';
import { DeployedApp } from '../support/deployed-app';
import { buildGatewayApp, configWith } from '../support/gateway-app';
import { describeFindings, PermissionCheck } from '../support/permission-check';
import { ProducerSdkStandIn } from '../support/producer-sdk-stand-in';

/**
 * userdata/kvssink-cache.sh against the S3 stand-in (a real S3 protocol server that checks every
 * signature, the conditional write and the checksum): a build published once and never replaced, and
 * installed by the next instance only when its checksum, sources and platform match. The kvssink is
 * the stand-in SDK's, built by userdata/build-kvssink.sh; apt-get is a stand-in that records its
 * arguments (the packages are on this machine already). The object is the one the synthesized stack
 * names, and every request the stand-in answered is judged against the instance role as deployed.
 */
jest.setTimeout(120_000);

const USERDATA = path.join(__dirname, '..', '..', 'userdata');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kvs-kvssink-cache-'));
const aws = new AwsStandInState(path.join(work, 'aws'));
const PLACE = { account: '123456789012', region: 'eu-west-1' };
const config = configWith({ ec2: { architecture: 'x86_64' } });
const deployed = new DeployedApp(buildGatewayApp(config).app.synth().directory, PLACE);
const [cacheBucket] = deployed.resourcesOf('AWS::S3::Bucket');
const BUCKET = cacheBucket.stack.ref(cacheBucket.logicalId);
const KEY = kvssinkCacheKey(config.pins, 'x86_64');
const OBJECT = `s3://${BUCKET}/${KEY}`;
const builtPrefix = path.join(work, 'built');
const bin = path.join(work, 'bin');
let s3: AwsStandIn;
let pins: SourcePins;

const pinOf = ({ tag, commit }: { tag: string; commit: string }) => `${tag}@${commit}`;

function cache(command: string, prefix: string, env: Record<string, string> = {}) {
  return runCommand('bash', [path.join(USERDATA, 'kvssink-cache.sh'), command], {
    env: {
      PATH: `${bin}:${process.env.PATH}`,
      HOME: work,
      AWS_REGION: PLACE.region,
      AWS_ENDPOINT_URL_S3: s3.url,
      AWS_ACCESS_KEY_ID: STAND_IN_CREDENTIALS.AccessKeyId,
      AWS_SECRET_ACCESS_KEY: STAND_IN_CREDENTIALS.SecretAccessKey,
      AWS_SESSION_TOKEN: STAND_IN_CREDENTIALS.Token,
      KVS_KVSSINK_CACHE: OBJECT,
      KVS_PRODUCER_SDK_PIN: pinOf(pins.producerSdk),
      KVS_PRODUCER_C_PIN: pinOf(pins.producerC),
      KVS_PIC_PIN: pinOf(pins.pic),
      KVS_INSTALL_PREFIX: prefix,
      KVS_INSTANCE_ID: 'i-0b0c5e5e5e5e5e5e5',
      ...env,
    },
    timeoutMs: 60_000,
  });
}

function ownLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.startsWith('kvssink-cache: '));
}

/** The S3 requests since the last call: operation and status. */
function takeS3Calls(): string[] {
  const calls = aws.records<{ operation: string; status: number }>('s3-calls.jsonl');
  fs.rmSync(path.join(aws.dir, 's3-calls.jsonl'), { force: true });
  return calls.map((call) => `${call.operation} ${call.status}`);
}

const storedObject = () => path.join(aws.dir, 's3', BUCKET, KEY);
const platform = () => {
  const release = fs.readFileSync('/etc/os-release', 'utf8');
  const field = (name: string) => new RegExp(`^${name}="?([^"\\n]*)"?$`, 'm').exec(release)![1];
  return `${field('ID')}-${field('VERSION_ID')}/${os.arch() === 'x64' ? 'amd64' : 'arm64'}`;
};

beforeAll(async () => {
  const standIn = new ProducerSdkStandIn(path.join(work, 'stand-in'));
  pins = standIn.pins();
  const built = await runCommand(
    'bash',
    [
      path.join(USERDATA, 'build-kvssink.sh'),
      ...['--producer-sdk', pinOf(pins.producerSdk), '--producer-c', pinOf(pins.producerC)],
      ...['--pic', pinOf(pins.pic), '--prefix', builtPrefix, '--skip-packages'],
    ],
    {
      env: {
        PATH: process.env.PATH,
        HOME: work,
        TMPDIR: work,
        GIT_CONFIG_GLOBAL: standIn.gitConfig(path.join(work, 'gitconfig')),
      },
      timeoutMs: 100_000,
    },
  );
  if (built.code !== 0) throw new Error(`the stand-in kvssink did not build:\n${built.stderr.slice(-2000)}`);
  fs.mkdirSync(bin);
  fs.writeFileSync(
    path.join(bin, 'apt-get'),
    `#!/usr/bin/env bash\nprintf '%s\\n' "$*" >>'${work}/apt-get-calls'\n`,
    {
      mode: 0o755,
    },
  );
  s3 = await AwsStandIn.start('s3', aws);
});

afterAll(async () => {
  await s3?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

describe('userdata/kvssink-cache.sh', () => {
  test('with nothing published yet, install says so in one line and installs nothing', async () => {
    const prefix = path.join(work, 'empty-cache');
    const result = await cache('install', prefix);
    expect(result.code).toBe(1);
    expect(ownLines(result.stderr)).toEqual([
      `kvssink-cache: no kvssink build in ${OBJECT} yet (S3 answered 404): building one`,
    ]);
    expect(fs.existsSync(prefix)).toBe(false);
    expect(takeS3Calls()).toEqual(['HeadObject 404']);
  });

  test('publishes the build once, with its checksum and what it was built from; a second publication changes nothing', async () => {
    const first = await cache('publish', builtPrefix);
    expect({ code: first.code, lines: ownLines(first.stderr) }).toEqual({
      code: 0,
      lines: [
        expect.stringMatching(new RegExp(`^kvssink-cache: published kvssink to ${OBJECT} \\(\\d+ bytes\\)`)),
      ],
    });
    const stored = JSON.parse(
      fs.readFileSync(path.join(aws.dir, 's3-metadata', BUCKET, `${KEY}.json`), 'utf8'),
    );
    expect(stored.metadata).toEqual({
      'x-amz-meta-kvs-sources': `producer-sdk=${pinOf(pins.producerSdk)};producer-c=${pinOf(pins.producerC)};pic=${pinOf(pins.pic)}`,
      'x-amz-meta-kvs-platform': platform(),
      'x-amz-meta-kvs-built-by': 'i-0b0c5e5e5e5e5e5e5',
    });
    expect(stored.checksumSha256).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    const listing = await runCommand('tar', ['--list', '--gzip', '--file', storedObject()]);
    expect(listing.stdout.split('\n').filter(Boolean).sort()).toEqual(
      [
        'lib/',
        'lib/gstreamer-1.0/',
        'lib/gstreamer-1.0/libgstkvssink.so',
        'lib/libcproducer.so',
        'lib/libcproducer.so.1',
        'lib/libcproducer.so.1.0.0',
        'share/kvs-gateway/kvssink-runtime-packages',
        'share/kvs-gateway/kvssink-sources',
      ].sort(),
    );
    expect(takeS3Calls()).toEqual(['PutObject 200']);

    const bytes = fs.readFileSync(storedObject());
    const second = await cache('publish', builtPrefix);
    expect(second.code).toBe(3);
    expect(ownLines(second.stderr)).toEqual([
      `kvssink-cache: ${OBJECT} was published by another instance meanwhile: it stays as it is (objects there are never replaced)`,
    ]);
    expect(fs.readFileSync(storedObject())).toEqual(bytes);
    expect(takeS3Calls()).toEqual(['PutObject 412']);
  });

  test('the next instance installs the published build: the same files, its runtime packages, and GStreamer loads kvssink', async () => {
    const prefix = path.join(work, 'next-instance');
    const result = await cache('install', prefix);
    expect({ code: result.code, lines: ownLines(result.stderr) }).toEqual({
      code: 0,
      lines: [
        expect.stringMatching(
          new RegExp(
            `^kvssink-cache: installed kvssink from ${OBJECT} \\(SHA-256 \\S+, built by i-0b0c5e5e5e5e5e5e5\\)$`,
          ),
        ),
      ],
    });
    for (const file of [
      'lib/gstreamer-1.0/libgstkvssink.so',
      'lib/libcproducer.so.1.0.0',
      'share/kvs-gateway/kvssink-sources',
    ]) {
      expect([file, fs.readFileSync(path.join(prefix, file))]).toEqual([
        file,
        fs.readFileSync(path.join(builtPrefix, file)),
      ]);
    }
    expect(fs.readlinkSync(path.join(prefix, 'lib/libcproducer.so.1'))).toBe('libcproducer.so.1.0.0');
    const packages = fs
      .readFileSync(path.join(builtPrefix, 'share/kvs-gateway/kvssink-runtime-packages'), 'utf8')
      .trim()
      .split('\n');
    expect(fs.readFileSync(path.join(work, 'apt-get-calls'), 'utf8')).toContain(
      `install --no-install-recommends ${packages.join(' ')}`,
    );
    expect(takeS3Calls()).toEqual(['HeadObject 200', 'GetObject 200']);
  });

  test('a build from other sources is not downloaded', async () => {
    const prefix = path.join(work, 'other-sources');
    const otherPin = `v3.6.0@${'a'.repeat(40)}`;
    const result = await cache('install', prefix, { KVS_PRODUCER_SDK_PIN: otherPin });
    expect(result.code).toBe(1);
    expect(ownLines(result.stderr)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^kvssink-cache: not using ${OBJECT}: it was built from producer-sdk=${pinOf(pins.producerSdk)};.*, not from the pinned producer-sdk=${otherPin};.*; building kvssink instead$`,
        ),
      ),
    ]);
    expect(fs.existsSync(prefix)).toBe(false);
    expect(takeS3Calls()).toEqual(['HeadObject 200']);
  });

  test('a tampered build (its bytes no longer match the checksum S3 recorded) is refused with one line', async () => {
    const original = fs.readFileSync(storedObject());
    const tampered = Buffer.from(original);
    tampered[tampered.length - 20] ^= 0xff;
    fs.writeFileSync(storedObject(), tampered);
    try {
      const prefix = path.join(work, 'tampered');
      const result = await cache('install', prefix);
      expect(result.code).toBe(1);
      expect(ownLines(result.stderr)).toEqual([
        expect.stringMatching(
          new RegExp(
            `^kvssink-cache: REFUSED ${OBJECT}: its SHA-256 is \\S+ but S3 recorded \\S+ at upload: not installing it; building kvssink instead`,
          ),
        ),
      ]);
      expect(fs.existsSync(prefix)).toBe(false);
      expect(takeS3Calls()).toEqual(['HeadObject 200', 'GetObject 200']);
    } finally {
      fs.writeFileSync(storedObject(), original);
    }
  });

  test("every request the script made is one the shard's instance role, as deployed, allows", async () => {
    const role = deployed.roles().find((r) => r.logicalId.startsWith('InstanceRole'))!;
    const check = new PermissionCheck(deployed, new Map([[STAND_IN_CREDENTIALS.AccessKeyId, { role }]]));
    const records = aws.requestRecords();
    expect(new Set(records.map((r) => r.operation))).toEqual(
      new Set(['HeadObject', 'GetObject', 'PutObject']),
    );
    const report = await check.judge(records);
    expect(describeFindings(report.findings)).toEqual([]);
    expect(report.judged).toBe(records.length);
  });

  test('of two instances publishing at once, exactly one publishes', async () => {
    fs.rmSync(storedObject());
    fs.rmSync(path.join(aws.dir, 's3-metadata', BUCKET, `${KEY}.json`));
    takeS3Calls();
    const results = await Promise.all([cache('publish', builtPrefix), cache('publish', builtPrefix)]);
    expect(results.map((result) => result.code).sort()).toEqual([0, 3]);
    expect(takeS3Calls().sort()).toEqual(['PutObject 200', 'PutObject 412']);
  });
});
