#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { loadGatewayConfig, DEFAULT_CONFIG_FILE, GatewayConfigError } from '../lib/config';

const app = new App();
const configFile = (app.node.tryGetContext('config') as string | undefined) ?? DEFAULT_CONFIG_FILE;
try {
  loadGatewayConfig(configFile);
} catch (error) {
  if (error instanceof GatewayConfigError) {
    console.error(error.message);
    process.exit(1);
  }
  throw error;
}
app.synth();
