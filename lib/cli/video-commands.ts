import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CameraConfig, GatewayConfig } from '../config';
import { show, showUnquoted } from '../shown-value';
import type { AwsClients } from './aws-clients';
import { CliError } from './aws-errors';
import {
  clipFragments,
  downloadClip,
  partFiles,
  planClipParts,
  progressBar,
  writePartList,
} from './camera-clip';
import { cameraStatus, StatusSource, type CameraStatus, type StatusReport } from './camera-status';
import { startCameraWall } from './camera-wall';
import { checkCameraName } from './camera-parameters';
import { HlsSessions, MAX_PLAYLIST_FRAGMENTS } from './hls-sessions';
import {
  DEFAULT_HLS_EXPIRES_SECONDS,
  defaultPlayerPagePath,
  H265_BROWSER_WARNING,
  parseExpires,
  renderPlayerPage,
  writePlayerPage,
} from './hls-viewer';
import type { CliIo } from './kvs-gateway-cli';
import { DataEndpoints, describeRange, nearestVideo, noVideoSentence, videoRanges } from './kvs-fragments';
import { describeSeconds, localTime, parseTimeRange, type TimeRange } from './time-input';

/**
 * The operator's commands about video: `status`, `clip`, `view --from` and the wall (`view --all`).
 * Every argument is checked before the first AWS call: a usage error exits 2 and costs nothing.
 */

export interface VideoCommandArgs {
  readonly names: readonly string[];
  readonly values: Record<string, string | boolean | undefined>;
  readonly io: CliIo;
  readonly loadConfig: () => GatewayConfig;
  /** The config file as the user named it, for sentences. */
  readonly configName: string;
  readonly createClients: () => Promise<AwsClients>;
}

const DAY_SECONDS = 24 * 3600;

function text(args: VideoCommandArgs, name: string): string | undefined {
  const value = args.values[name];
  return typeof value === 'string' ? value : undefined;
}

function now(args: VideoCommandArgs): Date {
  return args.io.now?.() ?? new Date();
}

/** The config's cameras with these names (all of them when none is given), in the config's order. */
function chosenCameras(config: GatewayConfig, names: readonly string[], configName: string): CameraConfig[] {
  if (names.length === 0) return [...config.cameras];
  const unknown = names.filter((name) => !config.cameras.some((camera) => camera.name === name));
  if (unknown.length > 0) {
    throw new CliError(
      `${unknown.map((name) => `"${name}"`).join(', ')} ${unknown.length === 1 ? 'is not a camera' : 'are not cameras'} of ${configName}; its cameras are: ${config.cameras.map((c) => c.name).join(', ')}`,
    );
  }
  return config.cameras.filter((camera) => names.includes(camera.name));
}

function checkNames(names: readonly string[]): void {
  for (const name of names) checkCameraName(name);
}

function printJson(io: CliIo, value: unknown): void {
  io.stdout(`${JSON.stringify(value, null, 2)}\n`);
}

// --- status -------------------------------------------------------------------------------------------

const MIN_INTERVAL = 5;
const MAX_INTERVAL = 3600;

export async function runStatus(args: VideoCommandArgs): Promise<number> {
  checkNames(args.names);
  const watch = args.values.watch === true;
  const intervalText = text(args, 'interval');
  if (intervalText !== undefined && !watch) throw new CliError('--interval goes with --watch', 2);
  const interval = intervalText === undefined ? 10 : Number(intervalText);
  if (!Number.isInteger(interval) || interval < MIN_INTERVAL || interval > MAX_INTERVAL) {
    throw new CliError(
      `--interval ${show(intervalText)}: give whole seconds, ${MIN_INTERVAL} to ${MAX_INTERVAL}`,
      2,
    );
  }
  if (watch && args.values.json === true)
    throw new CliError('--watch and --json exclude each other: run --json on a schedule instead', 2);
  const config = args.loadConfig();
  const cameras = chosenCameras(config, args.names, args.configName);
  const source = new StatusSource(await args.createClients(), config);
  const { io } = args;
  // --watch runs until Ctrl-C: where nothing can say stop (no terminal, a test), it refreshes once.
  if (!watch || !io.onInterrupt) {
    const report = await cameraStatus(source, cameras, () => now(args));
    if (args.values.json === true) printJson(io, report);
    else io.stdout(formatStatus(report, args.configName, now(args)));
    return report.cameras.every(asExpected) ? 0 : 1;
  }
  let stopped = false;
  let wake: () => void = () => {};
  io.onInterrupt?.(() => {
    stopped = true;
    wake();
  });
  while (!stopped) {
    const report = await cameraStatus(source, cameras, () => now(args));
    const table = formatStatus(report, args.configName, now(args), interval);
    // On a terminal the table is redrawn in place; into a file or a pipe, each refresh follows the last.
    io.stdout(io.stdoutIsTTY ? `\x1b[H\x1b[2J${table}` : `${table}\n`);
    await new Promise<void>((resolve) => {
      wake = resolve;
      setTimeout(resolve, interval * 1000);
    });
  }
  return 0;
}

