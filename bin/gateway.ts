#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { DEFAULT_CONFIG_FILE, GatewayConfigError, loadGatewayConfig } from '../lib/config';
import { createGatewayStacks } from '../lib/gateway-app';

const app = new App();
const configFile = (app.node.tryGetContext('config') as string | undefined) ?? DEFAULT_CONFIG_FILE;
try {
  createGatewayStacks(app, loadGatewayConfig(configFile));
} catch (error) {
  if (!(error instanceof GatewayConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}
app.synth();
