import * as fs from 'node:fs';
import * as path from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { buildGatewayApp, configWith } from './support/gateway-app';

interface ValidationReport {
  pluginReports: { pluginName: string; conclusion: string; violations: { ruleName: string }[] }[];
}

function readValidationReport(outdir: string): ValidationReport {
  return JSON.parse(fs.readFileSync(path.join(outdir, 'validation-report.json'), 'utf8'));
}

describe('the whole gateway app under the security review', () => {
  test.each([
    ['the sample config', configWith()],
    ['IPv6 dual stack', configWith({ network: { mode: 'new', ipv6: true } })],
    [
      'an existing VPC',
      configWith({
        network: {
          mode: 'existing',
          vpcId: 'vpc-0123456789abcdef0',
          availabilityZones: ['eu-west-1a', 'eu-west-1b'],
          subnetIds: ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1'],
        },
      }),
    ],
    // The in-account image build differs by architecture (an arm64 or an x86 CodeBuild project).
    [
      'x86_64 gateways',
      configWith({
        ec2: { architecture: 'x86_64' },
        fargate: { cpu: 512, memoryMiB: 1024, camerasPerTask: 4, architecture: 'x86_64' },
      }),
    ],
    [
      'the Fargate image built by Docker on the deploying machine',
      configWith({ fargate: { imageBuild: 'local' } }),
    ],
  ])('%s synthesizes with no unacknowledged finding and no warning', (_name, config) => {
    const gateway = buildGatewayApp(config);
    const assembly = gateway.app.synth();
    const report = readValidationReport(gateway.outdir);
    expect(report.pluginReports.filter((plugin) => plugin.conclusion !== 'success')).toEqual([]);
    for (const stack of assembly.stacks) {
      expect(stack.messages.filter((message) => message.level !== 'info')).toEqual([]);
    }
    for (const stack of [gateway.network, gateway.streams, gateway.ec2Gateway, gateway.fargateGateway]) {
      Annotations.fromStack(stack).hasNoWarning('*', Match.anyValue());
      Annotations.fromStack(stack).hasNoError('*', Match.anyValue());
    }
  });

  test('the review is live: a finding in any stack fails the synth and lands in the report', () => {
    const gateway = buildGatewayApp();
    new s3.Bucket(new Stack(gateway.app, 'Unreviewed'), 'BucketWithoutAccessLogs');
    expect(() => gateway.app.synth()).toThrow(/AwsSolutions-S1/);
    const failures = readValidationReport(gateway.outdir).pluginReports.filter(
      (p) => p.conclusion === 'failure',
    );
    expect(failures.map((p) => p.pluginName)).toContain('AwsSolutions');
    expect(failures.flatMap((p) => p.violations.map((v) => v.ruleName))).toContain('AwsSolutions-S1');
  });
});
