import { mustRun, runCommand } from './command';

/** The address ECS serves the task role's credentials on (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI). */
export const ECS_CREDENTIALS_ADDRESS = '169.254.170.2';

/**
 * A task's own network namespace, as Fargate's awsvpc mode gives each task (its containers share it),
 * joined to this machine by a veth pair and nothing else: no default route, so nothing in the task
 * reaches past the host end. The host end holds HOST_ADDRESS (where the test's cameras and stand-ins
 * listen) and ECS_CREDENTIALS_ADDRESS. Link-local addresses: never routed off this machine.
 */
export class TaskNetwork {
  static readonly HOST_ADDRESS = '169.254.171.1';
  static readonly TASK_ADDRESS = '169.254.171.2';

  private constructor(
    readonly name: string,
    private readonly hostInterface: string,
  ) {}

  /** The namespace's path, for an OCI runtime spec. */
  get path(): string {
    return `/run/netns/${this.name}`;
  }

  private static named(suffix: string): TaskNetwork {
    return new TaskNetwork(`kvs-task-${suffix}`, `kvst${suffix}`.slice(0, 15));
  }

  /** Removes what a run that was killed before its clean-up left with this suffix. */
  static removeLeftover(suffix: string): Promise<void> {
    return TaskNetwork.named(suffix).remove();
  }

  static async create(suffix: string): Promise<TaskNetwork> {
    const network = TaskNetwork.named(suffix);
    const taskInterface = 'eth0';
    const host = network.hostInterface;
    try {
      await mustRun('ip', ['netns', 'add', network.name]);
      await mustRun('ip', [
        'link',
        'add',
        host,
        'type',
        'veth',
        'peer',
        'name',
        taskInterface,
        'netns',
        network.name,
      ]);
      await mustRun('ip', ['addr', 'add', `${TaskNetwork.HOST_ADDRESS}/30`, 'dev', host]);
      await mustRun('ip', ['addr', 'add', `${ECS_CREDENTIALS_ADDRESS}/32`, 'dev', host]);
      await mustRun('ip', ['link', 'set', host, 'up']);
      const inside = ['-n', network.name];
      await mustRun('ip', [...inside, 'addr', 'add', `${TaskNetwork.TASK_ADDRESS}/30`, 'dev', taskInterface]);
      await mustRun('ip', [...inside, 'link', 'set', taskInterface, 'up']);
      await mustRun('ip', [...inside, 'link', 'set', 'lo', 'up']);
      await mustRun('ip', [
        ...inside,
        'route',
        'add',
        `${ECS_CREDENTIALS_ADDRESS}/32`,
        'via',
        TaskNetwork.HOST_ADDRESS,
      ]);
    } catch (error) {
      await network.remove();
      throw error;
    }
    return network;
  }

  /** Removes the namespace and both ends of the veth pair; safe to call twice. */
  async remove(): Promise<void> {
    await runCommand('ip', ['netns', 'delete', this.name]);
    await runCommand('ip', ['link', 'delete', this.hostInterface]);
  }
}
