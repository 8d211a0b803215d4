import * as fs from 'node:fs';
import * as path from 'node:path';
import { IgnoreStrategy } from 'aws-cdk-lib';
import { Copy, DockerfileParser, Instruction } from 'dockerfile-ast';
import { Template } from 'aws-cdk-lib/assertions';
import { GatewayConfig } from '../lib/config';
import { CONTAINER_BUILD_CONTEXT, DOCKERFILE } from '../lib/fargate-stack';
import { imageBuildArgs } from '../lib/gateway-image';
import { buildGatewayApp, configWith, sampleConfigJson } from './support/gateway-app';

const projectRoot = path.join(__dirname, '..');
const dockerfileText = fs.readFileSync(path.join(projectRoot, DOCKERFILE), 'utf8');
const dockerfile = DockerfileParser.parse(dockerfileText);
const stages = dockerfile.getFROMs().map((from) => from.getBuildStage());
const dockerignorePatterns = fs
  .readFileSync(path.join(projectRoot, '.dockerignore'), 'utf8')
  .split('\n')
  .filter((line) => line !== ''); // as the CDK reads it (DockerImageAsset)
const ignoreStrategy = IgnoreStrategy.docker(projectRoot, dockerignorePatterns);

interface CopyInstruction {
  stage: string | null;
  from: string | undefined;
  /** --chmod: scripts stay executable whatever file modes the checkout gave them. */
  mode: string | undefined;
  sources: string[];
  destination: string;
}

/** The instructions of one build stage, in order. */
function stageInstructions(stage: string): Instruction[] {
  const froms = dockerfile.getFROMs();
  const index = stages.indexOf(stage);
  const start = froms[index].getRange().start.line;
  const end = froms[index + 1]?.getRange().start.line ?? Infinity;
  return dockerfile.getInstructions().filter((i) => {
    const line = i.getRange().start.line;
    return line > start && line < end;
  });
}

function copyInstructions(): CopyInstruction[] {
  return stages.flatMap((stage) =>
    stageInstructions(stage as string)
      .filter((i) => i.getKeyword() === 'COPY')
      .map((i) => {
        const copy = i as Copy;
        const from = copy.getFromFlag()?.getValue() ?? undefined;
        const mode =
          copy
            .getFlags()
            .find((flag) => flag.getName() === 'chmod')
            ?.getValue() ?? undefined;
        const paths = i.getArguments().map((a) => a.getValue());
        return { stage, from, mode, sources: paths.slice(0, -1), destination: paths[paths.length - 1] };
      }),
  );
}

/** Files the image takes from the build context (not from another stage). */
const contextSources = copyInstructions()
  .filter((copy) => copy.from === undefined)
  .flatMap((copy) => copy.sources);

function listFiles(dir: string, prefix = ''): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const relative = path.posix.join(prefix, entry.name);
    return entry.isDirectory() ? listFiles(path.join(dir, entry.name), relative) : [relative];
  });
}

interface AssetManifest {
  files: Record<string, { displayName: string; source: { path: string; packaging: string } }>;
  dockerImages: Record<
    string,
    {
      source: {
        directory: string;
        dockerFile: string;
        dockerBuildArgs: Record<string, string>;
        platform: string;
      };
    }
  >;
}

function synthesizedManifest(config: GatewayConfig): { manifest: AssetManifest; directory: string } {
  const gateway = buildGatewayApp(config);
  const { directory } = gateway.app.synth();
  const manifest = JSON.parse(
    fs.readFileSync(path.join(directory, 'FargateGatewayStack.assets.json'), 'utf8'),
  );
  return { manifest, directory };
}

/** The image as CDK builds it locally (fargate.imageBuild "local"): a Docker image asset. */
function localImageAssets(
  config = configWith({ fargate: { ...sampleConfigJson.fargate, imageBuild: 'local' } }),
) {
  const { manifest, directory } = synthesizedManifest(config);
  return Object.entries(manifest.dockerImages).map(([hash, image]) => ({
    hash,
    ...image.source,
    stagedDirectory: path.join(directory, image.source.directory),
  }));
}

