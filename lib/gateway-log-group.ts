import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';

export interface GatewayLogGroupProps {
  /** What the key encrypts, for the key's description. */
  readonly keyDescription: string;
  readonly retentionDays: number;
}

export interface GatewayLogs {
  readonly logGroup: logs.LogGroup;
  /** The group's key: the stack's other logs (the image build's) are encrypted with it too. */
  readonly key: kms.Key;
}

/**
 * The compute stack's log group, encrypted with a key of its own. Both go with the stack: they hold
 * pipeline logs, not video, and the logs' retention is already the user's choice.
 */
export function createGatewayLogGroup(stack: Stack, props: GatewayLogGroupProps): GatewayLogs {
  const logKey = new kms.Key(stack, 'LogKey', {
    description: props.keyDescription,
    enableKeyRotation: true,
    removalPolicy: RemovalPolicy.DESTROY,
    pendingWindow: Duration.days(7),
  });
  const logGroup = new logs.LogGroup(stack, 'Logs', {
    retention: props.retentionDays as logs.RetentionDays,
    encryptionKey: logKey,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  // CloudWatch Logs encrypts with the key on its own behalf, only for this account's log groups in this region.
  logKey.addToResourcePolicy(
    new iam.PolicyStatement({
      principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
      actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
      resources: ['*'],
      conditions: {
        ArnLike: {
          'kms:EncryptionContext:aws:logs:arn': stack.formatArn({
            service: 'logs',
            resource: 'log-group',
            resourceName: '*',
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        },
      },
    }),
  );
  return { logGroup, key: logKey };
}
