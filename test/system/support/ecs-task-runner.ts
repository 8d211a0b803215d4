import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { GetParametersCommand, type SSMClient } from '@aws-sdk/client-ssm';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { ImageConfig } from './buildah';
import { CommandResult, runCommand } from './command';
import { bindMount, EcsContainerDefinition, INIT_PATH, OciMount, ociRuntimeSpec } from './oci-runtime-spec';

/**
 * Runs one task of a synthesized ECS task definition on this machine the way the ECS agent runs it on
 * Fargate, with runc (the OCI runtime under Docker and containerd) in place of the agent's container
 * runtime: per container its image, entry point and command, environment and secrets, user, read-only
 * root, capabilities, init process, volumes and mount points; health checks, dependency conditions,
 * the restart policy, essential containers and StopTask's SIGTERM-then-SIGKILL after the stop timeout.
 * This is the test's own runner, not ECS: where Fargate's behaviour is not documented it is stricter.
 */

export interface EcsTaskDefinition {
  readonly ContainerDefinitions: EcsContainerDefinition[];
  readonly Volumes?: { Name: string; Host?: unknown }[];
  readonly RuntimePlatform?: { CpuArchitecture?: string; OperatingSystemFamily?: string };
}

/** ECS's CPU architecture names and the OCI's. */
const OCI_ARCHITECTURES: Record<string, string> = { X86_64: 'amd64', ARM64: 'arm64' };

/**
 * Why ECS would not run this image for this task definition, or undefined: a task runs on the CPU
 * architecture its runtime platform names (X86_64 when it names none), and an image of another
 * architecture fails to pull (CannotPullContainerError: no matching manifest for the platform).
 */
export function platformMismatch(taskDefinition: EcsTaskDefinition, image: ImageConfig): string | undefined {
  const cpu = taskDefinition.RuntimePlatform?.CpuArchitecture ?? 'X86_64';
  if (OCI_ARCHITECTURES[cpu] === image.architecture) return undefined;
  return `the task definition's runtime platform is ${cpu} but the image is linux/${image.architecture}`;
}

export interface TaskRunOptions {
  readonly taskDefinition: EcsTaskDefinition;
  /** The one image every container of the task references (the stack builds one image asset). */
  readonly image: { readonly rootfs: string; readonly config: ImageConfig };
  /** The task's work folder: bundles, volumes and logs. */
  readonly folder: string;
  /** The task's network namespace (awsvpc: every container of the task shares it). */
  readonly networkNamespace: string;
  readonly taskAddress: string;
  /** What the task definition's Refs stand for. */
  readonly pseudoParameters: { region: string; accountId: string; partition?: string };
  /** SSM parameter name -> value: what ECS reads with the execution role to inject `Secrets` (readTaskSecrets). */
  readonly parameters: Record<string, string>;
  readonly credentialsRelativeUri: string;
  /** RunTask's containerOverrides (environment), by container name. */
  readonly environmentOverrides?: Record<string, Record<string, string>>;
  /** Docker's --init binary: a static tini. */
  readonly initBinary: string;
}

export type HealthStatus = 'none' | 'starting' | 'healthy' | 'unhealthy';

export interface TaskEvent {
  readonly time: number;
  readonly container: string;
  readonly event: string;
}

/** ECS's restart policy decision for a container that exited. */
export function restartDecision(
  container: EcsContainerDefinition,
  exitCode: number | null,
  ranSeconds: number,
): { restart: boolean; reason: string } {
  const policy = container.RestartPolicy;
  if (!policy?.Enabled) return { restart: false, reason: 'no restart policy' };
  if (exitCode !== null && (policy.IgnoredExitCodes ?? []).includes(exitCode)) {
    return { restart: false, reason: `exit code ${exitCode} is in restartIgnoredExitCodes` };
  }
  const period = policy.RestartAttemptPeriod ?? 300;
  if (ranSeconds < period) {
    return {
      restart: false,
      reason: `ran ${ranSeconds.toFixed(0)}s, less than restartAttemptPeriod ${period}s`,
    };
  }
  return { restart: true, reason: `exit code ${exitCode} after ${ranSeconds.toFixed(0)}s` };
}

