import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Authorization, AwsRequestRecord } from './permission-check';
import { checkSignature, type SignatureProblem } from './sigv4-signature';

/**
 * Local stand-ins of the AWS APIs `kvs-gateway` calls that have no other stand-in, speaking each one's real
 * wire protocol so that the real SDK, pointed here by its endpoint variables (AWS_ENDPOINT_URL_STS,
 * ..._CLOUDWATCH, ..._PRICING), does exactly what it does against AWS:
 *  - the Price List API: AWS JSON 1.1 (X-Amz-Target);
 *  - CloudWatch: AWS JSON 1.0 (GetMetricData over the datapoints it holds, DescribeAlarms);
 *  - STS: the query protocol (form body, XML answer), rejecting unknown access keys as AWS does.
 * CloudWatch holds per-minute datapoints a test puts there. The other services the CLI calls have the stand-ins
 * the gateway's tests use too: Kinesis Video Streams the KVS API stand-in (kvs-api-stand-in.ts); SSM and
 * CloudWatch Logs test/support/aws-stand-ins/ (ssm.py, logs.py), which accept the operator's keys below
 * when a test names them (`AwsStandInState.acceptKeys(OPERATOR_KEYS)`).
 * Every request must carry a valid SigV4 signature by the known key: an unknown key id gets the error
 * each service gives for it, a wrong signature SignatureDoesNotMatch. Each request it answers is recorded
 * with what IAM authorizes for it (`requestRecords`), for the permission check.
 */

export const KNOWN_ACCESS_KEY = 'AKIAIOSFODNN7EXAMPLE';
export const KNOWN_SECRET_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
export const ACCOUNT = '111122223333';
/** The operator's keys as the Python stand-ins take them (`AwsStandInState.acceptKeys`). */
export const OPERATOR_KEYS = [{ AccessKeyId: KNOWN_ACCESS_KEY, SecretAccessKey: KNOWN_SECRET_KEY }];

export interface StandInAlarm {
  readonly state: 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';
  readonly reason: string;
  readonly updated: Date;
}

export interface AwsStandIn {
  readonly endpoint: string;
  /** CloudWatch datapoints: metric key (`metricKey`) -> minute (epoch seconds) -> sum of that minute. */
  readonly metrics: Map<string, Map<number, number>>;
  /** CloudWatch alarms by name. */
  readonly alarms: Map<string, StandInAlarm>;
  /** Called before GetMetricData answers: a test brings the datapoints up to date. */
  beforeRead?: () => Promise<void>;
  /** Price List products (JSON documents) by service code. */
  readonly products: Map<string, string[]>;
  /** Every request seen, as `<service> <operation>`. */
  readonly requests: string[];
  /** Every request answered with a valid signature, with what IAM authorizes for it. */
  readonly requestRecords: AwsRequestRecord[];
  close(): Promise<void>;
}

type Reply = (status: number, body: string, headers?: Record<string, string>) => void;

