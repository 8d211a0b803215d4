import * as path from 'node:path';
import { TestNetwork } from './test-network';

/** The address ECS serves the task role's credentials on (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI). */
export const ECS_CREDENTIALS_ADDRESS = '169.254.170.2';

/**
 * A task's own network namespace, as Fargate's awsvpc mode gives each task (its containers share it),
 * joined to this machine by a veth pair and nothing else (a TestNetwork: its addresses are chosen at run
 * time): no default route, so nothing in the task reaches past the host end, where the test's cameras and
 * stand-ins listen. The credential endpoint's address is translated inside the namespace to the
 * stand-in's port on the host end, as the ECS agent does on EC2 container instances (iptables DNAT of
 * 169.254.170.2:80), so that tasks of any number of runs each reach their own stand-in.
 */
export class TaskNetwork {
  private constructor(private readonly link: TestNetwork) {}

  /** The namespace's path, for an OCI runtime spec. */
  get path(): string {
    return this.link.path;
  }

  /** Where the test's cameras and stand-ins listen for the task. */
  get hostAddress(): string {
    return this.link.hostAddress;
  }

  get taskAddress(): string {
    return this.link.innerAddress;
  }

  private static record(folder: string): string {
    return path.join(folder, 'network.env');
  }

  /** A task network recorded in the run's folder. */
  static async create(folder: string): Promise<TaskNetwork> {
    const network = new TaskNetwork(await TestNetwork.create(TaskNetwork.record(folder), 'task'));
    try {
      await network.link.exec('ip', [
        'route',
        'add',
        `${ECS_CREDENTIALS_ADDRESS}/32`,
        'via',
        network.hostAddress,
      ]);
    } catch (error) {
      await network.remove();
      throw error;
    }
    return network;
  }

  /** Sends the task's requests to http://169.254.170.2 to a credential endpoint on the host end's `port`. */
  async forwardCredentialsEndpoint(port: number): Promise<void> {
    await this.link.exec('iptables', [
      '-t',
      'nat',
      '-A',
      'OUTPUT',
      '-d',
      `${ECS_CREDENTIALS_ADDRESS}/32`,
      '-p',
      'tcp',
      '--dport',
      '80',
      '-j',
      'DNAT',
      '--to-destination',
      `${this.hostAddress}:${port}`,
    ]);
  }

  /** Removes what a run that was killed before its clean-up left in its folder. */
  static removeLeftover(folder: string): Promise<void> {
    return TestNetwork.remove(TaskNetwork.record(folder));
  }

  /** Removes the namespace and both ends of the veth pair; safe to call twice. */
  remove(): Promise<void> {
    return this.link.remove();
  }
}