/** Resolves the Refs and Fn::Join of a template value with the task's pseudo parameters. */
function resolveValue(value: unknown, pseudo: TaskRunOptions['pseudoParameters']): string {
  if (typeof value === 'string') return value;
  const ref = (value as { Ref?: string }).Ref;
  const known: Record<string, string> = {
    'AWS::Region': pseudo.region,
    'AWS::AccountId': pseudo.accountId,
    'AWS::Partition': pseudo.partition ?? 'aws',
    'AWS::URLSuffix': 'amazonaws.com',
  };
  if (ref && known[ref]) return known[ref];
  const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (join) return join[1].map((part) => resolveValue(part, pseudo)).join(join[0]);
  throw new Error(`cannot resolve ${JSON.stringify(value)}`);
}

/**
 * What ECS does with the execution role before it starts a task's containers: reads every SSM parameter
 * the task's `Secrets` name, with GetParameters (decrypted, at most 10 names a call). Here against an SSM
 * stand-in, signed with the credentials given for the execution role; the answer is the runner's
 * `parameters`.
 */
export async function readTaskSecrets(
  taskDefinition: EcsTaskDefinition,
  pseudo: TaskRunOptions['pseudoParameters'],
  ssm: SSMClient,
): Promise<Record<string, string>> {
  const names = [
    ...new Set(
      taskDefinition.ContainerDefinitions.flatMap((c) => c.Secrets ?? []).map((secret) =>
        parameterName(resolveValue(secret.ValueFrom, pseudo)),
      ),
    ),
  ];
  const values: Record<string, string> = {};
  for (let start = 0; start < names.length; start += 10) {
    const answer = await ssm.send(
      new GetParametersCommand({ Names: names.slice(start, start + 10), WithDecryption: true }),
    );
    if (answer.InvalidParameters?.length) {
      throw new Error(
        `ECS could not start the task: no SSM parameter ${answer.InvalidParameters.join(', ')}`,
      );
    }
    for (const parameter of answer.Parameters ?? []) values[parameter.Name!] = parameter.Value!;
  }
  return values;
}

/** An SSM parameter's name from a secret's valueFrom (an ARN or the name itself), as ECS reads it. */
function parameterName(valueFrom: string): string {
  const arn = /^arn:[^:]+:ssm:[^:]*:[^:]*:parameter(\/.*)$/.exec(valueFrom);
  return arn ? arn[1] : valueFrom;
}

class TaskContainer {
  process?: ChildProcess;
  startedAt?: number;
  exitCode?: number | null;
  health: HealthStatus = 'none';
  runs = 0;
  readonly logLines: string[] = [];
  private consecutiveFailures = 0;
  private healthTimer?: NodeJS.Timeout;

  constructor(
    readonly definition: EcsContainerDefinition,
    readonly runcId: string,
    readonly bundle: string,
  ) {}

  get name(): string {
    return this.definition.Name;
  }

  get running(): boolean {
    return this.process !== undefined && this.exitCode === undefined;
  }

  /** Docker's health check rules: first check one interval after the start, failures during the start period do not count. */
  scheduleHealthChecks(check: () => Promise<boolean>, onChange: (status: HealthStatus) => void): void {
    const healthCheck = this.definition.HealthCheck;
    if (!healthCheck) return;
    this.health = 'starting';
    this.consecutiveFailures = 0;
    const started = Date.now();
    const interval = (healthCheck.Interval ?? 30) * 1000;
    const next = () => {
      this.healthTimer = setTimeout(async () => {
        if (!this.running) return;
        const passed = await check();
        if (!this.running) return;
        const previous = this.health;
        if (passed) {
          this.consecutiveFailures = 0;
          this.health = 'healthy';
        } else if (
          this.health !== 'starting' ||
          Date.now() - started >= (healthCheck.StartPeriod ?? 0) * 1000
        ) {
          this.consecutiveFailures += 1;
          if (this.consecutiveFailures >= (healthCheck.Retries ?? 3)) this.health = 'unhealthy';
        }
        if (this.health !== previous) onChange(this.health);
        next();
      }, interval);
    };
    next();
  }

  stopHealthChecks(): void {
    clearTimeout(this.healthTimer);
  }
}

export class EcsTaskRunner {
  readonly events: TaskEvent[] = [];
  private readonly containers: TaskContainer[];
  private readonly runcRoot: string;
  private stopping = false;
  private readonly createdVolumes = new Set<string>();

