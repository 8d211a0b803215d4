#!/usr/bin/env bash
# npm run synth [-- cdk synth options]: synthesizes every stack and fails on any unacknowledged
# security finding, or when the config leaves a gateway out. Options go to cdk synth, e.g.
# npm run synth -- -c config=site2.json; npm run synth -- Ec2GatewayStack synthesizes one gateway.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh node
# The config first: its problems, and a gateway it leaves out, said without cdk's lines around them.
node --import tsx scripts/check-synth-config.ts "$@"
npx cdk synth --quiet "$@"
node scripts/check-validation-report.js
