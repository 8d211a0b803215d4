import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { KinesisVideoClient } from '@aws-sdk/client-kinesis-video';
import { KinesisVideoArchivedMediaClient } from '@aws-sdk/client-kinesis-video-archived-media';
import { PricingClient } from '@aws-sdk/client-pricing';
import { SSMClient } from '@aws-sdk/client-ssm';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { loadSharedConfigFiles } from '@smithy/core/config';
import { StandardRetryStrategy } from '@smithy/core/retry';
import type { RetryErrorInfo, RetryStrategyV2, StandardRetryToken } from '@smithy/types';
import { show, showUnquoted } from '../shown-value';
import { awsCall, CliError, MAX_ATTEMPTS, recordEndpointOnError } from './aws-errors';

/**
 * The SDK clients every command uses: one region and one profile, resolved by the SDK's own config
 * loading (the flag, then AWS_REGION / AWS_PROFILE, then ~/.aws/config, like every AWS tool), and
 * every call bounded in time, so that an endpoint that accepts and never answers ends in a sentence
 * naming it, not a hang.
 */

/** A TCP connection to an AWS endpoint that takes longer than this will not come. */
export const CONNECT_TIMEOUT_MS = 5_000;
/** The longest any one request of the CLI may take, answer included (the largest are a few KB). */
export const REQUEST_TIMEOUT_MS = 10_000;
/**
 * Attempts at a call whose endpoint did not answer (timeout, refused, reset): one retry covers a
 * blip, more would only make the user wait. Throttled calls still get MAX_ATTEMPTS with backoff.
 */
export const ATTEMPTS_WITHOUT_ANSWER = 2;

/** The Price List API answers in us-east-1 (and two other regions) for the prices of every region. */
const PRICE_LIST_REGION = 'us-east-1';

export interface AwsOptions {
  /** --region; otherwise AWS_REGION, AWS_DEFAULT_REGION, then the profile's region, like the AWS CLI. */
  readonly region?: string;
  /** --profile; otherwise AWS_PROFILE, then "default". */
  readonly profile?: string;
}

export interface CallerIdentity {
  readonly account: string;
  readonly arn: string;
}

/** The SDK clients a command uses, all with one profile, one region and one retry policy. */
export interface AwsClients {
  readonly region: string;
  /** Where the region comes from, for sentences: `AWS_REGION`, `profile "ops"`. */
  readonly regionSource: string;
  /** Where the credentials come from, for sentences: `profile "ops" (AWS_PROFILE)`. */
  readonly credentialSource: string;
  readonly ssm: SSMClient;
  readonly kinesisVideo: KinesisVideoClient;
  readonly pricing: PricingClient;
  /** The KVS metrics and the gateway's alarms (`status`). */
  readonly cloudWatch: CloudWatchClient;
  /** The gateway's logs: its status line about each camera (`status`). */
  readonly logs: CloudWatchLogsClient;
  /** ListFragments, GetClip and GetHLSStreamingSessionURL go to the stream's data endpoint (from GetDataEndpoint). */
  archivedMedia(dataEndpoint: string): KinesisVideoArchivedMediaClient;
  /** Asks STS who the credentials belong to: found credentials are not yet accepted ones. */
  checkCredentials(): Promise<CallerIdentity>;
}

class BoundedRetryStrategy implements RetryStrategyV2 {
  readonly mode = 'standard';
  private readonly standard = new StandardRetryStrategy(MAX_ATTEMPTS);

  acquireInitialRetryToken(scope: string): Promise<StandardRetryToken> {
    return this.standard.acquireInitialRetryToken(scope);
  }

  refreshRetryTokenForRetry(
    token: StandardRetryToken,
    errorInfo: RetryErrorInfo,
  ): Promise<StandardRetryToken> {
    if (errorInfo.errorType === 'TRANSIENT' && token.getRetryCount() + 1 >= ATTEMPTS_WITHOUT_ANSWER) {
      return Promise.reject(new Error('no more attempts at an endpoint that does not answer'));
    }
    return this.standard.refreshRetryTokenForRetry(token, errorInfo);
  }

  recordSuccess(token: StandardRetryToken): void {
    this.standard.recordSuccess(token);
  }
}

