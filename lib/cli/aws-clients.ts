import { KinesisVideoClient } from '@aws-sdk/client-kinesis-video';
import { KinesisVideoArchivedMediaClient } from '@aws-sdk/client-kinesis-video-archived-media';
import { SSMClient } from '@aws-sdk/client-ssm';
import { CliError, MAX_ATTEMPTS, describeAwsError, errorName } from './aws-errors';

export interface AwsOptions {
  /** --region; otherwise AWS_REGION, AWS_DEFAULT_REGION, then the profile's region, like the AWS CLI. */
  readonly region?: string;
  /** --profile; otherwise the SDK reads AWS_PROFILE and the shared config files itself. */
  readonly profile?: string;
}

/** The SDK clients a command uses, all in one region with one profile and one retry policy. */
export interface AwsClients {
  readonly region: string;
  readonly ssm: SSMClient;
  readonly kinesisVideo: KinesisVideoClient;
  /** GetHLSStreamingSessionURL must go to the stream's data endpoint (from GetDataEndpoint). */
  archivedMedia(dataEndpoint: string): KinesisVideoArchivedMediaClient;
  /** Resolves the credentials through the provider chain; throws a CliError when there are none. */
  checkCredentials(): Promise<void>;
}

export async function createAwsClients(
  options: AwsOptions,
  env: NodeJS.ProcessEnv = process.env,
): Promise<AwsClients> {
  const shared = {
    ...(options.profile ? { profile: options.profile } : {}),
    maxAttempts: MAX_ATTEMPTS,
    retryMode: 'standard',
  };
  const explicitRegion =
    nonEmpty(options.region) ?? nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION);
  const probe = new SSMClient({ ...shared, ...(explicitRegion ? { region: explicitRegion } : {}) });
  let region: string;
  try {
    region = await probe.config.region();
  } catch {
    region = '';
  }
  if (!region) {
    throw new CliError(
      `no AWS region: pass --region <region>, set AWS_REGION, or set a region in your AWS profile${options.profile ? ` "${options.profile}"` : ''}`,
    );
  }
  const config = { ...shared, region };
  const ssm = explicitRegion === region ? probe : new SSMClient(config);
  return {
    region,
    ssm,
    kinesisVideo: new KinesisVideoClient(config),
    archivedMedia: (dataEndpoint) =>
      new KinesisVideoArchivedMediaClient({ ...config, endpoint: dataEndpoint }),
    checkCredentials: async () => {
      try {
        await ssm.config.credentials();
      } catch (error) {
        if (options.profile && errorName(error) === 'CredentialsProviderError') {
          throw new CliError(
            `no AWS credentials for profile "${options.profile}": check that ~/.aws/config or ~/.aws/credentials defines it, or sign in with "aws sso login --profile ${options.profile}"`,
          );
        }
        throw new CliError(
          describeAwsError(error, { action: 'sts:GetCallerIdentity', resource: 'your identity' }),
        );
      }
    },
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}
