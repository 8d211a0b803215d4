import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { DockerfileParser, Property } from 'dockerfile-ast';
import { buildGatewayApp } from '../support/gateway-app';
import { TestCamera } from '../support/test-camera';

/**
 * A camera container without Docker: the image's bin folder (the real entry point and run script)
 * started with the environment the synthesized task definition and the Dockerfile give it, against
 * the project's RTSP test camera on 127.0.0.1, with the stand-in sink in place of kvssink.
 */
jest.setTimeout(90_000);

const projectRoot = path.join(__dirname, '..', '..');
const IMAGE_BIN = '/opt/kvs-gateway/bin';

interface ContainerDefinition {
  Name: string;
  Command: string[];
  Environment: { Name: string; Value: unknown }[];
  HealthCheck: { Command: string[] };
}

/** The ENV values the Dockerfile's runtime stage sets. */
function imageEnvironment(): Record<string, string> {
  const dockerfile = DockerfileParser.parse(
    fs.readFileSync(path.join(projectRoot, 'container', 'Dockerfile'), 'utf8'),
  );
  const runtimeStart = dockerfile.getFROMs()[1].getRange().start.line;
  const env: Record<string, string> = {};
  for (const instruction of dockerfile.getENVs()) {
    if (instruction.getRange().start.line < runtimeStart) continue;
    for (const property of instruction.getProperties() as Property[])
      env[property.getName()] = property.getValue() ?? '';
  }
  return env;
}

function firstCameraContainer(): ContainerDefinition {
  const template = Template.fromStack(buildGatewayApp().fargateGateway.shards[0]);
  const [taskDefinition] = Object.values(template.findResources('AWS::ECS::TaskDefinition'));
  return (taskDefinition.Properties.ContainerDefinitions as ContainerDefinition[]).find(
    (container) => container.Name !== 'credentials',
  ) as ContainerDefinition;
}

describe('a camera container of the Fargate task, run without Docker', () => {
  let camera: TestCamera;
  beforeAll(async () => {
    camera = await TestCamera.start({ width: 320, height: 240, fps: 10 });
  });
  afterAll(async () => camera.stop());

  test('the entry point becomes run-camera.sh, video flows, the health check passes, SIGTERM stops it cleanly', async () => {
    const container = firstCameraContainer();
    const image = fs.mkdtempSync(path.join(os.tmpdir(), 'kvs-image-'));
    const bin = path.join(image, 'bin');
    fs.mkdirSync(bin);
    for (const script of [
      'container/entrypoint.sh',
      'userdata/run-camera.sh',
      'userdata/camera-pipeline.py',
      'userdata/camera_status.py',
      'userdata/kvssink_reports.py',
      'userdata/recording_schedule.py',
      'userdata/refresh-kvs-credentials.sh',
    ]) {
      fs.copyFileSync(path.join(projectRoot, script), path.join(bin, path.basename(script)));
      fs.chmodSync(path.join(bin, path.basename(script)), 0o755);
    }

    const fromImage = imageEnvironment();
    expect(fromImage).toMatchObject({ GATEWAY_SINK: 'kvssink', TMPDIR: '/tmp' });
    const fromTask = Object.fromEntries(
      container.Environment.map((e) => [e.Name, typeof e.Value === 'string' ? e.Value : 'eu-west-1']),
    );
    const env: Record<string, string> = {
      PATH: process.env.PATH as string,
      ...fromTask,
      // The image's folders, here; kvssink (and so the credential file) replaced by the stand-in sink.
      TMPDIR: path.join(image, 'tmp'),
      KVS_CREDENTIAL_PATH: path.join(image, 'run', 'credentials'),
      // The schedule file the credentials container writes on the shared volume (null: around the clock).
      RECORDING_SCHEDULE_FILE: path.join(image, 'run', path.basename(fromTask.RECORDING_SCHEDULE_FILE)),
      GATEWAY_SINK: 'fake',
      // What ECS injects from the camera's SSM parameter.
      RTSP_URL: camera.address,
    };
    fs.mkdirSync(env.TMPDIR);
    expect(fromTask.RECORDING_SCHEDULE_FILE).toBe(
      `/run/kvs-gateway/schedules/${fromTask.CAMERA_NAME}.schedule.json`,
    );
    fs.mkdirSync(path.dirname(env.RECORDING_SCHEDULE_FILE), { recursive: true });
    fs.writeFileSync(env.RECORDING_SCHEDULE_FILE, 'null\n');

    // The image's ENTRYPOINT with the task definition's command.
    const [entrypoint, ...args] = [`${bin}/entrypoint.sh`, ...container.Command];
    const process_ = spawn('bash', ['-c', 'echo "pid=$$"; exec "$0" "$@"', entrypoint, ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    process_.stdout.on('data', (chunk) => (output += chunk));
    process_.stderr.on('data', (chunk) => (output += chunk));
    const exited = new Promise<number | null>((resolve) => process_.on('close', resolve));

    const healthCommand = container.HealthCheck.Command.slice(1).map((part) => part.replace(IMAGE_BIN, bin));
    const checkHealth = () => {
      try {
        return {
          code: 0,
          output: execFileSync(healthCommand[0], healthCommand.slice(1), { env, encoding: 'utf8' }),
        };
      } catch (error) {
        return {
          code: (error as { status: number }).status,
          output: String((error as { stdout: string }).stdout),
        };
      }
    };
    expect(checkHealth().code).toBe(1);
    let health = checkHealth();
    for (let waited = 0; health.code !== 0 && waited < 30_000; waited += 500) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      health = checkHealth();
    }
    expect(health).toEqual({ code: 0, output: expect.stringMatching(/^healthy: video flowed/) });
    expect(output).toContain(`run-camera[${fromTask.CAMERA_NAME}]: video flowing`);
    expect(output).toContain(`run-camera[${fromTask.CAMERA_NAME}]: recording around the clock`);

    // exec all the way: the run script has the process id ECS signals.
    const pid = /pid=(\d+)/.exec(output)?.[1];
    const scriptPid = execFileSync('pgrep', ['-f', '-o', `${bin}/run-camera.sh`], {
      encoding: 'utf8',
    }).trim();
    expect(scriptPid).toBe(pid);

    process_.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
