import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  DeleteParameterCommand,
  GetParameterCommand,
  GetParametersByPathCommand,
  PutParameterCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { AwsStandIn, AwsStandInState } from '../support/aws-stand-ins';
import { KNOWN_ACCESS_KEY, KNOWN_SECRET_KEY, OPERATOR_KEYS } from '../support/cli-aws-stand-ins';
import { awsManagedKeyArn } from '../support/permission-check';

/**
 * The SSM stand-in (test/support/aws-stand-ins/ssm.py) answers the CLI's calls as SSM does, through the
 * SDK's own client signed with the operator's keys: PutParameter, GetParametersByPath in pages, DeleteParameter,
 * with what IAM authorizes for each; and refuses what AWS refuses. The gateway's reads are tested with its
 * scripts (test/userdata/).
 */

const ACCOUNT = '111122223333';
const REGION = 'eu-west-1';
let dir: string;
let state: AwsStandInState;
let standIn: AwsStandIn;

function client(accessKeyId = KNOWN_ACCESS_KEY, secretAccessKey = KNOWN_SECRET_KEY): SSMClient {
  return new SSMClient({
    endpoint: standIn.url,
    region: REGION,
    maxAttempts: 1,
    credentials: { accessKeyId, secretAccessKey },
  });
}

const parameterArn = (name: string) => `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter${name}`;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvs-ssm-stand-in-'));
  state = new AwsStandInState(dir);
  state.setAccount(ACCOUNT);
  state.acceptKeys(OPERATOR_KEYS);
  standIn = await AwsStandIn.start('ssm', state);
});

afterAll(async () => {
  await standIn?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  state.setParameters({});
  fs.rmSync(path.join(dir, 'aws-requests.jsonl'), { force: true });
});

test('PutParameter stores a new version only with Overwrite; KMS encrypts a SecureString with the key named, else aws/ssm', async () => {
  const ssm = client();
  const name = '/kvs-gateway/cameras/front-door';
  const put = (Value: string, extra: { Overwrite?: boolean; KeyId?: string } = {}) =>
    ssm.send(new PutParameterCommand({ Name: name, Value, Type: 'SecureString', ...extra }));

  await expect(put('rtsp://one')).resolves.toMatchObject({ Version: 1 });
  await expect(put('rtsp://two')).rejects.toMatchObject({ name: 'ParameterAlreadyExists' });
  await expect(put('rtsp://three', { Overwrite: true, KeyId: 'alias/cameras' })).resolves.toMatchObject({
    Version: 2,
  });

  expect(state.parameters()[name]).toMatchObject({
    Type: 'SecureString',
    Value: 'rtsp://three',
    Version: 2,
    KeyId: `arn:aws:kms:${REGION}:${ACCOUNT}:alias/cameras`,
  });
  const encrypt = state
    .requestRecords()
    .map((record) => record.authorizations.find((a) => a.action === 'kms:Encrypt')?.resource);
  expect(encrypt).toEqual([
    awsManagedKeyArn(ACCOUNT, REGION, 'aws/ssm'),
    awsManagedKeyArn(ACCOUNT, REGION, 'aws/ssm'),
    `arn:aws:kms:${REGION}:${ACCOUNT}:alias/cameras`,
  ]);
  const decrypted = await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
  expect(decrypted.Parameter).toMatchObject({ Value: 'rtsp://three', Version: 2, ARN: parameterArn(name) });
  expect(decrypted.Parameter?.LastModifiedDate).toBeInstanceOf(Date);
});

test('GetParametersByPath: one level below the path unless Recursive, 10 a page, SecureStrings decrypted when asked', async () => {
  const names = Array.from(
    { length: 12 },
    (_, i) => `/kvs-gateway/cameras/camera-${String(i).padStart(2, '0')}`,
  );
  for (const name of names) state.putParameter(name, `rtsp://${name}`);
  state.putParameter('/kvs-gateway/cameras/deeper/one', 'rtsp://deeper', 'String');
  state.putParameter('/kvs-gateway/camera-list', '[]', 'String');
  const ssm = client();
  const read = (extra: { NextToken?: string; Recursive?: boolean; WithDecryption?: boolean } = {}) =>
    ssm.send(new GetParametersByPathCommand({ Path: '/kvs-gateway/cameras', ...extra }));

  const first = await read({ WithDecryption: true });
  const second = await read({ WithDecryption: true, NextToken: first.NextToken });
  const recursive = await read({ Recursive: true, NextToken: (await read({ Recursive: true })).NextToken });
  const encrypted = await read();

  expect([first.Parameters?.length, second.Parameters?.length, second.NextToken]).toEqual([10, 2, undefined]);
  expect([...first.Parameters!, ...second.Parameters!].map((p) => [p.Name, p.Value])).toEqual(
    names.map((name) => [name, `rtsp://${name}`]),
  );
  expect(recursive.Parameters?.map((p) => p.Name)).toEqual([
    ...names.slice(10),
    '/kvs-gateway/cameras/deeper/one',
  ]);
  expect(encrypted.Parameters?.[0].Value).not.toContain('rtsp://');
  // The path's ARN, and the key of each SecureString decrypted (10 on the first page, none without decryption).
  const [firstRecord, , , , encryptedRecord] = state.requestRecords();
  expect(firstRecord.authorizations.map((a) => `${a.action} ${a.resource}`)).toEqual([
    `ssm:GetParametersByPath ${parameterArn('/kvs-gateway/cameras')}`,
    ...Array(10).fill(`kms:Decrypt ${awsManagedKeyArn(ACCOUNT, REGION, 'aws/ssm')}`),
  ]);
  expect(firstRecord.authorizations[1].context).toMatchObject({
    'kms:EncryptionContext:PARAMETER_ARN': parameterArn(names[0]),
  });
  expect(encryptedRecord.authorizations).toHaveLength(1);
});

test('DeleteParameter removes a parameter; a missing one is ParameterNotFound', async () => {
  state.putParameter('/kvs-gateway/cameras/lobby', 'rtsp://lobby');
  const ssm = client();

  await ssm.send(new DeleteParameterCommand({ Name: '/kvs-gateway/cameras/lobby' }));
  await expect(
    ssm.send(new DeleteParameterCommand({ Name: '/kvs-gateway/cameras/lobby' })),
  ).rejects.toMatchObject({
    name: 'ParameterNotFound',
  });
  expect(state.parameters()).toEqual({});
  expect(state.requestRecords().map((r) => r.authorizations.map((a) => `${a.action} ${a.resource}`))).toEqual(
    [
      [`ssm:DeleteParameter ${parameterArn('/kvs-gateway/cameras/lobby')}`],
      [`ssm:DeleteParameter ${parameterArn('/kvs-gateway/cameras/lobby')}`],
    ],
  );
});

test('a wrong secret gets SignatureDoesNotMatch, an unknown key id UnrecognizedClientException; neither is recorded', async () => {
  const byPath = new GetParametersByPathCommand({ Path: '/kvs-gateway/cameras' });

  await expect(client(KNOWN_ACCESS_KEY, `${KNOWN_SECRET_KEY}x`).send(byPath)).rejects.toMatchObject({
    name: 'SignatureDoesNotMatch',
  });
  await expect(client('AKIAUNKNOWNEXAMPLE00').send(byPath)).rejects.toMatchObject({
    name: 'UnrecognizedClientException',
  });
  expect(state.requestRecords()).toEqual([]);
});