export async function startAwsStandIn(): Promise<AwsStandIn> {
  const products = new Map<string, string[]>();
  const requests: string[] = [];
  const metrics = new Map<string, Map<number, number>>();
  const alarms = new Map<string, StandInAlarm>();
  const recentMetricReads: number[] = [];
  const requestRecords: AwsRequestRecord[] = [];

  const server = http.createServer((request, response) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString()));
    request.on('end', () => {
      const reply: Reply = (status, body, headers = {}) => {
        response.writeHead(status, headers);
        response.end(body);
      };
      void checkSignature(request, text, {
        accessKeyId: KNOWN_ACCESS_KEY,
        secretAccessKey: KNOWN_SECRET_KEY,
      })
        .then((problem) => answer(request, text, problem, reply))
        .catch((error: unknown) => reply(500, `stand-in failure: ${String(error)}`));
    });
  });
  const answer = (
    request: http.IncomingMessage,
    text: string,
    problem: SignatureProblem | undefined,
    reply: Reply,
  ): void | Promise<void> => {
    const record = problem ? undefined : authorizedRequest(request, text);
    if (record) requestRecords.push(record);
    const target = String(request.headers['x-amz-target'] ?? '');
    if (target.startsWith('AWSPriceListService.')) {
      requests.push(`pricing ${target.slice('AWSPriceListService.'.length)}`);
      if (problem) return jsonError(reply, 400, jsonProtocolError(problem), problem);
      const input = JSON.parse(text || '{}') as GetProductsInput;
      const list = (products.get(String(input.ServiceCode)) ?? []).filter((product) =>
        matches(product, input),
      );
      return reply(200, JSON.stringify({ FormatVersion: 'aws_v1', PriceList: list }), JSON_1_1);
    }
    if (target.startsWith('GraniteServiceVersion20100801.')) {
      const operation = target.slice('GraniteServiceVersion20100801.'.length);
      requests.push(`cloudwatch ${operation}`);
      if (problem) return jsonError(reply, 400, jsonProtocolError(problem), problem, JSON_1_0);
      return Promise.resolve(standIn.beforeRead?.()).then(() =>
        cloudWatch(operation, JSON.parse(text || '{}'), { metrics, alarms, recentMetricReads }, reply),
      );
    }
    if (/Action=GetCallerIdentity/.test(text)) {
      requests.push('sts GetCallerIdentity');
      return sts(problem, reply);
    }
    requests.push(`unknown ${request.method} ${request.url}`);
    return reply(400, `the stand-in serves STS, CloudWatch and the Price List API, not ${request.url}`);
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const standIn: AwsStandIn = {
    endpoint,
    products,
    requests,
    metrics,
    alarms,
    requestRecords,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  return standIn;
}

const JSON_1_1 = { 'Content-Type': 'application/x-amz-json-1.1' };
const JSON_1_0 = { 'Content-Type': 'application/x-amz-json-1.0' };

/** The region of a request's SigV4 credential scope. */
function signingRegion(request: http.IncomingMessage): string {
  return /Credential=[^/]+\/\d{8}\/([^/]+)\//.exec(String(request.headers.authorization))?.[1] ?? '?';
}

/** What IAM authorizes for one request, as the service reference lists it. */
function authorizedRequest(request: http.IncomingMessage, text: string): AwsRequestRecord | undefined {
  const region = signingRegion(request);
  const input = JSON.parse(text && text.startsWith('{') ? text : '{}') as Record<string, unknown>;
  const accessKeyId = /Credential=([^/]+)\//.exec(String(request.headers.authorization))?.[1] ?? '?';
  const record = (service: string, operation: string, authorizations: Authorization[]): AwsRequestRecord => ({
    accessKeyId,
    service,
    operation,
    authorizations,
  });
  const target = String(request.headers['x-amz-target'] ?? '');
  if (target.startsWith('AWSPriceListService.')) {
    const operation = target.slice('AWSPriceListService.'.length);
    return record('pricing', operation, [{ action: `pricing:${operation}`, resource: '*' }]);
  }
  if (target.startsWith('GraniteServiceVersion20100801.')) {
    const operation = target.slice('GraniteServiceVersion20100801.'.length);
    // GetMetricData has no resource-level permissions; DescribeAlarms names the alarms.
    const alarms = ((input.AlarmNames as string[] | undefined) ?? []).map(
      (name) => `arn:aws:cloudwatch:${region}:${ACCOUNT}:alarm:${name}`,
    );
    return record(
      'cloudwatch',
      operation,
      (alarms.length > 0 ? alarms : ['*']).map((resource) => ({
        action: `cloudwatch:${operation}`,
        resource,
      })),
    );
  }
  // Every identity may call sts:GetCallerIdentity: IAM authorizes nothing for it.
  if (/Action=GetCallerIdentity/.test(text)) return record('sts', 'GetCallerIdentity', []);
  return undefined;
}

interface GetProductsInput {
  readonly ServiceCode?: string;
  readonly Filters?: readonly { Type: string; Field: string; Value: string }[];
}

/** GetProducts' filters on a product's attributes (productFamily included): TERM_MATCH and CONTAINS. */
function matches(document: string, input: GetProductsInput): boolean {
  const product = (
    JSON.parse(document) as { product: { productFamily?: string; attributes: Record<string, string> } }
  ).product;
  const attributes: Record<string, string | undefined> = {
    ...product.attributes,
    productFamily: product.productFamily,
  };
  return (input.Filters ?? []).every((filter) => {
    const value = attributes[filter.Field];
    if (filter.Type === 'TERM_MATCH' || filter.Type === 'EQUALS') return value === filter.Value;
    if (filter.Type === 'CONTAINS') return value !== undefined && value.includes(filter.Value);
    return false;
  });
}

/** The error code JSON services answer a signature problem with (STS has its own). */
function jsonProtocolError(problem: SignatureProblem): string {
  return problem === 'UnknownAccessKey' ? 'UnrecognizedClientException' : problem;
}

function jsonError(reply: Reply, status: number, type: string, message: string, headers = JSON_1_1): void {
  reply(status, JSON.stringify({ __type: type, message }), headers);
}

function sts(problem: SignatureProblem | undefined, reply: Reply): void {
  const xml = { 'Content-Type': 'text/xml' };
  if (problem) {
    const code = problem === 'UnknownAccessKey' ? 'InvalidClientTokenId' : problem;
    return reply(
      403,
      '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>' +
        `<Code>${code}</Code><Message>The security token included in the request is invalid.</Message>` +
        '</Error><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>',
      xml,
    );
  }
  reply(
    200,
    '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>' +
      `<Arn>arn:aws:iam::${ACCOUNT}:user/newcomer</Arn><UserId>AIDAEXAMPLE</UserId><Account>${ACCOUNT}</Account>` +
      '</GetCallerIdentityResult><ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000001</RequestId>' +
      '</ResponseMetadata></GetCallerIdentityResponse>',
    xml,
  );
}

/** An endpoint that accepts connections and never answers: the fault every AWS call must survive. */
export async function startSilentEndpoint(): Promise<{ endpoint: string; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** The key of a metric in `AwsStandIn.metrics`: its namespace, name and dimensions. */
export function metricKey(namespace: string, name: string, dimensions: Record<string, string>): string {
  const sorted = Object.entries(dimensions).sort(([a], [b]) => a.localeCompare(b));
  return `${namespace}|${name}|${sorted.map(([key, value]) => `${key}=${value}`).join(',')}`;
}

/** GetMetricData's limits: 500 queries and 100,800 datapoints a call; 50 calls a second in an account. */
const MAX_METRIC_QUERIES = 500;
const MAX_DATAPOINTS = 100_800;
const GET_METRIC_DATA_TPS = 50;

interface MetricDataQuery {
  readonly Id: string;
  readonly MetricStat?: {
    readonly Metric: {
      readonly Namespace: string;
      readonly MetricName: string;
      readonly Dimensions?: { Name: string; Value: string }[];
    };
    readonly Period: number;
    readonly Stat: string;
  };
}

function cloudWatch(
  operation: string,
  input: Record<string, unknown>,
  state: {
    metrics: Map<string, Map<number, number>>;
    alarms: Map<string, StandInAlarm>;
    recentMetricReads: number[];
  },
  reply: Reply,
): void {
  if (operation === 'DescribeAlarms') {
    const names = (input.AlarmNames as string[] | undefined) ?? [];
    if (names.length > 100)
      return jsonError(reply, 400, 'InvalidParameterValue', 'at most 100 AlarmNames', JSON_1_0);
    const found = names.flatMap((name) => {
      const alarm = state.alarms.get(name);
      return alarm
        ? [
            {
              AlarmName: name,
              StateValue: alarm.state,
              StateReason: alarm.reason,
              StateUpdatedTimestamp: alarm.updated.getTime() / 1000,
            },
          ]
        : [];
    });
    return reply(200, JSON.stringify({ MetricAlarms: found, CompositeAlarms: [] }), JSON_1_0);
  }
  if (operation !== 'GetMetricData') {
    return jsonError(reply, 400, 'InvalidAction', `the stand-in has no ${operation}`, JSON_1_0);
  }
  const now = Date.now();
  while (state.recentMetricReads.length && now - state.recentMetricReads[0] >= 1000)
    state.recentMetricReads.shift();
  if (state.recentMetricReads.length >= GET_METRIC_DATA_TPS) {
    return jsonError(reply, 400, 'ThrottlingException', 'Rate exceeded', JSON_1_0);
  }
  state.recentMetricReads.push(now);
  const queries = (input.MetricDataQueries as MetricDataQuery[] | undefined) ?? [];
  const start = Number(input.StartTime);
  const end = Number(input.EndTime);
  if (queries.length > MAX_METRIC_QUERIES) {
    return jsonError(
      reply,
      400,
      'ValidationError',
      `at most ${MAX_METRIC_QUERIES} MetricDataQueries`,
      JSON_1_0,
    );
  }
  const points = queries.reduce((sum, query) => sum + (end - start) / (query.MetricStat?.Period ?? 60), 0);
  if (points > MAX_DATAPOINTS) {
    return jsonError(
      reply,
      400,
      'ValidationError',
      `${points} datapoints requested, at most ${MAX_DATAPOINTS}`,
      JSON_1_0,
    );
  }
  const results = queries.map((query) => {
    const stat = query.MetricStat!;
    if (stat.Stat !== 'Sum') throw new Error(`the stand-in sums; asked for ${stat.Stat}`);
    const dimensions = Object.fromEntries((stat.Metric.Dimensions ?? []).map((d) => [d.Name, d.Value]));
    const minutes = state.metrics.get(metricKey(stat.Metric.Namespace, stat.Metric.MetricName, dimensions));
    const sums = new Map<number, number>();
    for (const [minute, value] of minutes ?? []) {
      if (minute < start || minute >= end) continue;
      const bucket = start + Math.floor((minute - start) / stat.Period) * stat.Period;
      sums.set(bucket, (sums.get(bucket) ?? 0) + value);
    }
    // Newest first, as GetMetricData returns them by default (ScanBy TimestampDescending).
    const buckets = [...sums.keys()].sort((a, b) => b - a);
    return {
      Id: query.Id,
      Label: stat.Metric.MetricName,
      Timestamps: buckets,
      Values: buckets.map((bucket) => sums.get(bucket)),
      StatusCode: 'Complete',
    };
  });
  reply(200, JSON.stringify({ MetricDataResults: results, Messages: [] }), JSON_1_0);
}
