import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CameraConfig } from '../config';
import { show } from '../shown-value';
import type { AwsClients } from './aws-clients';
import { CliError } from './aws-errors';
import { HlsSessions, type HlsSession } from './hls-sessions';

/** GetHLSStreamingSessionURL accepts 5 minutes to 12 hours. */
export const MIN_HLS_EXPIRES_SECONDS = 300;
export const MAX_HLS_EXPIRES_SECONDS = 43200;
export const DEFAULT_HLS_EXPIRES_SECONDS = 3600;

/** Reads `--expires`: seconds, or a number with s, m or h (`90m`, `2h`). */
export function parseExpires(value: string): number {
  const match = /^(\d+)\s*([smh]?)$/i.exec(value.trim());
  const seconds = match ? Number(match[1]) * { '': 1, s: 1, m: 60, h: 3600 }[match[2].toLowerCase()]! : NaN;
  if (!(seconds >= MIN_HLS_EXPIRES_SECONDS && seconds <= MAX_HLS_EXPIRES_SECONDS)) {
    throw new CliError(
      `--expires ${show(value)}: give 300 to 43200 seconds (5m to 12h), e.g. --expires 3600 or --expires 2h`,
      2,
    );
  }
  return seconds;
}

/** A live session (`view <camera>`): see HlsSessions. */
export type LiveHlsSession = HlsSession;

/** DescribeStream, GetDataEndpoint, then GetHLSStreamingSessionURL in LIVE mode on that endpoint. */
export function getLiveHlsSession(
  clients: Pick<AwsClients, 'kinesisVideo' | 'archivedMedia' | 'region'>,
  camera: CameraConfig,
  expiresSeconds: number,
  now: () => Date = () => new Date(),
): Promise<LiveHlsSession> {
  return new HlsSessions(clients, undefined, now).live(camera, expiresSeconds);
}

export const H265_BROWSER_WARNING =
  'This stream is H.265 (HEVC). Most browsers cannot play H.265 through Media Source Extensions, ' +
  'which this page uses: if the video stays black, open the HLS URL in a player that decodes H.265 ' +
  '(Safari, VLC, ffplay), or set the camera to H.264.';

export interface PlayerPage {
  readonly camera: string;
  readonly hlsUrl: string;
  readonly expiresAt: string;
  readonly h265: boolean;
  /** Past playback (`view --from`): the range asked for and the video in it, shown above the player. */
  readonly onDemand?: { readonly range: string; readonly video: readonly string[] };
}

/** The hls.js build, inlined into the page so that it works offline and from a file:// URL. */
export function readHlsJs(): string {
  return fs.readFileSync(require.resolve('hls.js/dist/hls.min.js'), 'utf8');
}

/** The players' browser code (lib/cli/player/kvs-player.js), found from here compiled or not. */
export function readPlayerJs(): string {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const file = path.join(dir, 'lib', 'cli', 'player', 'kvs-player.js');
    if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8');
  }
  throw new Error('lib/cli/player/kvs-player.js is missing from the installation');
}

/** Makes text safe inside a <script> element (a "</script" in it would end the element). */
export function scriptSafe(text: string): string {
  return text.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

/** JSON for a <script> element. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

/** What a player says in each state (the tests and the docs quote them). */
export const PLAYER_TEXTS = {
  loading: 'Loading…',
  playing: 'Playing.',
  ended: 'End of the range.',
  expired: 'The session has expired: run kvs-gateway view again.',
  cannotDecode: 'This browser cannot decode the stream',
};

/** A self-contained HTML page that plays the HLS URL with hls.js (or natively on Safari). */
export function renderPlayerPage(
  page: PlayerPage,
  hlsJs: string = readHlsJs(),
  playerJs: string = readPlayerJs(),
): string {
  const settings = scriptJson({
    url: page.hlsUrl,
    expiresAt: page.expiresAt,
    live: page.onDemand === undefined,
    texts: PLAYER_TEXTS,
  });
  const warning = page.h265 ? `<p id="h265" class="warning">${escapeHtml(H265_BROWSER_WARNING)}</p>` : '';
  const command = `npx kvs-gateway view ${page.camera}${page.onDemand ? ' --from ...' : ''} --open`;
  const onDemand = page.onDemand
    ? `<p>From the camera's archive: ${escapeHtml(page.onDemand.range)}. Video in it: ${page.onDemand.video.map(escapeHtml).join(', ')}.</p>
<p>Camera time of the frame shown: <time id="clock">-</time></p>`
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(page.camera)}: ${page.onDemand ? 'playback' : 'live'}</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 1rem; background: #111; color: #eee; }
  video { width: 100%; max-width: 1280px; background: #000; }
  .warning { color: #fc6; }
  #status { color: #aaa; }
</style>
</head>
<body>
<h1>${escapeHtml(page.camera)}</h1>
<p>${page.onDemand ? 'Past video' : 'Live'} from Kinesis Video Streams. This link expires at <time id="expires">${escapeHtml(page.expiresAt)}</time>;
run <code>${escapeHtml(command)}</code> again for a new one.</p>
${onDemand}
${warning}
<video id="video" controls muted autoplay playsinline></video>
<p id="status">Loading…</p>
<script>${scriptSafe(hlsJs)}</script>
<script>${scriptSafe(playerJs)}
(function () {
  var settings = ${settings};
  var status = document.getElementById('status');
  var clock = document.getElementById('clock');
  settings.video = document.getElementById('video');
  settings.onState = function (_state, text) { status.textContent = text; };
  settings.onClock = function (date) { if (clock) clock.textContent = kvsClockText(date); };
  new KvsPlayer(settings).start();
})();
</script>
</body>
</html>
`;
}

/** Writes the page readable by the user only: its URL carries a session token. */
export function writePlayerPage(file: string, html: string): string {
  const resolved = path.resolve(file);
  fs.mkdirSync(path.dirname(resolved), { recursive: true });
  fs.writeFileSync(resolved, html, { mode: 0o600 });
  fs.chmodSync(resolved, 0o600);
  return resolved;
}

/** A fresh private directory under the system's temp dir for the page. */
export function defaultPlayerPagePath(camera: string, tmpDir: string): string {
  const dir = fs.mkdtempSync(path.join(tmpDir, 'kvs-gateway-view-'));
  return path.join(dir, `${camera}.html`);
}
