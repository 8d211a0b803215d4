import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cameraList } from '../../../lib/camera-list';
import { DEFAULT_PINS, GatewayConfig, SourcePins } from '../../../lib/config';
import { AwsStandIn, AwsStandInState, STAND_IN_CREDENTIALS } from '../../support/aws-stand-ins';
import { synthesizeEc2UserData, SynthesizedEc2UserData } from '../../support/ec2-user-data';
import { FluentBitRepository, FLUENT_BIT_HOST } from '../../support/fluent-bit-repository';
import { configWith } from '../../support/gateway-app';
import { GitServer } from '../../support/git-server';
import { GITHUB_AWSLABS, ProducerSdkStandIn } from '../../support/producer-sdk-stand-in';
import { TestCamera, TestCameraOptions } from '../../support/test-camera';
import { boxClean, debianRootfs, GatewayBox, run, waitFor } from '../support/gateway-box';
import { TestNetwork } from '../support/test-network';
import { BoxVariant } from './box-variants';

/**
 * What surrounds a booted EC2 box, shared by every scenario of one variant: its network (a TestNetwork:
 * namespace, veth pair, addresses chosen at run time), the proxy to Debian's mirror on the host end, the
 * AWS stand-ins and test cameras in the box's namespace, "GitHub" (a git server on the host end serving
 * the stand-in Producer SDK, producer-c and PIC, which the box's git fetches in place of github.com's),
 * the synthesized user-data, and the box itself once the install scenario booted it. Scenarios
 * (scenarios/*.ts) use its helpers and never its insides.
 *
 * BY HAND ONLY: KVS_BOX_REAL_SOURCES=<folder> serves the bare repositories in that folder instead
 * (amazon-kinesis-video-streams-producer-sdk-cpp.git, -producer-c.git, -pic.git, e.g. copies of the
 * fetched ones), pinned as the config's defaults pin them: the boxes then build, publish and reuse the
 * real kvssink, and the real-kvssink scenario streams it to the KVS API stand-in.
 */

const PROJECT = path.join(__dirname, '..', '..', '..');
const SYSTEM_WORK = path.join(PROJECT, 'tmp', 'system');
const PROXY_PORT = 3128;
const IMDS_ADDRESS = '169.254.169.254';
/** A minimal Debian plus what an Ubuntu cloud image has that the user-data relies on (bash, curl, python3). */
const BOX_PACKAGES = [
  'systemd',
  'systemd-sysv',
  'dbus',
  'curl',
  'ca-certificates',
  'python3',
  'iproute2',
  'procps',
];
const PLACE = { account: '123456789012', region: 'eu-west-1' };
const INSTANCE = {
  instanceId: 'i-0b0c5e5e5e5e5e5e5',
  roleName: 'Ec2GatewayStack-InstanceRole',
  region: PLACE.region,
};
const PREFIX = '/kvs-gateway/cameras';
/** Where the cameras' file sink writes in the box (the camera units may write under their StateDirectory). */
export const BOX_VIDEO = '/var/lib/kvs-gateway/box-video';
const FRONT_DOOR_PASSWORD = 'fr0nt:d@or/p%41ss';
/** The bare repositories served in place of GitHub's, by hand (see above). */
export const REAL_SOURCES = process.env.KVS_BOX_REAL_SOURCES;
const BACK_GATE_PASSWORD = 'b@ck-gate-secret';

/**
 * What no gateway keeps: the kvssink build's packages and the compilers and tools they bring (besides
 * these, every installed package whose name ends in -dev counts).
 */
const BUILD_TOOLS = [
  'build-essential',
  'dpkg-dev',
  'gcc',
  'g++',
  'cpp',
  'make',
  'binutils',
  'cmake',
  'git',
  'pkg-config',
  'pkgconf',
];

export type CameraSpec = Partial<GatewayConfig['cameras'][number]> & { name: string };

/** The cameras of the first boot: two that stream, one whose camera is down, one with a wrong password. */
export const INITIAL_CAMERAS: readonly CameraSpec[] = [
  { name: 'front-door', codec: 'h264' },
  { name: 'loading-dock', codec: 'h265' },
  { name: 'lobby' }, // its camera is down
  { name: 'back-gate' }, // its URL holds a wrong password
];

export interface CfnSignal {
  readonly UniqueId: string;
  readonly Status: string;
  readonly StackName: string;
  readonly LogicalResourceId: string;
}

