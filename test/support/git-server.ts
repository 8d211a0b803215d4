import { spawn } from 'node:child_process';
import * as net from 'node:net';

/**
 * A git server for the tests: the git protocol (git://) on a port of its own, each connection served by
 * `git daemon --inetd` (git's own server) from a folder of bare repositories. It records the repository
 * each fetch asked for, so a test can count what a build fetched from "GitHub".
 */
export class GitServer {
  private constructor(
    private readonly server: net.Server,
    readonly address: string,
    readonly port: number,
    /** The repository path of each request, in order ("/amazon-kinesis-video-streams-pic.git"). */
    readonly requests: readonly string[],
  ) {}

  /** Serves `folder` on `address` (default 127.0.0.1), on a free port. */
  static async start(folder: string, address = '127.0.0.1'): Promise<GitServer> {
    const requests: string[] = [];
    const server = net.createServer((socket) => {
      const daemon = spawn(
        'git',
        ['daemon', '--inetd', '--export-all', '--informative-errors', `--base-path=${folder}`, folder],
        { stdio: ['pipe', 'pipe', 'ignore'] },
      );
      // The first packet line names the service and the repository: "0032git-upload-pack /x.git\0host=...".
      socket.once('data', (chunk) => {
        const match = /git-upload-pack ([^\0]+)/.exec(chunk.toString('latin1'));
        if (match) requests.push(match[1]);
      });
      socket.pipe(daemon.stdin!);
      daemon.stdout!.pipe(socket);
      socket.on('error', () => daemon.kill());
      daemon.on('exit', () => socket.end());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, address, resolve);
    });
    return new GitServer(server, address, (server.address() as net.AddressInfo).port, requests);
  }

  /** The base URL of the served repositories: `<base><name>.git`. */
  get url(): string {
    return `git://${this.address}:${this.port}/`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
