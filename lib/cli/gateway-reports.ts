import { DescribeAlarmsCommand, StateValue } from '@aws-sdk/client-cloudwatch';
import {
  DescribeLogGroupsCommand,
  GetQueryResultsCommand,
  QueryStatus,
  StartQueryCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { shardAlarmName, type GatewayAlarmKind } from '../camera-names';
import type { GatewayConfig } from '../config';
import { deployedGatewayParameterName, siteStackName, STACK_IDS } from '../site-names';
import type { AwsClients } from './aws-clients';
import { awsCall, CliError } from './aws-errors';

/**
 * What the gateway itself says about each camera, from outside the instance: the line the run script
 * logs, `status <state> since <time>: <reason>` (userdata/camera_status.py), which already reaches
 * CloudWatch Logs on both gateways (EC2: Fluent Bit; Fargate: the awslogs driver). One Logs Insights
 * query over the last minutes finds the latest line of every camera at once; no new metric (a custom
 * metric per camera would cost $0.30 a month each, $300 for 1,000 cameras), no new permission on the
 * gateway. The run script says the line again every 10 minutes, so a camera without a line in the
 * window has no gateway running it: then the shard's alarm (instance or task) may say why.
 */

/** The states the run script says (camera_status.py: keep in step), as a person reads them. */
export const GATEWAY_STATES: Readonly<Record<string, string>> = {
  streaming: 'streaming',
  'camera-down': 'the camera is down',
  'login-refused': 'the camera refuses the login',
  'kvs-refusing': 'KVS refuses the video',
  'kvs-unreachable': 'KVS is out of reach',
  'stream-missing': 'the KVS stream does not exist',
  'no-credentials': 'the gateway has no AWS credentials',
  'no-camera-url': 'the camera has no URL parameter',
  'unsupported-camera': 'the camera sends a codec the gateway cannot pass through',
  'config-error': 'configuration error',
  'missing-software': 'software is missing on the gateway',
  'pipeline-error': 'pipeline error',
  stopped: "the camera's service is stopped",
  'off-schedule': 'off its recording schedule',
};

/** The run script says each status again every 10 minutes: 15 minutes always hold one (and 1 of slack for shipping). */
export const REPORT_WINDOW_SECONDS = 960;

/** The Logs Insights query: the latest status line of every camera. */
export const STATUS_QUERY = [
  'filter @message like /run-camera\\[[^\\]]+\\]: status [a-z-]+ since /',
  'parse @message /run-camera\\[(?<camera>[^\\]]+)\\]: status (?<status>.*)/',
  'stats latest(status) as status, max(@timestamp) as reportedAt by camera',
].join(' | ');

export interface GatewayReport {
  readonly state: string;
  readonly since?: Date;
  readonly reason: string;
  /** When the gateway said it (the log event's time). */
  readonly reportedAt?: Date;
}

export interface ShardAlarm {
  readonly name: string;
  readonly state: string;
  readonly reason: string;
  readonly since?: Date;
}

export interface GatewayReports {
  /** The deployed gateway stack (from the site's deployed-gateway parameter), if any. */
  readonly stackName?: string;
  readonly logGroups: readonly string[];
  readonly reports: ReadonlyMap<string, GatewayReport>;
  /** Why there are no reports at all, when there are none to be had (no gateway, no permission). */
  readonly unavailable?: string;
}

/** `<state> since <ISO time>: <reason>` (the part of the line after "status "). */
export function parseStatusLine(status: string, reportedAt?: Date): GatewayReport | undefined {
  const match = /^([a-z-]+)(?: since (\S+?))?(?:: (.*))?$/s.exec(status.trim());
  if (!match) return undefined;
  const since = match[2] ? new Date(match[2]) : undefined;
  return {
    state: match[1],
    ...(since && !Number.isNaN(since.getTime()) ? { since } : {}),
    reason: match[3] ?? '',
    ...(reportedAt ? { reportedAt } : {}),
  };
}

/** Logs Insights writes times as `2026-12-01 10:05:03.123`, in UTC. */
function logsTime(text: string | undefined): Date | undefined {
  if (!text) return undefined;
  const date = new Date(`${text.replace(' ', 'T')}Z`);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

const QUERY_POLL_MS = 250;
const QUERY_TIMEOUT_MS = 15_000;

export class GatewayReporter {
  private stackName?: string | null;
  private logGroups?: string[];

  constructor(
    private readonly clients: Pick<AwsClients, 'ssm' | 'logs' | 'cloudWatch' | 'region'>,
    private readonly config: GatewayConfig,
  ) {}

  /** The latest status line of every camera, and the alarms of the shards `silentShards` (no line). */
  async read(now: Date): Promise<GatewayReports> {
    const stackName = await this.deployedGateway();
    if (!stackName) {
      const parameter = deployedGatewayParameterName(this.config.site);
      return {
        logGroups: [],
        reports: new Map(),
        unavailable: `no gateway is deployed for this config in ${this.clients.region} (no parameter ${parameter}): deploy ${siteStackName(this.config.site, STACK_IDS.ec2Gateway)} or ${siteStackName(this.config.site, STACK_IDS.fargateGateway)}`,
      };
    }
    const logGroups = await this.gatewayLogGroups(stackName);
    if (logGroups.length === 0) {
      return {
        stackName,
        logGroups,
        reports: new Map(),
        unavailable: `no log group of ${stackName} found in ${this.clients.region} (looked for ${stackName}-Logs*)`,
      };
    }
    const reports = await this.query(logGroups, now);
    return { stackName, logGroups, reports };
  }

  /** The state of the shards' gateway alarms (instance status check or running tasks). */
  async shardAlarms(stackName: string, shards: readonly number[]): Promise<Map<number, ShardAlarm>> {
    const kind: GatewayAlarmKind = /FargateGatewayStack$/.test(stackName)
      ? 'running-tasks'
      : 'instance-status-check';
    const alarms = new Map<number, ShardAlarm>();
    const byName = new Map(shards.map((shard) => [shardAlarmName(stackName, shard, kind), shard]));
    const names = [...byName.keys()];
    for (let i = 0; i < names.length; i += 100) {
      const answer = await awsCall(
        {
          action: 'cloudwatch:DescribeAlarms',
          resource: `alarms ${stackName}-shard-*`,
          region: this.clients.region,
        },
        () =>
          this.clients.cloudWatch.send(new DescribeAlarmsCommand({ AlarmNames: names.slice(i, i + 100) })),
      );
      for (const alarm of answer.MetricAlarms ?? []) {
        const shard = byName.get(alarm.AlarmName ?? '');
        if (shard === undefined) continue;
        alarms.set(shard, {
          name: alarm.AlarmName!,
          state: alarm.StateValue ?? StateValue.INSUFFICIENT_DATA,
          reason: alarm.StateReason ?? '',
          ...(alarm.StateUpdatedTimestamp ? { since: alarm.StateUpdatedTimestamp } : {}),
        });
      }
    }
    return alarms;
  }

  private async deployedGateway(): Promise<string | undefined> {
    if (this.stackName !== undefined) return this.stackName ?? undefined;
    const name = deployedGatewayParameterName(this.config.site);
    const answer = await awsCall(
      { action: 'ssm:GetParameter', resource: `parameter ${name}`, region: this.clients.region },
      async () => {
        try {
          return await this.clients.ssm.send(new GetParameterCommand({ Name: name }));
        } catch (error) {
          if ((error as { name?: string }).name === 'ParameterNotFound') return undefined;
          throw error;
        }
      },
    );
    this.stackName = answer?.Parameter?.Value ?? null;
    return this.stackName ?? undefined;
  }

  /** The stack's log group: CloudFormation names it `<stack>-Logs<hash>-<suffix>`. */
  private async gatewayLogGroups(stackName: string): Promise<string[]> {
    if (this.logGroups) return this.logGroups;
    const prefix = `${stackName}-Logs`;
    const answer = await awsCall(
      { action: 'logs:DescribeLogGroups', resource: `log groups ${prefix}*`, region: this.clients.region },
      () => this.clients.logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: prefix, limit: 50 })),
    );
    this.logGroups = (answer.logGroups ?? []).flatMap((group) =>
      group.logGroupName ? [group.logGroupName] : [],
    );
    return this.logGroups;
  }

  private async query(logGroups: string[], now: Date): Promise<Map<string, GatewayReport>> {
    const call = {
      action: 'logs:StartQuery',
      resource: `log group ${logGroups.join(', ')}`,
      region: this.clients.region,
    };
    const started = await awsCall(call, () =>
      this.clients.logs.send(
        new StartQueryCommand({
          logGroupNames: logGroups,
          startTime: Math.floor(now.getTime() / 1000) - REPORT_WINDOW_SECONDS,
          endTime: Math.ceil(now.getTime() / 1000),
          queryString: STATUS_QUERY,
          limit: 10_000,
        }),
      ),
    );
    const deadline = Date.now() + QUERY_TIMEOUT_MS;
    for (;;) {
      const answer = await awsCall(
        { action: 'logs:GetQueryResults', resource: `query ${started.queryId}`, region: this.clients.region },
        () => this.clients.logs.send(new GetQueryResultsCommand({ queryId: started.queryId })),
      );
      if (answer.status === QueryStatus.Complete) {
        const reports = new Map<string, GatewayReport>();
        for (const row of answer.results ?? []) {
          const fields = Object.fromEntries(row.map((cell) => [cell.field, cell.value]));
          const report = fields.status
            ? parseStatusLine(fields.status, logsTime(fields.reportedAt))
            : undefined;
          if (fields.camera && report) reports.set(fields.camera, report);
        }
        return reports;
      }
      if (answer.status !== QueryStatus.Running && answer.status !== QueryStatus.Scheduled) {
        throw new CliError(`the Logs Insights query of the gateway's status ended ${answer.status}`);
      }
      if (Date.now() > deadline) {
        throw new CliError(
          `the Logs Insights query of the gateway's status did not finish in ${QUERY_TIMEOUT_MS / 1000} s`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, QUERY_POLL_MS));
    }
  }
}
