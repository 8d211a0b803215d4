import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import {
  cameraUrlParameterName,
  configFileName,
  DEFAULT_CONFIG_FILE,
  MAX_SHARD,
  GatewayConfigError,
  loadGatewayConfig,
  type GatewayConfig,
} from '../config';
import { checkCameraUrl, RtspUrlError } from '../rtsp-url';
import { holdsUrlCredentials, show, showUnquoted } from '../shown-value';
import { createAwsClients, type AwsClients, type AwsOptions } from './aws-clients';
import { CliError } from './aws-errors';
import { runCostCommand } from './cost-command';
import { CostEstimateError } from '../cost-estimate';
import {
  addCameraParameter,
  checkCameraName,
  listCameraParameters,
  removeCameraParameter,
  type CameraListing,
} from './camera-parameters';
import { runDoctor, type DoctorCheck, type DoctorReport } from './doctor';
import { pricesWithPriceList, type PricedRegion } from './price-list';
import { pricesForRegion } from '../prices';
import {
  DEFAULT_HLS_EXPIRES_SECONDS,
  defaultPlayerPagePath,
  getLiveHlsSession,
  parseExpires,
  renderPlayerPage,
  writePlayerPage,
} from './hls-viewer';
import { addedSentence, appendCameraToConfigFile, placeNewCamera } from './config-file-edit';
import { confirm, readSecret, type InputStream } from './terminal-input';
import { afterPlayerPage, runClip, runStatus, runView, type VideoCommandArgs } from './video-commands';

/**
 * `kvs-gateway`: argument parsing and wiring of the camera commands. Everything the commands touch
 * outside the process comes in through `CliIo`, so tests run the real parser and commands with the
 * SDK mocked at its client boundary.
 */

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly stdin: InputStream;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly tmpDir: string;
  /** Opens the player page in the user's browser. */
  readonly openFile: (file: string) => Promise<void>;
  readonly createClients: (options: AwsOptions, env: NodeJS.ProcessEnv) => Promise<AwsClients>;
  /** Whether stdout / stderr are terminals (tables refresh in place, progress bars redraw). */
  readonly stdoutIsTTY?: boolean;
  readonly stderrIsTTY?: boolean;
  /** Calls `handler` once on Ctrl-C (SIGINT) or SIGTERM: for the commands that run until stopped. */
  readonly onInterrupt?: (handler: () => void) => void;
  /** The clock (tests pin it); `new Date()` when absent. */
  readonly now?: () => Date;
}

export function processIo(): CliIo {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
    tmpDir: os.tmpdir(),
    openFile: openInDefaultBrowser,
    createClients: createAwsClients,
    stdoutIsTTY: process.stdout.isTTY === true,
    stderrIsTTY: process.stderr.isTTY === true,
    onInterrupt: (handler) => {
      const once = () => {
        process.off('SIGINT', once);
        process.off('SIGTERM', once);
        handler();
      };
      process.on('SIGINT', once);
      process.on('SIGTERM', once);
    },
  };
}

const COMMON_HELP = `Options for every command:
  -c, --config <file>   the gateway config (default: ${DEFAULT_CONFIG_FILE})
      --region <region> AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, then your profile's region)
      --profile <name>  AWS profile from ~/.aws/config (default: AWS_PROFILE, then "default")
      --json            print the result as JSON, for scripts
  -h, --help            show help`;

const MAIN_HELP = `Usage: kvs-gateway <command> [options]

Manages the cameras of a KVS Cloud Gateway: their RTSP URLs (SSM SecureString parameters) and live view.

Commands:
  cameras add <name> --url <rtsp-url> (--user <user> | --no-auth)
                        store a camera's RTSP URL with its password as a SecureString (and add
                        the camera to the config, with a shard, when it is not there yet)
  cameras list          cameras in SSM and in the config, side by side (passwords redacted)
  cameras remove <name> delete a camera's URL parameter
  doctor                check the config, the region, the credentials and every camera's parameter
  status [name...]      every camera at a glance: streaming or not, last fragment, bitrate, and why not
  view <name>           print a live HLS playback URL for a camera (--open: a player page)
  view <name> --from <time> [--to <time>]
                        play a camera's past video (on-demand HLS)
  view --all | view <name> <name>...
                        a wall of live cameras in one page, served until Ctrl-C
  clip <name> --from <time> [--to <time>] [--out <file.mp4>]
                        download a time range as MP4 (in parts when it is long)
  cost                  estimate the gateway's monthly cost from the config (AWS Price List prices)

Run "kvs-gateway <command> --help" for a command's options; "kvs-gateway --version" for the version.

${COMMON_HELP}`;

