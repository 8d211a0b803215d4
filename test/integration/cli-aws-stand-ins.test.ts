import { GetProductsCommand, PricingClient } from '@aws-sdk/client-pricing';
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

const options = (accessKeyId: string, secretAccessKey: string) => ({
  endpoint: aws.endpoint,
  region: 'us-east-1',
  maxAttempts: 1,
  credentials: { accessKeyId, secretAccessKey },
});
const sts = (key: string, secret: string) => new STSClient(options(key, secret));
const pricing = (key: string, secret: string) => new PricingClient(options(key, secret));

test('requests signed with the known key are answered, and recorded', async () => {
  await expect(
    sts(KNOWN_ACCESS_KEY, KNOWN_SECRET_KEY).send(new GetCallerIdentityCommand({})),
  ).resolves.toMatchObject({ Account: ACCOUNT });
  expect(aws.requestRecords).toEqual([
    { accessKeyId: KNOWN_ACCESS_KEY, service: 'sts', operation: 'GetCallerIdentity', authorizations: [] },
  ]);
});

test('a wrong secret gets SignatureDoesNotMatch, an unknown key id the error each service gives; neither is recorded', async () => {
  const recorded = aws.requestRecords.length;
  const products = new GetProductsCommand({ ServiceCode: 'AmazonEC2' });
  await expect(
    sts(KNOWN_ACCESS_KEY, `${KNOWN_SECRET_KEY}x`).send(new GetCallerIdentityCommand({})),
  ).rejects.toMatchObject({ name: 'SignatureDoesNotMatch' });
  await expect(
    sts('AKIAUNKNOWNEXAMPLE00', KNOWN_SECRET_KEY).send(new GetCallerIdentityCommand({})),
  ).rejects.toMatchObject({ name: 'InvalidClientTokenId' });
  await expect(pricing(KNOWN_ACCESS_KEY, `${KNOWN_SECRET_KEY}x`).send(products)).rejects.toMatchObject({
    name: 'SignatureDoesNotMatch',
  });
  await expect(pricing('AKIAUNKNOWNEXAMPLE00', KNOWN_SECRET_KEY).send(products)).rejects.toMatchObject({
    name: 'UnrecognizedClientException',
  });
  expect(aws.requestRecords).toHaveLength(recorded);
});
