import * as fs from 'node:fs';
import * as path from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { GatewayConfigError, validateGatewayConfig } from '../lib/config';
import { parseConfigText } from '../lib/config-text';
import { runKvsGatewayCli, processIo } from '../lib/cli/kvs-gateway-cli';
import { buildGatewayApp } from './support/gateway-app';

/**
 * The README and docs/ as a reader uses them: every command shown exists (with the options shown),
 * every link and anchor leads somewhere, every config example copies as it is.
 */

const ROOT = path.join(__dirname, '..');
const DOCS = ['README.md', ...fs.readdirSync(path.join(ROOT, 'docs')).map((name) => `docs/${name}`)];
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');
const readme = read('README.md');

/** The code blocks of a Markdown text with the given info string. */
function codeBlocks(markdown: string, language: string): string[] {
  const blocks: string[] = [];
  const fence = /^ *```(\S*)\n([\s\S]*?)^ *```$/gm;
  for (let match = fence.exec(markdown); match; match = fence.exec(markdown)) {
    if (match[1] === language) blocks.push(match[2]);
  }
  return blocks;
}

/** The commands in a Markdown text's `sh` blocks, without comments and prompts' output. */
function shellCommands(markdown: string): string[] {
  return codeBlocks(markdown, 'sh')
    .join('\n')
    .replace(/\\\n\s*/g, '')
    .split('\n')
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter((line) => /^(npx|npm|printf|export|aws) /.test(line));
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function anchorsOf(markdown: string): Set<string> {
  const withoutCode = markdown.replace(/^ *```[\s\S]*?^ *```$/gm, '');
  return new Set([...withoutCode.matchAll(/^#+\s+(.*)$/gm)].map((match) => anchorOf(match[1])));
}

describe('the README', () => {
  test(`is a quick start under 200 lines (${readme.split('\n').length})`, () => {
    expect(readme.split('\n').length).toBeLessThan(200);
  });

  test('has the sections a newcomer looks for', () => {
    for (const heading of ['Requirements', 'Quick start', 'The two commands', 'Documentation', 'License']) {
      expect(readme).toMatch(new RegExp(`^## ${heading}`, 'm'));
    }
  });

  test('says which Node.js versions are supported, and that no gateway needs Docker', () => {
    expect(readme).toMatch(/Node\.js 22 or 24/);
    const requirements = readme.slice(readme.indexOf('## Requirements'), readme.indexOf('## Quick start'));
    expect(requirements).toMatch(/nothing else on the machine that deploys/);
    expect(requirements).not.toMatch(/Docker/);
  });
});

describe.each(DOCS)('%s', (file) => {
  const markdown = read(file);

  test('never deploys both gateways (cdk deploy --all: two producers per stream)', () => {
    expect(markdown).not.toMatch(/cdk deploy[^\n]*--all/);
  });

  test('every link leads to a file, and every anchor to a heading in it', () => {
    const broken: string[] = [];
    const withoutCode = markdown.replace(/^ *```[\s\S]*?^ *```$/gm, '');
    for (const [, target] of withoutCode.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target)) continue;
      const [relative, anchor] = target.split('#');
      const linked = relative === '' ? file : path.join(path.dirname(file), relative);
      if (!fs.existsSync(path.join(ROOT, linked))) {
        broken.push(`${target}: no file ${linked}`);
      } else if (anchor !== undefined && !anchorsOf(read(linked)).has(anchor)) {
        broken.push(`${target}: no heading #${anchor} in ${linked}`);
      }
    }
    expect(broken).toEqual([]);
  });

  test('every config example copies as it is and is valid', () => {
    for (const example of codeBlocks(markdown, 'jsonc')) {
      const parsed = parseConfigText(example);
      expect(parsed.problems).toEqual([]);
      expect(() => validateGatewayConfig(parsed.value, `${file} example`)).not.toThrow(GatewayConfigError);
    }
  });
});

describe('every command the README and docs show exists', () => {
  const commands = DOCS.flatMap((file) => shellCommands(read(file)).map((command) => [file, command]));
  const scripts = Object.keys(JSON.parse(read('package.json')).scripts as Record<string, string>);

  test('the README shows the quick start commands', () => {
    const shown = shellCommands(readme);
    expect(shown).toEqual(
      expect.arrayContaining([
        'npm ci',
        'npx cdk bootstrap',
        'npx cdk deploy Ec2GatewayStack',
        'npx kvs-gateway view front-door --open',
        'npx cdk destroy --all',
        'npm run synth',
        'npm test',
      ]),
    );
  });

  test.each(commands.filter(([, command]) => /^npm run /.test(command)))('%s: %s', (_file, command) => {
    expect(scripts).toContain(command.split(/\s+/)[2]);
  });

  test.each(commands.filter(([, command]) => /^npx kvs-gateway /.test(command)))(
    '%s: %s (its command and options parse)',
    async (_file, command) => {
      const args = command
        .split(/\s+/)
        .slice(2)
        .filter((arg) => !arg.startsWith('<'));
      let output = '';
      const io = {
        ...processIo(),
        stdout: (text: string) => (output += text),
        stderr: (text: string) => (output += text),
      };
      // A command with --help parses every option shown but runs nothing; --version runs as it is.
      const checked = args[0].startsWith('-') ? args : [...args, '--help'];
      expect([await runKvsGatewayCli(checked, io), output]).toEqual([
        0,
        expect.stringMatching(/Usage:|^kvs-gateway \d/),
      ]);
    },
  );

  test('every stack a command deploys or destroys is a stack of the app', () => {
    const example = parseConfigText(codeBlocks(readme, 'jsonc')[0]).value;
    const { app } = buildGatewayApp(validateGatewayConfig(example));
    const stacks = app.node.children.filter(Stack.isStack).map((stack) => stack.stackName);
    const named = commands
      .map(([, command]) => /^npx cdk (?:deploy|destroy) ([A-Za-z][\w-]*)/.exec(command)?.[1])
      .filter((name): name is string => name !== undefined);
    expect(named.length).toBeGreaterThan(0);
    expect(stacks).toEqual(expect.arrayContaining(named));
  });
});