const TIMES = `Times: 10:05 (today, or yesterday if later than now), "2026-12-01 10:05", -15m (ago), now,
ISO 8601 (2026-12-01T10:05:00Z); in your local time zone unless the time names one
("10:05 UTC", "10:05 Europe/Berlin", "2026-12-01 10:05+01:00"). --to also takes +20m (after --from).`;

interface CommandSpec {
  readonly usage: string;
  readonly options: NonNullable<ParseArgsConfig['options']>;
  /** Names of the positional arguments, all required (unless `variadic`). */
  readonly positionals: readonly string[];
  /** The one positional may be given any number of times, or not at all (camera names). */
  readonly variadic?: boolean;
  readonly run: (args: ParsedCommand, io: CliIo) => Promise<number>;
}

interface ParsedCommand {
  readonly values: Record<string, string | boolean | undefined>;
  readonly positionals: readonly string[];
}

const COMMON_OPTIONS = {
  config: { type: 'string', short: 'c' },
  region: { type: 'string' },
  profile: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const COMMANDS: Record<string, CommandSpec> = {
  'cameras add': {
    usage: `Usage: kvs-gateway cameras add <name> --url <rtsp-url> (--user <user> | --no-auth) [options]

Stores the camera's RTSP URL, with the user and password percent-encoded into it, as an SSM
SecureString parameter <parameterPrefix>/<name>, where the gateway reads it. A camera not in the
config yet is added to it, in the lowest shard where it keeps every gateway that runs the config
running it (no other camera moves); --shard chooses the shard yourself.

The password is never an argument (it would stay in your shell history): it is asked for with echo
off, or, when stdin is not a terminal, read from stdin (one line), e.g.
  printf '%s' "$CAMERA_PASSWORD" | kvs-gateway cameras add lobby --url rtsp://192.0.2.10:554/stream1 --user viewer

Options:
      --url <rtsp-url>     the camera's URL without credentials: rtsp://host[:port]/path (or rtsps://)
      --user <user>        the camera user; the password is then asked for
      --no-auth            the camera needs no user and password
      --overwrite          replace an existing URL (to rotate the password)
      --shard <n>          the shard of a camera not in the config yet (1 to 250); default: chosen

${COMMON_HELP}`,
    options: {
      url: { type: 'string' },
      user: { type: 'string' },
      'no-auth': { type: 'boolean' },
      overwrite: { type: 'boolean' },
      shard: { type: 'string' },
    },
    positionals: ['name'],
    run: camerasAdd,
  },
  'cameras list': {
    usage: `Usage: kvs-gateway cameras list [options]

Lists the cameras in the config and the URL parameters under the config's parameterPrefix side by
side, and says which are missing where. URLs are shown with the password replaced by ****.

${COMMON_HELP}`,
    options: {},
    positionals: [],
    run: camerasList,
  },
  'cameras remove': {
    usage: `Usage: kvs-gateway cameras remove <name> [--yes] [options]

Deletes the camera's URL parameter <parameterPrefix>/<name>. Asks first, unless --yes.
Remove the camera from the config too, and deploy, or its gateway service keeps failing to start.

Options:
  -y, --yes   do not ask for confirmation (needed when stdin is not a terminal)

${COMMON_HELP}`,
    options: { yes: { type: 'boolean', short: 'y' } },
    positionals: ['name'],
    run: camerasRemove,
  },
  doctor: {
    usage: `Usage: kvs-gateway doctor [options]

Checks the Node.js version, that the config is valid (camera and stream names valid and unique), the
AWS region, that AWS accepts your credentials (sts:GetCallerIdentity), that every camera in the
config has its URL parameter (a SecureString holding an rtsp:// URL), and whether each camera's
stream exists. Prints each check as it is done; exits non-zero when any check fails.

${COMMON_HELP}`,
    options: {},
    positionals: [],
    run: doctor,
  },
  status: {
    usage: `Usage: kvs-gateway status [name...] [--watch [--interval <seconds>]] [options]

One row per camera (all the config's cameras, or those named): whether video reaches KVS, when the
last fragment arrived, the bitrate over the last 2 minutes, and when a camera is not streaming, why:
since when no video came (KVS), and what the gateway says about the camera (its status line in the
gateway's logs: the camera is down, refuses the login, KVS refuses the video...).
Exits 0 when every camera streams (or is off its recording schedule), 1 when one does not.

Options:
      --watch               refresh the table in place until Ctrl-C
      --interval <seconds>  how often --watch refreshes: 5 to 3600 (default: 10)

${COMMON_HELP}`,
    options: { watch: { type: 'boolean' }, interval: { type: 'string' } },
    positionals: ['name'],
    variadic: true,
    run: (args, io) => runStatus(videoArgs(args, io)),
  },
  clip: {
    usage: `Usage: kvs-gateway clip <name> --from <time> [--to <time>] [--out <file.mp4>] [--overwrite] [options]

Downloads the camera's video from --from to --to (default: now) as MP4 (KVS GetClip), starting with
the fragment that holds --from. One GetClip holds at most 200 fragments or 100 MB, so a long range
comes in parts: <file>-part1.mp4, <file>-part2.mp4... each a whole MP4, listed in <file>-parts.txt
(join them losslessly with: ffmpeg -f concat -safe 0 -i <file>-parts.txt -c copy <file>.mp4).
A range without video says so and names the nearest video before and after it.

${TIMES}

Options:
      --from <time>   the start (required)
      --to <time>     the end (default: now); at most 24 hours after --from
      --out <file>    where to write (default: <name>-<YYYYMMDD-HHMMSS of --from>.mp4 here)
      --overwrite     replace files that exist

${COMMON_HELP}`,
    options: {
      from: { type: 'string' },
      to: { type: 'string' },
      out: { type: 'string' },
      overwrite: { type: 'boolean' },
    },
    positionals: ['name'],
    run: (args, io) => runClip(videoArgs(args, io)),
  },
  view: {
    usage: `Usage: kvs-gateway view <name> [--from <time> [--to <time>]] [--expires <duration>] [--open | --out <file>] [options]
       kvs-gateway view (--all | <name> <name>...) [--no-open] [--port <port>] [options]

One camera: prints an HLS playback URL for the camera's stream (GetHLSStreamingSessionURL): live, or
with --from, its past video (on-demand; the page shows the camera's time of each frame).
Anyone with the URL can watch until it expires: treat it like a password.

Several cameras (--all, or two names or more): a wall of live cameras in one page, in a grid that
fits the window, each tile with its own state (playing, no video, error). The page is served from
127.0.0.1 (an address with a random token) until Ctrl-C, and renews each tile's URL by itself.

${TIMES}

Options:
      --from <time>         play the camera's past video from this time (one camera)
      --to <time>           ... to this time (default: an hour after --from, at most now; at most 24 h)
      --expires <duration>  how long the URL works: 300 to 43200 seconds, or 5m to 12h (default: 1h)
      --open                write a player page (hls.js, works offline) and open it in your browser
      --out <file>          write the player page to this file (with --open: and open it)
      --all                 every camera of the config on one wall
      --no-open             the wall: print its address, do not open a browser
      --port <port>         the wall: serve on this port of 127.0.0.1 (default: any free one)

${COMMON_HELP}`,
    options: {
      expires: { type: 'string' },
      open: { type: 'boolean' },
      out: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      all: { type: 'boolean' },
      'no-open': { type: 'boolean' },
      port: { type: 'string' },
    },
    positionals: ['name'],
    variadic: true,
    run: view,
  },
  cost: {
    usage: `Usage: kvs-gateway cost [--compute ec2|fargate] [--offline] [options]

Estimates the gateway's monthly cost in the region (--region, AWS_REGION or your profile's) from the
config: the compute, storage, public IPv4, monitoring, and each camera's KVS ingestion and storage
from its bitrateKbps and retentionHours, beside a design with NAT gateways. With AWS credentials it
reads today's prices from the AWS Price List API (pricing:GetProducts); without them, or with
--offline, it uses the project's dated price table (lib/prices.ts) and says so.

Options:
      --compute <ec2|fargate>  one compute stack (default: both)
      --offline                use the built-in price table only (no AWS call)

${COMMON_HELP}`,
    options: { compute: { type: 'string' }, offline: { type: 'boolean' } },
    positionals: [],
    run: cost,
  },
};

/** Every command with its options (the common ones included) and positional arguments, for tests and help. */
export function commandTable(): {
  readonly command: string;
  readonly options: NonNullable<ParseArgsConfig['options']>;
  readonly positionals: readonly string[];
}[] {
  return Object.entries(COMMANDS).map(([command, spec]) => ({
    command,
    options: { ...COMMON_OPTIONS, ...spec.options },
    positionals: spec.positionals,
  }));
}

const GROUP_HELP: Record<string, string> = {
  cameras: `Usage: kvs-gateway cameras <add|list|remove> [options]

  cameras add <name> --url <rtsp-url> (--user <user> | --no-auth)
  cameras list
  cameras remove <name> [--yes]

Run "kvs-gateway cameras <subcommand> --help" for details.

${COMMON_HELP}`,
};

/** Runs one command line; returns the exit code. Never throws for a user's mistake. */
export async function runKvsGatewayCli(argv: readonly string[], io: CliIo): Promise<number> {
  const say = (text: string) => io.stdout(`${text}\n`);
  const complain = (text: string) => io.stderr(`${text}\n`);
  const isHelp = (arg: string | undefined) => arg === '--help' || arg === '-h' || arg === 'help';
  const [first, second] = argv;
  if (first === '--version' || first === '-V') {
    say(`kvs-gateway ${projectVersion()} (Node.js ${process.version})`);
    return 0;
  }
  if (first === undefined || isHelp(first)) {
    (first === undefined ? complain : say)(MAIN_HELP);
    return first === undefined ? 2 : 0;
  }
  let commandName = first;
  let rest = argv.slice(1);
  if (Object.hasOwn(GROUP_HELP, first)) {
    if (second === undefined || second.startsWith('-') || isHelp(second)) {
      (isHelp(second) ? say : complain)(GROUP_HELP[first]);
      return isHelp(second) ? 0 : 2;
    }
    commandName = `${first} ${second}`;
    rest = argv.slice(2);
  }
  const spec = Object.hasOwn(COMMANDS, commandName) ? COMMANDS[commandName] : undefined;
  if (!spec) {
    complain(
      first.startsWith('-')
        ? `kvs-gateway: the command comes first: kvs-gateway <command> [options]\n\n${MAIN_HELP}`
        : `kvs-gateway: unknown command ${show(commandName)}\n\n${MAIN_HELP}`,
    );
    return 2;
  }

  let parsed: ParsedCommand;
  try {
    parsed = parseCommand(spec, rest);
  } catch (error) {
    io.stderr(
      `kvs-gateway ${commandName}: ${(error as Error).message}\nRun "kvs-gateway ${commandName} --help".\n`,
    );
    return 2;
  }
  if (parsed.values.help) {
    say(spec.usage);
    return 0;
  }
  try {
    awsOptions(parsed); // a malformed --region is wrong usage, said before anything else is done
    return await spec.run(parsed, io);
  } catch (error) {
    if (error instanceof CliError) {
      io.stderr(`kvs-gateway ${commandName}: ${error.message}\n`);
      return error.exitCode;
    }
    throw error;
  }
}

/** The version in the project's package.json, found from this file whether it runs compiled or not. */
function projectVersion(): string {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file))
      return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
  }
  return 'unknown';
}