  private constructor(private readonly options: TaskRunOptions) {
    this.runcRoot = path.join(options.folder, 'runc');
    const taskId = path.basename(options.folder).replace(/[^A-Za-z0-9_.-]/g, '-');
    this.containers = options.taskDefinition.ContainerDefinitions.map(
      (definition) =>
        new TaskContainer(
          definition,
          `${taskId}-${definition.Name}`,
          path.join(options.folder, 'bundles', definition.Name),
        ),
    );
  }

  /** Starts the task: every container once its dependency conditions hold. Returns at once. */
  static start(options: TaskRunOptions): EcsTaskRunner {
    const images = new Set(options.taskDefinition.ContainerDefinitions.map((c) => JSON.stringify(c.Image)));
    if (images.size !== 1) throw new Error(`the task references ${images.size} images; this runner has one`);
    const mismatch = platformMismatch(options.taskDefinition, options.image.config);
    if (mismatch) throw new Error(`CannotPullContainerError: ${mismatch}`);
    const runner = new EcsTaskRunner(options);
    for (const folder of ['bundles', 'volumes', 'logs', 'runc']) {
      fs.mkdirSync(path.join(options.folder, folder), { recursive: true });
    }
    runner.writeRuntimeFiles();
    runner.record('task', 'started');
    for (const container of runner.containers) void runner.startWhenReady(container);
    return runner;
  }

  get startedAt(): number {
    return this.events[0].time;
  }

  container(name: string): TaskContainer {
    const container = this.containers.find((c) => c.name === name);
    if (!container) throw new Error(`no container ${name} in the task`);
    return container;
  }

  /** The container's log (its stdout and stderr, as the awslogs driver ships them). */
  logs(name: string): string {
    return this.container(name).logLines.join('\n');
  }

  /** A folder of a task volume on this machine. */
  volumePath(name: string): string {
    return path.join(this.options.folder, 'volumes', name);
  }

  /** Runs a command in a running container, as its process (user, environment, capabilities). */
  exec(name: string, args: readonly string[], timeoutMs = 10_000): Promise<CommandResult> {
    return runCommand('runc', ['--root', this.runcRoot, 'exec', this.container(name).runcId, ...args], {
      timeoutMs,
    });
  }

