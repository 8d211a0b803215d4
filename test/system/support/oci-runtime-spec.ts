import * as fs from 'node:fs';
import * as path from 'node:path';
import { ImageConfig } from './buildah';

/** A container definition as the synthesized AWS::ECS::TaskDefinition holds it (the parts run here). */
export interface EcsContainerDefinition {
  readonly Name: string;
  readonly Image: unknown;
  readonly EntryPoint?: string[];
  readonly Command?: string[];
  readonly Environment?: { Name: string; Value: unknown }[];
  readonly Secrets?: { Name: string; ValueFrom: unknown }[];
  readonly User?: string;
  readonly WorkingDirectory?: string;
  readonly Essential?: boolean;
  readonly ReadonlyRootFilesystem?: boolean;
  readonly LinuxParameters?: {
    Capabilities?: { Add?: string[]; Drop?: string[] };
    InitProcessEnabled?: boolean;
  };
  readonly MountPoints?: { SourceVolume: string; ContainerPath: string; ReadOnly?: boolean }[];
  readonly HealthCheck?: {
    Command: string[];
    Interval?: number;
    Timeout?: number;
    Retries?: number;
    StartPeriod?: number;
  };
  readonly DependsOn?: { ContainerName: string; Condition: 'START' | 'COMPLETE' | 'SUCCESS' | 'HEALTHY' }[];
  readonly RestartPolicy?: { Enabled: boolean; IgnoredExitCodes?: number[]; RestartAttemptPeriod?: number };
  readonly StopTimeout?: number;
  readonly Ulimits?: { Name: string; SoftLimit: number; HardLimit: number }[];
}

/** Docker's default capabilities (what ECS starts from before the task's Add and Drop). */
const DOCKER_DEFAULT_CAPABILITIES = [
  'CHOWN',
  'DAC_OVERRIDE',
  'FSETID',
  'FOWNER',
  'MKNOD',
  'NET_RAW',
  'SETGID',
  'SETUID',
  'SETFCAP',
  'SETPCAP',
  'NET_BIND_SERVICE',
  'SYS_CHROOT',
  'KILL',
  'AUDIT_WRITE',
];
/** Fargate's default open-files limit, or this machine's hard limit when lower (runc cannot raise it). */
const FARGATE_NOFILE = Math.min(65535, hardOpenFilesLimit());
/** Where the init process is mounted: under /dev (a tmpfs), so a read-only root needs no mount point. */
export const INIT_PATH = '/dev/init';

function hardOpenFilesLimit(): number {
  const line = /^Max open files\s+\S+\s+(\S+)/m.exec(fs.readFileSync('/proc/self/limits', 'utf8'));
  return line && line[1] !== 'unlimited' ? Number(line[1]) : Infinity;
}

export function containerCapabilities(container: EcsContainerDefinition): string[] {
  const { Add = [], Drop = [] } = container.LinuxParameters?.Capabilities ?? {};
  const dropped = new Set(Drop.map((name) => name.toUpperCase()));
  const kept = dropped.has('ALL') ? [] : DOCKER_DEFAULT_CAPABILITIES.filter((name) => !dropped.has(name));
  return [...new Set([...kept, ...Add.map((name) => name.toUpperCase())])].map((name) => `CAP_${name}`);
}

/** The process a container runs, by Docker's rules: the task's entry point and command win over the image's. */
export function containerArgs(container: EcsContainerDefinition, image: ImageConfig): string[] {
  const entrypoint = container.EntryPoint ?? image.entrypoint;
  const command = container.Command ?? (container.EntryPoint ? [] : image.cmd);
  const args = [...entrypoint, ...command];
  // InitProcessEnabled is Docker's --init: tini as PID 1, forwarding signals and reaping orphans.
  return container.LinuxParameters?.InitProcessEnabled ? [INIT_PATH, '--', ...args] : args;
}

