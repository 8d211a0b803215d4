import { describeAwsError } from '../../lib/cli/aws-errors';

const call = {
  action: 'ssm:PutParameter',
  resource: 'parameter /kvs-gateway/cameras/lobby',
  region: 'eu-west-1',
};
const sdkError = (name: string, message: string, $metadata: object = {}) =>
  Object.assign(new Error(message), { name, $metadata });

describe('describeAwsError', () => {
  test('no credentials', () => {
    expect(
      describeAwsError(
        sdkError('CredentialsProviderError', 'Could not load credentials from any providers'),
        call,
      ),
    ).toBe(
      'no AWS credentials found: run "aws configure" (or "aws sso login"), set AWS_PROFILE, or pass --profile <name>',
    );
  });

  test('access denied without an ARN in the message names the call itself', () => {
    expect(describeAwsError(sdkError('AccessDeniedException', 'Access denied'), call)).toBe(
      'access denied: you are not allowed ssm:PutParameter on parameter /kvs-gateway/cameras/lobby in eu-west-1; ask for that permission in your IAM policy',
    );
  });

  test('access denied by KMS says so', () => {
    const kms = sdkError(
      'AccessDeniedException',
      'User: arn:aws:iam::111122223333:user/ops is not authorized to perform: kms:GenerateDataKey on resource: arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab because no identity-based policy allows the kms:GenerateDataKey action',
    );
    expect(describeAwsError(kms, call)).toBe(
      'access denied: you are not allowed kms:GenerateDataKey on arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab in eu-west-1; ask for that permission in your IAM policy',
    );
  });

  test('expired session and rejected keys', () => {
    expect(describeAwsError(sdkError('ExpiredTokenException', 'expired'), call)).toContain(
      'your AWS session has expired',
    );
    expect(describeAwsError(sdkError('UnrecognizedClientException', 'bad token'), call)).toContain(
      'AWS did not accept your credentials (UnrecognizedClientException) in eu-west-1',
    );
  });

  test('throttling recognised by the SDK flag as well as by name', () => {
    const flagged = Object.assign(sdkError('SlowDown', 'slow down', { attempts: 5 }), {
      $retryable: { throttling: true },
    });
    expect(describeAwsError(flagged, call)).toBe(
      'AWS throttled ssm:PutParameter on parameter /kvs-gateway/cameras/lobby (SlowDown) and it still failed after 5 attempts with backoff: try again in a minute',
    );
  });

  test('anything else keeps the service message, with the call', () => {
    expect(describeAwsError(sdkError('InternalServerError', 'boom'), call)).toBe(
      'ssm:PutParameter on parameter /kvs-gateway/cameras/lobby in eu-west-1 failed: InternalServerError: boom',
    );
  });
});
