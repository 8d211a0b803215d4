import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildGatewayApp } from './support/gateway-app';
import {
  CLOUDFORMATION_LIMITS,
  limitProblems,
  SynthesizedTemplate,
  synthesizedTemplates,
} from './support/cloud-assembly';
import { fleetConfig } from './support/fleet';

/**
 * The whole app at the sizes that matter: 1 camera, 69 (where the app stopped before nested stacks),
 * 70, 300 and 1,000 (the most one config deploys), four cameras a shard (the Fargate default). The
 * 1,000 cameras have the longest names the config allows (220 characters), so their templates are the
 * largest a config can make. Every template of both gateways, the streams and the network must be
 * within CloudFormation's limits and pass the security review. Synth time is a benchmark figure
 * (`npm run bench:synth`), not a test.
 */
jest.setTimeout(15 * 60_000);

const SIZES: [number, { nameLength?: number }][] = [
  [1, {}],
  [69, {}],
  [70, {}],
  [300, {}],
  [1000, { nameLength: 220 }],
];

describe.each(SIZES)('%i cameras', (count, options) => {
  let templates: SynthesizedTemplate[] = [];
  let validationReport: { pluginReports: { pluginName: string; conclusion: string }[] };
  const shards = Math.ceil(count / 4);

  beforeAll(() => {
    const config = fleetConfig(count, options);
    if (options.nameLength) expect(config.cameras[0].name).toHaveLength(options.nameLength);
    const gateway = buildGatewayApp(config);
    gateway.app.synth();
    templates = synthesizedTemplates(gateway.outdir);
    validationReport = JSON.parse(
      fs.readFileSync(path.join(gateway.outdir, 'validation-report.json'), 'utf8'),
    );
  });

  test(`every template is within CloudFormation's limits (${Object.entries(CLOUDFORMATION_LIMITS)
    .map(([what, limit]) => `${limit} ${what}`)
    .join(', ')})`, () => {
    expect(templates.length).toBeGreaterThan(4);
    expect(templates.flatMap(limitProblems)).toEqual([]);
  });

  test('one stream per camera, and on each gateway one nested stack per shard', () => {
    const streams = templates
      .filter((t) => t.stackId === 'StreamStack')
      .flatMap((t) =>
        Object.values(t.template.Resources as Record<string, { Type: string }>).filter(
          (r) => r.Type === 'AWS::KinesisVideo::Stream',
        ),
      );
    expect(streams).toHaveLength(count);
    for (const gateway of ['Ec2GatewayStack', 'FargateGatewayStack']) {
      expect(templates.filter((t) => t.stackId === gateway && t.nested)).toHaveLength(shards);
    }
  });

  test('the security review passes: cdk-nag and CloudFormation validation', () => {
    expect(validationReport.pluginReports.filter((plugin) => plugin.conclusion !== 'success')).toEqual([]);
    expect(validationReport.pluginReports.map((plugin) => plugin.pluginName)).toEqual(
      expect.arrayContaining(['AwsSolutions']),
    );
  });
});
