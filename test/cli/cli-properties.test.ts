import * as fs from 'node:fs';
import * as path from 'node:path';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { KinesisVideoClient } from '@aws-sdk/client-kinesis-video';
import { KinesisVideoArchivedMediaClient } from '@aws-sdk/client-kinesis-video-archived-media';
import { SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { commandTable } from '../../lib/cli/kvs-gateway-cli';
import { badConfig, MARKER, oddString, plantedSecret } from '../support/config-arbitraries';
import { CliSandbox, FakeTerminal } from './cli-harness';

/**
 * The CLI's argument handling under generated command lines, read from its own command table (so a
 * command or option added there is covered here): every command with its options given well, badly,
 * twice or not at all, odd Unicode and planted passwords in every argument, in stdin, in the config
 * and in what AWS answers (stored URLs, error messages), AWS answering well or failing. Each run ends
 * with an exit code and no exception; nothing printed holds the planted password or a character that
 * would drive the terminal; wrong usage (exit 2) is said before any AWS call; a failure says
 * something; a success with --json prints JSON.
 */

// Generous: a figure for a loaded machine, not a target (the runs take a few seconds on a quiet one).
jest.setTimeout(120_000);

const RUNS = 500;

const ssm = mockClient(SSMClient);
const kinesisVideo = mockClient(KinesisVideoClient);
const archivedMedia = mockClient(KinesisVideoArchivedMediaClient);
const cloudWatch = mockClient(CloudWatchClient);
const logs = mockClient(CloudWatchLogsClient);
let sandbox: CliSandbox;
beforeAll(() => {
  sandbox = new CliSandbox();
});
afterAll(() => {
  sandbox.dispose();
  for (const mock of [ssm, kinesisVideo, archivedMedia, cloudWatch, logs]) mock.restore();
  console.log(`CLI properties: ${RUNS} generated command lines tried`);
});

const UNSAFE =
  /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

const SAMPLE = fs.readFileSync(path.join(__dirname, '..', '..', 'gateway.config.json'), 'utf8');
const CAMERAS = ['front-door', 'loading-dock', 'lobby'];

/** An argument as a person might type one: relative names only (the runs write inside the sandbox). */
const argument: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: oddString.filter((text) => !/[\\/]/.test(text) && !/^\.+$/.test(text)) },
  { weight: 2, arbitrary: plantedSecret },
  { weight: 2, arbitrary: fc.constantFrom(...CAMERAS, 'yard', 'front door', 'frontdoor', 'a'.repeat(230)) },
);

/** Values that get a command past its checks, by option name; any other option gets arguments only. */
const GOOD_VALUES: Readonly<Record<string, readonly string[]>> = {
  url: [
    'rtsp://192.0.2.10:554/stream1',
    'rtsps://[2001:db8::10]/live',
    'http://192.0.2.10/',
    'rtsp://192.0.2.10:99999/',
  ],
  user: ['viewer', 'admin@site', 'ü'],
  region: ['eu-west-1', 'eu-west-1', 'us-east-1', 'ap-southeast-5', 'Ireland'],
  expires: ['1h', '300', '12h', '13h', '0'],
  out: ['page.html', 'pages/front.html', 'gateway.config.json/x.html', '.'],
  compute: ['ec2', 'fargate', 'both'],
  config: ['gateway.config.json', 'gateway.config.json', 'missing.json', '.'],
  shard: ['1', '2', '250', '251', '0', '1.5'],
  from: ['-15m', '10:05', '2026-12-01 10:05', '10:05 Europe/Berlin', 'now', '25:00'],
  to: ['+5m', 'now', '-1m', '2026-12-01T10:20:00Z'],
  interval: ['10', '5', '4'],
  port: ['0', '0', '70000'],
};

const option = (name: string, type: 'string' | 'boolean', short?: string): fc.Arbitrary<string[]> => {
  const flag = fc.constantFrom(`--${name}`, ...(short ? [`-${short}`] : []));
  if (type === 'boolean') {
    return fc.oneof(
      { weight: 5, arbitrary: flag.map((f) => [f]) },
      { weight: 1, arbitrary: argument.map((value) => [`--${name}=${value}`]) },
    );
  }
  const value = GOOD_VALUES[name]
    ? fc.oneof(
        { weight: 3, arbitrary: fc.constantFrom(...GOOD_VALUES[name]) },
        { weight: 1, arbitrary: argument },
      )
    : argument;
  return fc.oneof(
    { weight: 4, arbitrary: fc.tuple(flag, value).map(([f, v]) => [f, v]) },
    { weight: 1, arbitrary: value.map((v) => [`--${name}=${v}`]) },
    { weight: 1, arbitrary: flag.map((f) => [f]) }, // the value forgotten
  );
};

type CommandSpec = ReturnType<typeof commandTable>[number];