/** Streaming, or off its recording schedule: nothing to look into (status exits 0). */
function asExpected(camera: CameraStatus): boolean {
  return camera.streaming || camera.state === 'off-schedule';
}

export function formatStatus(report: StatusReport, configName: string, at: Date, interval?: number): string {
  const where = report.gateway.stackName ? `, ${report.gateway.stackName}` : '';
  const refresh = interval ? `, every ${interval} s until Ctrl-C` : '';
  const lines = [
    `Cameras of ${configName} in ${report.region}${where}, at ${localTime(at, at)} (${(report.milliseconds / 1000).toFixed(1)} s${refresh}):`,
  ];
  const rows = report.cameras.map((camera) => [
    camera.camera,
    camera.state,
    camera.lastFragment ? `${describeSeconds(camera.lastFragment.ageSeconds)} ago` : '-',
    camera.bitrateKbps !== undefined && camera.streaming ? `${camera.bitrateKbps} kbit/s` : '-',
    camera.reason ?? '',
  ]);
  const table = [['CAMERA', 'STATE', 'LAST FRAGMENT', 'BITRATE', 'REASON'], ...rows];
  const widths = [0, 1, 2, 3].map((column) => Math.max(...table.map((row) => row[column].length)));
  for (const row of table) {
    lines.push(
      row
        .map((cell, column) => (column < 4 ? cell.padEnd(widths[column]) : cell))
        .join('  ')
        .trimEnd(),
    );
  }
  const streaming = report.cameras.filter((camera) => camera.streaming).length;
  const resting = report.cameras.filter(
    (camera) => !camera.streaming && camera.state === 'off-schedule',
  ).length;
  const down = report.cameras.length - streaming - resting;
  lines.push(
    `${report.cameras.length} camera(s): ${streaming} streaming${resting ? `, ${resting} off schedule` : ''}${down ? `, ${down} not` : ''}.`,
  );
  if (report.gateway.unavailable && report.cameras.every((camera) => camera.streaming)) {
    lines.push(`note: ${report.gateway.unavailable}`);
  }
  return `${lines.join('\n')}\n`;
}

// --- clip ---------------------------------------------------------------------------------------------