export class BoxEnvironment {
  readonly work: string;
  readonly rootfs: string;
  readonly aptArchives: string;
  readonly instance = INSTANCE;
  readonly place = PLACE;
  /** Printed at the end of the run (never asserted). */
  readonly figures: string[] = [];
  /** What no journal line, file or log may hold: every camera password, the stand-in's secret keys. */
  readonly secrets: string[] = [STAND_IN_CREDENTIALS.SecretAccessKey, STAND_IN_CREDENTIALS.Token];
  aws!: AwsStandInState;
  network!: TestNetwork;
  userData!: SynthesizedEc2UserData;
  /**
   * Every deploy of the test, in order: what the first boot's user-data came with, then each camera
   * change. A request is judged against the deploy whose IAM was in force (its `generation`).
   */
  readonly deploys: SynthesizedEc2UserData[] = [];
  endpoints!: Record<'s3' | 'ssm' | 'cloudformation', string>;
  /** Fluent Bit's package repository as the install reaches it (packages.fluentbit.io over HTTPS). */
  fluentBitRepository!: FluentBitRepository;
  /** The box the install scenario booted; the scenarios after it use it (the replacement, once booted). */
  box!: GatewayBox;
  /** When the install scenario booted the first box. */
  firstBootAt = 0;
  /** What the config pins: the stand-in repositories' commits (the defaults, with KVS_BOX_REAL_SOURCES). */
  pins!: SourcePins;
  private gitServer?: GitServer;
  private installed = false;
  private readonly standIns: AwsStandIn[] = [];
  private readonly cameras = new Map<string, TestCamera>();
  private readonly stoppedCameras: TestCamera[] = [];
  private proxy?: ChildProcess;

  constructor(readonly variant: BoxVariant) {
    this.work = path.join(SYSTEM_WORK, 'ec2-box', variant.name);
    this.rootfs = path.join(SYSTEM_WORK, 'rootfs', `${variant.suite}-${variant.architecture}-box`);
    this.aptArchives = path.join(SYSTEM_WORK, 'apt-archives', `${variant.suite}-${variant.architecture}`);
  }

  /** A wait of the scenarios, stretched for an emulated box. */
  ms(nativeMs: number): number {
    return nativeMs * this.variant.slowdown;
  }

  figure(line: string): void {
    this.figures.push(line);
    console.log(`ec2 box ${this.variant.name}: ${line}`);
  }

  /** The install scenario calls this once the install signalled SUCCESS. */
  markInstalled(): void {
    this.installed = true;
  }

  /** The scenarios after the install fail at once without it. */
  requireInstalled(): void {
    if (!this.installed) throw new Error('the gateway did not install (see the install test)');
  }

  config(cameras: readonly CameraSpec[]): GatewayConfig {
    return configWith({
      parameterPrefix: PREFIX,
      pins: this.pins,
      ec2: {
        architecture: this.variant.architecture === 'arm64' ? 'arm64' : 'x86_64',
        // The stand-in repository's throw-away key, through the config as a user pins another key.
        fluentBitKeyFingerprint: this.fluentBitRepository.keyFingerprint,
      },
      cameras: cameras.map((camera) => ({ retentionHours: 24, ...camera })),
    });
  }

  /** Starts a test camera in the box's namespace for the camera `name`; its password becomes a secret. */
  async startCamera(name: string, options: TestCameraOptions): Promise<TestCamera> {
    const camera = await TestCamera.start({
      width: 160,
      height: 120,
      fps: 10,
      bitrateKbps: 100,
      ...options,
      netns: this.network.netns,
    });
    const previous = this.cameras.get(name);
    if (previous) this.stoppedCameras.push(previous);
    this.cameras.set(name, camera);
    if (options.password) this.secrets.push(options.password);
    return camera;
  }

  /** The test camera now serving the camera `name`. */
  testCamera(name: string): TestCamera {
    const camera = this.cameras.get(name);
    if (!camera) throw new Error(`no test camera for ${name}`);
    return camera;
  }

  putCameraUrl(name: string, url: string): void {
    this.aws.putParameter(this.urlParameter(name), url);
  }

  /**
   * A deploy of this camera config, as far as IAM is concerned: its templates are synthesized, and from
   * now on the instance role's policy is theirs (requests are judged against them). `deniedParameters`
   * are the names IAM does not allow yet, in the same write.
   */
  deployIam(cameras: readonly CameraSpec[], deniedParameters: string[] = []): void {
    this.deploys.push(synthesizeEc2UserData(this.config(cameras), PLACE));
    this.aws.setIam({ generation: this.deploys.length - 1, deniedParameters });
  }

  /** The SSM parameter of a camera's URL. */
  urlParameter(name: string): string {
    return `${PREFIX}/${name}`;
  }

