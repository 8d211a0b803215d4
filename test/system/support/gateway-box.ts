import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CommandResult, mustRun, runCommand } from './command';

const BOX_SCRIPT = path.join(__dirname, 'gateway-box.sh');
const DEBIAN_ROOTFS_SCRIPT = path.join(__dirname, 'debian-rootfs.sh');
/** systemd-nspawn's exit status when the system inside asked for a reboot. */
const REBOOT_EXIT_STATUS = 133;

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The promise's value, or `fallback` after `ms`; the timer is cleared either way (no open handle). */
function within<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((resolve) => (timer = setTimeout(() => resolve(fallback), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Runs a command (no shell) and resolves with how it ended; SIGKILL after `timeout` ms. */
export function run(command: string, args: string[], timeout = 120_000): Promise<CommandResult> {
  return runCommand(command, args, { timeoutMs: timeout });
}

/** Builds (or reuses, when its suite, architecture and package list are the same) a cached Debian rootfs. */
export async function debianRootfs(
  folder: string,
  packages: readonly string[],
  release: { suite: string; architecture: string },
): Promise<void> {
  await mustRun('bash', [DEBIAN_ROOTFS_SCRIPT, folder, packages.join(',')], {
    timeoutMs: 60 * 60_000,
    env: { ...process.env, DEBIAN_SUITE: release.suite, DEBIAN_ARCH: release.architecture },
  });
}

/**
 * Removes what a box test left in its work folder: the network it recorded there (every process in the
 * namespace ends), the processes of its *.pid files, its mounts. Before a run (a killed run's leftovers)
 * and after.
 */
export function boxClean(work: string): Promise<string> {
  return mustRun('bash', [BOX_SCRIPT, 'clean', work], { timeoutMs: 60_000 });
}

/** Polls `check` every `everyMs` until it returns a value other than undefined/false, or throws after `ms`. */
export async function waitFor<T>(
  what: string,
  ms: number,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  everyMs = 1000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms / 1000}s waiting for ${what}`);
    await sleep(everyMs);
  }
}

export interface GatewayBoxOptions {
  /** The network namespace the box boots in (a TestNetwork's). */
  readonly netns: string;
  /** The cached rootfs; the box writes only to its own overlay upper folder. */
  readonly rootfs: string;
  /** The box's folder: root/ (the overlay), upper/, its console log. */
  readonly dir: string;
  /** Host folder bind-mounted on /var/cache/apt/archives: packages downloaded once serve later runs. */
  readonly aptArchives?: string;
}

/**
 * A Debian system booted with `systemd-nspawn --boot` (systemd as PID 1, cgroup v2 inside, seccomp
 * and BPF so that units' SystemCallFilter and IPAddressDeny are enforced) in a network namespace the
 * test made, on an overlay of the cached rootfs.
 */
export class GatewayBox {
  private nspawn?: ChildProcess;
  private exited?: Promise<number>;
  private leaderPid?: number;
  readonly consoleLog: string;

  constructor(readonly options: GatewayBoxOptions) {
    this.consoleLog = path.join(options.dir, 'console.log');
  }

  get root(): string {
    return path.join(this.options.dir, 'root');
  }

  /** Mounts the overlay; files written with writeFile before boot() are there at first boot. */
  async prepare(): Promise<void> {
    fs.mkdirSync(this.options.dir, { recursive: true });
    await mustRun('bash', [BOX_SCRIPT, 'mount', this.options.rootfs, this.options.dir]);
  }

  writeFile(file: string, content: string | Buffer, mode = 0o644): void {
    const target = path.join(this.root, file);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, content, { mode });
    fs.chmodSync(target, mode);
  }

  /** Links a unit into a target's .wants folder, as `systemctl enable` does. */
  enableUnit(unit: string, target = 'multi-user.target'): void {
    const link = path.join(this.root, 'etc/systemd/system', `${target}.wants`, unit);
    fs.mkdirSync(path.dirname(link), { recursive: true });
    fs.rmSync(link, { force: true });
    fs.symlinkSync(`/etc/systemd/system/${unit}`, link);
  }

  readFile(file: string): string {
    const target = path.join(this.root, file);
    return fs.existsSync(target) ? fs.readFileSync(target, 'utf8') : '';
  }

  /** Boots the box; resolves once systemd inside answers. */
  async boot(): Promise<void> {
    const { netns, aptArchives } = this.options;
    const args = [
      '-D',
      this.root,
      '--boot',
      '--register=no',
      '--keep-unit',
      `--machine=${path.basename(this.options.dir)}`,
    ];
    args.push(`--network-namespace-path=/run/netns/${netns}`, '--resolv-conf=off', '--timezone=off');
    args.push('--console=read-only', '--system-call-filter=bpf', '--capability=CAP_BPF');
    if (aptArchives) {
      fs.mkdirSync(path.join(aptArchives, 'partial'), { recursive: true });
      args.push(`--bind=${aptArchives}:/var/cache/apt/archives`);
    }
    const console = fs.openSync(this.consoleLog, 'a');
    const child = spawn('systemd-nspawn', args, {
      stdio: ['ignore', console, console],
      env: { ...process.env, SYSTEMD_NSPAWN_UNIFIED_HIERARCHY: '1' },
    });
    fs.closeSync(console);
    fs.writeFileSync(path.join(this.options.dir, 'nspawn.pid'), String(child.pid));
    this.nspawn = child;
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code ?? 1)));
    this.leaderPid = await waitFor(
      'the box to start systemd',
      60_000,
      async () => {
        // systemd-nspawn's child that runs systemd (it may have short-lived helpers too).
        const children = await run('pgrep', ['-P', String(child.pid), '-x', 'systemd']);
        return children.code === 0 ? Number(children.stdout.trim().split('\n')[0]) : undefined;
      },
      200,
    );
    await waitFor(
      'systemd in the box to answer',
      60_000,
      async () => {
        const state = await this.exec(['systemctl', 'is-system-running']);
        return /^(initializing|starting|running|degraded)/.test(state.stdout) ? true : undefined;
      },
      500,
    );
  }

  /** Runs a command in the box (all its namespaces, as root). */
  exec(command: string[], timeout = 120_000): Promise<CommandResult> {
    if (!this.leaderPid) throw new Error('the box is not booted');
    return run(
      'nsenter',
      ['-t', String(this.leaderPid), '-m', '-u', '-i', '-n', '-p', '-C', '-r', '-w', ...command],
      timeout,
    );
  }

  async mustExec(command: string[], timeout?: number): Promise<string> {
    const result = await this.exec(command, timeout);
    if (result.code !== 0)
      throw new Error(`${command.join(' ')} failed in the box (${result.code}): ${result.stderr}`);
    return result.stdout;
  }

  /** The journal's messages (`journalctl -o cat`) with these extra arguments. */
  async journal(...args: string[]): Promise<string> {
    return this.mustExec(['journalctl', '--no-pager', '-o', 'cat', ...args]);
  }

  /** `systemctl show` properties of a unit. */
  async unitProperties(unit: string, ...names: string[]): Promise<Record<string, string>> {
    const text = await this.mustExec(['systemctl', 'show', unit, ...names.map((n) => `--property=${n}`)]);
    return Object.fromEntries(
      text
        .split('\n')
        .filter(Boolean)
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
  }

  /** Reboots the box as `reboot` on an instance does: the system stops, and boots again from its disk. */
  async reboot(): Promise<void> {
    await this.exec(['systemctl', 'reboot']);
    const status = await within(this.exited!, 120_000, -1);
    if (status !== REBOOT_EXIT_STATUS)
      throw new Error(`the box did not reboot (systemd-nspawn exit ${status})`);
    await this.boot();
  }

  /** Powers the box off (and kills it if it does not stop within a minute). */
  async shutdown(): Promise<void> {
    const child = this.nspawn;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await this.exec(['systemctl', 'poweroff'], 10_000).catch(() => undefined);
    const status = await within(this.exited!, 60_000, -1);
    if (status === -1) {
      child.kill('SIGKILL');
      await this.exited;
    }
    fs.rmSync(path.join(this.options.dir, 'nspawn.pid'), { force: true });
  }
}