/** `--from -15m`: a value that starts with "-" and a digit is an option's value (a time ago), not an option. */
function joinDashValues(spec: CommandSpec, args: readonly string[]): string[] {
  const joined: string[] = [];
  for (let i = 0; i < args.length; i += 1) {
    const option = /^--([\w-]+)$/.exec(args[i])?.[1];
    const takesValue = option !== undefined && spec.options[option]?.type === 'string';
    if (takesValue && /^-\d/.test(args[i + 1] ?? '')) {
      joined.push(`${args[i]}=${args[i + 1]}`);
      i += 1;
    } else joined.push(args[i]);
  }
  return joined;
}

function parseCommand(spec: CommandSpec, args: string[]): ParsedCommand {
  let result;
  try {
    result = parseArgs({
      args: joinDashValues(spec, args),
      options: { ...COMMON_OPTIONS, ...spec.options },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && /'--password'/.test((error as Error).message)) {
      throw new Error(
        'there is no --password option: the password is asked for with echo off, or read from stdin, so that it never lands in your shell history',
      );
    }
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      // The option as typed, shown like any other input (it may be anything, a password included).
      const typed = /^Unknown option '([\s\S]*?)'\. To specify/.exec((error as Error).message)?.[1];
      throw new Error(`unknown option ${typed === undefined ? '' : show(typed)}`.trimEnd());
    }
    throw new Error(((error as Error).message.split('. ')[0] ?? 'invalid arguments').replace(/\.$/, ''));
  }
  const values = result.values as Record<string, string | boolean | undefined>;
  if (!values.help && !spec.variadic && result.positionals.length !== spec.positionals.length) {
    // Never echo the extra arguments: one of them may be a password typed by mistake.
    throw new Error(
      spec.positionals.length === 0
        ? `takes no arguments, got ${result.positionals.length}`
        : `takes ${spec.positionals.map((p) => `<${p}>`).join(' ')}, got ${result.positionals.length} argument(s)`,
    );
  }
  return { values, positionals: result.positionals };
}

