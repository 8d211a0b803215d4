import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { platformMismatch, restartDecision } from './support/ecs-task-runner';
import {
  containerArgs,
  containerCapabilities,
  EcsContainerDefinition,
  INIT_PATH,
  resolveUser,
} from './support/oci-runtime-spec';
import { ImageConfig } from './support/buildah';

/** The Fargate task runner's own rules, checked without running anything (the system test runs them). */

const image: ImageConfig = {
  user: '10001:10001',
  env: [],
  entrypoint: ['/entry.sh'],
  cmd: ['camera'],
  workingDir: '/',
  volumes: [],
  architecture: 'amd64',
};
const camera: EcsContainerDefinition = {
  Name: 'camera1-front-door',
  Image: 'image',
  RestartPolicy: { Enabled: true, IgnoredExitCodes: [0, 2, 3, 4, 5], RestartAttemptPeriod: 60 },
};

describe('ECS restart policy', () => {
  test('an ignored exit code stays stopped, whatever the run time', () => {
    expect(restartDecision(camera, 4, 3600)).toEqual({
      restart: false,
      reason: 'exit code 4 is in restartIgnoredExitCodes',
    });
  });
  test('another exit code restarts once the container ran restartAttemptPeriod, not before', () => {
    expect(restartDecision(camera, 1, 61).restart).toBe(true);
    expect(restartDecision(camera, 1, 59)).toEqual({
      restart: false,
      reason: 'ran 59s, less than restartAttemptPeriod 60s',
    });
  });
  test('without a policy nothing restarts', () => {
    expect(restartDecision({ Name: 'c', Image: 'i' }, 1, 3600).restart).toBe(false);
  });
});

describe('runtime platform', () => {
  test('an image runs only on the CPU architecture of the task definition (X86_64 when it names none)', () => {
    const arm64 = { ...image, architecture: 'arm64' };
    expect(platformMismatch({ ContainerDefinitions: [camera] }, image)).toBeUndefined();
    expect(
      platformMismatch(
        { ContainerDefinitions: [camera], RuntimePlatform: { CpuArchitecture: 'ARM64' } },
        arm64,
      ),
    ).toBeUndefined();
    expect(
      platformMismatch(
        { ContainerDefinitions: [camera], RuntimePlatform: { CpuArchitecture: 'ARM64' } },
        image,
      ),
    ).toBe("the task definition's runtime platform is ARM64 but the image is linux/amd64");
    expect(platformMismatch({ ContainerDefinitions: [camera] }, arm64)).toMatch(
      /X86_64 but the image is linux\/arm64/,
    );
  });
});

describe('OCI runtime spec from a container definition', () => {
  test("the task's command replaces the image's; its entry point replaces both", () => {
    expect(containerArgs({ ...camera, Command: ['credentials'] }, image)).toEqual([
      '/entry.sh',
      'credentials',
    ]);
    expect(containerArgs(camera, image)).toEqual(['/entry.sh', 'camera']);
    expect(containerArgs({ ...camera, EntryPoint: ['/other'] }, image)).toEqual(['/other']);
  });
  test('initProcessEnabled puts the init in front, as Docker --init does', () => {
    const withInit = { ...camera, LinuxParameters: { InitProcessEnabled: true } };
    expect(containerArgs(withInit, image)).toEqual([INIT_PATH, '--', '/entry.sh', 'camera']);
  });
  test("capabilities: Docker's defaults less the dropped ones, plus the added ones", () => {
    expect(
      containerCapabilities({ ...camera, LinuxParameters: { Capabilities: { Drop: ['ALL'] } } }),
    ).toEqual([]);
    const some = containerCapabilities({
      ...camera,
      LinuxParameters: { Capabilities: { Drop: ['NET_RAW'], Add: ['SYS_PTRACE'] } },
    });
    expect(some).toContain('CAP_CHOWN');
    expect(some).toContain('CAP_SYS_PTRACE');
    expect(some).not.toContain('CAP_NET_RAW');
    expect(containerCapabilities(camera)).toHaveLength(14);
  });
  test("users: numbers as given, names from the image's /etc/passwd and /etc/group", () => {
    const rootfs = fs.mkdtempSync(path.join(os.tmpdir(), 'kvs-rootfs-'));
    fs.mkdirSync(path.join(rootfs, 'etc'));
    fs.writeFileSync(
      path.join(rootfs, 'etc/passwd'),
      'root:x:0:0::/root:/bin/sh\nkvs-gateway:x:10001:10002::/:/bin/false\n',
    );
    fs.writeFileSync(path.join(rootfs, 'etc/group'), 'root:x:0:\nkvs-gateway:x:10002:\n');
    expect(resolveUser('10001:10001', rootfs)).toEqual({ uid: 10001, gid: 10001 });
    expect(resolveUser('kvs-gateway', rootfs)).toEqual({ uid: 10001, gid: 10002 });
    expect(resolveUser('kvs-gateway:root', rootfs)).toEqual({ uid: 10001, gid: 0 });
    expect(() => resolveUser('nobody', rootfs)).toThrow(/"nobody" is not in the image's \/etc\/passwd/);
    fs.rmSync(rootfs, { recursive: true });
  });
});