export async function runClip(args: VideoCommandArgs): Promise<number> {
  const [name] = args.names;
  checkCameraName(name);
  const started = now(args);
  const range = parseTimeRange(text(args, 'from'), text(args, 'to'), started, { maxSeconds: DAY_SECONDS });
  const config = args.loadConfig();
  const [camera] = chosenCameras(config, [name], args.configName);
  const out = path.resolve(args.io.cwd, text(args, 'out') ?? defaultClipName(camera, range));
  if (!out.toLowerCase().endsWith('.mp4'))
    throw new CliError(`--out ${show(text(args, 'out'))}: give a file name ending in .mp4`, 2);
  if (!fs.existsSync(path.dirname(out)))
    throw new CliError(`--out: the folder ${showUnquoted(path.dirname(out))} does not exist`, 2);
  const clients = await args.createClients();
  const endpoints = new DataEndpoints(clients);
  const fragments = await clipFragments(clients, endpoints, camera, range.from.date, range.to.date);
  if (fragments.length === 0) {
    const nearest = await nearestVideo(clients, endpoints, camera, range.from.date, range.to.date, started);
    throw new CliError(noVideoSentence(camera, range.from, range.to, nearest, started));
  }
  const parts = planClipParts(fragments);
  const files = partFiles(out, parts.length);
  const existing = files.filter((file) => fs.existsSync(file));
  if (existing.length > 0 && args.values.overwrite !== true) {
    throw new CliError(
      `${existing.map((file) => path.relative(args.io.cwd, file)).join(', ')} already exist(s): pass --overwrite to replace, or choose --out`,
    );
  }
  const { io } = args;
  let lastDrawn = 0;
  const download = Date.now();
  const written = await downloadClip(
    clients,
    endpoints,
    camera,
    parts,
    files,
    (bytes, expected, part, count) => {
      if (!io.stderrIsTTY || args.values.json === true || Date.now() - lastDrawn < 100) return;
      lastDrawn = Date.now();
      io.stderr(`\r${progressBar(bytes, expected, part, count)}`);
    },
  );
  const seconds = (Date.now() - download) / 1000;
  if (io.stderrIsTTY && args.values.json !== true) io.stderr('\n');
  const ranges = videoRanges(fragments);
  const bytes = written.reduce((sum, part) => sum + part.bytes, 0);
  const list = parts.length > 1 ? writePartList(out, files) : undefined;
  if (args.values.json === true) {
    printJson(io, {
      camera: camera.name,
      from: range.from.date.toISOString(),
      to: range.to.date.toISOString(),
      video: ranges.map((r) => ({ start: r.start.toISOString(), end: r.end.toISOString() })),
      files: written.map((part) => ({ ...part, file: path.relative(io.cwd, part.file) || part.file })),
      ...(list ? { partList: path.relative(io.cwd, list) } : {}),
      bytes,
      seconds,
    });
    return 0;
  }
  const shown = (file: string) => showUnquoted(path.relative(io.cwd, file) || file);
  const lines = [
    `Camera "${camera.name}", ${range.from.shown} to ${range.to.shown}: ${fragments.length} fragments, ${(bytes / 1_000_000).toFixed(1)} MB in ${seconds.toFixed(1)} s.`,
    `Video in the range: ${ranges.map((r) => describeRange(r, started)).join(', ')}${ranges.length > 1 ? ' (the camera sent nothing between them)' : ''}.`,
    ...written.map(
      (part) =>
        `  ${shown(part.file)}  ${localTime(new Date(part.start), started)} - ${localTime(new Date(part.end), started)}  ${(part.bytes / 1_000_000).toFixed(1)} MB`,
    ),
  ];
  if (list) {
    lines.push(
      `The range came in ${parts.length} parts (GetClip gives at most 200 fragments or 100 MB at once). To join them into one file:`,
      `  ffmpeg -f concat -safe 0 -i ${shown(list)} -c copy ${shown(out)}`,
    );
  }
  io.stdout(`${lines.join('\n')}\n`);
  return 0;
}

function defaultClipName(camera: CameraConfig, range: TimeRange): string {
  const stamp = range.from.shown.slice(0, 19).replace(/[-:]/g, '').replace(' ', '-');
  return `${camera.name}-${stamp}.mp4`;
}

// --- view --from and the wall -------------------------------------------------------------------------

const PLAYBACK_DEFAULT_SECONDS = 3600;

export async function runView(args: VideoCommandArgs): Promise<number> {
  checkNames(args.names);
  const all = args.values.all === true;
  if (all && args.names.length > 0) throw new CliError('--all and camera names exclude each other', 2);
  if (!all && args.names.length === 0)
    throw new CliError('give a camera name, several for a wall, or --all', 2);
  const expiresOption = text(args, 'expires');
  const expiresSeconds =
    expiresOption === undefined ? DEFAULT_HLS_EXPIRES_SECONDS : parseExpires(expiresOption);
  if (all || args.names.length > 1) return wall(args, all, expiresSeconds);
  return playback(args, expiresSeconds);
}

