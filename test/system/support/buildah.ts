import * as fs from 'node:fs';
import * as path from 'node:path';
import { mustRun, runCommand } from './command';

/** The parts of an image's configuration a container runtime applies (Docker's and ECS's rules). */
export interface ImageConfig {
  readonly user: string;
  readonly env: readonly string[];
  readonly entrypoint: readonly string[];
  readonly cmd: readonly string[];
  readonly workingDir: string;
  /** The image's VOLUME folders. */
  readonly volumes: readonly string[];
  /** The platform's architecture, in the OCI's names (amd64, arm64). */
  readonly architecture: string;
}

export interface ImageBuild {
  readonly dockerfile: string;
  readonly context: string;
  readonly tag: string;
  /** The image's platform (linux/arm64): a foreign architecture's RUN steps run under qemu-user emulation. */
  readonly platform: string;
  readonly buildArgs: Record<string, string>;
  /** host:container[:ro] folders mounted into every RUN step (never into the image). */
  readonly runVolumes?: readonly string[];
  /** Where the build's output goes. */
  readonly logFile: string;
}

/**
 * Buildah with a storage of its own under `folder` (vfs driver, chroot isolation: no daemon, no
 * overlay or user namespaces needed), so that a test makes and removes only its own images.
 */
export class BuildahStorage {
  constructor(readonly folder: string) {}

  private storageOptions(): string[] {
    const { folder } = this;
    return [
      '--root',
      path.join(folder, 'root'),
      '--runroot',
      path.join(folder, 'runroot'),
      '--storage-driver',
      'vfs',
    ];
  }

  private buildah(args: readonly string[]) {
    return mustRun('buildah', [...this.storageOptions(), ...args]);
  }

  /**
   * Commits a root filesystem folder (of `architecture`: amd64, arm64) as a base image, with the
   * configuration the Ubuntu image on Docker Hub has (PATH, CMD) and `files` added (e.g. the dpkg excludes
   * of Ubuntu's minimized images).
   */
  async importRootfs(
    rootfs: string,
    tag: string,
    architecture: string,
    files: Record<string, string> = {},
  ): Promise<void> {
    const container = (await this.buildah(['from', 'scratch'])).trim();
    try {
      const mounted = (await this.buildah(['mount', container])).trim();
      await mustRun('cp', ['-a', `${rootfs}/.`, `${mounted}/`]);
      for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(mounted, file), text);
      await this.buildah([
        'config',
        '--env',
        'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        '--cmd',
        '/bin/bash',
        '--arch',
        architecture,
        '--os',
        'linux',
        container,
      ]);
      await this.buildah(['commit', '--quiet', container, tag]);
    } finally {
      await this.buildah(['rm', container]);
    }
  }

  /**
   * `buildah bud` of a Dockerfile, in the Docker image format (Docker's SHELL instruction is not part of
   * the OCI format) and without intermediate layers (vfs copies the whole tree for each layer).
   */
  async build(build: ImageBuild): Promise<void> {
    const args = ['bud', '--isolation', 'chroot', '--format', 'docker', '--layers=false', '--pull-never'];
    args.push('--platform', build.platform);
    for (const [name, value] of Object.entries(build.buildArgs)) args.push('--build-arg', `${name}=${value}`);
    for (const volume of build.runVolumes ?? []) args.push('--volume', volume);
    args.push('--file', build.dockerfile, '--tag', build.tag, build.context);
    const result = await runCommand('buildah', [...this.storageOptions(), ...args]);
    fs.writeFileSync(build.logFile, `${result.stdout}${result.stderr}`);
    if (result.code !== 0) {
      const tail = `${result.stdout}${result.stderr}`.trim().split('\n').slice(-25).join('\n');
      throw new Error(`buildah bud exited with ${result.code} (log: ${build.logFile}):\n${tail}`);
    }
  }

  async imageConfig(tag: string): Promise<ImageConfig> {
    const inspected = JSON.parse(await this.buildah(['inspect', '--type', 'image', tag]));
    const config = inspected.OCIv1.config ?? {};
    return {
      user: config.User ?? '',
      env: config.Env ?? [],
      entrypoint: config.Entrypoint ?? [],
      cmd: config.Cmd ?? [],
      workingDir: config.WorkingDir || '/',
      volumes: Object.keys(config.Volumes ?? {}),
      architecture: inspected.OCIv1.architecture,
    };
  }

  /** A working container of the image, mounted: returns the folder that holds its root filesystem. */
  async mountImage(tag: string, name: string): Promise<string> {
    await this.buildah(['from', '--pull-never', '--name', name, tag]);
    return (await this.buildah(['mount', name])).trim();
  }

  /** Removes every container and image of this storage, then the storage itself. */
  async remove(): Promise<void> {
    if (!fs.existsSync(this.folder)) return;
    await this.buildah(['umount', '--all']).catch(() => undefined);
    await this.buildah(['rm', '--all']).catch(() => undefined);
    await this.buildah(['rmi', '--all', '--force']).catch(() => undefined);
    fs.rmSync(this.folder, { recursive: true, force: true });
  }
}
