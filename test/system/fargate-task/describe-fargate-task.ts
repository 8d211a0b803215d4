import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Template } from 'aws-cdk-lib/assertions';
import { SSMClient } from '@aws-sdk/client-ssm';
import { AwsStandIn, AwsStandInState, STAND_IN_CREDENTIALS } from '../../support/aws-stand-ins';
import { DeployedApp } from '../../support/deployed-app';
import { buildGatewayApp, configWith } from '../../support/gateway-app';
import { describeFindings, PermissionCheck } from '../../support/permission-check';
import { discoverMediaFile } from '../../support/media-file';
import { mkvFiles } from '../../support/run-camera';
import { TestCamera, TestCameraOptions } from '../../support/test-camera';
import { BuildahStorage, ImageConfig } from '../support/buildah';
import { CustomResourceResponseUrl, runBuildspec } from '../support/codebuild-buildspec';
import { mustRun } from '../support/command';
import { debianRootfs } from '../support/gateway-box';
import { EcsCredentialsEndpoint } from '../support/ecs-credentials-endpoint';
import { EcsTaskDefinition, EcsTaskRunner, readTaskSecrets } from '../support/ecs-task-runner';
import { EcsContainerDefinition } from '../support/oci-runtime-spec';
import { TaskNetwork } from '../support/task-network';

const projectRoot = path.join(__dirname, '..', '..', '..');
const workFolder = path.join(projectRoot, 'tmp', 'system', 'fargate');
const BASE_IMAGE = 'localhost/kvs-gateway-test-base:bookworm';
const REGION = 'eu-west-1';
const ACCOUNT = '111111111111';
/** What Ubuntu's minimized images (ubuntu:24.04 on Docker Hub) exclude from every package they install. */
const UBUNTU_MINIMIZED_DPKG_EXCLUDES = [
  'path-exclude=/usr/share/man/*',
  'path-exclude=/usr/share/locale/*/LC_MESSAGES/*.mo',
  'path-exclude=/usr/share/doc/*',
  'path-include=/usr/share/doc/*/copyright',
  '',
].join('\n');
/** And what they set for dpkg in containers (no fsync per file: an image build is all or nothing). */
const UBUNTU_DOCKER_DPKG_SPEEDUP = 'force-unsafe-io\n';
const CAMERA_PASSWORD = 'fargate p@ss/word';
const PSEUDO = { region: REGION, accountId: ACCOUNT };

interface CameraCase {
  readonly name: string;
  readonly camera: TestCameraOptions;
  readonly config: { codec: string; audio?: boolean };
}
/** Two cameras that stream, and one whose config asks for H.264 from an H.265 camera (exit 4, permanent). */
const CAMERAS: readonly CameraCase[] = [
  {
    name: 'front-door',
    camera: { codec: 'h264', user: 'admin', password: CAMERA_PASSWORD },
    config: { codec: 'auto' },
  },
  { name: 'loading-dock', camera: { codec: 'h265', audio: 'aac' }, config: { codec: 'h265', audio: true } },
  { name: 'gate', camera: { codec: 'h265' }, config: { codec: 'h264' } },
];

export interface FargateVariant {
  /** Names the test file: amd64. */
  readonly name: string;
  /** Debian's architecture name (the image's platform: linux/<architecture>). */
  readonly architecture: 'amd64' | 'arm64';
  /** How much slower than native the task runs (arm64 under qemu-user emulation): waits are multiplied by it. */
  readonly slowdown: number;
}

/**
 * The Fargate gateway built and run whole: the image built as the stack builds it in the account, by the
 * buildspec of the CodeBuild project synthesized for the variant's architecture, run here
 * (support/codebuild-buildspec.ts) with the real AWS CLI against the stand-ins (the build context from
 * S3, the ECR and ECR Public logins) and buildah in place of docker (support/docker-on-buildah.sh: no
 * Docker engine), then one task of the synthesized task definition run as ECS runs it (runc, see
 * support/ecs-task-runner.ts) in a network namespace of its own, against the project's RTSP test
 * cameras and a stand-in of the ECS task credential endpoint. Test-only differences from a deployment:
 * Debian 12 as the base image (Ubuntu's registry is unreachable), no kvssink (KVS_TEST_WITHOUT_KVSSINK=1,
 * the cameras write MKV files through RunTask's environment override GATEWAY_SINK=file:/tmp/video), both
 * added to the build's arguments; no registry (the push checks the image is there under the repository's name).
 */
