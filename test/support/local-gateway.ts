import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { STAND_IN_CREDENTIALS } from './aws-stand-ins';
import {
  ACCOUNT,
  KNOWN_ACCESS_KEY,
  KNOWN_SECRET_KEY,
  metricKey,
  startAwsStandIn,
  type AwsStandIn,
} from './cli-aws-stand-ins';
import { KvsApiStandIn } from './kvs-api-stand-in';
import { RunCamera } from './run-camera';

/**
 * A gateway running on this machine as it runs on AWS, for the operator's commands to look at: the
 * real run script per camera on its real kvssink path (GATEWAY_SINK=kvssink, the kvssink stand-in of
 * test/support/kvssink-stand-in) uploading to the KVS API stand-in, each camera's log shipped to the
 * CloudWatch Logs stand-in's log group as Fluent Bit ships it (one log stream per camera unit), and
 * KVS's per-minute metrics (PutMedia.IncomingBytes/IncomingFrames) made from what the KVS stand-in
 * received. The site's deployed-gateway parameter names the gateway stack, as a deploy leaves it.
 */

export const GATEWAY_STACK = 'Ec2GatewayStack';
/** The name CloudFormation gives the stack's log group (`<stack>-<logical id>-<suffix>`). */
export const LOG_GROUP = `${GATEWAY_STACK}-LogsE7E2F3D5-Q1W2E3R4T5Y6`;
export const REGION = 'us-east-1';
export const KVSSINK_STAND_IN = path.join(__dirname, 'kvssink-stand-in');

export class LocalGateway {
  readonly cameras = new Map<string, RunCamera>();
  private readonly shipped = new Map<string, number>();

  private constructor(
    readonly dir: string,
    readonly kvs: KvsApiStandIn,
    readonly aws: AwsStandIn,
  ) {
    aws.parameters.set('/kvs-gateway/deployed-gateway', {
      Name: '/kvs-gateway/deployed-gateway',
      Value: GATEWAY_STACK,
      Type: 'String',
      Version: 1,
    });
    aws.logGroups.set(LOG_GROUP, []);
    aws.beforeRead = () => this.ship();
  }

  static async start(): Promise<LocalGateway> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvs-local-gateway-'));
    const [kvs, aws] = await Promise.all([
      KvsApiStandIn.start({ region: REGION, account: ACCOUNT }),
      startAwsStandIn(),
    ]);
    // The gateway's kvssink signs with the instance role's keys, the CLI with the operator's.
    const role = STAND_IN_CREDENTIALS;
    fs.writeFileSync(
      path.join(dir, 'credentials'),
      `CREDENTIALS ${role.AccessKeyId} 2099-01-01T00:00:00Z ${role.SecretAccessKey} ${role.Token}\n`,
    );
    return new LocalGateway(dir, kvs, aws);
  }

  /** Starts the run script for a camera, as the camera's unit does (its environment on top of the defaults). */
  startCamera(name: string, env: Record<string, string>): RunCamera {
    const run = new RunCamera({
      STREAM_NAME: name,
      GATEWAY_SINK: 'kvssink',
      AWS_REGION: REGION,
      KVS_CREDENTIAL_PATH: path.join(this.dir, 'credentials'),
      CONTROL_PLANE_URI: this.kvs.controlPlaneUri,
      GST_PLUGIN_PATH: KVSSINK_STAND_IN,
      HEALTH_FILE: path.join(this.dir, `${name}.health`),
      BACKOFF_MAX_SECONDS: '2',
      ...env,
    });
    this.cameras.set(name, run);
    this.shipped.set(name, 0);
    return run;
  }

  /** The environment of the CLI run against this gateway's AWS (through the SDK's endpoint variables). */
  cliEnv(home: string): NodeJS.ProcessEnv {
    return {
      PATH: process.env.PATH,
      HOME: home,
      TZ: 'UTC',
      AWS_REGION: REGION,
      AWS_ACCESS_KEY_ID: KNOWN_ACCESS_KEY,
      AWS_SECRET_ACCESS_KEY: KNOWN_SECRET_KEY,
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_ENDPOINT_URL_SSM: this.aws.endpoint,
      AWS_ENDPOINT_URL_STS: this.aws.endpoint,
      AWS_ENDPOINT_URL_CLOUDWATCH: this.aws.endpoint,
      AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: this.aws.endpoint,
      AWS_ENDPOINT_URL_KINESIS_VIDEO: this.kvs.controlPlaneUri,
    };
  }

  /** What the log shipper and KVS's metrics would have delivered by now. */
  async ship(): Promise<void> {
    const events = this.aws.logGroups.get(LOG_GROUP)!;
    for (const [name, run] of this.cameras) {
      const from = this.shipped.get(name)!;
      for (const line of run.lines.slice(from)) {
        events.push({
          timestamp: line.at,
          message: line.text,
          logStream: `i-0123456789abcdef0/kvs-camera@${name}.service`,
        });
      }
      this.shipped.set(name, run.lines.length);
    }
    const state = await this.kvs.state();
    for (const [stream, received] of Object.entries(state.streams)) {
      const bytes = new Map<number, number>();
      const frames = new Map<number, number>();
      for (const [minute, [minuteBytes, minuteFrames]] of Object.entries(received.perMinute)) {
        bytes.set(Number(minute), minuteBytes);
        frames.set(Number(minute), minuteFrames);
      }
      this.aws.metrics.set(
        metricKey('AWS/KinesisVideo', 'PutMedia.IncomingBytes', { StreamName: stream }),
        bytes,
      );
      this.aws.metrics.set(
        metricKey('AWS/KinesisVideo', 'PutMedia.IncomingFrames', { StreamName: stream }),
        frames,
      );
    }
  }

  async stop(): Promise<void> {
    await Promise.all([...this.cameras.values()].map((run) => run.stop(20_000)));
    await Promise.all([this.kvs.stop(), this.aws.close()]);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