function stringOption(args: ParsedCommand, name: string): string | undefined {
  const value = args.values[name];
  return typeof value === 'string' ? value : undefined;
}

function configFile(args: ParsedCommand, io: CliIo): string {
  return path.resolve(io.cwd, stringOption(args, 'config') ?? DEFAULT_CONFIG_FILE);
}

function loadConfig(args: ParsedCommand, io: CliIo): GatewayConfig {
  const file = configFile(args, io);
  try {
    return loadGatewayConfig(file, io.cwd);
  } catch (error) {
    if (error instanceof GatewayConfigError) {
      throw new CliError(`${error.message}\nFix the config, or choose another with --config <file>.`);
    }
    throw error;
  }
}

/** us-east-1, us-gov-west-1, ap-southeast-5, eu-isoe-west-1. */
const AWS_REGION_NAME = /^[a-z]{2}(-[a-z]+)+-\d+$/;

function awsOptions(args: ParsedCommand): AwsOptions {
  const region = stringOption(args, 'region');
  const profile = stringOption(args, 'profile');
  if (region !== undefined && !AWS_REGION_NAME.test(region)) {
    throw new CliError(`--region ${show(region)}: not the name of an AWS region (e.g. eu-west-1)`, 2);
  }
  return { ...(region ? { region } : {}), ...(profile ? { profile } : {}) };
}

