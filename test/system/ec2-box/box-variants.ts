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
   * How much slower than native the box runs: arm64 runs under qemu-user emulation on this x86_64
   * machine. Every wait of the scenarios is multiplied by it; nothing is asserted about time.
   */
  readonly slowdown: number;
}

export const DEBIAN_12_AMD64: BoxVariant = {
  name: 'debian12-amd64',
  title: 'Debian 12 x86_64',
  suite: 'bookworm',
  architecture: 'amd64',
  slowdown: 1,
};