/** The image as CodeBuild builds it in the account (the default): the build command, and its context as staged. */
function inAccountBuild(config = configWith()) {
  const { manifest, directory } = synthesizedManifest(config);
  const template = Template.fromJSON(
    JSON.parse(fs.readFileSync(path.join(directory, 'FargateGatewayStack.template.json'), 'utf8')),
  );
  const builds = Object.values(template.findResources('Custom::CDKContainerImageBuild'));
  const contexts = Object.values(manifest.files).filter((file) => file.displayName === 'Image/Build/Source');
  expect([builds.length, contexts.length]).toEqual([1, 1]);
  const projects = Object.values(template.findResources('AWS::CodeBuild::Project'));
  return {
    buildCommand: builds[0].Properties.buildCommand as string,
    project: projects.map((project) => project.Properties),
    stagedDirectory: path.join(directory, contexts[0].source.path),
    assetHash: contexts[0].source.path,
  };
}

describe('the Fargate image (container/Dockerfile)', () => {
  test('the runtime stage copies the run script and the credential refresher the EC2 gateway installs', () => {
    const runtimeCopies = copyInstructions().filter((copy) => copy.stage === 'runtime' && !copy.from);
    expect(runtimeCopies).toContainEqual({
      stage: 'runtime',
      from: undefined,
      mode: '0755',
      sources: [
        'userdata/run-camera.sh',
        'userdata/camera-pipeline.py',
        'userdata/camera_status.py',
        'userdata/kvssink_reports.py',
        'userdata/recording_schedule.py',
        'userdata/refresh-kvs-credentials.sh',
        'userdata/sync-camera-schedules.sh',
        'userdata/aws-request.sh',
        'container/entrypoint.sh',
      ],
      destination: '/opt/kvs-gateway/bin/',
    });
  });

  test('the build stage builds kvssink with the project script from the pins given as build arguments, keeping its build packages (the stage is thrown away)', () => {
    const build = stageInstructions('build');
    const args = build.filter((i) => i.getKeyword() === 'ARG').map((i) => i.getArgumentsContent());
    // No defaults: an image built without the config's pins fails instead of drifting from the EC2 gateway.
    expect(args).toEqual(['PRODUCER_SDK_PIN', 'PRODUCER_C_PIN', 'PIC_PIN', 'KVS_TEST_WITHOUT_KVSSINK=']);
    expect(copyInstructions()).toContainEqual({
      stage: 'build',
      from: undefined,
      mode: '0755',
      // apt-get-waiting.sh: the recipe's apt steps wait for apt's locks (one copy for both gateways).
      sources: ['userdata/build-kvssink.sh', 'userdata/apt-get-waiting.sh'],
      destination: '/usr/local/bin/',
    });
    const run = build.find((i) => i.getKeyword() === 'RUN')?.getArgumentsContent() ?? '';
    expect(run).toMatch(
      /^\/usr\/local\/bin\/build-kvssink\.sh --producer-sdk "\$\{PRODUCER_SDK_PIN\}" --producer-c "\$\{PRODUCER_C_PIN\}"\s+--pic "\$\{PIC_PIN\}" --prefix \/opt\/kvs-gateway --keep-build-packages /,
    );
  });

  test('the runtime stage takes only the built plugin and its libraries from the build stage', () => {
    const fromBuild = copyInstructions().filter((copy) => copy.from === 'build');
    expect(fromBuild.flatMap((copy) => copy.sources).sort()).toEqual([
      '/opt/kvs-gateway/lib',
      '/opt/kvs-gateway/share/kvs-gateway/kvssink-runtime-packages',
    ]);
  });

  test('runs as a fixed non-root user, with the volumes the task mounts and the entry point the task runs', () => {
    const runtime = stageInstructions('runtime');
    const users = runtime.filter((i) => i.getKeyword() === 'USER').map((i) => i.getArgumentsContent());
    expect(users).toEqual(['10001:10001']);
    const lastUserLine = runtime.filter((i) => i.getKeyword() === 'USER')[0].getRange().start.line;
    expect(runtime.filter((i) => i.getKeyword() === 'RUN' && i.getRange().start.line > lastUserLine)).toEqual(
      [],
    );
    expect(runtime.find((i) => i.getKeyword() === 'VOLUME')?.getArgumentsContent()).toBe(
      '["/run/kvs-gateway", "/tmp"]',
    );
    expect(runtime.find((i) => i.getKeyword() === 'ENTRYPOINT')?.getArgumentsContent()).toBe(
      '["/opt/kvs-gateway/bin/entrypoint.sh"]',
    );
    expect(dockerfileText).toMatch(/KVS_CREDENTIAL_PATH=\/run\/kvs-gateway\/credentials/);
    expect(dockerfileText).toMatch(/GST_PLUGIN_PATH=\/opt\/kvs-gateway\/lib\/gstreamer-1.0/);
  });

  test('.dockerignore admits exactly what the Dockerfile copies, so unrelated changes never rebuild the image', () => {
    for (const source of [...contextSources, DOCKERFILE]) {
      expect([source, ignoreStrategy.ignores(path.join(projectRoot, source))]).toEqual([source, false]);
    }
    for (const unrelated of [
      'README.md',
      'lib/fargate-stack.ts',
      'test/fargate-image.test.ts',
      'gateway.config.json',
      'node_modules/aws-cdk-lib/package.json',
      'cdk.out/manifest.json',
      'userdata/install-gateway.sh',
      'userdata/kvs-camera@.service',
      'container/notes.md',
    ]) {
      expect([unrelated, ignoreStrategy.ignores(path.join(projectRoot, unrelated))]).toEqual([
        unrelated,
        true,
      ]);
    }
  });
});