function printJson(io: CliIo, value: unknown): void {
  io.stdout(`${JSON.stringify(value, null, 2)}\n`);
}

async function camerasAdd(args: ParsedCommand, io: CliIo): Promise<number> {
  const [name] = args.positionals;
  checkCameraName(name);
  const url = stringOption(args, 'url');
  const user = stringOption(args, 'user');
  const noAuth = args.values['no-auth'] === true;
  // Everything that needs neither AWS nor the password is checked first: a mistake is said before the
  // prompt, and without the network.
  if (!url) throw new CliError('--url is required, e.g. --url rtsp://192.0.2.10:554/stream1', 2);
  try {
    checkCameraUrl(url);
  } catch (error) {
    if (error instanceof RtspUrlError) throw new CliError(error.message, 2);
    throw error;
  }
  if (noAuth && user !== undefined) throw new CliError('--no-auth and --user exclude each other', 2);
  if (user === '') throw new CliError('--user: must not be empty', 2);
  if (user !== undefined && holdsUrlCredentials(user)) {
    throw new CliError(
      '--user: holds a URL with a password; give only the camera user (the password is asked for)',
      2,
    );
  }
  if (!noAuth && user === undefined) {
    throw new CliError(
      'give --user <user> (the password is then asked for), or --no-auth for a camera without authentication',
      2,
    );
  }
  const file = configFile(args, io);
  const config = loadConfig(args, io);
  const placement = placeNewCamera(config, name, shardOption(args), file, io.cwd);
  const clients = await io.createClients(awsOptions(args), io.env);
  // Before asking for the password: failing after it was typed would waste the user's effort.
  await clients.checkCredentials();
  let password: string | undefined;
  if (user !== undefined) {
    password = await readSecret(
      io.stdin,
      `Password for ${showUnquoted(user)} on camera ${name}: `,
      io.stderr,
    );
    if (password === '') {
      throw new CliError(
        io.stdin.isTTY
          ? 'the password is empty: nothing stored; for a camera without authentication use --no-auth'
          : 'stdin held no password: nothing stored; pipe the password in, or use --no-auth for a camera without authentication',
      );
    }
  }
  const result = await addCameraParameter(
    { config, ssm: clients.ssm, region: clients.region },
    {
      name,
      url,
      ...(user !== undefined ? { user } : {}),
      ...(password !== undefined ? { password } : {}),
      overwrite: args.values.overwrite === true,
    },
  );
  const configName = configFileName(file, io.cwd);
  if (placement) {
    try {
      appendCameraToConfigFile(file, { name, shard: placement.shard });
    } catch (error) {
      throw new CliError(
        `stored the URL of camera "${name}", but could not add the camera to ${configName} ` +
          `(${(error as NodeJS.ErrnoException).code ?? 'write failed'}): add { "name": "${name}", "shard": ${placement.shard} } to its "cameras" yourself`,
      );
    }
  }
  if (args.values.json) {
    printJson(io, {
      ...result,
      region: clients.region,
      ...(placement ? { addedToConfig: { file: configName, shard: placement.shard } } : {}),
    });
  } else {
    io.stdout(
      `${result.overwritten ? 'Replaced' : 'Stored'} the URL of camera "${result.camera}" in ${result.parameterName} ` +
        `(SecureString, version ${result.version}, KMS key alias/aws/ssm, ${clients.region}): ${result.url}\n`,
    );
    if (placement) io.stdout(`${addedSentence(name, configName, placement)}\n`);
  }
  return 0;
}

