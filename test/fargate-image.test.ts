import * as fs from 'node:fs';
import * as path from 'node:path';
import { IgnoreStrategy } from 'aws-cdk-lib';
import { Copy, DockerfileParser, Instruction } from 'dockerfile-ast';
import { CONTAINER_BUILD_CONTEXT, DOCKERFILE } from '../lib/fargate-stack';
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

interface DockerImageAssetManifest {
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

function synthesizedImageAssets(config = configWith()) {
  const gateway = buildGatewayApp(config);
  const assembly = gateway.app.synth();
  const manifest: DockerImageAssetManifest = JSON.parse(
    fs.readFileSync(path.join(assembly.directory, 'FargateGatewayStack.assets.json'), 'utf8'),
  );
  return Object.entries(manifest.dockerImages).map(([hash, image]) => ({
    hash,
    ...image.source,
    stagedDirectory: path.join(assembly.directory, image.source.directory),
  }));
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

  test('the build stage builds kvssink with the project script at the tag given as a build argument', () => {
    const build = stageInstructions('build');
    const arg = build.find((i) => i.getKeyword() === 'ARG');
    // No default: an image built without the config's tag fails instead of drifting from the EC2 gateway.
    expect(arg?.getArgumentsContent()).toBe('PRODUCER_SDK_TAG');
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
      /^\/usr\/local\/bin\/build-kvssink\.sh --tag "\$\{PRODUCER_SDK_TAG\}" --prefix \/opt\/kvs-gateway /,
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

describe('the image asset in the synthesized app', () => {
  const [image, ...others] = synthesizedImageAssets();

  test('one image for every task, built from the project Dockerfile with the config SDK tag and architecture', () => {
    expect(others).toEqual([]);
    expect(image.dockerFile).toBe(DOCKERFILE);
    expect(image.dockerBuildArgs).toEqual({ PRODUCER_SDK_TAG: configWith().ec2.producerSdkTag });
    expect(image.platform).toBe('linux/arm64');
    expect(path.resolve(CONTAINER_BUILD_CONTEXT)).toBe(projectRoot);
  });

  test('every file the image copies from the project is staged byte for byte, and nothing else', () => {
    const staged = listFiles(image.stagedDirectory).sort();
    expect(staged).toEqual([...contextSources, DOCKERFILE, '.dockerignore'].sort());
    for (const file of contextSources) {
      expect(fs.readFileSync(path.join(image.stagedDirectory, file))).toEqual(
        fs.readFileSync(path.join(projectRoot, file)),
      );
    }
  });

  test('the SDK tag and the architecture follow the config, and change the image', () => {
    const [other] = synthesizedImageAssets(
      configWith({
        ec2: { ...sampleConfigJson.ec2, producerSdkTag: 'v3.4.2' },
        fargate: { ...sampleConfigJson.fargate, architecture: 'x86_64' },
      }),
    );
    expect(other.dockerBuildArgs).toEqual({ PRODUCER_SDK_TAG: 'v3.4.2' });
    expect(other.platform).toBe('linux/amd64');
    expect(other.hash).not.toBe(image.hash);
  });
});
