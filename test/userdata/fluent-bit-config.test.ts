import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { USERDATA } from './stand-ins';

/**
 * The log shipper's configuration as the install writes it, checked without Fluent Bit (CI has none):
 * it parses as Fluent Bit's classic format, every key is one Fluent Bit v5.1.1 takes for its section
 * (fixtures/fluent-bit-properties.json, read from its sources), every `${VARIABLE}` is set in the
 * gateway.env the drop-in loads, the journal fields it filters on are the ones the gateway's units and
 * the install write, and its files are under the state folder the drop-in gives it. What this cannot
 * show (that Fluent Bit starts, reads the journal and ships it with the role's permissions) was run by
 * hand with the real Fluent Bit against the CloudWatch Logs stand-in: docs/ec2-gateway.md#logs.
 */

interface Properties {
  readonly service: string[];
  readonly input: Record<string, string[]>;
  readonly output: Record<string, string[]>;
}

interface Section {
  readonly name: string;
  readonly entries: [string, string][];
}

const PROPERTIES = JSON.parse(
  fs.readFileSync(path.join(__dirname, 'fixtures', 'fluent-bit-properties.json'), 'utf8'),
) as Properties;

/** Fluent Bit's classic format: [SECTION] lines, then indented `key value` lines; # starts a comment. */
function parseClassic(text: string): Section[] {
  const sections: Section[] = [];
  text.split('\n').forEach((line, index) => {
    if (/^\s*(#|$)/.test(line)) return;
    const header = /^\[([A-Z_]+)\]\s*$/.exec(line);
    if (header) {
      sections.push({ name: header[1], entries: [] });
      return;
    }
    const entry = /^\s+(\S+)\s+(\S.*?)\s*$/.exec(line);
    if (!entry || !sections.length)
      throw new Error(`line ${index + 1} is not "key value" in a section: ${line}`);
    sections[sections.length - 1].entries.push([entry[1], entry[2]]);
  });
  return sections;
}

const value = (section: Section, key: string) =>
  section.entries.filter(([k]) => k.toLowerCase() === key.toLowerCase()).map(([, v]) => v);

let root: string;
let config: Section[];
let gatewayEnv: Record<string, string>;
let dropIn: string;

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'kvs-fluent-bit-'));
  await promisify(execFile)(
    'bash',
    [path.join(USERDATA, 'install-gateway.sh'), '--files-only', '--root', root],
    {
      env: {
        PATH: process.env.PATH,
        AWS_REGION: 'eu-west-1',
        KVS_CAMERA_LIST_PARAMETER: '/kvs-gateway/ec2-gateway/shard-1/camera-list',
        KVS_LOG_GROUP: 'Ec2GatewayStack-Logs6819BB44-AbCdEf',
        KVS_INSTANCE_ID: 'i-0123456789abcdef0',
      },
    },
  );
  dropIn = fs.readFileSync(
    path.join(root, 'etc/systemd/system/fluent-bit.service.d/kvs-gateway.conf'),
    'utf8',
  );
  const configPath = /--config=(\S+)/.exec(dropIn)![1];
  config = parseClassic(fs.readFileSync(path.join(root, configPath), 'utf8'));
  const envPath = /^EnvironmentFile=(\S+)$/m.exec(dropIn)![1];
  gatewayEnv = Object.fromEntries(
    fs
      .readFileSync(path.join(root, envPath), 'utf8')
      .split('\n')
      .filter((line) => /^[A-Z_]+=/.test(line))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
});

afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

test('parses: one service, the systemd input, the cloudwatch_logs output, every key one Fluent Bit takes there', () => {
  expect(config.map((s) => [s.name, value(s, 'Name')[0]])).toEqual([
    ['SERVICE', undefined],
    ['INPUT', 'systemd'],
    ['OUTPUT', 'cloudwatch_logs'],
  ]);
  const known = (section: Section): string[] => {
    if (section.name === 'SERVICE') return PROPERTIES.service;
    const kind = section.name === 'INPUT' ? PROPERTIES.input : PROPERTIES.output;
    return [...kind.common, ...(kind[value(section, 'Name')[0]] ?? [])];
  };
  const unknown = config.flatMap((section) =>
    section.entries
      .map(([key]) => key)
      .filter((key) => !known(section).includes(key.toLowerCase()))
      .map((key) => `[${section.name}] ${key}`),
  );
  expect(unknown).toEqual([]);
});

test('every variable it uses is set in the gateway.env the drop-in loads', () => {
  const used = [
    ...new Set(
      config.flatMap((s) => s.entries.flatMap(([, v]) => [...v.matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]))),
    ),
  ];
  expect(used.sort()).toEqual(['AWS_REGION', 'KVS_INSTANCE_ID', 'KVS_LOG_GROUP']);
  for (const name of used) expect([name, gatewayEnv[name]]).toEqual([name, expect.stringMatching(/\S/)]);
});

test("it reads the gateway units' journal records and the install's, into one stream per instance and unit", () => {
  const input = config.find((s) => s.name === 'INPUT')!;
  expect(value(input, 'Systemd_Filter')).toEqual(['KVS_GATEWAY=1', 'SYSLOG_IDENTIFIER=kvs-gateway-install']);
  expect(value(input, 'Systemd_Filter_Type')).toEqual(['Or']);
  for (const unit of ['kvs-camera@.service', 'kvs-credentials.service', 'kvs-reconcile-cameras.service']) {
    expect([unit, fs.readFileSync(path.join(USERDATA, unit), 'utf8')]).toEqual([
      unit,
      expect.stringMatching(/^LogExtraFields=KVS_GATEWAY=1$/m),
    ]);
  }
  expect(fs.readFileSync(path.join(USERDATA, 'bootstrap.sh'), 'utf8')).toContain(
    'systemd-cat --identifier=kvs-gateway-install',
  );
  // The tag's * becomes the record's unit; the output prefixes the instance id: <instance>/gateway.<unit>.
  expect(value(input, 'Tag')).toEqual(['gateway.*']);
  const output = config.find((s) => s.name === 'OUTPUT')!;
  expect(value(output, 'Match')).toEqual(['gateway.*']);
  expect(value(output, 'log_stream_prefix')).toEqual(['${KVS_INSTANCE_ID}/']);
  expect(value(output, 'auto_create_group')).toEqual(['Off']); // the stack creates it, encrypted
});

test('its cursor and buffer are under the state folder the drop-in gives it', () => {
  const state = `/var/lib/${/^StateDirectory=(\S+)$/m.exec(dropIn)![1]}`;
  const service = config.find((s) => s.name === 'SERVICE')!;
  const input = config.find((s) => s.name === 'INPUT')!;
  expect(value(service, 'storage.path')).toEqual([state]);
  expect(value(input, 'DB')[0]).toMatch(new RegExp(`^${state}/`));
});