function shardOption(args: ParsedCommand): number | undefined {
  const value = stringOption(args, 'shard');
  if (value === undefined) return undefined;
  const shard = /^\d{1,3}$/.test(value) ? Number(value) : NaN;
  if (!(shard >= 1 && shard <= MAX_SHARD)) {
    throw new CliError(`--shard ${show(value)}: give a whole number from 1 to ${MAX_SHARD}`, 2);
  }
  return shard;
}

async function camerasList(args: ParsedCommand, io: CliIo): Promise<number> {
  const config = loadConfig(args, io);
  const clients = await io.createClients(awsOptions(args), io.env);
  const listing = await listCameraParameters({ config, ssm: clients.ssm, region: clients.region });
  if (args.values.json) {
    printJson(io, listing);
    return 0;
  }
  io.stdout(formatListing(listing));
  return 0;
}

function formatListing(listing: CameraListing): string {
  const rows = listing.cameras.map((entry) => [
    entry.camera,
    entry.inConfig ? 'yes' : 'NO',
    entry.inSsm ? 'yes' : 'NO',
    entry.url ?? '-',
  ]);
  const table = [['CAMERA', 'IN CONFIG', 'IN SSM', 'URL'], ...rows];
  const widths = [0, 1, 2].map((column) => Math.max(...table.map((row) => row[column].length)));
  const lines = table.map((row) =>
    row
      .map((cell, column) => (column < 3 ? cell.padEnd(widths[column]) : cell))
      .join('  ')
      .trimEnd(),
  );
  lines.unshift(`Camera URL parameters under ${listing.parameterPrefix} in ${listing.region}:`);
  const missingInSsm = listing.cameras.filter((c) => c.inConfig && !c.inSsm).map((c) => c.camera);
  const missingInConfig = listing.cameras.filter((c) => !c.inConfig && c.inSsm).map((c) => c.camera);
  if (missingInSsm.length > 0) {
    lines.push(
      `Missing in SSM (the gateway cannot start these): ${missingInSsm.join(', ')}: run "kvs-gateway cameras add <name> --url ... --user ..."`,
    );
  }
  if (missingInConfig.length > 0) {
    lines.push(
      `Missing in the config (not ingested): ${missingInConfig.join(', ')}: add them to the config, or "kvs-gateway cameras remove <name>"`,
    );
  }
  for (const entry of listing.cameras) {
    if (entry.problem) lines.push(`${entry.camera}: ${entry.problem}`);
  }
  return `${lines.join('\n')}\n`;
}

