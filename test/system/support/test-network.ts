import * as fs from 'node:fs';
import * as path from 'node:path';
import { mustRun } from './command';

const NETWORK_SCRIPT = path.join(__dirname, 'test-network.sh');

/**
 * A network namespace joined to this machine by a veth pair only (`eth0` inside), on a /30 of
 * 198.51.100.0/24 chosen at run time (test-network.sh), so that any number of boxes and task networks
 * run at once. What it made is written to a record file in the test's own work folder before it is
 * made: `TestNetwork.remove(record)` at the start of the next run removes a killed run's leftovers,
 * and nobody else's.
 */
export class TestNetwork {
  private constructor(
    readonly record: string,
    /** The namespace's name (`ip netns exec <name>`). */
    readonly netns: string,
    /** The machine's end of the veth pair. */
    readonly hostInterface: string,
    /** On the machine's end: servers the namespace reaches listen here. */
    readonly hostAddress: string,
    /** On `eth0` inside the namespace. */
    readonly innerAddress: string,
    /** The /30 both addresses are in. */
    readonly subnet: string,
  ) {}

  /** The namespace's path (`systemd-nspawn --network-namespace-path`, an OCI runtime spec). */
  get path(): string {
    return `/run/netns/${this.netns}`;
  }

  /** Makes a link whose namespace is named after `label` (kvs-<label>-<random>), recorded in `record`. */
  static async create(record: string, label: string): Promise<TestNetwork> {
    await TestNetwork.remove(record);
    try {
      await mustRun('bash', [NETWORK_SCRIPT, 'up', record, label]);
    } catch (error) {
      await TestNetwork.remove(record);
      throw error;
    }
    const values = Object.fromEntries(
      fs
        .readFileSync(record, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
    return new TestNetwork(
      record,
      values.NETNS,
      values.HOST_INTERFACE,
      values.HOST_ADDRESS,
      values.INNER_ADDRESS,
      values.SUBNET,
    );
  }

  /** Ends the namespace's processes and removes what `record` names; nothing when it is missing. */
  static async remove(record: string): Promise<void> {
    await mustRun('bash', [NETWORK_SCRIPT, 'down', record], { timeoutMs: 60_000 });
  }

  /** Adds an address to `eth0` inside the namespace, e.g. the instance metadata service's 169.254.169.254/32. */
  async addInnerAddress(cidr: string): Promise<void> {
    await this.exec('ip', ['addr', 'add', cidr, 'dev', 'eth0']);
  }

  /** Runs a command inside the namespace. */
  exec(command: string, args: readonly string[]): Promise<string> {
    return mustRun('ip', ['netns', 'exec', this.netns, command, ...args]);
  }

  remove(): Promise<void> {
    return TestNetwork.remove(this.record);
  }
}
