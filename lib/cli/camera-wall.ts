import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CameraConfig } from '../config';
import { CliError } from './aws-errors';
import { RateLimit } from './bounded-calls';
import { NoRecentVideo, type HlsSessions } from './hls-sessions';
import {
  escapeHtml,
  H265_BROWSER_WARNING,
  PLAYER_TEXTS,
  readHlsJs,
  readPlayerJs,
  scriptJson,
  scriptSafe,
} from './hls-viewer';

/**
 * `kvs-gateway view --all` (or several names): a wall of live cameras, one page with a tile per camera
 * in a grid that fits the window. A page cannot ask KVS for a session URL itself (that needs the
 * user's AWS credentials), so the command serves the page from 127.0.0.1 and answers each tile's
 * request for a session there, with the CLI's credentials: a tile renews its URL by itself before it
 * expires, when KVS refuses it, and when its camera stops (it then says "no video" until the camera is
 * back). The address carries a random token: other local users and web pages cannot get URLs from it.
 */

export interface CameraWallOptions {
  readonly cameras: readonly CameraConfig[];
  readonly sessions: HlsSessions;
  readonly expiresSeconds: number;
  /** For the page's title: where the cameras come from. */
  readonly title: string;
  /** 0 (default): any free port. */
  readonly port?: number;
}

export interface CameraWall {
  readonly url: string;
  /** Session requests answered, by camera (renewals included). */
  readonly sessionsServed: Map<string, number>;
  close(): Promise<void>;
}

/** Session requests a second: a wall of 100 cameras starts within KVS's quotas (DescribeStream 300 TPS). */
const SESSIONS_PER_SECOND = 20;

export async function startCameraWall(options: CameraWallOptions): Promise<CameraWall> {
  const token = randomBytes(16).toString('hex');
  const page = renderWallPage(options, `/${token}/session/`);
  const rate = new RateLimit(SESSIONS_PER_SECOND);
  const sessionsServed = new Map<string, number>();
  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const send = (status: number, type: string, body: string) => {
      response.writeHead(status, {
        'Content-Type': type,
        'Cache-Control': 'no-store',
        'Referrer-Policy': 'no-referrer',
      });
      response.end(body);
    };
    if (request.method !== 'GET') return send(405, 'text/plain', 'GET only');
    if (url.pathname === `/${token}/`) return send(200, 'text/html; charset=utf-8', page);
    const prefix = `/${token}/session/`;
    const camera = url.pathname.startsWith(prefix)
      ? options.cameras.find((c) => c.name === decodeURIComponent(url.pathname.slice(prefix.length)))
      : undefined;
    if (!camera) return send(404, 'text/plain', 'not found');
    sessionsServed.set(camera.name, (sessionsServed.get(camera.name) ?? 0) + 1);
    void rate
      .take()
      .then(() => options.sessions.live(camera, options.expiresSeconds, true))
      .then(
        (session) =>
          send(
            200,
            'application/json',
            JSON.stringify({ url: session.hlsUrl, expiresAt: session.expiresAt, h265: session.h265 }),
          ),
        (error: unknown) => {
          const message = error instanceof Error ? error.message : String(error);
          const state = error instanceof NoRecentVideo ? 'no-video' : 'error';
          if (!(error instanceof CliError)) console.error(`kvs-gateway view: ${message}`);
          send(
            200,
            'application/json',
            JSON.stringify({ state, message: state === 'no-video' ? 'none in the last 30 s' : message }),
          );
        },
      );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new CliError(
          `cannot serve the wall on 127.0.0.1:${options.port ?? 0} (${error.code ?? error.message}): choose another --port, or leave it out`,
        ),
      ),
    );
    server.listen(options.port ?? 0, '127.0.0.1', resolve);
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/${token}/`,
    sessionsServed,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export function renderWallPage(
  options: Pick<CameraWallOptions, 'cameras' | 'title'>,
  sessionPath: string,
  hlsJs: string = readHlsJs(),
  playerJs: string = readPlayerJs(),
): string {
  const tiles = options.cameras
    .map(
      (camera) => `<div class="tile" data-camera="${escapeHtml(camera.name)}" data-state="loading">
  <video muted autoplay playsinline></video>
  <div class="label"><span class="name">${escapeHtml(camera.name)}</span> <span class="state">${PLAYER_TEXTS.loading}</span> <time class="clock"></time></div>
</div>`,
    )
    .join('\n');
  const settings = scriptJson({
    sessionPath,
    cameras: options.cameras.map((camera) => camera.name),
    texts: PLAYER_TEXTS,
    h265Warning: H265_BROWSER_WARNING,
  });
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(options.title)}</title>
<style>
  html, body { height: 100%; margin: 0; background: #000; color: #eee; font-family: system-ui, sans-serif; }
  body { display: flex; flex-direction: column; }
  header { padding: 0.3rem 0.6rem; font-size: 0.9rem; color: #aaa; }
  #grid { flex: 1; display: grid; gap: 2px; min-height: 0; }
  .tile { position: relative; background: #111; min-width: 0; min-height: 0; overflow: hidden; }
  .tile video { width: 100%; height: 100%; object-fit: contain; background: #000; }
  .label { position: absolute; left: 0; right: 0; bottom: 0; padding: 0.2rem 0.5rem; font-size: 0.85rem;
           background: rgba(0, 0, 0, 0.6); white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
  .name { font-weight: 600; }
  .clock { float: right; color: #ccc; }
  .tile[data-state="playing"] .state { color: #7d7; }
  .tile[data-state="no-video"] .state, .tile[data-state="expired"] .state { color: #fc6; }
  .tile[data-state="error"] .state { color: #f77; }
</style>
</head>
<body>
<header>${escapeHtml(options.title)}: ${options.cameras.length} camera(s), live from Kinesis Video Streams. Close this tab and press Ctrl-C in the terminal to stop.</header>
<div id="grid">
${tiles}
</div>
<script>${scriptSafe(hlsJs)}</script>
<script>${scriptSafe(playerJs)}
(function () {
  var settings = ${settings};
  var grid = document.getElementById('grid');
  var tiles = grid.querySelectorAll('.tile');
  function fit() { kvsFitGrid(grid, tiles.length); }
  window.addEventListener('resize', fit);
  fit();
  tiles.forEach(function (tile) {
    var camera = tile.getAttribute('data-camera');
    var state = tile.querySelector('.state');
    var clock = tile.querySelector('.clock');
    var player = new KvsPlayer({
      video: tile.querySelector('video'),
      live: true,
      sessionPath: settings.sessionPath + encodeURIComponent(camera),
      texts: settings.texts,
      onState: function (name, text) {
        tile.setAttribute('data-state', name);
        state.textContent = name === 'error' && /decode/.test(text) && player.session && player.session.h265 ? settings.h265Warning : text;
        if (name !== 'playing') clock.textContent = '';
      },
      onClock: function (date) { clock.textContent = kvsClockText(date); },
    });
    tile.player = player;
    player.start();
  });
})();
</script>
</body>
</html>
`;
}
