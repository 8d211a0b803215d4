#!/usr/bin/env bash
# npm run synth [-- cdk synth options]: synthesizes every stack and fails on any unacknowledged
# security finding. Options go to cdk synth, e.g. npm run synth -- -c config=site2.json
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh node
npx cdk synth --quiet "$@"
node scripts/check-validation-report.js
