/**
 * The distributions and architectures the EC2 box boots, each standing in for part of Ubuntu 24.04 on
 * Graviton (docs/development.md says what each proves and what not). Each variant is its own test file,
 * so jest runs them in parallel workers.
 */
export interface BoxVariant {
  /** Names its test file, work folder and network namespace: debian12-amd64. */
  readonly name: string;
  /** What the box stands for, in the test titles. */
  readonly title: string;
  /** Debian's code name (debootstrap's suite). */
  readonly suite: 'bookworm' | 'trixie';
  /** Debian's architecture name. */
  readonly architecture: 'amd64' | 'arm64';
  /**
   * Whether the box runs under qemu-user emulation (arm64 on this x86_64 machine). qemu-user refuses
   * seccomp and BPF (seen with QEMU 7.2: prctl(PR_GET_SECCOMP) answers EINVAL, seccomp() and bpf()
   * ENOSYS; the guest must not filter the system calls qemu itself makes): systemd in such a box runs
   * every unit without its SystemCallFilter= and the other seccomp-based settings, and without
   * IPAddressDeny=. The box still proves the rest.
   */
  readonly emulated: boolean;
  /**
   * How much slower than native the box runs. Every wait of the scenarios is multiplied by it; nothing
   * is asserted about time.
   */
  readonly slowdown: number;
}

export const DEBIAN_12_AMD64: BoxVariant = {
  name: 'debian12-amd64',
  title: 'Debian 12 x86_64',
  suite: 'bookworm',
  architecture: 'amd64',
  emulated: false,
  slowdown: 1,
};

export const DEBIAN_13_AMD64: BoxVariant = {
  name: 'debian13-amd64',
  title: 'Debian 13 x86_64',
  suite: 'trixie',
  architecture: 'amd64',
  emulated: false,
  slowdown: 1,
};

export const DEBIAN_12_ARM64: BoxVariant = {
  name: 'debian12-arm64',
  title: 'Debian 12 arm64',
  suite: 'bookworm',
  architecture: 'arm64',
  emulated: true,
  slowdown: 4,
};
