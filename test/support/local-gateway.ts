import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  CloudWatchLogsClient,
  CreateLogStreamCommand,
  PutLogEventsCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { AwsStandIn as PythonStandIn, AwsStandInState, STAND_IN_CREDENTIALS } from './aws-stand-ins';
import {
  ACCOUNT,
  KNOWN_ACCESS_KEY,
  KNOWN_SECRET_KEY,
  metricKey,
  OPERATOR_KEYS,
  startAwsStandIn,
  type AwsStandIn,
} from './cli-aws-stand-ins';
import { KvsApiStandIn } from './kvs-api-stand-in';
import { RunCamera } from './run-camera';

/**
 * A gateway running on this machine as it runs on AWS, for the operator's commands to look at: the
 * real run script per camera on its real kvssink path (GATEWAY_SINK=kvssink, the kvssink stand-in of
 * test/support/kvssink-stand-in) uploading to the KVS API stand-in, each camera's log shipped to the
 * CloudWatch Logs stand-in's log group as Fluent Bit ships it (PutLogEvents, signed as the instance role,
 * one log stream per camera unit, every 2 s and on `flushLogs`), and
 * KVS's per-minute metrics (PutMedia.IncomingBytes/IncomingFrames) made from what the KVS stand-in
 * received. The site's deployed-gateway parameter (in the SSM stand-in) names the gateway stack, as a
 * deploy leaves it.
 */

export const GATEWAY_STACK = 'Ec2GatewayStack';
/** The name CloudFormation gives the stack's log group (`<stack>-<logical id>-<suffix>`). */
export const LOG_GROUP = `${GATEWAY_STACK}-LogsE7E2F3D5-Q1W2E3R4T5Y6`;
export const REGION = 'us-east-1';
export const KVSSINK_STAND_IN = path.join(__dirname, 'kvssink-stand-in');

export class LocalGateway {
  readonly cameras = new Map<string, RunCamera>();
  private readonly shipped = new Map<string, number>();
  private shipping: Promise<void> = Promise.resolve();
  private readonly streams = new Set<string>();
  private readonly shipper: NodeJS.Timeout;
  private readonly logsClient: CloudWatchLogsClient;

  private constructor(
    readonly dir: string,
    readonly kvs: KvsApiStandIn,
    readonly aws: AwsStandIn,
    /** CloudWatch Logs and SSM (test/support/aws-stand-ins/logs.py, ssm.py). */
    readonly logs: PythonStandIn,
    readonly ssm: PythonStandIn,
    /** Their state: the log events, the parameters, the requests. */
    readonly awsState: AwsStandInState,
  ) {
    awsState.putParameter('/kvs-gateway/deployed-gateway', GATEWAY_STACK, 'String');
    aws.beforeRead = () => this.updateMetrics();
    const role = STAND_IN_CREDENTIALS;
    this.logsClient = new CloudWatchLogsClient({
      region: REGION,
      endpoint: logs.url,
      credentials: {
        accessKeyId: role.AccessKeyId,
        secretAccessKey: role.SecretAccessKey,
        sessionToken: role.Token,
      },
    });
    this.shipper = setInterval(() => void this.flushLogs().catch(() => {}), 2000);
  }

  static async start(): Promise<LocalGateway> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvs-local-gateway-'));
    const awsState = new AwsStandInState(path.join(dir, 'aws'));
    awsState.setAccount(ACCOUNT);
    awsState.setLogGroups([LOG_GROUP]);
    // The CLI runs as the operator, the log shipper as the instance role.
    awsState.acceptKeys(OPERATOR_KEYS);
    const [kvs, aws, logs, ssm] = await Promise.all([
      KvsApiStandIn.start({ region: REGION, account: ACCOUNT }),
      startAwsStandIn(),
      PythonStandIn.start('logs', awsState),
      PythonStandIn.start('ssm', awsState),
    ]);
    // The gateway's kvssink signs with the instance role's keys, the CLI with the operator's.
    const role = STAND_IN_CREDENTIALS;
    fs.writeFileSync(
      path.join(dir, 'credentials'),
      `CREDENTIALS ${role.AccessKeyId} 2099-01-01T00:00:00Z ${role.SecretAccessKey} ${role.Token}\n`,
    );
    return new LocalGateway(dir, kvs, aws, logs, ssm, awsState);
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
      AWS_ENDPOINT_URL_SSM: this.ssm.url,
      AWS_ENDPOINT_URL_STS: this.aws.endpoint,
      AWS_ENDPOINT_URL_CLOUDWATCH: this.aws.endpoint,
      AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: this.logs.url,
      AWS_ENDPOINT_URL_KINESIS_VIDEO: this.kvs.controlPlaneUri,
    };
  }

  /**
   * How many requests the CLI made to the STS, CloudWatch, CloudWatch Logs and SSM stand-ins, by `<service>
   * <operation>` (the KVS API stand-in counts its own: `kvs.state()`).
   */
  cliRequestCounts(): Map<string, number> {
    const python = this.awsState
      .requestRecords()
      .filter((record) => record.accessKeyId === KNOWN_ACCESS_KEY)
      .map((record) => `${record.service} ${record.operation}`);
    const counts = new Map<string, number>();
    for (const request of [...this.aws.requests, ...python])
      counts.set(request, (counts.get(request) ?? 0) + 1);
    return counts;
  }

  /** Ships every camera's new log lines now (the shipper does every 2 s): before a command reads them. */
  flushLogs(): Promise<void> {
    this.shipping = this.shipping.then(async () => {
      for (const [name, run] of this.cameras) {
        const from = this.shipped.get(name)!;
        const lines = run.lines.slice(from);
        this.shipped.set(name, from + lines.length);
        await this.putLogLines(
          `i-0123456789abcdef0/kvs-camera@${name}.service`,
          lines.map((l) => ({ timestamp: l.at, message: l.text })),
        );
      }
    });
    return this.shipping;
  }

  /** Puts log lines into the gateway's log group (PutLogEvents, the stream made the first time). */
  async putLogLines(stream: string, lines: { timestamp: number; message: string }[]): Promise<void> {
    if (lines.length === 0) return;
    if (!this.streams.has(stream)) {
      await this.logsClient.send(
        new CreateLogStreamCommand({ logGroupName: LOG_GROUP, logStreamName: stream }),
      );
      this.streams.add(stream);
    }
    const ordered = [...lines].sort((a, b) => a.timestamp - b.timestamp);
    for (let i = 0; i < ordered.length; i += 1000) {
      await this.logsClient.send(
        new PutLogEventsCommand({
          logGroupName: LOG_GROUP,
          logStreamName: stream,
          logEvents: ordered.slice(i, i + 1000),
        }),
      );
    }
  }

  /** KVS's per-minute metrics (PutMedia.IncomingBytes/IncomingFrames) of what the KVS stand-in received. */
  private async updateMetrics(): Promise<void> {
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
    clearInterval(this.shipper);
    await Promise.all([...this.cameras.values()].map((run) => run.stop(20_000)));
    await this.shipping.catch(() => {});
    await Promise.all([this.kvs.stop(), this.aws.close(), this.logs.stop(), this.ssm.stop()]);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