async function playback(args: VideoCommandArgs, expiresSeconds: number): Promise<number> {
  for (const option of ['no-open', 'port']) {
    if (args.values[option] !== undefined)
      throw new CliError(`--${option} goes with --all or several cameras`, 2);
  }
  const started = now(args);
  const from = text(args, 'from');
  const to = text(args, 'to');
  const range = parseTimeRange(from, to, started, {
    maxSeconds: DAY_SECONDS,
    ...(to === undefined ? { defaultSeconds: PLAYBACK_DEFAULT_SECONDS } : {}),
  });
  // The default hour stops at now: the rest has not happened yet.
  const end = range.to.date.getTime() > started.getTime() ? { ...range.to, date: started } : range.to;
  const config = args.loadConfig();
  const [camera] = chosenCameras(config, args.names, args.configName);
  const clients = await args.createClients();
  const endpoints = new DataEndpoints(clients);
  const fragments = await clipFragments(clients, endpoints, camera, range.from.date, end.date);
  if (fragments.length === 0) {
    const nearest = await nearestVideo(clients, endpoints, camera, range.from.date, end.date, started);
    throw new CliError(noVideoSentence(camera, range.from, end, nearest, started));
  }
  const ranges = videoRanges(fragments);
  const session = await new HlsSessions(clients, endpoints, () => now(args)).onDemand(
    camera,
    { start: fragments[0].producer, end: end.date, fragments: fragments.length },
    expiresSeconds,
  );
  const video = ranges.map((r) => describeRange(r, started));
  const out = text(args, 'out');
  const open = args.values.open === true;
  const { io } = args;
  let playerPage: string | undefined;
  if (open || out !== undefined) {
    const html = renderPlayerPage({
      ...session,
      onDemand: { range: `${range.from.shown} to ${localTime(end.date, started)}`, video },
    });
    playerPage = writePlayerPage(
      out === undefined ? defaultPlayerPagePath(camera.name, io.tmpDir) : path.resolve(io.cwd, out),
      html,
    );
  }
  const truncated = fragments.length > MAX_PLAYLIST_FRAGMENTS;
  if (args.values.json === true) {
    printJson(io, {
      ...session,
      region: clients.region,
      from: range.from.date.toISOString(),
      to: end.date.toISOString(),
      video: ranges.map((r) => ({
        start: r.start.toISOString(),
        end: r.end.toISOString(),
        fragments: r.fragments,
      })),
      ...(playerPage ? { playerPage } : {}),
    });
  } else {
    io.stdout(
      [
        `Playback of camera "${camera.name}" from ${range.from.shown} to ${localTime(end.date, started)} (stream ${session.streamName}), valid until ${session.expiresAt}:`,
        session.hlsUrl,
        `Video in the range: ${video.join(', ')}.`,
        ...(playerPage ? [`Player page: ${playerPage}`] : []),
      ].join('\n') + '\n',
    );
  }
  if (truncated) {
    io.stderr(
      `note: the range holds ${fragments.length} fragments; the player gets the first ${MAX_PLAYLIST_FRAGMENTS} (KVS's limit): ask for a shorter range to see the rest\n`,
    );
  }
  await afterPlayerPage(io, session.h265, open ? playerPage : undefined);
  return 0;
}

/** The H.265 warning, and the page opened in the browser when asked for (`view`, `view --from`). */
export async function afterPlayerPage(io: CliIo, h265: boolean, pageToOpen?: string): Promise<void> {
  if (h265) io.stderr(`note: ${H265_BROWSER_WARNING}\n`);
  if (pageToOpen === undefined) return;
  try {
    await io.openFile(pageToOpen);
  } catch {
    io.stderr(`note: could not open a browser; open ${showUnquoted(pageToOpen)} yourself\n`);
  }
}

async function wall(args: VideoCommandArgs, all: boolean, expiresSeconds: number): Promise<number> {
  for (const option of ['from', 'to', 'out', 'open']) {
    if (args.values[option] !== undefined)
      throw new CliError(`--${option} goes with one camera, not a wall`, 2);
  }
  const portText = text(args, 'port');
  const port = portText === undefined ? 0 : Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new CliError(`--port ${show(portText)}: a port number, 1 to 65535`, 2);
  if (args.values.json === true)
    throw new CliError('--json does not go with a wall (it runs until Ctrl-C)', 2);
  const config = args.loadConfig();
  const cameras = chosenCameras(config, all ? [] : args.names, args.configName);
  const clients = await args.createClients();
  const { io } = args;
  const wallServer = await startCameraWall({
    cameras,
    sessions: new HlsSessions(clients, new DataEndpoints(clients), () => now(args)),
    expiresSeconds,
    title: `${args.configName} (${clients.region})`,
    port,
  });
  io.stdout(
    `Wall of ${cameras.length} camera(s): ${wallServer.url}\nServed from this machine until Ctrl-C; anyone with this address can watch the cameras.\n`,
  );
  if (args.values['no-open'] !== true) {
    await io
      .openFile(wallServer.url)
      .catch(() => io.stderr(`note: could not open a browser; open ${wallServer.url} yourself\n`));
  }
  await new Promise<void>((resolve) => {
    if (!io.onInterrupt) return resolve();
    io.onInterrupt(resolve);
  });
  await wallServer.close();
  io.stdout('Wall stopped.\n');
  return 0;
}
