import * as fs from 'node:fs';
import * as path from 'node:path';
import { DescribeStreamCommand, GetDataEndpointCommand, APIName } from '@aws-sdk/client-kinesis-video';
import {
  GetHLSStreamingSessionURLCommand,
  HLSPlaybackMode,
} from '@aws-sdk/client-kinesis-video-archived-media';
import type { CameraConfig } from '../config';
import { show } from '../shown-value';
import type { AwsClients } from './aws-clients';
import { awsCall, CliError } from './aws-errors';

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

export interface LiveHlsSession {
  readonly camera: string;
  readonly streamName: string;
  /** Carries a session token: anyone with it can watch until it expires. */
  readonly hlsUrl: string;
  readonly expiresAt: string;
  readonly mediaType?: string;
  /** Set when the stream is H.265, which most browsers cannot play through MSE. */
  readonly h265: boolean;
}

/** DescribeStream, GetDataEndpoint, then GetHLSStreamingSessionURL in LIVE mode on that endpoint. */
export async function getLiveHlsSession(
  clients: Pick<AwsClients, 'kinesisVideo' | 'archivedMedia' | 'region'>,
  camera: CameraConfig,
  expiresSeconds: number,
  now: () => Date = () => new Date(),
): Promise<LiveHlsSession> {
  const { streamName } = camera;
  const region = clients.region;
  const notFound = `stream "${streamName}" (camera "${camera.name}") does not exist in ${region}: deploy the gateway first ("npx cdk deploy"), or check --region`;
  const stream = await awsCall(
    { action: 'kinesisvideo:DescribeStream', resource: `stream ${streamName}`, region },
    () => clients.kinesisVideo.send(new DescribeStreamCommand({ StreamName: streamName })),
    { ResourceNotFoundException: notFound },
  );
  const retention = stream.StreamInfo?.DataRetentionInHours;
  if (retention === 0) {
    throw new CliError(noRetentionSentence(camera));
  }
  const endpoint = await awsCall(
    { action: 'kinesisvideo:GetDataEndpoint', resource: `stream ${streamName}`, region },
    () =>
      clients.kinesisVideo.send(
        new GetDataEndpointCommand({
          StreamName: streamName,
          APIName: APIName.GET_HLS_STREAMING_SESSION_URL,
        }),
      ),
    { ResourceNotFoundException: notFound },
  );
  if (!endpoint.DataEndpoint) {
    throw new CliError(`GetDataEndpoint returned no endpoint for stream "${streamName}": try again`);
  }
  const requestedAt = now();
  const session = await awsCall(
    {
      action: 'kinesisvideo:GetHLSStreamingSessionURL',
      resource: stream.StreamInfo?.StreamARN ?? `stream ${streamName}`,
      region,
    },
    () =>
      clients.archivedMedia(endpoint.DataEndpoint!).send(
        new GetHLSStreamingSessionURLCommand({
          StreamName: streamName,
          PlaybackMode: HLSPlaybackMode.LIVE,
          Expires: expiresSeconds,
        }),
      ),
    {
      // In LIVE mode this means no fragment arrived in the last 30 seconds.
      ResourceNotFoundException: `stream "${streamName}" has received no video in the last 30 seconds: check that the camera "${camera.name}" is online and its gateway service is running (see its logs), then try again`,
      NoDataRetentionException: noRetentionSentence(camera),
      UnsupportedStreamMediaTypeException: `stream "${streamName}" holds a media type HLS cannot serve: HLS needs H.264 or H.265 video (and AAC audio, if any)`,
      MissingCodecPrivateDataException: `stream "${streamName}" has fragments without codec private data (SPS/PPS): the gateway's parser must send it; restart the camera's service and try again`,
      InvalidCodecPrivateDataException: `stream "${streamName}" has codec private data HLS cannot use: check the camera's codec settings (H.264 or H.265)`,
    },
  );
  if (!session.HLSStreamingSessionURL) {
    throw new CliError(`GetHLSStreamingSessionURL returned no URL for stream "${streamName}": try again`);
  }
  const mediaType = stream.StreamInfo?.MediaType;
  return {
    camera: camera.name,
    streamName,
    hlsUrl: session.HLSStreamingSessionURL,
    expiresAt: new Date(requestedAt.getTime() + expiresSeconds * 1000).toISOString(),
    ...(mediaType ? { mediaType } : {}),
    h265: camera.codec === 'h265' || /h265|hevc/i.test(mediaType ?? ''),
  };
}

function noRetentionSentence(camera: CameraConfig): string {
  return (
    `stream "${camera.streamName}" keeps no video (data retention 0 hours) and HLS playback needs retention: ` +
    `set "retentionHours" of camera "${camera.name}" to 1 or more in the config and deploy again`
  );
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
}

/** The hls.js build, inlined into the page so that it works offline and from a file:// URL. */
export function readHlsJs(): string {
  return fs.readFileSync(require.resolve('hls.js/dist/hls.min.js'), 'utf8');
}

/** Makes text safe inside a <script> element (a "</script" in it would end the element). */
function scriptSafe(text: string): string {
  return text.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

/** A self-contained HTML page that plays the live HLS URL with hls.js (or natively on Safari). */
export function renderPlayerPage(page: PlayerPage, hlsJs: string = readHlsJs()): string {
  const settings = JSON.stringify({ url: page.hlsUrl, expiresAt: page.expiresAt }).replace(/</g, '\\u003c');
  const warning = page.h265 ? `<p id="h265" class="warning">${escapeHtml(H265_BROWSER_WARNING)}</p>` : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(page.camera)}: live</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 1rem; background: #111; color: #eee; }
  video { width: 100%; max-width: 1280px; background: #000; }
  .warning { color: #fc6; }
  #status { color: #aaa; }
</style>
</head>
<body>
<h1>${escapeHtml(page.camera)}</h1>
<p>Live from Kinesis Video Streams. This link expires at <time id="expires">${escapeHtml(page.expiresAt)}</time>;
run <code>npx kvs-gateway view ${escapeHtml(page.camera)} --open</code> again for a new one.</p>
${warning}
<video id="video" controls muted autoplay playsinline></video>
<p id="status">Loading…</p>
<script>${scriptSafe(hlsJs)}</script>
<script>
(function () {
  var settings = ${settings};
  var video = document.getElementById('video');
  var status = document.getElementById('status');
  function show(text) { status.textContent = text; }
  video.addEventListener('playing', function () { show('Playing.'); });
  if (window.Hls && Hls.isSupported()) {
    var hls = new Hls({ liveSyncDurationCount: 3 });
    var recovering = false;
    hls.on(Hls.Events.ERROR, function (_event, data) {
      if (!data.fatal) return;
      if (data.type === Hls.ErrorTypes.NETWORK_ERROR) {
        var expired = Date.now() > Date.parse(settings.expiresAt);
        show(expired ? 'The session has expired: run kvs-gateway view again.' : 'Network error (' + data.details + '): retrying.');
        if (!expired) setTimeout(function () { hls.startLoad(); }, 3000);
      } else if (data.type === Hls.ErrorTypes.MEDIA_ERROR && !recovering) {
        recovering = true;
        hls.recoverMediaError();
      } else if (data.type === Hls.ErrorTypes.MEDIA_ERROR) {
        show('This browser cannot decode the stream (' + data.details + ').');
        hls.destroy();
      } else {
        show('Playback failed: ' + data.details);
      }
    });
    hls.loadSource(settings.url);
    hls.attachMedia(video);
  } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
    video.src = settings.url;
  } else {
    show('This browser supports neither Media Source Extensions nor native HLS.');
  }
  video.play().catch(function () {});
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
