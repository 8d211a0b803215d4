#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { configFileName, DEFAULT_CONFIG_FILE, GatewayConfigError, loadGatewayConfig } from '../lib/config';
import { createGatewayStacks } from '../lib/gateway-app';

const app = new App();
const configFile = (app.node.tryGetContext('config') as string | undefined) ?? DEFAULT_CONFIG_FILE;
try {
  const { leftOut } = createGatewayStacks(app, loadGatewayConfig(configFile));
  for (const gateway of leftOut) {
    console.error(
      `note: ${gateway.stackId} is left out: ${configFileName(configFile)} does not fit it (the other stacks are not affected):\n${gateway.problems.map((p) => `  - ${p}`).join('\n')}`,
    );
  }
} catch (error) {
  if (!(error instanceof GatewayConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}
app.synth();
