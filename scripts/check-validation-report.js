#!/usr/bin/env node
// Prints what the security review found in cdk.out (or the cloud assembly folder given) and fails
// when a plugin did not pass.
const fs = require('node:fs');
const path = require('node:path');

const outdir = process.argv[2] ? path.resolve(process.argv[2]) : path.join(__dirname, '..', 'cdk.out');
const report = JSON.parse(fs.readFileSync(path.join(outdir, 'validation-report.json'), 'utf8'));
const manifest = JSON.parse(fs.readFileSync(path.join(outdir, 'manifest.json'), 'utf8'));
const stacks = Object.entries(manifest.artifacts)
  .filter(([, artifact]) => artifact.type === 'aws:cloudformation:stack')
  .map(([id]) => id);
const failing = report.pluginReports.filter((plugin) => plugin.conclusion !== 'success');

console.log(
  `synthesized: ${stacks.join(', ')} (templates in ${path.relative(process.cwd(), outdir) || outdir}/)`,
);
if (failing.length > 0) {
  for (const plugin of failing) {
    for (const violation of plugin.violations) {
      console.error(`${plugin.pluginName} ${violation.ruleName}: ${violation.description}`);
    }
  }
  process.exit(1);
}
console.log('security review (cdk-nag AwsSolutions, CloudFormation validation): no unacknowledged finding');