async function camerasRemove(args: ParsedCommand, io: CliIo): Promise<number> {
  const [name] = args.positionals;
  checkCameraName(name);
  if (args.values.yes !== true && !io.stdin.isTTY) {
    throw new CliError(
      'not asking for confirmation because stdin is not a terminal: pass --yes to remove',
      2,
    );
  }
  const config = loadConfig(args, io);
  const clients = await io.createClients(awsOptions(args), io.env);
  await clients.checkCredentials();
  if (args.values.yes !== true) {
    const parameterName = cameraUrlParameterName(config.parameterPrefix, name);
    const yes = await confirm(
      io.stdin,
      `Delete the URL parameter ${parameterName} of camera "${name}" in ${clients.region}?`,
      io.stderr,
    );
    if (!yes) {
      io.stderr('Nothing removed.\n');
      return 1;
    }
  }
  const result = await removeCameraParameter({ config, ssm: clients.ssm, region: clients.region }, name);
  if (args.values.json) printJson(io, { ...result, region: clients.region, removed: true });
  else io.stdout(`Removed ${result.parameterName} (camera "${name}", ${clients.region}).\n`);
  if (result.stillInConfig) {
    io.stderr(
      `note: camera "${name}" is still in the config: remove it there and deploy, or its gateway service will fail to start\n`,
    );
  }
  return 0;
}

async function doctor(args: ParsedCommand, io: CliIo): Promise<number> {
  const file = configFile(args, io);
  const json = args.values.json === true;
  const report = await runDoctor({
    configFile: configFileName(file, io.cwd),
    loadConfig: () => loadGatewayConfig(file, io.cwd),
    createClients: () => io.createClients(awsOptions(args), io.env),
    // Each check as soon as it is done: a slow endpoint shows where the wait is.
    ...(json ? {} : { onCheck: (check: DoctorCheck) => io.stdout(formatDoctorCheck(check)) }),
  });
  if (json) printJson(io, report);
  else io.stdout(formatDoctorSummary(report));
  return report.ok ? 0 : 1;
}

function formatDoctorCheck(check: DoctorCheck): string {
  return `${check.status.toUpperCase().padEnd(4)}  ${check.subject.padEnd(12)}  ${check.message}\n`;
}

function formatDoctorSummary(report: DoctorReport): string {
  const failed = report.checks.filter((c) => c.status === 'fail').length;
  const warned = report.checks.filter((c) => c.status === 'warn').length;
  return failed === 0
    ? `All checks passed${warned > 0 ? ` (${warned} warning(s))` : ''}.\n`
    : `${failed} check(s) failed${warned > 0 ? `, ${warned} warning(s)` : ''}.\n`;
}

async function view(args: ParsedCommand, io: CliIo): Promise<number> {
  if (args.values.all === true || args.positionals.length !== 1 || args.values.from !== undefined) {
    return runView(videoArgs(args, io));
  }
  const [name] = args.positionals;
  checkCameraName(name);
  for (const option of ['to', 'no-open', 'port']) {
    if (args.values[option] !== undefined) {
      throw new CliError(
        `--${option} goes with ${option === 'to' ? '--from' : '--all or several cameras'}`,
        2,
      );
    }
  }
  const expiresOption = stringOption(args, 'expires');
  const expiresSeconds =
    expiresOption === undefined ? DEFAULT_HLS_EXPIRES_SECONDS : parseExpires(expiresOption);
  const out = stringOption(args, 'out');
  if (out !== undefined) checkPlayerPageFile(path.resolve(io.cwd, out), out);
  const config = loadConfig(args, io);
  const camera = config.cameras.find((c) => c.name === name);
  if (!camera) {
    throw new CliError(
      `camera "${name}" is not in the config; its cameras are: ${config.cameras.map((c) => c.name).join(', ')}`,
    );
  }
  const clients = await io.createClients(awsOptions(args), io.env);
  const session = await getLiveHlsSession(clients, camera, expiresSeconds);
  const open = args.values.open === true;
  let playerPage: string | undefined;
  if (open || out !== undefined) {
    const html = renderPlayerPage(session);
    const file = out === undefined ? defaultPlayerPagePath(name, io.tmpDir) : path.resolve(io.cwd, out);
    try {
      playerPage = writePlayerPage(file, html);
    } catch (error) {
      throw new CliError(
        `cannot write the player page ${showUnquoted(file)} (${(error as NodeJS.ErrnoException).code ?? 'write failed'}): choose another file with --out`,
      );
    }
  }
  if (args.values.json) {
    printJson(io, { ...session, region: clients.region, ...(playerPage ? { playerPage } : {}) });
  } else {
    io.stdout(
      `Live HLS URL for camera "${name}" (stream ${session.streamName}), valid until ${session.expiresAt}:\n${session.hlsUrl}\n`,
    );
    if (playerPage) io.stdout(`Player page: ${showUnquoted(playerPage)}\n`);
  }
  await afterPlayerPage(io, session.h265, open ? playerPage : undefined);
  return 0;
}

