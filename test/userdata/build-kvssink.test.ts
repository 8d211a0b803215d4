import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SourcePins } from '../../lib/config';
import { runCommand } from '../system/support/command';
import { GitServer } from '../support/git-server';
import { ProducerSdkStandIn } from '../support/producer-sdk-stand-in';

/**
 * userdata/build-kvssink.sh on this machine, against the stand-in Producer SDK, producer-c and PIC
 * (test/support/producer-sdk-stand-in.ts) served as GitHub by a git server: the pinned fetch, the
 * verification of every tag and clone, the SDK's CMake cloning its dependencies from the verified
 * clones only, and the install. Needs cmake, a C compiler and GStreamer's headers (scripts/setup.sh).
 */
jest.setTimeout(120_000);

const SCRIPT = path.join(__dirname, '..', '..', 'userdata', 'build-kvssink.sh');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kvs-build-kvssink-'));
const standIn = new ProducerSdkStandIn(path.join(work, 'stand-in'));
let server: GitServer;
let gitConfig: string;

beforeAll(async () => {
  server = await GitServer.start(standIn.dir);
  gitConfig = standIn.gitConfig(path.join(work, 'gitconfig'), server.url);
});

afterAll(async () => {
  await server.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

function pinArguments(pins: SourcePins): string[] {
  const pin = ({ tag, commit }: { tag: string; commit: string }) => `${tag}@${commit}`;
  return [
    '--producer-sdk',
    pin(pins.producerSdk),
    '--producer-c',
    pin(pins.producerC),
    '--pic',
    pin(pins.pic),
  ];
}

function build(args: string[], prefix: string) {
  return runCommand('bash', [SCRIPT, ...args, '--prefix', prefix, '--skip-packages'], {
    env: { PATH: process.env.PATH, HOME: work, GIT_CONFIG_GLOBAL: gitConfig, TMPDIR: work },
    timeoutMs: 100_000,
  });
}

/** The script's own lines (build-kvssink: ...), without the tools' output. */
function ownLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.startsWith('build-kvssink: '));
}

function workFolders(): string[] {
  return fs.readdirSync(work).filter((name) => name.startsWith('kvs-producer-sdk.'));
}