  async waitFor(what: string, condition: () => boolean, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  /**
   * StopTask: SIGTERM to every container, dependents before what they depend on; SIGKILL after the
   * container's stop timeout (Fargate's default: 30 s). Resolves with each container's seconds to stop.
   */
  async stop(): Promise<Record<string, number>> {
    this.stopping = true;
    this.record('task', 'stopping');
    const stopSeconds: Record<string, number> = {};
    const remaining = new Set(this.containers);
    while (remaining.size > 0) {
      const level = [...remaining].filter(
        (c) =>
          ![...remaining].some((other) =>
            other.definition.DependsOn?.some((d) => d.ContainerName === c.name),
          ),
      );
      await Promise.all(
        level.map(async (c) => {
          const begin = Date.now();
          await this.stopContainer(c);
          stopSeconds[c.name] = (Date.now() - begin) / 1000;
        }),
      );
      level.forEach((c) => remaining.delete(c));
    }
    this.record('task', 'stopped');
    return stopSeconds;
  }

  /** Kills and deletes the runc containers that a killed run left in `folder` (its TaskRunOptions.folder). */
  static async removeLeftover(folder: string): Promise<void> {
    const runcRoot = path.join(folder, 'runc');
    if (!fs.existsSync(runcRoot)) return;
    const listed = await runCommand('runc', ['--root', runcRoot, 'list', '--quiet']);
    for (const id of listed.stdout.split('\n').filter(Boolean)) {
      await runCommand('runc', ['--root', runcRoot, 'kill', id, 'KILL']);
      await runCommand('runc', ['--root', runcRoot, 'delete', '--force', id]);
    }
  }

  /** Kills whatever still runs and forgets every runc container of the task (for clean-up after a failure). */
  async remove(): Promise<void> {
    this.stopping = true;
    for (const container of this.containers) {
      container.stopHealthChecks();
      await runCommand('runc', ['--root', this.runcRoot, 'kill', container.runcId, 'KILL']);
      container.process?.kill('SIGKILL');
      await runCommand('runc', ['--root', this.runcRoot, 'delete', '--force', container.runcId]);
    }
  }

  private async stopContainer(container: TaskContainer): Promise<void> {
    if (!container.running) return;
    const exited = new Promise<void>((resolve) => container.process!.once('close', () => resolve()));
    await runCommand('runc', ['--root', this.runcRoot, 'kill', container.runcId, 'TERM']);
    const timeout = (container.definition.StopTimeout ?? 30) * 1000;
    const timer = setTimeout(() => {
      this.record(container.name, `still running ${timeout / 1000}s after SIGTERM: SIGKILL`);
      void runCommand('runc', ['--root', this.runcRoot, 'kill', container.runcId, 'KILL']);
    }, timeout);
    await exited;
    clearTimeout(timer);
  }

  private record(container: string, event: string): void {
    this.events.push({ time: Date.now(), container, event });
  }

  private async startWhenReady(container: TaskContainer): Promise<void> {
    for (const dependency of container.definition.DependsOn ?? []) {
      const other = this.container(dependency.ContainerName);
      const satisfied = () => {
        switch (dependency.Condition) {
          case 'START':
            return other.runs > 0;
          case 'COMPLETE':
            return other.exitCode !== undefined;
          case 'SUCCESS':
            return other.exitCode === 0;
          case 'HEALTHY':
            return other.health === 'healthy';
        }
      };
      const impossible = () =>
        this.stopping ||
        (dependency.Condition === 'HEALTHY' &&
          (other.health === 'unhealthy' || other.exitCode !== undefined)) ||
        (dependency.Condition === 'SUCCESS' && other.exitCode !== undefined && other.exitCode !== 0);
      while (!satisfied()) {
        if (impossible()) {
          this.record(container.name, `not started: ${other.name} did not reach ${dependency.Condition}`);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    this.run(container);
  }

  private run(container: TaskContainer): void {
    fs.mkdirSync(container.bundle, { recursive: true });
    const spec = ociRuntimeSpec({
      container: container.definition,
      image: this.options.image.config,
      rootfs: this.options.image.rootfs,
      environment: this.environment(container.definition),
      mounts: this.mounts(container.definition),
      networkNamespace: this.options.networkNamespace,
      hostname: `ip-${this.options.taskAddress.replace(/\./g, '-')}`,
    });
    fs.writeFileSync(path.join(container.bundle, 'config.json'), JSON.stringify(spec, null, 2));
    const log = fs.createWriteStream(path.join(this.options.folder, 'logs', `${container.name}.log`), {
      flags: 'a',
    });
    const child = spawn(
      'runc',
      ['--root', this.runcRoot, 'run', '--bundle', container.bundle, container.runcId],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    container.process = child;
    container.exitCode = undefined;
    container.startedAt = Date.now();
    container.runs += 1;
    this.record(container.name, container.runs === 1 ? 'started' : `restarted (run ${container.runs})`);
    for (const stream of [child.stdout, child.stderr]) {
      readline.createInterface({ input: stream }).on('line', (line) => {
        container.logLines.push(line);
        log.write(`${new Date().toISOString()} ${line}\n`);
      });
    }
    container.scheduleHealthChecks(
      () => this.healthCheckPasses(container),
      (status) => this.record(container.name, status),
    );
    child.on('close', (code, signal) => {
      container.exitCode = code ?? (signal ? 128 : null);
      container.stopHealthChecks();
      log.end();
      this.record(container.name, `exited with ${container.exitCode}`);
      this.afterExit(container);
    });
  }

  private afterExit(container: TaskContainer): void {
    if (this.stopping) return;
    if (container.definition.Essential !== false) {
      this.record(container.name, 'essential container exited: stopping the task');
      void this.stop();
      return;
    }
    const ranSeconds = (Date.now() - (container.startedAt ?? Date.now())) / 1000;
    const decision = restartDecision(container.definition, container.exitCode ?? null, ranSeconds);
    this.record(
      container.name,
      decision.restart ? `restarting: ${decision.reason}` : `stays stopped: ${decision.reason}`,
    );
    if (decision.restart) this.run(container);
  }

  private async healthCheckPasses(container: TaskContainer): Promise<boolean> {
    const { Command, Timeout = 5 } = container.definition.HealthCheck!;
    const [kind, ...rest] = Command;
    const args = kind === 'CMD-SHELL' ? ['/bin/sh', '-c', rest.join(' ')] : rest;
    const result = await this.exec(container.name, args, Timeout * 1000);
    return result.code === 0;
  }

  /** Image ENV, then what ECS injects, the task's environment, its secrets and RunTask's overrides. */
  private environment(container: EcsContainerDefinition): Record<string, string> {
    const { pseudoParameters, parameters } = this.options;
    const environment: Record<string, string> = {};
    for (const entry of this.options.image.config.env) {
      const separator = entry.indexOf('=');
      environment[entry.slice(0, separator)] = entry.slice(separator + 1);
    }
    Object.assign(environment, {
      HOSTNAME: `ip-${this.options.taskAddress.replace(/\./g, '-')}`,
      AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: this.options.credentialsRelativeUri,
      AWS_EXECUTION_ENV: 'AWS_ECS_FARGATE',
      AWS_REGION: pseudoParameters.region,
      AWS_DEFAULT_REGION: pseudoParameters.region,
    });
    for (const variable of container.Environment ?? []) {
      environment[variable.Name] = resolveValue(variable.Value, pseudoParameters);
    }
    for (const secret of container.Secrets ?? []) {
      const name = parameterName(resolveValue(secret.ValueFrom, pseudoParameters));
      if (!(name in parameters)) throw new Error(`${container.Name}: no value for SSM parameter ${name}`);
      environment[secret.Name] = parameters[name];
    }
    return { ...environment, ...this.options.environmentOverrides?.[container.Name] };
  }

  private mounts(container: EcsContainerDefinition): OciMount[] {
    const runtimeFiles = path.join(this.options.folder, 'runtime-files');
    const mounts = [
      bindMount(path.join(runtimeFiles, 'hosts'), '/etc/hosts', true),
      bindMount(path.join(runtimeFiles, 'resolv.conf'), '/etc/resolv.conf', true),
    ];
    if (container.LinuxParameters?.InitProcessEnabled)
      mounts.push(bindMount(this.options.initBinary, INIT_PATH, true));
    for (const mountPoint of container.MountPoints ?? []) {
      const volume = (this.options.taskDefinition.Volumes ?? []).find(
        (v) => v.Name === mountPoint.SourceVolume,
      );
      if (!volume || volume.Host)
        throw new Error(`${container.Name}: volume ${mountPoint.SourceVolume} is not a task bind mount`);
      mounts.push(
        bindMount(
          this.volume(volume.Name, mountPoint.ContainerPath),
          mountPoint.ContainerPath,
          mountPoint.ReadOnly === true,
        ),
      );
    }
    return mounts;
  }

  /**
   * A task volume, made on its first mount. As the ECS docs say: when the image declares the container
   * path as a VOLUME, the folder's content, owner and mode are copied from the image; otherwise the
   * volume is root's, mode 0755.
   */
  private volume(name: string, containerPath: string): string {
    const folder = this.volumePath(name);
    if (this.createdVolumes.has(name)) return folder;
    this.createdVolumes.add(name);
    fs.mkdirSync(folder, { recursive: true });
    const { rootfs, config } = this.options.image;
    const source = path.join(rootfs, containerPath);
    if (config.volumes.includes(containerPath) && fs.existsSync(source)) {
      execFileSync('cp', ['-a', `${source}/.`, folder]);
      const stat = fs.statSync(source);
      fs.chownSync(folder, stat.uid, stat.gid);
      fs.chmodSync(folder, stat.mode & 0o7777);
    } else {
      fs.chownSync(folder, 0, 0);
      fs.chmodSync(folder, 0o755);
    }
    return folder;
  }

  /** /etc/hosts and /etc/resolv.conf as the runtime provides them (no name server in the test task). */
  private writeRuntimeFiles(): void {
    const folder = path.join(this.options.folder, 'runtime-files');
    fs.mkdirSync(folder, { recursive: true });
    const hostname = `ip-${this.options.taskAddress.replace(/\./g, '-')}`;
    fs.writeFileSync(
      path.join(folder, 'hosts'),
      `127.0.0.1 localhost\n${this.options.taskAddress} ${hostname}\n`,
    );
    fs.writeFileSync(path.join(folder, 'resolv.conf'), '# the test task has no name server\n');
  }
}
