import { DescribeStreamCommand, type StreamInfo } from '@aws-sdk/client-kinesis-video';
import { GatewayConfigError, type GatewayConfig } from '../config';
import type { AwsClients } from './aws-clients';
import { CliError, describeAwsError, errorName, isNoAnswer } from './aws-errors';
import { gatewaysLeftOut } from '../shards';
import { listCameraParameters } from './camera-parameters';

/**
 * `kvs-gateway doctor`: everything the gateway needs from the user's side before and after a
 * deploy. Each check is reported the moment it is done (a slow or unreachable endpoint shows where
 * it is stuck). A failed check makes the command exit non-zero; a warning does not.
 */

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface DoctorCheck {
  readonly status: CheckStatus;
  /** What was checked: `node`, `config`, `region`, `credentials`, a camera or stream name. */
  readonly subject: string;
  readonly message: string;
}

export interface DoctorReport {
  readonly ok: boolean;
  readonly checks: readonly DoctorCheck[];
}

export interface DoctorInputs {
  readonly configFile: string;
  /** Loads and validates the config (stream names valid and unique) or throws GatewayConfigError. */
  readonly loadConfig: () => GatewayConfig;
  readonly createClients: () => Promise<AwsClients>;
  /** Called with each check as soon as it is done. */
  readonly onCheck?: (check: DoctorCheck) => void;
  /** The Node.js version running the CLI (process.version). */
  readonly nodeVersion?: string;
}

/** The oldest Node.js major version the AWS SDK for JavaScript supports after January 2027. */
export const SUPPORTED_NODE_MAJOR = 22;

export function nodeVersionCheck(version: string): DoctorCheck {
  const major = Number(/^v(\d+)/.exec(version)?.[1] ?? 0);
  return major >= SUPPORTED_NODE_MAJOR
    ? { status: 'ok', subject: 'node', message: `Node.js ${version}` }
    : {
        status: 'warn',
        subject: 'node',
        message: `Node.js ${version} is past its end of life, and the AWS SDK for JavaScript drops it in January 2027: use Node.js 22 or 24`,
      };
}

export async function runDoctor(inputs: DoctorInputs): Promise<DoctorReport> {
  const checks: DoctorCheck[] = [];
  const add = (status: CheckStatus, subject: string, message: string) => {
    const check = { status, subject, message };
    checks.push(check);
    inputs.onCheck?.(check);
  };
  const report = (): DoctorReport => ({ ok: checks.every((c) => c.status !== 'fail'), checks });

  const node = nodeVersionCheck(inputs.nodeVersion ?? process.version);
  add(node.status, node.subject, node.message);

  let config: GatewayConfig | undefined;
  try {
    config = inputs.loadConfig();
    add(
      'ok',
      'config',
      `${inputs.configFile}: ${config.cameras.length} camera(s); camera names and stream names are valid and unique`,
    );
    // A warning, not a failure: the gateway you deploy may be the other one.
    for (const gateway of gatewaysLeftOut(config)) {
      add(
        'warn',
        'gateways',
        `${gateway.stackId} does not fit the config, so the app leaves it out: ${gateway.problems.join('; ')}`,
      );
    }
  } catch (error) {
    if (!(error instanceof GatewayConfigError)) throw error;
    for (const problem of error.problems) add('fail', 'config', `${error.source}: ${problem}`);
  }

  let clients: AwsClients;
  try {
    clients = await inputs.createClients();
    add('ok', 'region', `${clients.region} (from ${clients.regionSource})`);
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    add('fail', /region/.test(error.message) ? 'region' : 'credentials', error.message);
    return report();
  }
  try {
    const identity = await clients.checkCredentials();
    add(
      'ok',
      'credentials',
      `${identity.arn} (account ${identity.account}), from ${clients.credentialSource}`,
    );
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    add('fail', 'credentials', error.message);
    return report();
  }
  if (!config) return report();

  try {
    const listing = await listCameraParameters({ config, ssm: clients.ssm, region: clients.region });
    for (const entry of listing.cameras) {
      if (entry.inConfig && !entry.inSsm) {
        add(
          'fail',
          entry.camera,
          `no URL parameter ${entry.parameterName}: run "npx kvs-gateway cameras add ${entry.camera} --url rtsp://<host>:554/<path> --user <user>"`,
        );
      } else if (entry.inConfig && entry.problem) {
        add('fail', entry.camera, `${entry.parameterName}: ${entry.problem}`);
      } else if (entry.inConfig) {
        add('ok', entry.camera, `${entry.parameterName} = ${entry.url}`);
      } else {
        add(
          'warn',
          entry.camera,
          `${entry.parameterName} is not a camera in the config: add the camera to the config, or remove the parameter with "npx kvs-gateway cameras remove ${entry.camera}"`,
        );
      }
    }
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    add('fail', 'parameters', error.message);
  }

  for (const [index, camera] of config.cameras.entries()) {
    const subject = `stream ${camera.streamName}`;
    let info: StreamInfo | undefined;
    try {
      info = (await clients.kinesisVideo.send(new DescribeStreamCommand({ StreamName: camera.streamName })))
        .StreamInfo;
    } catch (error) {
      if (errorName(error) === 'ResourceNotFoundException') {
        add('warn', subject, `does not exist yet in ${clients.region}: deploying the gateway creates it`);
        continue;
      }
      const call = { action: 'kinesisvideo:DescribeStream', resource: subject, region: clients.region };
      add('fail', subject, describeAwsError(error, call));
      // An endpoint that does not answer will not answer for the next stream either.
      const unchecked = config.cameras.slice(index + 1).map((other) => other.streamName);
      if (isNoAnswer(error) && unchecked.length > 0) {
        add('warn', 'streams', `not checked, as the endpoint did not answer: ${unchecked.join(', ')}`);
        break;
      }
      continue;
    }
    const retention = info?.DataRetentionInHours ?? 0;
    if (retention !== camera.retentionHours) {
      add(
        'warn',
        subject,
        `${info?.Status}, keeps ${retention} h of video but the config says ${camera.retentionHours} h: deploy to apply the config`,
      );
    } else {
      const mediaType = info?.MediaType ? `, ${info.MediaType}` : '';
      add('ok', subject, `${info?.Status}, keeps ${retention} h of video${mediaType}`);
    }
  }
  return report();
}
