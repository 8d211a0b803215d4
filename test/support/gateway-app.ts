import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, NestedStack, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { GatewayConfig, validateGatewayConfig } from '../../lib/config';
import { parseConfigText } from '../../lib/config-text';
import { createGatewayStacks, GatewayStacks } from '../../lib/gateway-app';

const projectRoot = path.join(__dirname, '..', '..');
/** The feature flags the CDK CLI passes from cdk.json, so that tests synthesize what `cdk synth` does. */
const cdkJsonContext = JSON.parse(fs.readFileSync(path.join(projectRoot, 'cdk.json'), 'utf8')).context;

/** The sample config as parsed from its text (JSON with comments), untyped like JSON.parse's result. */
export const sampleConfigJson = parseConfigText(
  fs.readFileSync(path.join(projectRoot, 'gateway.config.json'), 'utf8'),
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
).value as any;

/** The sample config with `changes` merged over its top-level keys. */
export function configWith(changes: Record<string, unknown> = {}): GatewayConfig {
  return validateGatewayConfig({ ...sampleConfigJson, ...changes });
}

export interface SynthesizedGatewayApp extends GatewayStacks {
  readonly app: App;
  readonly outdir: string;
}

/** The app of a config that fits both gateways: both compute stacks are there. */
export interface WholeGatewayApp extends SynthesizedGatewayApp {
  readonly ec2Gateway: NonNullable<GatewayStacks['ec2Gateway']>;
  readonly fargateGateway: NonNullable<GatewayStacks['fargateGateway']>;
}

const cloudAssemblyDirs: string[] = [];
// Jest ends its workers without an "exit" event: the folders go when the test file's tests are done.
afterAll(() => {
  for (const dir of cloudAssemblyDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/**
 * An app with cdk.json's context whose cloud assembly goes to a temporary folder removed when the test
 * file's tests are done (an app without an outdir leaves a cdk.outXXXXXX folder in /tmp for good).
 */
export function temporaryApp(): App {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvs-gateway-cdk-'));
  cloudAssemblyDirs.push(outdir);
  return new App({ context: cdkJsonContext, outdir });
}

/** Builds the gateway app in a temporary cloud assembly folder (synth happens when asked). */
export function buildPartialGatewayApp(config: GatewayConfig = configWith()): SynthesizedGatewayApp {
  const app = temporaryApp();
  return { app, outdir: app.outdir, ...createGatewayStacks(app, config) };
}

/** Builds the whole gateway app; fails the test when the config does not fit one of the gateways. */
export function buildGatewayApp(config: GatewayConfig = configWith()): WholeGatewayApp {
  const gateway = buildPartialGatewayApp(config);
  if (!gateway.ec2Gateway || !gateway.fargateGateway) {
    throw new Error(`a gateway is left out: ${JSON.stringify(gateway.leftOut)}`);
  }
  return gateway as WholeGatewayApp;
}

/** The nested stacks of a stack (its shards, its stream groups), in construct order. */
export function nestedStacksOf(stack: Stack): NestedStack[] {
  return stack.node.children.filter(
    (child): child is NestedStack => child instanceof Stack && child.nested,
  ) as NestedStack[];
}

/**
 * One template holding a stack's resources and those of its nested stacks, each nested resource's
 * logical id prefixed with its nested stack's id (`Shard2.Service…`), for assertions over a whole
 * gateway. References inside a nested stack keep their own ids: follow them in `Template.fromStack(shard)`.
 */
export function mergedTemplate(stack: Stack): Template {
  const parent = Template.fromStack(stack).toJSON();
  const resources = { ...parent.Resources };
  const outputs = { ...(parent.Outputs ?? {}) };
  for (const nested of nestedStacksOf(stack)) {
    const template = Template.fromStack(nested).toJSON();
    for (const [id, resource] of Object.entries(template.Resources ?? {})) {
      resources[`${nested.node.id}.${id}`] = resource;
    }
    for (const [id, output] of Object.entries(template.Outputs ?? {}))
      outputs[`${nested.node.id}.${id}`] = output;
  }
  return Template.fromJSON(
    { ...parent, Resources: resources, Outputs: outputs },
    { skipCyclicalDependenciesCheck: true },
  );
}