/** A command line as meant: valid camera names, each option at a value that passes its checks, or left out. */
function wellFormed(spec: CommandSpec): fc.Arbitrary<string[]> {
  const options = Object.entries(spec.options).filter(([name]) => name !== 'help' && name !== 'region');
  return fc
    .tuple(
      fc.array(fc.constantFrom(...CAMERAS, 'yard'), {
        minLength: spec.positionals.length,
        maxLength: spec.positionals.length,
      }),
      fc.tuple(
        ...options.map(([name, { type }]) =>
          fc.oneof(
            { weight: 1, arbitrary: fc.constant([]) },
            {
              weight: GOOD_VALUES[name] || type === 'boolean' ? 1 : 0,
              arbitrary:
                type === 'boolean'
                  ? fc.constant([`--${name}`])
                  : fc
                      .oneof(
                        { weight: 4, arbitrary: fc.constant(GOOD_VALUES[name]?.[0] ?? '') },
                        { weight: 1, arbitrary: fc.constantFrom(...(GOOD_VALUES[name] ?? [''])) },
                      )
                      .map((value) => [`--${name}`, value]),
            },
          ),
        ),
      ),
    )
    .map(([positionals, chosen]) => [
      ...spec.command.split(' '),
      ...positionals,
      '--region',
      'eu-west-1',
      ...chosen.flat(),
    ]);
}

/** A command line as typed in a hurry: anything in the arguments, options given badly, twice, unknown. */
function anything(spec: CommandSpec): fc.Arbitrary<string[]> {
  const options = Object.entries(spec.options).filter(([name]) => name !== 'help');
  return fc
    .record({
      positionals: fc.oneof(
        {
          weight: 6,
          arbitrary: fc.array(argument, {
            minLength: spec.positionals.length,
            maxLength: spec.positionals.length,
          }),
        },
        { weight: 1, arbitrary: fc.array(argument, { maxLength: spec.positionals.length + 2 }) },
      ),
      // --region almost always: without one, every run would stop at "no AWS region".
      region: fc.oneof(
        { weight: 9, arbitrary: fc.constant(['--region', 'eu-west-1']) },
        { weight: 1, arbitrary: fc.constant([]) },
      ),
      options: fc
        .subarray(options, { maxLength: 4 })
        .chain((chosen) => fc.tuple(...chosen.map(([name, o]) => option(name, o.type, o.short)))),
      unknown: fc.oneof(
        { weight: 8, arbitrary: fc.constant([]) },
        {
          weight: 1,
          arbitrary: fc.tuple(
            fc.oneof(
              argument.map((a) => `--${a}`),
              fc.constantFrom('--password=hunter2', '--yess', '-z'),
            ),
          ),
        },
      ),
      help: fc.oneof(
        { weight: 12, arbitrary: fc.constant([]) },
        { weight: 1, arbitrary: fc.constant(['--help']) },
      ),
    })
    .chain(({ positionals, region, options, unknown, help }) =>
      fc
        .shuffledSubarray([...options, ...unknown.map((u) => [u])], {
          minLength: options.length + unknown.length,
        })
        .map((parts) => [...spec.command.split(' '), ...positionals, ...region, ...parts.flat(), ...help]),
    );
}

const commandLine: fc.Arbitrary<string[]> = fc
  .constantFrom(...commandTable())
  .chain((spec) =>
    fc.oneof({ weight: 2, arbitrary: wellFormed(spec) }, { weight: 1, arbitrary: anything(spec) }),
  );

const anyCommandLine: fc.Arbitrary<string[]> = fc.oneof(
  { weight: 12, arbitrary: commandLine },
  { weight: 1, arbitrary: fc.array(argument, { maxLength: 4 }) },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(['--version'], ['--help'], ['cameras'], ['cameras', '--help'], ['-c', 'x', 'doctor'])
      .map((argv) => [...argv]),
  },
);

interface World {
  readonly identity: string;
  readonly ssm: string;
  readonly kvs: string;
  readonly stored: readonly { readonly name: string; readonly value: string; readonly type: string }[];
  readonly message: string;
}

/** What AWS does during a run. */
const world: fc.Arbitrary<World> = fc.record({
  identity: fc.constantFrom('ok', 'ok', 'denied'),
  ssm: fc.constantFrom('ok', 'ok', 'denied', 'throttled', 'exists', 'missing', 'failing'),
  kvs: fc.constantFrom('ok', 'ok', 'missing', 'denied', 'no retention', 'empty answer'),
  stored: fc.array(
    fc.record({
      name: fc.constantFrom(...CAMERAS, 'old-gate'),
      value: fc.oneof(plantedSecret, oddString, fc.constant('rtsp://192.0.2.1/live')),
      type: fc.constantFrom('SecureString', 'SecureString', 'String'),
    }),
    { maxLength: 3 },
  ),
  message: fc.oneof(
    fc.constant('The request failed.'),
    plantedSecret.map((url) => `Value '${url}' at 'value' failed`),
  ),
});

/** stdin: piped text, or a terminal with keys typed (and then closed, so that no read waits forever). */
const stdin = fc.oneof(
  fc
    .oneof(plantedSecret, fc.constantFrom('', '\n', 'y\n', `${MARKER}\nsecond line\n`))
    .map((text) => ({ piped: text })),
  fc.constantFrom(`${MARKER}\r`, 'y\r', '\r', '\u0003', 'abc').map((keys) => ({ typed: keys })),
);

