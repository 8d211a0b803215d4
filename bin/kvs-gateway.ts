#!/usr/bin/env node
import { processIo, runKvsGatewayCli } from '../lib/cli/kvs-gateway-cli';

// The SDK would print a nine-line notice about Node.js versions on every command; doctor reports the
// Node.js version once, as one check, and the README says which versions are supported.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

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
