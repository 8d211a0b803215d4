import { GetParametersByPathCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import {
  ACCOUNT,
  KNOWN_ACCESS_KEY,
  KNOWN_SECRET_KEY,
  startAwsStandIn,
  type AwsStandIn,
} from '../support/cli-aws-stand-ins';

/** The CLI's AWS stand-ins check signatures as AWS does: the real SDK clients, signed well and badly. */
let aws: AwsStandIn;
beforeAll(async () => {
  aws = await startAwsStandIn();
});
afterAll(async () => aws.close());

function clients(accessKeyId: string, secretAccessKey: string) {
  const options = {
    endpoint: aws.endpoint,
    region: 'eu-west-1',
    credentials: { accessKeyId, secretAccessKey },
  };
  return { sts: new STSClient(options), ssm: new SSMClient({ ...options, maxAttempts: 1 }) };
}

test('requests signed with the known key are answered', async () => {
  const { sts, ssm } = clients(KNOWN_ACCESS_KEY, KNOWN_SECRET_KEY);
  await expect(sts.send(new GetCallerIdentityCommand({}))).resolves.toMatchObject({ Account: ACCOUNT });
  await ssm.send(
    new PutParameterCommand({ Name: '/kvs-gateway/cameras/a b/url', Value: 'x', Type: 'SecureString' }),
  );
  const found = await ssm.send(new GetParametersByPathCommand({ Path: '/kvs-gateway/cameras/a b' }));
  expect(found.Parameters?.map((parameter) => parameter.Name)).toEqual(['/kvs-gateway/cameras/a b/url']);
});

test('a wrong secret gets SignatureDoesNotMatch, an unknown key id the error each service gives', async () => {
  const wrongSecret = clients(KNOWN_ACCESS_KEY, `${KNOWN_SECRET_KEY}x`);
  await expect(wrongSecret.sts.send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({
    name: 'SignatureDoesNotMatch',
  });
  await expect(
    wrongSecret.ssm.send(new GetParametersByPathCommand({ Path: '/kvs-gateway/cameras' })),
  ).rejects.toMatchObject({ name: 'SignatureDoesNotMatch' });

  const unknownKey = clients('AKIAUNKNOWNEXAMPLE00', KNOWN_SECRET_KEY);
  await expect(unknownKey.sts.send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({
    name: 'InvalidClientTokenId',
  });
  await expect(
    unknownKey.ssm.send(new GetParametersByPathCommand({ Path: '/kvs-gateway/cameras' })),
  ).rejects.toMatchObject({ name: 'UnrecognizedClientException' });
});