const configText = fc.oneof(
  { weight: 4, arbitrary: fc.constant(SAMPLE) },
  { weight: 1, arbitrary: badConfig().map((bad) => JSON.stringify(bad.raw)) },
);

function awsError(name: string, message: string, attempts = 1): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: 400, attempts } });
}

/** The mocked clients, as far as resetting and counting go. */
const mocks = (): { reset(): void; calls(): readonly unknown[] }[] => [
  ssm,
  kinesisVideo,
  archivedMedia,
  cloudWatch,
  logs,
  sandbox.sts,
  sandbox.pricing,
];

function arrange(aws: World): void {
  for (const mock of mocks()) mock.reset();
  const failure = (kind: string): Error =>
    (<Record<string, Error>>{
      denied: awsError(
        'AccessDeniedException',
        `User: arn:aws:iam::111122223333:user/x is not authorized to perform: x:Y on resource: ${aws.message}`,
      ),
      throttled: awsError('ThrottlingException', aws.message, 5),
      exists: awsError('ParameterAlreadyExists', aws.message),
      missing: awsError(kind === 'kvs' ? 'ResourceNotFoundException' : 'ParameterNotFound', aws.message),
      failing: awsError('InternalServerError', aws.message),
      'no retention': awsError('NoDataRetentionException', aws.message),
    })[kind === 'kvs' ? aws.kvs : kind === 'ssm' ? aws.ssm : aws.identity];
  if (aws.identity === 'ok')
    sandbox.sts
      .onAnyCommand()
      .resolves({ Account: '111122223333', Arn: 'arn:aws:iam::111122223333:user/tester' });
  else sandbox.sts.onAnyCommand().rejects(failure('identity'));
  sandbox.pricing.onAnyCommand().resolves({ PriceList: [] });
  if (aws.ssm === 'ok') {
    ssm.onAnyCommand().resolves({
      Version: 2,
      Parameters: aws.stored.map((p) => ({
        Name: `/kvs-gateway/cameras/${p.name}`,
        Value: p.value,
        Type: p.type as 'String',
      })),
    });
  } else {
    ssm.onAnyCommand().rejects(failure('ssm'));
  }
  if (aws.kvs === 'ok') {
    kinesisVideo.onAnyCommand().resolves({
      StreamInfo: {
        StreamName: 'front-door',
        Status: 'ACTIVE',
        DataRetentionInHours: 24,
        MediaType: 'video/h264',
      },
      DataEndpoint: 'https://b-1234abcd.kinesisvideo.eu-west-1.amazonaws.com',
    });
    archivedMedia
      .onAnyCommand()
      .resolves({ HLSStreamingSessionURL: 'https://b-1234abcd.example/hls?SessionToken=x' });
  } else if (aws.kvs === 'empty answer') {
    kinesisVideo.onAnyCommand().resolves({});
    archivedMedia.onAnyCommand().resolves({});
  } else {
    kinesisVideo.onAnyCommand().rejects(failure('kvs'));
    archivedMedia.onAnyCommand().rejects(failure('kvs'));
  }
  // status: KVS's metrics, the gateway's log group and its query, as the identity allows them.
  if (aws.identity === 'ok') {
    cloudWatch.onAnyCommand().resolves({ MetricDataResults: [], MetricAlarms: [] });
    logs.onAnyCommand().resolves({ logGroups: [], queryId: 'q', status: 'Complete', results: [] });
  } else {
    cloudWatch.onAnyCommand().rejects(failure('identity'));
    logs.onAnyCommand().rejects(failure('identity'));
  }
}

const awsCalls = () => mocks().reduce((n, mock) => n + mock.calls().length, 0);

test('any command line: an exit code, never an exception, never the password, usage said before AWS', async () => {
  await fc.assert(
    fc.asyncProperty(anyCommandLine, world, stdin, configText, async (argv, aws, input, config) => {
      fs.writeFileSync(path.join(sandbox.dir, 'gateway.config.json'), config);
      arrange(aws);
      const terminal = new FakeTerminal();
      if ('typed' in input) terminal.end(input.typed);
      const run = await sandbox.run(argv, { stdin: 'typed' in input ? terminal : input.piped });
      const output = `${run.stdout}${run.stderr}`;
      const wrong = [
        ...([0, 1, 2, 130].includes(run.exitCode) ? [] : [`exit code ${run.exitCode}`]),
        ...(output.includes(MARKER) ? ['the planted password was printed'] : []),
        ...(UNSAFE.test(output) ? [`an unsafe character was printed: ${JSON.stringify(output)}`] : []),
        ...(run.exitCode === 2 && awsCalls() > 0 ? ['wrong usage was said after an AWS call'] : []),
        ...(run.exitCode !== 0 && output.trim() === '' ? ['a failure said nothing'] : []),
        ...(run.exitCode === 0 &&
        argv.includes('--json') &&
        !run.stdout.startsWith('Usage:') &&
        !isJson(run.stdout)
          ? [`--json printed no JSON: ${run.stdout.slice(0, 200)}`]
          : []),
      ];
      expect([argv, wrong]).toEqual([argv, []]);
    }),
    { numRuns: RUNS },
  );
});

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