/** "uid[:gid]" or names, looked up in the image's /etc/passwd and /etc/group as Docker does. */
export function resolveUser(user: string, rootfs: string): { uid: number; gid: number } {
  const [userPart = '', groupPart] = user.split(':');
  const table = (file: string) =>
    fs
      .readFileSync(path.join(rootfs, 'etc', file), 'utf8')
      .split('\n')
      .map((line) => line.split(':'));
  const passwd = table('passwd');
  const entry = passwd.find((fields) => fields[0] === userPart || fields[2] === userPart);
  const uid = /^\d+$/.test(userPart) ? Number(userPart) : Number(entry?.[2] ?? NaN);
  if (Number.isNaN(uid)) throw new Error(`user "${userPart}" is not in the image's /etc/passwd`);
  if (groupPart === undefined) return { uid, gid: Number(entry?.[3] ?? 0) };
  const group = table('group').find((fields) => fields[0] === groupPart || fields[2] === groupPart);
  const gid = /^\d+$/.test(groupPart) ? Number(groupPart) : Number(group?.[2] ?? NaN);
  if (Number.isNaN(gid)) throw new Error(`group "${groupPart}" is not in the image's /etc/group`);
  return { uid, gid };
}

export interface OciMount {
  readonly destination: string;
  readonly source: string;
  readonly type: string;
  readonly options: string[];
}

export function bindMount(source: string, destination: string, readOnly: boolean): OciMount {
  return { destination, source, type: 'bind', options: ['rbind', 'rprivate', readOnly ? 'ro' : 'rw'] };
}

/** The mounts Docker gives every container, before its volumes. */
const DOCKER_MOUNTS: OciMount[] = [
  { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
  {
    destination: '/dev',
    type: 'tmpfs',
    source: 'tmpfs',
    options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
  },
  {
    destination: '/dev/pts',
    type: 'devpts',
    source: 'devpts',
    options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
  },
  {
    destination: '/dev/shm',
    type: 'tmpfs',
    source: 'shm',
    options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'],
  },
  { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
  { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
];

export interface ContainerRuntimeSettings {
  readonly container: EcsContainerDefinition;
  readonly image: ImageConfig;
  readonly rootfs: string;
  readonly environment: Record<string, string>;
  /** Volumes and the files the runtime provides (hosts, resolv.conf, the init binary). */
  readonly mounts: readonly OciMount[];
  readonly networkNamespace: string;
  readonly hostname: string;
}

/** The OCI runtime spec (runc's config.json) for one ECS container. */
export function ociRuntimeSpec(settings: ContainerRuntimeSettings): object {
  const { container, image, rootfs } = settings;
  const user = resolveUser(container.User ?? (image.user || '0'), rootfs);
  const capabilities = containerCapabilities(container);
  // As Docker: a non-root process keeps capabilities only in its bounding set.
  const held = user.uid === 0 ? capabilities : [];
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: user.uid, gid: user.gid },
      args: containerArgs(container, image),
      env: Object.entries(settings.environment).map(([name, value]) => `${name}=${value}`),
      cwd: container.WorkingDirectory ?? image.workingDir,
      capabilities: {
        bounding: capabilities,
        effective: held,
        permitted: held,
        inheritable: [],
        ambient: [],
      },
      rlimits: (
        container.Ulimits ?? [{ Name: 'nofile', SoftLimit: FARGATE_NOFILE, HardLimit: FARGATE_NOFILE }]
      ).map((limit) => ({
        type: `RLIMIT_${limit.Name.toUpperCase()}`,
        soft: limit.SoftLimit,
        hard: limit.HardLimit,
      })),
      noNewPrivileges: false,
    },
    root: { path: rootfs, readonly: container.ReadonlyRootFilesystem === true },
    hostname: settings.hostname,
    mounts: [...DOCKER_MOUNTS, ...settings.mounts],
    linux: {
      namespaces: [
        { type: 'pid' },
        { type: 'ipc' },
        { type: 'uts' },
        { type: 'mount' },
        { type: 'network', path: settings.networkNamespace },
      ],
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      maskedPaths: [
        '/proc/acpi',
        '/proc/asound',
        '/proc/kcore',
        '/proc/keys',
        '/proc/latency_stats',
        '/proc/timer_list',
        '/proc/timer_stats',
        '/proc/sched_debug',
        '/proc/scsi',
        '/sys/firmware',
      ],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}