describe('the image built in the account (fargate.imageBuild "codebuild", the default)', () => {
  const build = inAccountBuild();

  test('one build for every task, of the project Dockerfile with the config pins, natively on arm64', () => {
    const pins = configWith().pins;
    expect(build.buildCommand).toBe(
      [
        'docker buildx build',
        `--build-arg PRODUCER_SDK_PIN=v3.5.0@${pins.producerSdk.commit}`,
        `--build-arg PRODUCER_C_PIN=v1.6.0@${pins.producerC.commit}`,
        `--build-arg PIC_PIN=v1.2.0@${pins.pic.commit}`,
        `--file ${DOCKERFILE} --platform linux/arm64`,
        '--output type=docker,name=artifact:$imageTag --provenance=false .',
      ].join(' '),
    );
    // An arm64 image is built on an arm64 CodeBuild host: nothing is emulated.
    expect(build.project).toEqual([
      expect.objectContaining({
        Environment: expect.objectContaining({
          Type: 'ARM_CONTAINER',
          Image: 'aws/codebuild/amazonlinux2-aarch64-standard:3.0',
          PrivilegedMode: true,
        }),
      }),
    ]);
    expect(path.resolve(CONTAINER_BUILD_CONTEXT)).toBe(projectRoot);
  });

  test('its build context holds every file the image copies, byte for byte, and nothing else', () => {
    const staged = listFiles(build.stagedDirectory).sort();
    // The .dockerignore chose these files; the build needs no other.
    expect(staged).toEqual([...contextSources, DOCKERFILE].sort());
    for (const file of contextSources) {
      expect(fs.readFileSync(path.join(build.stagedDirectory, file))).toEqual(
        fs.readFileSync(path.join(projectRoot, file)),
      );
    }
  });

  test('the pins and the architecture follow the config, and change the build', () => {
    const other = inAccountBuild(
      configWith({
        pins: { producerSdk: { tag: 'v3.4.2', commit: '7acf272672ced72bbbad85fe39d366deca57280e' } },
        fargate: { ...sampleConfigJson.fargate, architecture: 'x86_64' },
      }),
    );
    expect(other.buildCommand).toContain(
      '--build-arg PRODUCER_SDK_PIN=v3.4.2@7acf272672ced72bbbad85fe39d366deca57280e',
    );
    expect(other.buildCommand).toContain('--platform linux/amd64');
    expect(other.project).toEqual([
      expect.objectContaining({
        Environment: expect.objectContaining({
          Type: 'LINUX_CONTAINER',
          Image: 'aws/codebuild/standard:7.0',
        }),
      }),
    ]);
    // The context is the same files: the same asset.
    expect(other.assetHash).toBe(build.assetHash);
  });
});

describe('the image built by Docker on the deploying machine (fargate.imageBuild "local")', () => {
  const [image, ...others] = localImageAssets();

  test('one image asset for every task, from the project Dockerfile with the config pins and architecture', () => {
    expect(others).toEqual([]);
    expect(image.dockerFile).toBe(DOCKERFILE);
    expect(image.dockerBuildArgs).toEqual(imageBuildArgs(configWith().pins));
    expect(image.platform).toBe('linux/arm64');
  });

  test('every file the image copies from the project is staged byte for byte, and nothing else', () => {
    const staged = listFiles(image.stagedDirectory).sort();
    expect(staged).toEqual([...contextSources, DOCKERFILE, '.dockerignore'].sort());
  });
});