describe('userdata/build-kvssink.sh', () => {
  const noFetch = ['--prefix', '/opt/kvs-gateway'];

  test.each([
    [['--producer-sdk', 'v3.5.0'], '--producer-sdk "v3.5.0": give a release tag and its full commit'],
    [[], '--producer-sdk "": give a release tag and its full commit'],
    [
      ['--producer-sdk', 'main@7771598527883545b2161b56a78160429def4fc1'],
      '--producer-sdk "main@7771598527883545b2161b56a78160429def4fc1": give a release tag',
    ],
    [
      ['--producer-sdk', 'v3.5.0@7771598'],
      '--producer-sdk "v3.5.0@7771598": give a release tag and its full commit',
    ],
    [['--producer-sdk', 'v3.5.0@' + 'a'.repeat(40)], '--producer-c "": give a release tag'],
    [['--producer-sdk'], 'usage: build-kvssink.sh'],
    [['--jobs', '2'], 'usage: build-kvssink.sh'],
  ])('refuses %j before it touches anything', async (args, message) => {
    const result = await build([...args, ...noFetch], '/nonexistent/prefix');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`build-kvssink: ${message}`);
    expect(server.requests).toEqual([]);
  });

  test('builds kvssink from the pinned commits, fetching each repository once and nothing while CMake configures', async () => {
    const prefix = path.join(work, 'prefix');
    const pins = standIn.pins();
    const result = await build(pinArguments(pins), prefix);
    expect({ code: result.code, log: result.code === 0 ? '' : result.stderr.slice(-3000) }).toEqual({
      code: 0,
      log: '',
    });
    // The SDK's CMake cloned producer-c and PIC by tag, from the clones verified before (git may use no
    // other transport meanwhile): the server saw one fetch per repository, all before the configure.
    expect(server.requests).toEqual([
      '/amazon-kinesis-video-streams-producer-sdk-cpp.git',
      '/amazon-kinesis-video-streams-producer-c.git',
      '/amazon-kinesis-video-streams-pic.git',
    ]);
    for (const download of ['libkvscproducer-download', 'libkvspic-download']) {
      expect(result.stdout).toContain(`Performing download step (git clone) for '${download}'`);
    }
    const installed = (file: string) => fs.readFileSync(path.join(prefix, file), 'utf8');
    expect(installed('share/kvs-gateway/kvssink-sources')).toBe(
      [
        `producer-sdk=v3.5.0@${pins.producerSdk.commit}`,
        `producer-c=v1.6.0@${pins.producerC.commit}`,
        `pic=v1.2.0@${pins.pic.commit}`,
        '',
      ].join('\n'),
    );
    // The plugin, producer-c's library beside it (found through the run path), what they link to.
    expect(fs.existsSync(path.join(prefix, 'lib/gstreamer-1.0/libgstkvssink.so'))).toBe(true);
    expect(fs.readlinkSync(path.join(prefix, 'lib/libcproducer.so.1'))).toBe('libcproducer.so.1.0.0');
    expect(installed('share/kvs-gateway/kvssink-runtime-packages').split('\n')).toEqual(
      expect.arrayContaining(['libc6', 'libgstreamer1.0-0', 'libglib2.0-0']),
    );
    expect(ownLines(result.stderr)).toContain(
      `build-kvssink: kvssink from Producer SDK v3.5.0@${pins.producerSdk.commit} installed in ${prefix}/lib/gstreamer-1.0/libgstkvssink.so`,
    );
    expect(workFolders()).toEqual([]);

    // The same pins again: nothing to do, nothing fetched.
    const again = await build(pinArguments(pins), prefix);
    expect(again.code).toBe(0);
    expect(ownLines(again.stderr)).toEqual([
      `build-kvssink: kvssink from Producer SDK v3.5.0@${pins.producerSdk.commit} is already installed in ${prefix}/lib/gstreamer-1.0/libgstkvssink.so: nothing to do`,
    ]);
    expect(server.requests).toHaveLength(3);
  });

  test('a dependency whose pin is not the tag the SDK clones is refused before the build', async () => {
    standIn.addTag('producerC', 'v1.6.2');
    const pins = standIn.pins();
    const result = await build(
      pinArguments({ ...pins, producerC: { tag: 'v1.6.2', commit: pins.producerC.commit } }),
      path.join(work, 'prefix-other-tag'),
    );
    expect(result.code).toBe(3);
    expect(ownLines(result.stderr).slice(-1)).toEqual([
      'build-kvssink: Producer SDK v3.5.0 clones producer-c v1.6.0 (CMake/Dependencies/libkvscproducer-CMakeLists.txt), but its pin is v1.6.2: move the pins together (see docs/config.md#pinned-sources)',
    ]);
    expect(fs.existsSync(path.join(work, 'prefix-other-tag'))).toBe(false);
    expect(workFolders()).toEqual([]);
  });

  test('a tag moved after it was pinned stops the build with one line that says so', async () => {
    const pins = standIn.pins();
    const moved = standIn.moveTag('pic');
    const prefix = path.join(work, 'prefix-moved');
    const result = await build(pinArguments(pins), prefix);
    expect(result.code).toBe(3);
    const refusals = ownLines(result.stderr).filter((line) => !line.includes('step:'));
    expect(refusals).toEqual([
      `build-kvssink: PIC: tag v1.2.0 of https://github.com/awslabs/amazon-kinesis-video-streams-pic.git points at ${moved}, not at the pinned commit ${pins.pic.commit}: the tag has moved; not building (see docs/config.md#pinned-sources)`,
    ]);
    expect(result.stdout).not.toMatch(/Building C object/);
    expect(fs.existsSync(prefix)).toBe(false);
    expect(workFolders()).toEqual([]);
  });

  test('scripts/producer-sdk-pins.sh prints the pins of a release as the repositories have them, ready to paste', async () => {
    const printed = await runCommand(
      'bash',
      [path.join(__dirname, '..', '..', 'scripts', 'producer-sdk-pins.sh'), 'v3.5.0'],
      {
        env: { PATH: process.env.PATH, HOME: work, GIT_CONFIG_GLOBAL: gitConfig, TMPDIR: work },
        timeoutMs: 60_000,
      },
    );
    expect({ code: printed.code, stderr: printed.stderr }).toEqual({ code: 0, stderr: '' });
    // The pins the repositories hold now (PIC's tag was moved above): what a build would verify.
    expect(JSON.parse(`{${printed.stdout}}`)).toEqual({ pins: standIn.pins() });
  });
});
