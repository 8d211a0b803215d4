import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
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

const cloudAssemblyDirs: string[] = [];
process.once('exit', () => {
  for (const dir of cloudAssemblyDirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** Builds the whole gateway app in a temporary cloud assembly folder (synth happens when asked). */
export function buildGatewayApp(config: GatewayConfig = configWith()): SynthesizedGatewayApp {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvs-gateway-cdk-'));
  cloudAssemblyDirs.push(outdir);
  const app = new App({ context: cdkJsonContext, outdir });
  return { app, outdir, ...createGatewayStacks(app, config) };
}
