import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { renderPlayerPage, writePlayerPage } from '../../lib/cli/hls-viewer';
import { launchChromium } from '../support/chromium';

/**
 * The player page that `kvs-gateway view --open` writes, opened in headless Chromium against a live
 * HLS stream that GStreamer makes here (hlssink2), served from 127.0.0.1 the way KVS serves one.
 */

const VIDEO = "document.querySelector('video')";

let dir: string;
let gstreamer: ChildProcess | undefined;
let server: http.Server | undefined;
let browser: Browser | undefined;

jest.setTimeout(90_000);

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvs-gateway-hls-'));
});

afterEach(async () => {
  await browser?.close();
  browser = undefined;
  if (gstreamer && gstreamer.exitCode === null) {
    const exited = new Promise((resolve) => gstreamer!.once('exit', resolve));
    gstreamer.kill('SIGKILL');
    await exited;
  }
  gstreamer = undefined;
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A live H.264 HLS stream: 1 s segments of a moving test pattern, 320x240 at 15 fps. */
function startHlsStream(hlsDir: string): ChildProcess {
  fs.mkdirSync(hlsDir);
  const pipeline = [
    'videotestsrc is-live=true pattern=ball',
    '!',
    'video/x-raw,width=320,height=240,framerate=15/1',
    '!',
    'x264enc tune=zerolatency speed-preset=ultrafast key-int-max=15',
    '!',
    'h264parse',
    '!',
    `hlssink2 location=${path.join(hlsDir, 'segment%05d.ts')} playlist-location=${path.join(hlsDir, 'live.m3u8')} target-duration=1 playlist-length=5 max-files=10`,
  ].join(' ');
  const child = spawn('gst-launch-1.0', ['-q', ...pipeline.split(' ')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr?.on('data', (chunk: Buffer) => process.stderr.write(`gst-launch-1.0: ${chunk}`));
  return child;
}

/** Serves the HLS directory like the KVS HLS endpoint would: any origin may read it (CORS). */
function serveDirectory(root: string): Promise<string> {
  const types: Record<string, string> = { '.m3u8': 'application/vnd.apple.mpegurl', '.ts': 'video/mp2t' };
  server = http.createServer((request, response) => {
    const file = path.join(root, path.basename(new URL(request.url ?? '/', 'http://127.0.0.1').pathname));
    fs.readFile(file, (error, body) => {
      const headers = { 'Access-Control-Allow-Origin': '*', 'Cache-Control': 'no-store' };
      if (error) {
        response.writeHead(404, headers).end();
        return;
      }
      response.writeHead(200, {
        ...headers,
        'Content-Type': types[path.extname(file)] ?? 'application/octet-stream',
      });
      response.end(body);
    });
  });
  return new Promise((resolve) =>
    server!.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server!.address() as AddressInfo).port}`),
    ),
  );
}

async function waitForSegments(playlist: string, count: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (gstreamer?.exitCode !== null && gstreamer?.exitCode !== undefined) {
      throw new Error(`gst-launch-1.0 exited with ${gstreamer.exitCode}`);
    }
    const text = fs.existsSync(playlist) ? fs.readFileSync(playlist, 'utf8') : '';
    if ((text.match(/^#EXTINF/gm) ?? []).length >= count) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`no ${count} segments in ${playlist} after ${timeoutMs} ms`);
}

function writePage(name: string, hlsUrl: string, expiresAt: Date): string {
  const file = path.join(dir, `${name}.html`);
  writePlayerPage(
    file,
    renderPlayerPage({ camera: name, hlsUrl, expiresAt: expiresAt.toISOString(), h265: false }),
  );
  return pathToFileURL(file).href;
}

test('the player page plays a live H.264 HLS stream in headless Chromium', async () => {
  const hlsDir = path.join(dir, 'hls');
  gstreamer = startHlsStream(hlsDir);
  const origin = await serveDirectory(hlsDir);
  await waitForSegments(path.join(hlsDir, 'live.m3u8'), 3, 30_000);
  const page = writePage('test-camera', `${origin}/live.m3u8`, new Date(Date.now() + 3600_000));

  browser = await launchChromium();
  const tab = await browser.newPage();
  await tab.goto(page);
  // Expressions run in the page; strings keep DOM types out of this Node project.
  await tab.waitForFunction(`${VIDEO}.currentTime > 0`, undefined, { timeout: 30_000 });
  const first = await tab.evaluate<number>(`${VIDEO}.currentTime`);
  await tab.waitForTimeout(3000);
  const later = await tab.evaluate<number>(`${VIDEO}.currentTime`);

  expect(later - first).toBeGreaterThan(1.5);
  expect(await tab.textContent('#status')).toBe('Playing.');
  expect(await tab.textContent('h1')).toBe('test-camera');
  const size = await tab.evaluate<number[]>(`[${VIDEO}.videoWidth, ${VIDEO}.videoHeight]`);
  expect(size).toEqual([320, 240]);
});

test('an expired session URL: the page says to run view again', async () => {
  const origin = await serveDirectory(dir);
  const page = writePage('test-camera', `${origin}/expired.m3u8`, new Date(Date.now() - 60_000));

  browser = await launchChromium();
  const tab = await browser.newPage();
  await tab.goto(page);

  await tab.locator('#status', { hasText: 'expired' }).waitFor({ timeout: 30_000 });
  expect(await tab.textContent('#status')).toBe('The session has expired: run kvs-gateway view again.');
});