export function describeFargateTask(variant: FargateVariant): void {
  jest.setTimeout(variant.slowdown * 15 * 60_000);
  const ms = (nativeMs: number) => nativeMs * variant.slowdown;
  const runFolder = path.join(workFolder, `run-${process.pid}-${variant.name}`);
  let buildah: BuildahStorage | undefined;
  let network: TaskNetwork | undefined;
  let endpoint: EcsCredentialsEndpoint | undefined;
  let runner: EcsTaskRunner | undefined;
  const testCameras: TestCamera[] = [];
  let image: { rootfs: string; config: ImageConfig };
  let taskDefinition: EcsTaskDefinition;
  /** The synthesized app as deployed in ACCOUNT and REGION: the execution role's requests are judged against it. */
  let deployment: DeployedApp;
  let ssm: AwsStandIn | undefined;
  let awsState: AwsStandInState;
  let rootfsBefore: Map<string, string>;
  const figures: Record<string, string> = {};
  /** The image build's AWS (S3 and ECR), apart from the task's (SSM). */
  let buildAws: AwsStandInState;
  const standIns: AwsStandIn[] = [];
  let responseUrl: CustomResourceResponseUrl | undefined;
  let build: Awaited<ReturnType<typeof runBuildspec>>;
  let builtImage: { reference: string; tag: string };

  /** Every path under a root filesystem with its type, owner, mode, size and modification time. */
  function snapshot(root: string): Map<string, string> {
    const entries = new Map<string, string>();
    const walk = (folder: string) => {
      for (const name of fs.readdirSync(folder)) {
        const file = path.join(folder, name);
        const stat = fs.lstatSync(file);
        entries.set(
          path.relative(root, file),
          `${stat.mode} ${stat.uid}:${stat.gid} ${stat.size} ${stat.mtimeMs}`,
        );
        if (stat.isDirectory()) walk(file);
      }
    };
    walk(root);
    return entries;
  }

  /** The architecture an ELF file's machine code is for (its header's e_machine), in Debian's names. */
  function elfMachine(file: string): string {
    const header = Buffer.alloc(20);
    const fd = fs.openSync(file, 'r');
    fs.readSync(fd, header, 0, 20, 0);
    fs.closeSync(fd);
    const machine = header.readUInt16LE(18);
    return { 0x3e: 'amd64', 0xb7: 'arm64' }[machine] ?? `e_machine 0x${machine.toString(16)}`;
  }

  function installedPackages(rootfs: string): string[] {
    const status = fs.readFileSync(path.join(rootfs, 'var/lib/dpkg/status'), 'utf8');
    return [...status.matchAll(/^Package: (\S+)\n(?:.+\n)*?Status: install ok installed$/gm)].map(
      (m) => m[1],
    );
  }

  function containerOf(cameraName: string): EcsContainerDefinition {
    const container = taskDefinition.ContainerDefinitions.find((c) =>
      c.Environment?.some((e) => e.Name === 'CAMERA_NAME' && e.Value === cameraName),
    );
    if (!container) throw new Error(`no container for camera ${cameraName}`);
    return container;
  }

  /** The host folder of a camera container's /tmp volume. */
  function scratchFolder(cameraName: string): string {
    const mount = containerOf(cameraName).MountPoints!.find((m) => m.ContainerPath === '/tmp')!;
    return runner!.volumePath(mount.SourceVolume);
  }

  /** The app of the test's three cameras, synthesized as `cdk deploy` would, for the variant's architecture. */
  function synthesizeApp() {
    const config = configWith({
      cameras: CAMERAS.map((c) => ({ name: c.name, retentionHours: 24, ...c.config })),
      fargate: {
        cpu: 1024,
        memoryMiB: 2048,
        camerasPerTask: CAMERAS.length,
        architecture: variant.architecture === 'arm64' ? 'arm64' : 'x86_64',
      },
    });
    return buildGatewayApp(config);
  }

  /**
   * What the custom resource's function hands the CodeBuild project (StartBuild's environment overrides)
   * and what CodeBuild itself sets, for this deployment's image build; values as CloudFormation resolves them.
   */
  function buildEnvironment(deployed: DeployedApp, url: string) {
    const stack = deployed.stack('FargateGatewayStack');
    const [buildId] = stack.logicalIdsOf('Custom::CDKContainerImageBuild');
    const properties = stack.resources[buildId].Properties as Record<string, unknown>;
    const repositoryUri = stack.resolve(properties.repositoryUri);
    return {
      responseURL: url,
      stackId: stack.arn,
      requestId: randomBytes(16).toString('hex'),
      logicalResourceId: buildId,
      repositoryUri,
      repositoryAuthUri: repositoryUri.split('/')[0],
      repositoryRegion: repositoryUri.split('.')[3],
      buildCommand: String(properties.buildCommand),
      imageTag: randomBytes(16).toString('hex'),
      projectName: stack.resolve(properties.codeBuildProjectName),
      sourceS3Url: stack.resolve(properties.sourceS3Url),
      AWS_REGION: REGION,
      AWS_DEFAULT_REGION: REGION,
      CODEBUILD_LOG_PATH: 'test-build',
    };
  }

  /**
   * Builds the image the way FargateGatewayStack does at deploy time: its CodeBuild project's buildspec,
   * on the build context CDK uploads (zipped into the S3 stand-in where the custom resource says it is).
   */
  async function buildImage(app: ReturnType<typeof synthesizeApp>): Promise<void> {
    // The same minbase the box of this architecture starts from (debian-rootfs.sh builds it once).
    const baseRootfs = path.join(
      projectRoot,
      'tmp',
      'system',
      'rootfs',
      `bookworm-${variant.architecture}-minbase`,
    );
    await debianRootfs(baseRootfs, [], { suite: 'bookworm', architecture: variant.architecture });
    buildah = new BuildahStorage(path.join(runFolder, 'buildah'));
    await buildah.importRootfs(baseRootfs, BASE_IMAGE, variant.architecture, {
      'etc/dpkg/dpkg.cfg.d/excludes': UBUNTU_MINIMIZED_DPKG_EXCLUDES,
      'etc/dpkg/dpkg.cfg.d/docker-apt-speedup': UBUNTU_DOCKER_DPKG_SPEEDUP,
    });

    const assembly = app.app.synth().directory;
    deployment = new DeployedApp(assembly, { account: ACCOUNT, region: REGION });
    buildAws = new AwsStandInState(path.join(runFolder, 'aws-build'));
    buildAws.setAccount(ACCOUNT);
    for (const service of ['s3', 'ecr'] as const) standIns.push(await AwsStandIn.start(service, buildAws));
    responseUrl = await CustomResourceResponseUrl.start();
    const environment = buildEnvironment(deployment, responseUrl.url);
    // The build context as CDK uploads it: the staged folder, zipped with its files at the root.
    const manifest = JSON.parse(
      fs.readFileSync(path.join(assembly, 'FargateGatewayStack.assets.json'), 'utf8'),
    );
    const [context] = Object.values(
      manifest.files as Record<string, { displayName: string; source: { path: string } }>,
    ).filter((file) => file.displayName === 'Image/Build/Source');
    const zip = path.join(runFolder, 'build-context.zip');
    await mustRun('bash', [
      '-c',
      'cd "$1" && /usr/bin/python3 -m zipfile -c "$2" $(ls -A)',
      'zip',
      path.join(assembly, context.source.path),
      zip,
    ]);
    const [, bucket, key] = /^s3:\/\/([^/]+)\/(.+)$/.exec(environment.sourceS3Url)!;
    buildAws.putObject(bucket, key, fs.readFileSync(zip));

    const started = Date.now();
    const support = path.join(__dirname, '..', 'support');
    const shims = path.join(runFolder, 'codebuild-bin');
    fs.mkdirSync(shims, { recursive: true });
    fs.symlinkSync(path.join(support, 'aws-cli-on-stand-ins.sh'), path.join(shims, 'aws'));
    fs.symlinkSync(path.join(support, 'docker-on-buildah.sh'), path.join(shims, 'docker'));
    const [s3, ecr] = standIns;
    build = await runBuildspec({
      buildSpec: Object.values(
        Template.fromJSON(
          JSON.parse(fs.readFileSync(path.join(assembly, 'FargateGatewayStack.template.json'), 'utf8')),
        ).findResources('AWS::CodeBuild::Project'),
      )[0].Properties.Source.BuildSpec,
      environment: {
        ...environment,
        PATH: `${shims}:${process.env.PATH}`,
        HOME: runFolder,
        AWS_ACCESS_KEY_ID: STAND_IN_CREDENTIALS.AccessKeyId,
        AWS_SECRET_ACCESS_KEY: STAND_IN_CREDENTIALS.SecretAccessKey,
        AWS_SESSION_TOKEN: STAND_IN_CREDENTIALS.Token,
        AWS_ENDPOINT_URL_S3: s3.url,
        AWS_ENDPOINT_URL_ECR: ecr.url,
        AWS_ENDPOINT_URL_ECR_PUBLIC: ecr.url,
        BUILDAH_ROOT: path.join(buildah.folder, 'root'),
        BUILDAH_RUNROOT: path.join(buildah.folder, 'runroot'),
        // TEST ONLY: Debian 12 for Ubuntu's image, no kvssink (see the top of this file).
        DOCKER_SHIM_BUILD_ARGS: `UBUNTU_IMAGE=${BASE_IMAGE}\nKVS_TEST_WITHOUT_KVSSINK=1`,
        DOCKER_SHIM_LOG: path.join(runFolder, 'docker-commands.log'),
      },
      folder: path.join(runFolder, 'codebuild-source'),
      logFile: path.join(runFolder, 'build.log'),
    });
    figures['image build (the buildspec, buildah, vfs)'] = `${((Date.now() - started) / 1000).toFixed(0)} s`;
    builtImage = {
      reference: `${environment.repositoryUri}:${environment.imageTag}`,
      tag: environment.imageTag,
    };
    if (!build.succeeded) return;
    const rootfs = await buildah.mountImage(builtImage.reference, `kvs-gateway-task-${process.pid}`);
    image = { rootfs, config: await buildah.imageConfig(builtImage.reference) };
    const bytes = Number((await mustRun('du', ['-sb', rootfs])).split('\t')[0]);
    figures['image size (uncompressed)'] = `${(bytes / 1e6).toFixed(0)} MB`;
  }

  function synthesizeTaskDefinition(app: ReturnType<typeof synthesizeApp>): EcsTaskDefinition {
    // The cameras are in shard 1: its nested stack holds the task definition.
    const template = Template.fromStack(app.fargateGateway.shards[0]);
    const [definition, ...others] = Object.values(template.findResources('AWS::ECS::TaskDefinition'));
    expect(others).toEqual([]);
    return definition.Properties as EcsTaskDefinition;
  }

  /** A run killed before its clean-up (a CI timeout) leaves containers, mounts and a namespace: remove them. */
  async function removeLeftoverRuns(): Promise<void> {
    if (!fs.existsSync(workFolder)) return;
    for (const name of fs.readdirSync(workFolder)) {
      const pid = /^run-(\d+)(-|$)/.exec(name)?.[1];
      if (!pid || fs.existsSync(`/proc/${pid}`)) continue;
      const folder = path.join(workFolder, name);
      await EcsTaskRunner.removeLeftover(path.join(folder, 'task'));
      await TaskNetwork.removeLeftover(folder);
      await new BuildahStorage(path.join(folder, 'buildah')).remove();
      fs.rmSync(folder, { recursive: true, force: true });
    }
  }

  beforeAll(async () => {
    await removeLeftoverRuns();
    fs.mkdirSync(runFolder, { recursive: true });
    const app = synthesizeApp();
    await buildImage(app);
    if (!build.succeeded) return; // the build test says why
    taskDefinition = synthesizeTaskDefinition(app);

    network = await TaskNetwork.create(runFolder);
    endpoint = await EcsCredentialsEndpoint.start(network.hostAddress);
    await network.forwardCredentialsEndpoint(endpoint.port);
    awsState = new AwsStandInState(path.join(runFolder, 'aws'));
    awsState.setAccount(ACCOUNT);
    ssm = await AwsStandIn.start('ssm', awsState);
    for (const c of CAMERAS) {
      const camera = await TestCamera.start({
        ...c.camera,
        address: network.hostAddress,
        width: 320,
        height: 240,
        fps: 10,
      });
      testCameras.push(camera);
      awsState.putParameter(`/kvs-gateway/cameras/${c.name}`, camera.url());
    }
    // ECS reads the camera URLs with the execution role before it starts the containers.
    const executionRoleSession = new SSMClient({
      endpoint: ssm.url,
      region: REGION,
      credentials: {
        accessKeyId: STAND_IN_CREDENTIALS.AccessKeyId,
        secretAccessKey: STAND_IN_CREDENTIALS.SecretAccessKey,
        sessionToken: STAND_IN_CREDENTIALS.Token,
      },
    });
    const parameters = await readTaskSecrets(taskDefinition, PSEUDO, executionRoleSession);
    rootfsBefore = snapshot(image.rootfs);
    const cameraOverrides = Object.fromEntries(
      CAMERAS.map((c) => [containerOf(c.name).Name, { GATEWAY_SINK: 'file:/tmp/video' }]),
    );
    runner = EcsTaskRunner.start({
      taskDefinition,
      image,
      folder: path.join(runFolder, 'task'),
      networkNamespace: network.path,
      taskAddress: network.taskAddress,
      pseudoParameters: PSEUDO,
      parameters,
      credentialsRelativeUri: endpoint.relativeUri,
      // RunTask overrides: a file sink (no kvssink in CI) and a refresh every 10 s instead of 120 s.
      environmentOverrides: { ...cameraOverrides, credentials: { KVS_CREDENTIAL_REFRESH_SECONDS: '10' } },
      initBinary: '/usr/bin/tini-static',
    });
  });

  afterAll(async () => {
    await runner?.remove();
    await Promise.all(standIns.map((standIn) => standIn.stop()));
    await responseUrl?.stop();
    await ssm?.stop();
    await Promise.all(testCameras.map((camera) => camera.stop()));
    await endpoint?.stop();
    await network?.remove();
    await buildah?.remove();
    fs.rmSync(runFolder, { recursive: true, force: true });
    console.log(
      Object.entries(figures)
        .map(([what, value]) => `${what}: ${value}`)
        .join('\n'),
    );
  });

  test("the CodeBuild project's buildspec builds the image and reports it to CloudFormation, with requests its role allows", async () => {
    const log = fs.readFileSync(path.join(runFolder, 'build.log'), 'utf8');
    expect({ phases: build.phases, log: build.succeeded ? '' : log.slice(-4000) }).toEqual({
      phases: [
        { phase: 'build', code: 0 },
        { phase: 'post_build', code: 0 },
      ],
      log: '',
    });
    // The custom resource's answer: SUCCESS, with the tag the task definitions name.
    expect(responseUrl!.responses).toEqual([
      expect.objectContaining({
        Status: 'SUCCESS',
        PhysicalResourceId: builtImage.tag,
        Data: { ImageTag: builtImage.tag },
      }),
    ]);
    // What docker was asked: the logins, the build of the project Dockerfile, the tag and the push.
    const repository = builtImage.reference.split(':')[0];
    expect(
      fs.readFileSync(path.join(runFolder, 'docker-commands.log'), 'utf8').split('\n').filter(Boolean),
    ).toEqual([
      `login ${repository.split('/')[0]}`,
      'login public.ecr.aws',
      `build artifact:${builtImage.tag} linux/${variant.architecture}`,
      `tag artifact:${builtImage.tag} ${builtImage.reference}`,
      `push ${builtImage.reference}`,
    ]);
    // The build context, the ECR and the ECR Public logins, each judged against the project's role.
    const role = deployment.roles().find((r) => r.logicalId.startsWith('ContainerImageBuild'))!;
    const records = buildAws.requestRecords();
    expect(records.map((r) => r.operation).sort()).toEqual(
      ['GetAuthorizationToken', 'GetAuthorizationToken', 'GetObject', 'HeadObject'].sort(),
    );
    // ECR Public's login is allowed by AmazonElasticContainerRegistryPublicReadOnly, an AWS managed
    // policy the deployment model cannot read: it is named here, and the other requests are judged
    // against the role's own policies.
    expect(role.unreadablePolicies).toEqual([
      expect.stringMatching(/:policy\/AmazonElasticContainerRegistryPublicReadOnly$/),
    ]);
    const report = await new PermissionCheck(
      deployment,
      new Map([[STAND_IN_CREDENTIALS.AccessKeyId, { role: { ...role, unreadablePolicies: [] } }]]),
    ).judge(records.filter((record) => record.service !== 'ecr-public'));
    expect(describeFindings(report.findings)).toEqual([]);
    expect(report.judged).toBe(3);
  });

  test('the image builds from container/Dockerfile: GStreamer, the gateway scripts, no build tools', () => {
    expect(image.config).toMatchObject({
      user: '10001:10001',
      entrypoint: ['/opt/kvs-gateway/bin/entrypoint.sh'],
      cmd: ['camera'],
      architecture: variant.architecture,
    });
    // The programs and the plugins the build installed are machine code of the image's architecture.
    const lib = path.join(image.rootfs, 'opt/kvs-gateway/lib');
    for (const file of [
      'usr/bin/gst-launch-1.0',
      'usr/bin/bash',
      path.join(lib, 'gstreamer-1.0/libgstvideoparsersbad.so'),
    ]) {
      expect([file, elfMachine(path.resolve(image.rootfs, file))]).toEqual([file, variant.architecture]);
    }
    expect([...image.config.volumes].sort()).toEqual(['/run/kvs-gateway', '/tmp']);
    const packages = installedPackages(image.rootfs);
    figures['installed packages'] = String(packages.length);
    expect(packages).toEqual(
      expect.arrayContaining([
        'gstreamer1.0-plugins-base',
        'gstreamer1.0-plugins-good',
        'python3-gi',
        'curl',
        'jq',
      ]),
    );
    // Of gst-plugins-bad only the parsers and timestampers (container/install-video-parsers.sh), not its ~180 packages.
    const unwanted = [
      'gcc',
      'cmake',
      'git',
      'libc6-dev',
      'gstreamer1.0-plugins-bad',
      'libllvm15',
      'libgtk-3-0',
    ];
    expect(
      packages.filter(
        (name) =>
          unwanted.includes(name) ||
          /^(gstreamer1\.0-libav|gstreamer1\.0-plugins-ugly|libavcodec\d)/.test(name),
      ),
    ).toEqual([]);
    expect(fs.readdirSync(path.join(lib, 'gstreamer-1.0')).sort()).toEqual([
      'libgstcodectimestamper.so',
      'libgstvideoparsersbad.so',
    ]); // no kvssink
    expect(fs.readdirSync(lib)).toContain('libgstcodecparsers-1.0.so.0');
    for (const script of [
      'entrypoint.sh',
      'run-camera.sh',
      'camera-pipeline.py',
      'recording_schedule.py',
      'refresh-kvs-credentials.sh',
      'sync-camera-schedules.sh',
      'aws-request.sh',
    ]) {
      expect(fs.statSync(path.join(image.rootfs, 'opt/kvs-gateway/bin', script)).mode & 0o777).toBe(0o755);
    }
    // Recording schedules: Python's zoneinfo reads the system's time-zone database (the tzdata package).
    expect(fs.statSync(path.join(image.rootfs, 'usr/share/zoneinfo/Europe/Berlin')).isFile()).toBe(true);
    const registry = path.join(image.rootfs, 'opt/kvs-gateway/share/kvs-gateway/gstreamer-registry.bin');
    expect(fs.statSync(registry).mode & 0o777).toBe(0o644);
  });

  test('the cameras start only once the credentials container is healthy', async () => {
    await runner!.waitFor(
      'the credentials container to be healthy',
      () => runner!.container('credentials').health === 'healthy',
      ms(60_000),
    );
    await runner!.waitFor(
      'the cameras to start',
      () => CAMERAS.every((c) => runner!.container(containerOf(c.name).Name).runs > 0),
      ms(10_000),
    );
    const healthyAt = runner!.events.find(
      (e) => e.container === 'credentials' && e.event === 'healthy',
    )!.time;
    for (const c of CAMERAS) {
      const started = runner!.events.find(
        (e) => e.container === containerOf(c.name).Name && e.event === 'started',
      )!;
      expect(started.time).toBeGreaterThanOrEqual(healthyAt);
    }
  });

  test('each streaming camera container becomes healthy and its video arrives', async () => {
    const streaming = CAMERAS.filter((c) => c.name !== 'gate');
    await runner!.waitFor(
      'the first video',
      () => streaming.some((c) => runner!.logs(containerOf(c.name).Name).includes('video flowing')),
      ms(90_000),
    );
    figures['task start to first video'] = `${((Date.now() - runner!.startedAt) / 1000).toFixed(1)} s`;
    for (const c of streaming) {
      const name = containerOf(c.name).Name;
      await runner!.waitFor(
        `${name} to be healthy`,
        () => runner!.container(name).health === 'healthy',
        ms(120_000),
      );
      expect(runner!.logs(name)).toContain(`run-camera[${c.name}]: video flowing`);
      // Healthy says video flowed; the file then grows past 10 kB (slowly in an emulated, loaded run).
      const videoBytes = () =>
        mkvFiles(path.join(scratchFolder(c.name), 'video')).reduce(
          (sum, file) => sum + fs.statSync(file).size,
          0,
        );
      await runner!.waitFor(`${name}'s video to pass 10 kB`, () => videoBytes() > 10_000, ms(30_000));
    }
    figures['task start to all cameras healthy'] =
      `${((Date.now() - runner!.startedAt) / 1000).toFixed(1)} s`;
  });

  test('a camera container that exits on a permanent error stays stopped while the others stream', async () => {
    const gate = containerOf('gate').Name;
    await runner!.waitFor(
      `${gate} to exit`,
      () => runner!.container(gate).exitCode !== undefined,
      ms(60_000),
    );
    expect(runner!.container(gate).exitCode).toBe(4);
    expect(runner!.logs(gate)).toMatch(/CODEC=h264 but the camera sends video H265/);
    expect(runner!.events).toContainEqual(
      expect.objectContaining({
        container: gate,
        event: 'stays stopped: exit code 4 is in restartIgnoredExitCodes',
      }),
    );
    expect(runner!.container(gate).runs).toBe(1);
    for (const c of CAMERAS.filter((other) => other.name !== 'gate')) {
      expect(runner!.container(containerOf(c.name).Name)).toMatchObject({
        health: 'healthy',
        exitCode: undefined,
      });
    }
    expect(runner!.container('credentials').running).toBe(true);
  });

  test('the credentials container keeps the shared file fresh and the camera containers can read it', async () => {
    await runner!.waitFor('a second refresh', () => endpoint!.issued.length >= 2, ms(40_000));
    const file = path.join(runner!.volumePath('credentials'), 'credentials');
    const latest = endpoint!.issued[endpoint!.issued.length - 1];
    await runner!.waitFor(
      'the file to hold the latest key',
      () => fs.readFileSync(file, 'utf8').includes(latest.accessKeyId),
      ms(5_000),
    );
    expect(fs.readFileSync(file, 'utf8')).toMatch(
      new RegExp(`^CREDENTIALS ${latest.accessKeyId} ${latest.expiration} \\S+ \\S+\\n$`),
    );
    const stat = fs.statSync(file);
    expect([stat.uid, stat.gid, stat.mode & 0o777]).toEqual([10001, 10001, 0o600]);

    const camera = containerOf('front-door').Name;
    const check = await runner!.exec(camera, ['/opt/kvs-gateway/bin/entrypoint.sh', 'check-credentials']);
    expect(check).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^healthy: credentials valid for \d+s/),
    });
    const write = await runner!.exec(camera, ['/bin/sh', '-c', 'echo x >/run/kvs-gateway/credentials']);
    expect(write.code).not.toBe(0);
    expect(write.stderr).toMatch(/Read-only file system/);
  });

  test('every container runs as the task definition says: user 10001, no capability, tini as PID 1, read-only root', async () => {
    for (const container of taskDefinition.ContainerDefinitions.filter(
      (c) => runner!.container(c.Name).running,
    )) {
      const status = await runner!.exec(container.Name, ['cat', '/proc/1/status']);
      expect(status.stdout).toMatch(/^Uid:\s+10001\s+10001\s+10001\s+10001$/m);
      for (const set of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) {
        expect(status.stdout).toMatch(new RegExp(`^${set}:\\s+0000000000000000$`, 'm'));
      }
      const init = await runner!.exec(container.Name, ['cat', '/proc/1/cmdline']);
      expect(init.stdout.split('\0').slice(0, 3)).toEqual([
        '/dev/init',
        '--',
        '/opt/kvs-gateway/bin/entrypoint.sh',
      ]);
      const write = await runner!.exec(container.Name, ['touch', '/opt/kvs-gateway/written-by-the-task']);
      expect(write.stderr).toMatch(/Read-only file system/);
    }
  });

  test('every element the pipeline program names loads in the image', async () => {
    const program = fs.readFileSync(path.join(projectRoot, 'userdata', 'camera-pipeline.py'), 'utf8');
    const elements = [
      ...new Set(program.match(/\b(rtspsrc|rtp\w+depay|\w+parse|matroskamux|filesink|fakesink)\b/g)),
    ];
    expect(elements).toEqual(
      expect.arrayContaining(['rtspsrc', 'rtph264depay', 'h265parse', 'aacparse', 'rtppcmadepay']),
    );
    for (const element of elements) {
      const found = await runner!.exec('credentials', ['gst-inspect-1.0', '--exists', element]);
      expect([element, found.code]).toEqual([element, 0]);
    }
  });

  test('StopTask: every container stops within its stop timeout, and each camera file is closed properly', async () => {
    const stopSeconds = await runner!.stop();
    figures['task stop'] = `${Math.max(...Object.values(stopSeconds)).toFixed(1)} s`;
    for (const container of taskDefinition.ContainerDefinitions) {
      expect([container.Name, stopSeconds[container.Name]]).toEqual([container.Name, expect.any(Number)]);
      expect(stopSeconds[container.Name]).toBeLessThan(container.StopTimeout ?? 30);
    }
    expect(runner!.events.filter((e) => /SIGKILL/.test(e.event))).toEqual([]);
    for (const c of CAMERAS.filter((other) => other.name !== 'gate')) {
      expect(runner!.container(containerOf(c.name).Name).exitCode).toBe(0);
      const files = mkvFiles(path.join(scratchFolder(c.name), 'video'));
      // matroskamux writes the duration only when the stream ends with EOS: the sink was flushed.
      const info = discoverMediaFile(files[files.length - 1]);
      expect(info.durationSeconds).toBeGreaterThan(2);
      expect(info.video).toMatch(c.camera.codec === 'h265' ? /^H\.265/ : /^H\.264/);
    }
  });

  test('nothing was written outside the volumes (read-only root)', () => {
    const after = snapshot(image.rootfs);
    const changed = [...new Set([...rootfsBefore.keys(), ...after.keys()])].filter(
      (file) => rootfsBefore.get(file) !== after.get(file),
    );
    expect(changed).toEqual([]);
  });

  test('no secret in any container log: neither the camera password nor the credentials', () => {
    const logs = taskDefinition.ContainerDefinitions.map((c) => runner!.logs(c.Name)).join('\n');
    expect(logs).toContain('probing rtsp://admin:***@');
    for (const secret of [CAMERA_PASSWORD, encodeURIComponent(CAMERA_PASSWORD), ...endpoint!.secrets]) {
      expect(logs).not.toContain(secret);
    }
  });

  /** What the execution role allows that the task run did not use, and why it stays. */
  const KEPT_UNUSED: readonly RegExp[] = [
    // The image pull: the runner uses the image it built; ECS pulls it from the CDK's asset repository.
    /: ecr:(GetAuthorizationToken|BatchCheckLayerAvailability|BatchGetImage|GetDownloadUrlForLayer) on /,
    // The awslogs driver's: the runner collects the containers' output itself.
    /: logs:(CreateLogStream|PutLogEvents) on /,
  ];

  test("ECS's reads of the camera URLs are allowed by the shard's execution role, which grants nothing else unused but the image pull and awslogs", async () => {
    const role = deployment.roles().find((r) => r.logicalId.startsWith('TaskExecutionRole'))!;
    const check = new PermissionCheck(deployment, new Map([[STAND_IN_CREDENTIALS.AccessKeyId, { role }]]));
    const records = awsState.requestRecords();
    const report = await check.judge(records);
    expect(records.map((r) => `${r.service} ${r.operation}`)).toEqual(['ssm GetParameters']);
    expect(describeFindings(report.findings)).toEqual([]);
    expect(report.unused.filter((grant) => !KEPT_UNUSED.some((kept) => kept.test(grant)))).toEqual([]);
    figures['execution role'] =
      `${report.judged} authorizations judged; unused: ${report.unused.length} (image pull, awslogs)`;
  });
}
