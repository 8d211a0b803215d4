import { showUnquoted } from '../shown-value';

/**
 * Turns AWS SDK errors into sentences a user can act on. Every command passes what it was doing
 * (the IAM action and the resource) so that the sentence can name them even when the service's
 * message does not.
 */

/** An error whose message is meant for the user as it is; the CLI prints it and exits non-zero. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export interface AwsCall {
  /** The IAM action, e.g. `ssm:PutParameter`. */
  readonly action: string;
  /** What the call was about, for the sentence: `parameter /kvs-gateway/cameras/lobby`. */
  readonly resource: string;
  readonly region?: string;
  /** Where the credentials come from (`profile "ops" (AWS_PROFILE)`), for the sentences about them. */
  readonly credentialSource?: string;
}

/** How many attempts the SDK makes (standard retry mode, backing off) before a throttled call fails. */
export const MAX_ATTEMPTS = 5;

interface SdkError {
  name?: string;
  message?: string;
  code?: string;
  /** The endpoint the failed request went to (recordEndpointOnError). */
  $endpoint?: string;
  $metadata?: { httpStatusCode?: number; attempts?: number };
  $retryable?: { throttling?: boolean };
}

const THROTTLING_ERRORS = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'ClientLimitExceededException',
  'RequestLimitExceeded',
  'TooManyUpdates',
]);

const ACCESS_DENIED_ERRORS = new Set([
  'AccessDeniedException',
  'AccessDenied',
  'NotAuthorizedException',
  'UnrecognizedClientException',
]);

/** `User: arn:... is not authorized to perform: ssm:PutParameter on resource: arn:...` */
const NOT_AUTHORIZED_MESSAGE =
  /not authorized to perform:?\s+([\w-]+:[\w*-]+)\s+on resource:?\s+(\S+?)(?:\s|$)/i;

/** Errors of a request that got no answer: the connection was never made, or nothing came back. */
const NO_ANSWER_CODES = new Set([
  'ETIMEDOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

function noAnswerSentence(error: SdkError, call: AwsCall): string | undefined {
  const code = error.code ?? '';
  if (!isNoAnswer(error)) return undefined;
  const endpoint = error.$endpoint ?? 'the AWS endpoint';
  const attempts = error.$metadata?.attempts ?? 1;
  const what =
    code === 'ECONNREFUSED'
      ? `${endpoint} refused the connection`
      : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
        ? `cannot resolve the host of ${endpoint}`
        : `no answer from ${endpoint} (${code === 'ECONNRESET' || code === 'EPIPE' ? 'connection reset' : `timed out after ${(error.message ?? '').match(/(\d+) ?ms/)?.[1] ?? '?'} ms`})`;
  return (
    `${what} after ${attempts} attempt(s), during ${call.action} on ${call.resource}: ` +
    'check your network, proxy and firewall, and any AWS_ENDPOINT_URL* variable'
  );
}

/** Whether the error is one of a request that got no answer (an endpoint down, hanging or unknown). */
export function isNoAnswer(error: unknown): boolean {
  const sdkError = (error ?? {}) as SdkError;
  return sdkError.name === 'TimeoutError' || NO_ANSWER_CODES.has(sdkError.code ?? '');
}

export function describeAwsError(error: unknown, call: AwsCall): string {
  if (error instanceof CliError) return error.message;
  const sdkError = (error ?? {}) as SdkError;
  const name = sdkError.name ?? '';
  // As any other text that came from outside: a URL's password hidden, nothing a terminal would act on.
  const message = showUnquoted((sdkError.message ?? String(error)).trim());
  const where = call.region ? ` in ${call.region}` : '';
  const credentials = call.credentialSource ? ` (${call.credentialSource})` : '';

  const noAnswer = noAnswerSentence(sdkError, call);
  if (noAnswer) return noAnswer;
  if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(message)) {
    return (
      `no AWS credentials found${credentials}: run "aws configure" (or "aws sso login"), set AWS_PROFILE, ` +
      'or pass --profile <name>'
    );
  }
  if (/Region is missing/i.test(message)) {
    return 'no AWS region: pass --region <region>, set AWS_REGION, or set a region in your AWS profile';
  }
  if (name === 'ExpiredTokenException' || name === 'ExpiredToken') {
    return `your AWS session has expired${credentials}: sign in again ("aws sso login" or refresh your credentials)`;
  }
  if (
    name === 'UnrecognizedClientException' ||
    name === 'InvalidSignatureException' ||
    name === 'InvalidClientTokenId' ||
    name === 'SignatureDoesNotMatch'
  ) {
    return `AWS did not accept your credentials${credentials} (${name})${where}: check the access key or profile, and that the region is enabled for your account`;
  }
  if (ACCESS_DENIED_ERRORS.has(name) || sdkError.$metadata?.httpStatusCode === 403) {
    const denied = NOT_AUTHORIZED_MESSAGE.exec(message);
    const action = denied?.[1] ?? call.action;
    const resource = denied?.[2]?.replace(/[.,]$/, '') ?? call.resource;
    const kms =
      /kms/i.test(message) && !denied ? ' (the KMS key policy may not allow you to use the key)' : '';
    return `access denied: you are not allowed ${action} on ${resource}${where}${kms}; ask for that permission in your IAM policy`;
  }
  if (THROTTLING_ERRORS.has(name) || sdkError.$retryable?.throttling) {
    const attempts = sdkError.$metadata?.attempts ?? MAX_ATTEMPTS;
    return `AWS throttled ${call.action} on ${call.resource} (${name}) and it still failed after ${attempts} attempts with backoff: try again in a minute`;
  }
  return `${call.action} on ${call.resource}${where} failed: ${name ? `${name}: ` : ''}${message}`;
}

/**
 * Runs one AWS call and rethrows any failure as a CliError with the sentence for it; `known` gives
 * the sentence for the errors that mean something particular to this call (ParameterNotFound).
 */
export async function awsCall<T>(
  call: AwsCall,
  run: () => Promise<T>,
  known: Readonly<Record<string, string>> = {},
): Promise<T> {
  try {
    return await run();
  } catch (error) {
    // A sentence already made (the call's own wrapper may make one) passes as it is, class and all.
    if (error instanceof CliError) throw error;
    const name = errorName(error);
    if (name !== undefined && Object.hasOwn(known, name)) throw new CliError(known[name]);
    throw new CliError(describeAwsError(error, call));
  }
}

/**
 * SDK middleware (finalizeRequest step, outside the retries): notes on a failed call's error the
 * endpoint its request went to, so that "no answer" can name it.
 */
export const recordEndpointOnError =
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  (next: (args: any) => Promise<any>) =>
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async (args: any) => {
      try {
        return await next(args);
      } catch (error) {
        const request = args.request as { protocol?: string; hostname?: string; port?: number } | undefined;
        if (request?.hostname && typeof error === 'object' && error !== null) {
          const port = request.port ? `:${request.port}` : '';
          (error as SdkError).$endpoint = `${request.protocol ?? 'https:'}//${request.hostname}${port}`;
        }
        throw error;
      }
    };

export function errorName(error: unknown): string | undefined {
  return (error as SdkError | undefined)?.name;
}
