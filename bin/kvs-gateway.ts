#!/usr/bin/env node
import { processIo, runKvsGatewayCli } from '../lib/cli/kvs-gateway-cli';

runKvsGatewayCli(process.argv.slice(2), processIo()).then(
  (exitCode) => {
    process.exitCode = exitCode;
  },
  (error: unknown) => {
    console.error(
      `kvs-gateway: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
    process.exitCode = 1;
  },
);
