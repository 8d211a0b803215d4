import * as fs from 'node:fs';
import { configFileName, DEFAULT_CONFIG_FILE, GatewayConfigError, loadGatewayConfig } from '../lib/config';
import { gatewaysLeftOut } from '../lib/shards';
import { STACK_IDS } from '../lib/site-names';

/**
 * npm run synth's first step, given the options npm run synth passes to cdk synth: the config is
 * checked before cdk runs (a failing app would end every message with cdk's "Subprocess exited with
 * error 1"), and a gateway the config does not fit fails the command, which promises every stack.
 * Naming the stacks to synthesize (npm run synth -- Ec2GatewayStack) chooses the gateway you deploy.
 */

/** The `config` context as cdk reads it: -c/--context on the command line, then cdk.json. */
function configFromArguments(args: readonly string[]): string {
  for (let i = 0; i < args.length; i++) {
    const inline = /^(?:-c|--context)=(.*)$/.exec(args[i])?.[1];
    const value = inline ?? (['-c', '--context'].includes(args[i]) ? args[i + 1] : undefined);
    if (value?.startsWith('config=')) return value.slice('config='.length);
  }
  const cdkJson = JSON.parse(fs.readFileSync('cdk.json', 'utf8')) as { context?: { config?: string } };
  return cdkJson.context?.config ?? DEFAULT_CONFIG_FILE;
}

function main(args: readonly string[]): number {
  const file = configFromArguments(args);
  let config;
  try {
    config = loadGatewayConfig(file);
  } catch (error) {
    if (!(error instanceof GatewayConfigError)) throw error;
    console.error(error.message);
    return 1;
  }
  const gateways: string[] = [STACK_IDS.ec2Gateway, STACK_IDS.fargateGateway];
  const named = args.filter((arg) => (Object.values(STACK_IDS) as string[]).includes(arg));
  const wanted = named.some((stack) => gateways.includes(stack)) ? named : gateways;
  const leftOut = gatewaysLeftOut(config).filter((gateway) => wanted.includes(gateway.stackId));
  for (const gateway of leftOut) {
    const other = gateways.find((stack) => stack !== gateway.stackId)!;
    console.error(
      `${gateway.stackId} cannot be synthesized: ${configFileName(file)} does not fit it:\n` +
        `${gateway.problems.map((problem) => `  - ${problem}`).join('\n')}\n` +
        `Fix the config, or synthesize only the gateway you deploy: npm run synth -- ${other}`,
    );
  }
  return leftOut.length > 0 ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
