#!/usr/bin/env node
// Lints every Dockerfile in the project: dockerfile-utils (the validator behind the Docker language
// server) for syntax, flags and arguments, then a few of hadolint's rules that matter for this image and
// ShellCheck over the RUN commands (hadolint itself is not packaged for Debian or npm).
//   node scripts/lint-dockerfile.js [Dockerfile...]
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { validate, ValidationSeverity } = require('dockerfile-utils');
const { DockerfileParser } = require('dockerfile-ast');

const root = path.join(__dirname, '..');
const strict = ValidationSeverity.ERROR;
const validatorSettings = {
  deprecatedMaintainer: strict,
  directiveCasing: strict,
  emptyContinuationLine: strict,
  instructionCasing: strict,
  instructionCmdMultiple: strict,
  instructionEntrypointMultiple: strict,
  instructionHealthcheckMultiple: strict,
  instructionJSONInSingleQuotes: strict,
  instructionWorkdirRelative: strict,
};

/** The project's Dockerfiles: tracked or new, never under node_modules. */
function projectDockerfiles() {
  const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], {
    cwd: root,
    encoding: 'utf8',
  }).split('\n');
  return files.filter((file) => /(^|\/)Dockerfile[^/]*$/.test(file) && fs.existsSync(path.join(root, file)));
}

/** Replaces ${NAME} and $NAME with the global ARG defaults (those before the first FROM). */
function substituteGlobalArgs(dockerfile, text) {
  const firstFrom = dockerfile.getFROMs()[0]?.getRange().start.line ?? Infinity;
  const defaults = new Map();
  for (const arg of dockerfile.getARGs()) {
    const property = arg.getProperty();
    if (arg.getRange().start.line < firstFrom && property?.getValue()) {
      defaults.set(property.getName(), property.getValue());
    }
  }
  return text.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (whole, name) => defaults.get(name) ?? whole);
}

/** hadolint-like rules: each returns findings as [line (0-based), message]. */
function projectRules(dockerfile) {
  const findings = [];
  const stageNames = new Set();
  for (const from of dockerfile.getFROMs()) {
    const image = substituteGlobalArgs(dockerfile, from.getImage() ?? '');
    const line = from.getRange().start.line;
    if (!stageNames.has(image) && image !== 'scratch') {
      const tag = /@sha256:/.test(image) ? 'digest' : (/:([^/:]+)$/.exec(image)?.[1] ?? '');
      if (tag === '') findings.push([line, `FROM ${image}: pin the base image to a tag (DL3006)`]);
      if (tag === 'latest') findings.push([line, `FROM ${image}: do not use the "latest" tag (DL3007)`]);
    }
    if (from.getBuildStage()) stageNames.add(from.getBuildStage());
  }

  let pipefail = false;
  let lastUser;
  for (const instruction of dockerfile.getInstructions()) {
    const keyword = instruction.getKeyword();
    const line = instruction.getRange().start.line;
    const content = instruction.getArgumentsContent() ?? '';
    if (keyword === 'FROM') {
      pipefail = false;
      lastUser = undefined;
    } else if (keyword === 'SHELL') {
      pipefail = content.includes('pipefail');
    } else if (keyword === 'USER') {
      lastUser = content.trim();
    } else if (keyword === 'RUN') {
      if (/[^|]\|[^|]/.test(content) && !pipefail) {
        findings.push([
          line,
          'RUN with a pipe: set SHELL ["/bin/bash", "-o", "pipefail", "-c"] first (DL4006)',
        ]);
      }
      if (/apt-get\s+(-\S+\s+)*install/.test(content)) {
        if (!content.includes('--no-install-recommends')) {
          findings.push([line, 'apt-get install without --no-install-recommends (DL3015)']);
        }
        if (!/(^|\s)-y(\s|$)|--yes|--assume-yes/.test(content)) {
          findings.push([line, 'apt-get install without -y (DL3014)']);
        }
        if (!content.includes('rm -rf /var/lib/apt/lists/*')) {
          findings.push([
            line,
            'apt-get install without "rm -rf /var/lib/apt/lists/*" in the same RUN (DL3009)',
          ]);
        }
      }
    } else if ((keyword === 'CMD' || keyword === 'ENTRYPOINT') && !content.trim().startsWith('[')) {
      findings.push([
        line,
        `${keyword} in shell form: use the JSON form so signals reach the process (DL3025)`,
      ]);
    }
  }
  if (lastUser === undefined || /^(root|0)(:|$)/.test(lastUser)) {
    findings.push([
      dockerfile.getInstructions().at(-1)?.getRange().start.line ?? 0,
      'the final stage runs as root: add a USER (DL3002)',
    ]);
  }
  return findings;
}

/**
 * ShellCheck over every shell-form RUN, as hadolint does: the commands run with the stage's SHELL
 * (bash here). Build arguments and ENV values are assigned outside the script, hence SC2154 is off.
 */
function shellcheckRuns(dockerfile) {
  const findings = [];
  for (const instruction of dockerfile.getInstructions()) {
    const content = instruction.getArgumentsContent() ?? '';
    if (instruction.getKeyword() !== 'RUN' || content.trim().startsWith('[')) continue;
    const line = instruction.getRange().start.line;
    try {
      execFileSync('shellcheck', ['--shell=bash', '--exclude=SC2154', '--format=gcc', '-'], {
        input: `${content}\n`,
        encoding: 'utf8',
      });
    } catch (error) {
      if (error.code === 'ENOENT') throw new Error('shellcheck is not installed: run scripts/setup.sh');
      for (const finding of String(error.stdout).trim().split('\n')) {
        findings.push([line, `RUN: ${finding.replace(/^-:\d+:\d+: /, '')}`]);
      }
    }
  }
  return findings;
}

function lint(file) {
  const content = fs.readFileSync(path.join(root, file), 'utf8');
  const findings = validate(content, validatorSettings).map((d) => [d.range.start.line, d.message]);
  const dockerfile = DockerfileParser.parse(content);
  findings.push(...projectRules(dockerfile), ...shellcheckRuns(dockerfile));
  return findings.sort((a, b) => a[0] - b[0]).map(([line, message]) => `${file}:${line + 1}: ${message}`);
}

const files =
  process.argv.length > 2
    ? process.argv.slice(2).map((f) => path.relative(root, path.resolve(f)))
    : projectDockerfiles();
const problems = files.flatMap(lint);
for (const problem of problems) console.error(problem);
if (problems.length > 0) process.exit(1);
console.error(
  `dockerfile lint: ${files.length} Dockerfile(s) clean (dockerfile-utils, hadolint-like rules, ShellCheck on RUN)`,
);