  /** Writes the shard's camera list as a deploy of this camera config would. */
  setCameras(cameras: readonly CameraSpec[]): void {
    this.aws.putParameter(
      this.userData.cameraList.name,
      JSON.stringify(cameraList(this.config(cameras))),
      'String',
    );
  }

  signals(): CfnSignal[] {
    return this.aws.records<CfnSignal>('signals.jsonl');
  }

  /** The repositories "GitHub" was asked for so far, one entry per fetch. */
  gitFetches(): readonly string[] {
    return this.gitServer?.requests ?? [];
  }

  /** The S3 stand-in's requests on the kvssink cache's object so far: "HeadObject 404", "PutObject 200"... */
  kvssinkCacheCalls(): string[] {
    const key = this.userData.settings.KVS_KVSSINK_CACHE.replace(/^s3:\/\//, '/');
    return this.aws
      .records<{ operation: string; path: string; status: number }>('s3-calls.jsonl')
      .filter((call) => call.path === key)
      .map((call) => `${call.operation} ${call.status}`);
  }

  /** Bytes of video the camera's file sink wrote in the box (its MKV files, one per run: <stream>-<time>.mkv). */
  videoBytes(name: string): number {
    const folder = path.join(this.box.root, BOX_VIDEO);
    if (!fs.existsSync(folder)) return 0;
    return fs
      .readdirSync(folder)
      .filter((file) => file.startsWith(`${name}-`) && file.endsWith('Z.mkv'))
      .reduce((sum, file) => sum + fs.statSync(path.join(folder, file)).size, 0);
  }

  /** Resolves once the camera's video grows by `bytes` from now. */
  async videoGrows(name: string, ms: number, bytes = 20_000): Promise<void> {
    const start = this.videoBytes(name);
    await waitFor(
      `video from ${name} (${start} bytes so far)`,
      ms,
      () => this.videoBytes(name) >= start + bytes,
    );
  }

  /**
   * What no box's journal may hold: a secret (`secrets`), or a process that died by a signal, the
   * seccomp filter or the OOM killer. Empty lists when the journal is clean.
   */
  async journalProblems(box: GatewayBox): Promise<{ secrets: string[]; deaths: string[] }> {
    const json = await box.mustExec(['journalctl', '--no-pager', '-o', 'json']);
    const secrets = this.secrets.filter(
      (secret) => json.includes(secret) || json.includes(encodeURIComponent(secret)),
    );
    const deaths = (await box.journal())
      .split('\n')
      .filter((line) =>
        /SIGSYS|SIGSEGV|status=31\/SYS|status=11\/SEGV|code=dumped|oom-kill|Out of memory|Bad system call/.test(
          line,
        ),
      );
    return { secrets, deaths };
  }

  /** The build tools and -dev packages installed in the box (dpkg knows every package an install added). */
  async buildPackagesInstalled(box: GatewayBox): Promise<string[]> {
    const packages = await box.mustExec(['dpkg-query', '-W', '-f', '${db:Status-Abbrev} ${Package}\\n']);
    return packages
      .split('\n')
      .filter((line) => line.startsWith('ii '))
      .map((line) => line.split(/\s+/)[1])
      .filter((name) => BUILD_TOOLS.includes(name) || name.endsWith('-dev'));
  }

  async mainPid(name: string): Promise<string> {
    return (await this.box.unitProperties(`kvs-camera@${name}.service`, 'MainPID')).MainPID;
  }

  /** A box on the cached rootfs with the user-data in place, the test-only settings and the test's units. */
  async newBox(name: string): Promise<GatewayBox> {
    const fresh = new GatewayBox({
      netns: this.network.netns,
      rootfs: this.rootfs,
      dir: path.join(this.work, name),
      aptArchives: this.aptArchives,
    });
    await fresh.prepare();
    fresh.writeFile('var/lib/cloud/instance/user-data.txt', this.userData.script, 0o700);
    // A persistent journal, as Ubuntu's cloud images keep: the checks read every boot's.
    fs.mkdirSync(path.join(fresh.root, 'var/log/journal'), { recursive: true });
    fresh.writeFile(
      'etc/apt/apt.conf.d/99-box-test-proxy',
      // apt takes the http proxy for https too: Fluent Bit's stand-in repository is reached directly.
      `Acquire::http::Proxy "http://${this.network.hostAddress}:${PROXY_PORT}";\n` +
        `Acquire::https::Proxy::${FLUENT_BIT_HOST} "DIRECT";\n`,
    );
    // TEST ONLY: packages.fluentbit.io is the stand-in repository on the host end, whose throw-away CA
    // the box trusts (appended to the bundle curl and apt read, as update-ca-certificates would).
    fresh.writeFile(
      'etc/hosts',
      `${fresh.readFile('etc/hosts')}${this.network.hostAddress} ${FLUENT_BIT_HOST}\n`,
    );
    fresh.writeFile(
      'etc/ssl/certs/ca-certificates.crt',
      fresh.readFile('etc/ssl/certs/ca-certificates.crt') +
        fs.readFileSync(this.fluentBitRepository.caCertificate, 'utf8'),
    );
    // TEST ONLY: git's own url.<base>.insteadOf sends the fetches of GitHub's awslabs repositories to
    // the git server (no github.com here).
    fresh.writeFile(
      'etc/gitconfig',
      `[url "git://${this.network.hostAddress}:${this.gitServer!.port}/"]\n\tinsteadOf = ${GITHUB_AWSLABS}\n`,
    );
    // TEST ONLY, forced by this machine: no AWS.
    fresh.writeFile(
      'etc/kvs-box-test/user-data.env',
      [
        `AWS_ENDPOINT_URL_S3=${this.endpoints.s3}`,
        `AWS_ENDPOINT_URL_CLOUDFORMATION=${this.endpoints.cloudformation}`,
        '',
      ].join('\n'),
    );
    this.writeGatewayTestEnv(fresh, `GATEWAY_SINK=file:${BOX_VIDEO}`);
    for (const unit of ['kvs-camera@.service', 'kvs-reconcile-cameras.service']) {
      fresh.writeFile(
        `etc/systemd/system/${unit}.d/box-test.conf`,
        "# TEST ONLY: the run script's file sink (no kvssink in CI) and the SSM stand-in.\n[Service]\nEnvironmentFile=/etc/kvs-box-test/gateway-test.env\n",
      );
    }
    if (this.variant.emulated) this.withoutBootCredentials(fresh);
    const units = path.join(__dirname, '..', 'support', 'box');
    for (const unit of ['kvs-box-user-data.service', 'kvs-box-apt-lock.service']) {
      fresh.writeFile(`etc/systemd/system/${unit}`, fs.readFileSync(path.join(units, unit)));
      fresh.enableUnit(unit);
    }
    fresh.writeFile(
      'usr/local/lib/kvs-box/hold-apt-lock.py',
      fs.readFileSync(path.join(units, 'hold-apt-lock.py')),
      0o755,
    );
    return fresh;
  }

  /**
   * EMULATED BOXES ONLY: under qemu-user, systemd 252 cannot set up a unit's credentials ("Failed to set
   * up credentials: Invalid argument", status 243/CREDENTIALS), so every boot unit with LoadCredential=
   * fails: systemd-tmpfiles-setup among them, which then never creates /run/kvs-gateway after a reboot.
   * A drop-in clears LoadCredential= from those Debian units (the gateway's own units load none); on a
   * real arm64 kernel they run as shipped.
   */
  private withoutBootCredentials(box: GatewayBox): void {
    const units = path.join(this.rootfs, 'lib/systemd/system');
    for (const unit of fs.readdirSync(units).filter((name) => name.endsWith('.service'))) {
      if (!/^LoadCredential=/m.test(fs.readFileSync(path.join(units, unit), 'utf8'))) continue;
      box.writeFile(
        `etc/systemd/system/${unit}.d/box-test-emulation.conf`,
        '# TEST ONLY (qemu-user): systemd cannot set up credentials under emulation.\n[Service]\nLoadCredential=\n',
      );
    }
  }

  /**
   * The gateway units' test-only environment file (after gateway.env's: a later file wins; Environment=
   * would not): the sink given, plus the SSM stand-in.
   */
  writeGatewayTestEnv(box: GatewayBox, ...lines: string[]): void {
    box.writeFile(
      'etc/kvs-box-test/gateway-test.env',
      [...lines, `AWS_ENDPOINT_URL_SSM=${this.endpoints.ssm}`, ''].join('\n'),
    );
  }

  /** Everything the scenarios need before the first boot; removes a killed run's leftovers first. */
  async setUp(): Promise<void> {
    await boxClean(this.work);
    fs.rmSync(this.work, { recursive: true, force: true });
    fs.mkdirSync(this.work, { recursive: true });
    this.aws = new AwsStandInState(path.join(this.work, 'aws'));

    const started = Date.now();
    await debianRootfs(this.rootfs, BOX_PACKAGES, this.variant);
    this.figure(`rootfs ready in ${Math.round((Date.now() - started) / 1000)}s (debootstrap, or the cache)`);

    this.network = await TestNetwork.create(path.join(this.work, 'network.env'), `box-${this.variant.name}`);
    // This kernel has no dummy interfaces: the metadata address sits on the namespace's end of the pair.
    await this.network.addInnerAddress(`${IMDS_ADDRESS}/32`);
    await this.startProxy();
    const standIn = REAL_SOURCES ? undefined : new ProducerSdkStandIn(path.join(this.work, 'producer-sdk'));
    this.pins = standIn?.pins() ?? DEFAULT_PINS;
    this.gitServer = await GitServer.start(REAL_SOURCES ?? standIn!.dir, this.network.hostAddress);
    this.fluentBitRepository = FluentBitRepository.create(path.join(this.work, 'fluent-bit-repository'), {
      codenames: [this.variant.suite],
      architectures: [this.variant.architecture],
    });
    await this.fluentBitRepository.start(this.network.hostAddress, 443);
    this.aws.setInstance(INSTANCE);
    this.aws.setParameters({});
    this.deployIam(INITIAL_CAMERAS);
    this.userData = this.deploys[0];
    // The asset as CDK uploads it: the staged userdata/ folder, zipped with its files at the root.
    const zip = path.join(this.work, 'gateway-files.zip');
    await run('bash', [
      '-c',
      `cd "$1" && /usr/bin/python3 -m zipfile -c "$2" *`,
      'zip',
      this.userData.asset.folder,
      zip,
    ]);
    this.aws.putObject(this.userData.asset.bucket, this.userData.asset.key, fs.readFileSync(zip));
    this.aws.putParameter(this.userData.cameraList.name, this.userData.cameraList.value, 'String');

    const netns = this.network.netns;
    this.standIns.push(
      await AwsStandIn.start('imds', this.aws, { netns, address: '169.254.169.254', port: 80 }),
    );
    for (const service of ['s3', 'ssm', 'cloudformation'] as const) {
      this.standIns.push(await AwsStandIn.start(service, this.aws, { netns }));
    }
    this.endpoints = Object.fromEntries(
      this.standIns.slice(1).map((s) => [s.service, s.url]),
    ) as BoxEnvironment['endpoints'];

    const frontDoor = await this.startCamera('front-door', {
      codec: 'h264',
      user: 'admin',
      password: FRONT_DOOR_PASSWORD,
    });
    this.putCameraUrl('front-door', frontDoor.url());
    const loadingDock = await this.startCamera('loading-dock', { codec: 'h265' });
    this.putCameraUrl('loading-dock', loadingDock.url());
    this.putCameraUrl('lobby', 'rtsp://127.0.0.1:9/stream'); // nothing listens there: a camera that is down
    const backGate = await this.startCamera('back-gate', {
      codec: 'h264',
      user: 'admin',
      password: BACK_GATE_PASSWORD,
    });
    this.putCameraUrl('back-gate', backGate.url({ user: 'admin', password: 'not-the-password' }));
  }

  async tearDown(): Promise<void> {
    await this.box?.shutdown().catch(() => undefined);
    await Promise.all([...this.cameras.values(), ...this.stoppedCameras].map((c) => c.stop()));
    await Promise.all(this.standIns.map((s) => s.stop()));
    await this.gitServer?.stop();
    await this.fluentBitRepository?.stop();
    this.proxy?.kill('SIGTERM');
    await boxClean(this.work);
    if (this.figures.length)
      console.log(`ec2 box ${this.variant.name} figures:\n  ${this.figures.join('\n  ')}`);
  }

  /** tinyproxy on the host end, for apt in the box: only Debian's mirror, nothing else leaves the machine. */
  private startProxy(): Promise<void> {
    const dir = path.join(this.work, 'proxy');
    const address = this.network.hostAddress;
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'filter'), '^deb\\.debian\\.org$\n');
    fs.writeFileSync(
      path.join(dir, 'tinyproxy.conf'),
      [
        `Listen ${address}`,
        `Port ${PROXY_PORT}`,
        `Allow ${this.network.subnet}`,
        'Timeout 120',
        'MaxClients 20',
        'LogLevel Warning',
        `Filter "${path.join(dir, 'filter')}"`,
        'FilterType ere',
        'FilterDefaultDeny Yes',
        'ConnectPort 443',
        '',
      ].join('\n'),
    );
    this.proxy = spawn('tinyproxy', ['-d', '-c', path.join(dir, 'tinyproxy.conf')], { stdio: 'ignore' });
    fs.writeFileSync(path.join(this.work, 'tinyproxy.pid'), String(this.proxy.pid));
    return waitFor(
      'the apt proxy to listen',
      10_000,
      async () => {
        const listening = await run('ss', ['-Hltn', `src ${address}:${PROXY_PORT}`]);
        return listening.stdout.includes(`${address}:${PROXY_PORT}`);
      },
      200,
    ).then(() => undefined);
  }
}
