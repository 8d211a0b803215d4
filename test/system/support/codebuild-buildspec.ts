import * as fs from 'node:fs';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { runCommand } from './command';

/**
 * Runs a CodeBuild project's buildspec (version 0.2) here, as CodeBuild runs it: each phase's commands in
 * one `sh` session that stops at the first failing command, the phases in order, `post_build` always,
 * with CODEBUILD_BUILD_SUCCEEDING 1 or 0. The tools the commands call are what the test puts first on
 * PATH (for the image build: the real AWS CLI pointed at the stand-ins, docker done by buildah).
 */

const PHASES = ['install', 'pre_build', 'build', 'post_build'] as const;

interface Buildspec {
  readonly version: string;
  readonly phases: Partial<Record<(typeof PHASES)[number], { readonly commands: readonly string[] }>>;
}

export interface BuildspecRun {
  /** The project's Source.BuildSpec, as synthesized (a JSON document). */
  readonly buildSpec: string;
  /** The build's environment: what the starter passed (environmentVariablesOverride) and CodeBuild sets. */
  readonly environment: Record<string, string>;
  /** The build's working folder (CodeBuild's source folder). */
  readonly folder: string;
  /** Every phase's output goes here. */
  readonly logFile: string;
}

export interface BuildspecResult {
  /** Each phase that ran, with its exit status. */
  readonly phases: { readonly phase: string; readonly code: number | null }[];
  readonly succeeded: boolean;
}

export async function runBuildspec(run: BuildspecRun): Promise<BuildspecResult> {
  const spec = JSON.parse(run.buildSpec) as Buildspec;
  if (spec.version !== '0.2') throw new Error(`buildspec version ${spec.version}: only 0.2 is run here`);
  fs.mkdirSync(run.folder, { recursive: true });
  const phases: { phase: string; code: number | null }[] = [];
  let succeeded = true;
  for (const phase of PHASES) {
    const commands = spec.phases[phase]?.commands;
    if (!commands || (!succeeded && phase !== 'post_build')) continue;
    const result = await runCommand('sh', ['-e', '-c', `cd "$0"\n${commands.join('\n')}`, run.folder], {
      env: { ...run.environment, CODEBUILD_BUILD_SUCCEEDING: succeeded ? '1' : '0' },
      timeoutMs: 45 * 60_000,
    });
    fs.appendFileSync(
      run.logFile,
      `== phase ${phase}: exit ${result.code}\n${result.stdout}${result.stderr}\n`,
    );
    phases.push({ phase, code: result.code });
    if (result.code !== 0) succeeded = false;
  }
  return { phases, succeeded };
}

/**
 * A stand-in of CloudFormation's response URL for a custom resource (a pre-signed S3 URL): keeps the
 * JSON document each PUT sends.
 */
export class CustomResourceResponseUrl {
  readonly responses: Record<string, unknown>[] = [];

  private constructor(private readonly server: http.Server) {}

  static async start(): Promise<CustomResourceResponseUrl> {
    const endpoint = new CustomResourceResponseUrl(http.createServer());
    endpoint.server.on('request', (request, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        if (request.method === 'PUT') endpoint.responses.push(JSON.parse(body));
        response.writeHead(request.method === 'PUT' ? 200 : 405).end();
      });
    });
    await new Promise<void>((resolve) => endpoint.server.listen(0, '127.0.0.1', resolve));
    return endpoint;
  }

  get url(): string {
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}/cloudformation-response/${path.basename(__filename)}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