/** What the video commands (video-commands.ts) take from the command line and the process. */
function videoArgs(args: ParsedCommand, io: CliIo): VideoCommandArgs {
  return {
    names: args.positionals,
    values: args.values,
    io,
    loadConfig: () => loadConfig(args, io),
    configName: path.relative(io.cwd, configFile(args, io)) || configFile(args, io),
    createClients: () => io.createClients(awsOptions(args), io.env),
  };
}

/** Before asking AWS for a session: --out must name a file that can be made, not a folder or a path through a file. */
function checkPlayerPageFile(file: string, given: string): void {
  let existing = file;
  while (!fs.existsSync(existing) && path.dirname(existing) !== existing) existing = path.dirname(existing);
  const isFolder = fs.statSync(existing).isDirectory();
  if (existing === file ? isFolder : !isFolder) {
    throw new CliError(
      `--out ${show(given)}: ${existing === file ? 'is a folder' : `${showUnquoted(existing)} is a file, not a folder`}: give the name of the page to write`,
      2,
    );
  }
}

/** Hands the file to the desktop's opener (xdg-open, open, start) without waiting for the browser. */
function openInDefaultBrowser(file: string): Promise<void> {
  const [command, args] =
    process.platform === 'darwin'
      ? ['open', [file]]
      : process.platform === 'win32'
        ? ['cmd', ['/c', 'start', '""', file]]
        : ['xdg-open', [file]];
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: 'ignore', detached: true });
    child.once('error', reject);
    child.once('spawn', () => {
      child.unref();
      resolve();
    });
  });
}

async function cost(args: ParsedCommand, io: CliIo): Promise<number> {
  const compute = stringOption(args, 'compute');
  if (compute !== undefined && compute !== 'ec2' && compute !== 'fargate') {
    throw new CliError(`--compute ${show(compute)}: use "ec2" or "fargate"`, 2);
  }
  const config = loadConfig(args, io);
  // The region as every other command resolves it (flag, environment, profile).
  const clients = await io.createClients(awsOptions(args), io.env);
  let priced: PricedRegion;
  try {
    priced =
      args.values.offline === true
        ? { prices: pricesForRegion(clients.region), fromPriceList: [], priceListUnavailable: '--offline' }
        : (await hasCredentials(clients))
          ? await pricesWithPriceList(clients.pricing, clients.region, [config.ec2.instanceType])
          : {
              prices: pricesForRegion(clients.region),
              fromPriceList: [],
              priceListUnavailable: `no AWS credentials (${clients.credentialSource})`,
            };
    runCostCommand(
      {
        config,
        region: clients.region,
        priced,
        json: args.values.json === true,
        ...(compute ? { compute } : {}),
      },
      io.stdout,
    );
  } catch (error) {
    if (error instanceof CostEstimateError) throw new CliError(error.message);
    throw error;
  }
  return 0;
}

/** Whether the SDK finds credentials at all (the Price List API needs them; the table does not). */
async function hasCredentials(clients: AwsClients): Promise<boolean> {
  try {
    await clients.pricing.config.credentials();
    return true;
  } catch {
    return false;
  }
}
