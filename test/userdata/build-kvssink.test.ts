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
 * apt-get, apt-mark and dpkg-query's package list are stand-ins (fixtures/apt-stand-in.sh): this
 * machine's packages are never installed or removed; the EC2 box test runs the real apt.
 */
jest.setTimeout(120_000);

const SCRIPT = path.join(__dirname, '..', '..', 'userdata', 'build-kvssink.sh');
const APT_STAND_IN = path.join(__dirname, 'fixtures', 'apt-stand-in.sh');
const APT_COMMANDS = ['apt-get', 'apt-mark', 'dpkg-query'];
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kvs-build-kvssink-'));
const standIn = new ProducerSdkStandIn(path.join(work, 'stand-in'));
const aptBin = path.join(work, 'apt-bin');
let server: GitServer;
let gitConfig: string;

beforeAll(async () => {
  server = await GitServer.start(standIn.dir);
  gitConfig = standIn.gitConfig(path.join(work, 'gitconfig'), server.url);
  fs.mkdirSync(aptBin);
  for (const command of APT_COMMANDS) {
    fs.copyFileSync(APT_STAND_IN, path.join(aptBin, command));
    fs.chmodSync(path.join(aptBin, command), 0o755);
  }
  // The real apt must never run here: the build would install and remove this machine's packages.
  const found = await runCommand('bash', ['-c', `command -v ${APT_COMMANDS.join(' ')}`], {
    env: buildEnv(noPackages),
  });
  if (found.stdout !== APT_COMMANDS.map((command) => `${path.join(aptBin, command)}\n`).join(''))
    throw new Error(`the apt stand-in is not first in PATH: ${found.stdout}`);
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

/** The packages the apt stand-in starts from, adds on `apt-get install`, and answers a simulated purge with. */
interface AptPackages {
  installed: string[];
  installAdds: string[];
  purgeAnswer: string[];
}

/** A fresh state for the apt stand-in: its folder, and what apt was asked and has installed afterwards. */
function aptState(name: string, packages: AptPackages) {
  const dir = path.join(work, `apt-${name}`);
  fs.mkdirSync(dir);
  const write = (file: string, names: string[]) =>
    fs.writeFileSync(path.join(dir, file), names.map((n) => `${n}\n`).join(''));
  write('installed', packages.installed);
  write('install-adds', packages.installAdds);
  write('purge-answer', packages.purgeAnswer);
  const lines = (file: string) =>
    fs.existsSync(path.join(dir, file))
      ? fs.readFileSync(path.join(dir, file), 'utf8').split('\n').filter(Boolean)
      : [];
  return { dir, calls: () => lines('calls'), installed: () => lines('installed') };
}

const noPackages = aptState('none', { installed: [], installAdds: [], purgeAnswer: [] });

function buildEnv(apt: ReturnType<typeof aptState>) {
  return {
    PATH: `${aptBin}:${process.env.PATH}`,
    APT_STAND_IN: apt.dir,
    HOME: work,
    GIT_CONFIG_GLOBAL: gitConfig,
    TMPDIR: work,
  };
}

function build(args: string[], prefix: string, packages = ['--skip-packages'], apt = noPackages) {
  return runCommand('bash', [SCRIPT, ...args, '--prefix', prefix, ...packages], {
    env: buildEnv(apt),
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
    // --skip-packages: apt was never asked to install or remove anything.
    expect(noPackages.calls()).toEqual([]);

    // The same pins again: nothing to do, nothing fetched.
    const again = await build(pinArguments(pins), prefix);
    expect(again.code).toBe(0);
    expect(ownLines(again.stderr)).toEqual([
      `build-kvssink: kvssink from Producer SDK v3.5.0@${pins.producerSdk.commit} is already installed in ${prefix}/lib/gstreamer-1.0/libgstkvssink.so: nothing to do`,
    ]);
    expect(server.requests).toHaveLength(3);
  });

  test('removes exactly the build packages it installed, and what apt installed only for them, after marking the runtime packages as wanted', async () => {
    const apt = aptState('removal', {
      // git was there before the build: it stays. old-unused-tool was already unused: apt's
      // --auto-remove would take it, the build does not.
      installed: ['ca-certificates', 'git', 'libc6', 'old-unused-tool'],
      installAdds: [
        ...['build-essential', 'dpkg-dev', 'gcc', 'g++', 'make', 'cmake', 'pkg-config', 'libssl-dev'],
        ...['libcurl4-openssl-dev', 'liblog4cplus-dev', 'liblog4cplus-2.0.5', 'gstreamer1.0-tools'],
        ...['libgstreamer1.0-dev', 'libgstreamer-plugins-base1.0-dev'],
      ],
      purgeAnswer: [
        ...['build-essential', 'cmake', 'dpkg-dev', 'g++', 'gcc', 'libcurl4-openssl-dev'],
        ...['libgstreamer-plugins-base1.0-dev', 'libgstreamer1.0-dev', 'liblog4cplus-dev', 'libssl-dev'],
        ...['make', 'old-unused-tool', 'pkg-config'],
      ],
    });
    const prefix = path.join(work, 'prefix-removal');
    const result = await build(pinArguments(standIn.pins()), prefix, [], apt);
    expect({ code: result.code, log: result.code === 0 ? '' : result.stderr.slice(-3000) }).toEqual({
      code: 0,
      log: '',
    });
    const runtimePackages = fs
      .readFileSync(path.join(prefix, 'share/kvs-gateway/kvssink-runtime-packages'), 'utf8')
      .split('\n')
      .filter(Boolean);
    // The toolchain it added is named, never the CA bundle and gst-inspect-1.0 the gateway needs too;
    // apt is asked what would go with it when only hard dependencies count (apt Suggests dpkg-dev,
    // which Recommends gcc), and of that only what this build installed goes.
    const named = [
      ...['build-essential', 'cmake', 'libcurl4-openssl-dev', 'libgstreamer-plugins-base1.0-dev'],
      ...['libgstreamer1.0-dev', 'liblog4cplus-dev', 'libssl-dev', 'pkg-config'],
    ];
    expect(apt.calls()).toEqual([
      'apt-get update',
      'apt-get install --no-install-recommends build-essential cmake git pkg-config libssl-dev libcurl4-openssl-dev liblog4cplus-dev libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev ca-certificates gstreamer1.0-tools',
      `apt-mark manual ${runtimePackages.join(' ')}`,
      `apt-get -o APT::AutoRemove::RecommendsImportant=false -o APT::AutoRemove::SuggestsImportant=false --simulate purge --auto-remove ${named.join(' ')}`,
      `apt-get purge ${['build-essential', 'cmake', 'dpkg-dev', 'g++', 'gcc', 'libcurl4-openssl-dev', 'libgstreamer-plugins-base1.0-dev', 'libgstreamer1.0-dev', 'liblog4cplus-dev', 'libssl-dev', 'make', 'pkg-config'].join(' ')}`,
    ]);
    expect(apt.installed()).toEqual([
      'ca-certificates',
      'git',
      'gstreamer1.0-tools',
      'libc6',
      'liblog4cplus-2.0.5',
      'old-unused-tool',
    ]);
    expect(ownLines(result.stderr)).toContain(
      `build-kvssink: removed the 12 packages this build installed for itself: ${named.join(' ')} and what only they needed`,
    );
    // The removal comes before the check that GStreamer still loads kvssink.
    const steps = ownLines(result.stderr).filter((line) => line.includes('step:'));
    expect(steps.slice(-2)).toEqual([
      'build-kvssink: step: remove the build packages',
      'build-kvssink: step: check that GStreamer loads kvssink',
    ]);
  });

  test('with --keep-build-packages (the image build stage) it installs the build packages and removes none', async () => {
    const apt = aptState('keep', {
      installed: ['libc6'],
      installAdds: ['build-essential', 'gcc', 'cmake'],
      purgeAnswer: ['build-essential', 'gcc', 'cmake'],
    });
    const result = await build(
      pinArguments(standIn.pins()),
      path.join(work, 'prefix-keep'),
      ['--keep-build-packages'],
      apt,
    );
    expect({ code: result.code, log: result.code === 0 ? '' : result.stderr.slice(-3000) }).toEqual({
      code: 0,
      log: '',
    });
    expect(apt.calls().map((call) => call.split(' ').slice(0, 2).join(' '))).toEqual([
      'apt-get update',
      'apt-get install',
    ]);
    expect(apt.installed()).toEqual(['build-essential', 'cmake', 'gcc', 'libc6']);
    expect(ownLines(result.stderr)).not.toContain('build-kvssink: step: remove the build packages');
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
