import { STAND_IN_CREDENTIALS } from '../../../support/aws-stand-ins';
import { describeFindings, PermissionCheck } from '../../../support/permission-check';
import { BoxEnvironment } from '../box-environment';

/**
 * What the instance role allows that no request of the box used, and why it stays: each grant left
 * unused must match one of these, or the test fails (a new permission nobody uses is a finding).
 */
const KEPT_UNUSED: readonly { readonly grant: RegExp; readonly reason: string }[] = [
  {
    grant:
      /: (kinesisvideo:(DescribeStream|GetDataEndpoint|PutMedia) on .*:stream\/|kms:GenerateDataKey on )/,
    reason:
      "kvssink's: the box's cameras write files (no kvssink in CI); the real kvssink's requests are judged by test/permission-fixtures.test.ts",
  },
  {
    grant: /: logs:(CreateLogStream|PutLogEvents) on /,
    reason:
      "Fluent Bit's: no Fluent Bit in CI; the real Fluent Bit's requests are judged by test/permission-fixtures.test.ts",
  },
  {
    grant: /: (ssm:UpdateInstanceInformation|ssmmessages:\w+) on /,
    reason: "Session Manager's agent (shell access without SSH): Ubuntu's image runs it, the box does not",
  },
];

export function permissions(env: BoxEnvironment): void {
  test('every AWS request of the box is allowed by the instance role of the deploy in force; what stays unused is known', async () => {
    const records = env.aws.requestRecords();
    const unusedByDeploy: string[][] = [];
    const findings: string[] = [];
    for (const [generation, deploy] of env.deploys.entries()) {
      const check = new PermissionCheck(
        deploy.deployment,
        new Map([[STAND_IN_CREDENTIALS.AccessKeyId, { role: deploy.instanceRole }]]),
      );
      const report = await check.judge(records.filter((r) => (r.generation ?? 0) === generation));
      findings.push(...describeFindings(report.findings));
      unusedByDeploy.push(report.unused);
      env.figure(
        `deploy ${generation}: ${report.judged} authorizations judged, ${report.findings.length} denied`,
      );
    }
    expect(findings).toEqual([]);
    // The first deploy's role served the whole install and most of the run: what it left unused.
    const unused = unusedByDeploy[0];
    env.figure(`unused by the box (${unused.length}):\n    ${unused.join('\n    ')}`);
    expect(unused.filter((grant) => !KEPT_UNUSED.some((kept) => kept.grant.test(grant)))).toEqual([]);
    expect(records.map((r) => `${r.service} ${r.operation}`)).toEqual(
      expect.arrayContaining([
        's3 GetObject',
        'cloudformation SignalResource',
        'ssm GetParameter',
        'ssm GetParameters',
      ]),
    );
  });
}