export async function createAwsClients(
  options: AwsOptions,
  env: NodeJS.ProcessEnv = process.env,
): Promise<AwsClients> {
  const profile = nonEmpty(options.profile) ?? nonEmpty(env.AWS_PROFILE);
  const credentialSource = describeCredentialSource(options, env);
  if (profile !== undefined) await checkProfileExists(profile, credentialSource);
  const shared = {
    ...(profile ? { profile } : {}),
    maxAttempts: MAX_ATTEMPTS,
    retryStrategy: new BoundedRetryStrategy(),
    requestHandler: {
      connectionTimeout: CONNECT_TIMEOUT_MS,
      requestTimeout: REQUEST_TIMEOUT_MS,
      throwOnRequestTimeout: true,
    },
  };
  const explicitRegion =
    nonEmpty(options.region) ?? nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION);
  // The SDK's own region chain (flag, environment, the profile in ~/.aws/config), not a copy of it.
  const probe = new SSMClient({ ...shared, ...(explicitRegion ? { region: explicitRegion } : {}) });
  let region: string;
  try {
    region = await probe.config.region();
  } catch {
    region = '';
  }
  if (!region) {
    throw new CliError(
      `no AWS region: pass --region <region>, set AWS_REGION, or set a region in ${credentialSource} ("aws configure${profile ? ` --profile ${showUnquoted(profile)}` : ''}")`,
    );
  }
  const config = { ...shared, region };
  const bounded = <T extends { middlewareStack: unknown }>(client: T): T => {
    (client.middlewareStack as SSMClient['middlewareStack']).add(recordEndpointOnError, {
      step: 'finalizeRequest',
      priority: 'high',
      name: 'recordEndpointOnError',
    });
    return client;
  };
  const ssm = bounded(new SSMClient(config));
  const sts = bounded(new STSClient(config));
  const regionSource = nonEmpty(options.region)
    ? '--region'
    : nonEmpty(env.AWS_REGION)
      ? 'AWS_REGION'
      : nonEmpty(env.AWS_DEFAULT_REGION)
        ? 'AWS_DEFAULT_REGION'
        : `profile ${show(profile ?? 'default')}`;
  return {
    region,
    regionSource,
    credentialSource,
    ssm,
    kinesisVideo: bounded(new KinesisVideoClient(config)),
    pricing: bounded(new PricingClient({ ...config, region: PRICE_LIST_REGION })),
    cloudWatch: bounded(new CloudWatchClient(config)),
    logs: bounded(new CloudWatchLogsClient(config)),
    archivedMedia: (dataEndpoint) =>
      bounded(new KinesisVideoArchivedMediaClient({ ...config, endpoint: dataEndpoint })),
    checkCredentials: async () => {
      const call = { action: 'sts:GetCallerIdentity', resource: 'your identity', region, credentialSource };
      // Finding credentials (the provider chain) and AWS accepting them (STS) fail differently.
      await awsCall(call, () => sts.config.credentials());
      const identity = await awsCall(call, () => sts.send(new GetCallerIdentityCommand({})));
      return { account: identity.Account ?? '?', arn: identity.Arn ?? '?' };
    },
  };
}

function describeCredentialSource(options: AwsOptions, env: NodeJS.ProcessEnv): string {
  if (nonEmpty(options.profile)) return `profile ${show(options.profile!.trim())} (--profile)`;
  if (nonEmpty(env.AWS_PROFILE)) return `profile ${show(env.AWS_PROFILE!.trim())} (AWS_PROFILE)`;
  if (nonEmpty(env.AWS_ACCESS_KEY_ID)) return 'the access key in AWS_ACCESS_KEY_ID';
  return 'profile "default"';
}

/** A named profile must exist: the SDK alone would only say that no credentials were found. */
async function checkProfileExists(profile: string, credentialSource: string): Promise<void> {
  const files = await loadSharedConfigFiles({ ignoreCache: true });
  if (files.configFile[profile] !== undefined || files.credentialsFile[profile] !== undefined) return;
  const known = [...new Set([...Object.keys(files.configFile), ...Object.keys(files.credentialsFile)])]
    .filter((name) => !name.includes(' '))
    .sort();
  throw new CliError(
    `AWS ${credentialSource} is in neither ~/.aws/config nor ~/.aws/credentials` +
      `${known.length > 0 ? ` (profiles there: ${known.join(', ')})` : ' (no profiles there)'}: ` +
      `create it with "aws configure --profile ${showUnquoted(profile)}" or "aws configure sso", or choose another`,
  );
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}
