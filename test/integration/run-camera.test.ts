import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { discoverMediaFile } from '../support/media-file';
import { checkHealth, fileGrowsPast, mkvFiles } from '../support/run-camera';
import { useRunCameraFixture } from '../support/run-camera-fixture';

/**
 * The real userdata/run-camera.sh against the project's RTSP test camera on 127.0.0.1, with the file sink
 * standing in for kvssink: what reaches the sink, codecs, audio, credentials and health.
 */

jest.setTimeout(60000);

const PASSWORD = 'p@ss:w/rd%41';
const { camera, runCamera, workDir } = useRunCameraFixture(PASSWORD);

test('H.264 video from a camera with a special-character password lands in the file sink and keeps growing', async () => {
  const cam = await camera({ user: 'admin', password: PASSWORD });
  const { run, folder, env } = runCamera('h264-cam', { RTSP_URL: cam.url() });

  await run.waitForLine(/video flowing/, 20000);
  const file = await fileGrowsPast(folder, 20000);
  const firstSize = fs.statSync(file).size;
  await new Promise((resolve) => setTimeout(resolve, 2500));
  expect(fs.statSync(file).size).toBeGreaterThan(firstSize);

  const health = checkHealth(env);
  expect(health).toEqual({ code: 0, output: expect.stringMatching(/^healthy: video flowed \d+s ago/) });

  // Neither argv (what ps shows every user) nor the log holds the password, plain or percent-encoded.
  const everyCommandLine = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
  expect(everyCommandLine).toContain('run-camera.sh');
  for (const secret of [PASSWORD, encodeURIComponent(PASSWORD)]) {
    expect(everyCommandLine).not.toContain(secret);
    expect(run.log).not.toContain(secret);
  }
  expect(run.log).toContain('probing rtsp://admin:***@127.0.0.1');

  expect(await run.stop()).toBe(0);
  // SIGTERM ends the stream with EOS, so the file is finalized and readable with its duration.
  const info = discoverMediaFile(file);
  expect(info).toMatchObject({ video: expect.stringMatching(/^H\.264/), width: 320, height: 240 });
  expect(info.durationSeconds).toBeGreaterThan(2);
  expect(info.audio).toBeUndefined();
});

test('CODEC=auto detects an H.265 camera and passes H.265 through without transcoding', async () => {
  const cam = await camera({ codec: 'h265' });
  const { run, folder } = runCamera('h265-cam', { RTSP_URL: cam.url(), CODEC: 'auto' });

  await run.waitForLine(/streaming H265/, 20000);
  // Depayloader and parser only: nothing decodes or encodes.
  expect((await run.waitForLine(/pipeline: /, 5000)).text).not.toMatch(/dec|enc|convert/);
  await run.waitForLine(/video flowing/, 20000);
  await fileGrowsPast(folder, 5000);
  expect(await run.stop()).toBe(0);
  const info = discoverMediaFile(mkvFiles(folder)[0]);
  expect(info).toMatchObject({ video: expect.stringMatching(/^H\.265/), width: 320, height: 240 });
});

test('CODEC=h264 refuses an H.265 camera with a clear message and exit code 4, without a retry loop', async () => {
  const cam = await camera({ codec: 'h265' });
  const { run } = runCamera('wrong-codec', { RTSP_URL: cam.url(), CODEC: 'h264' });

  expect(await run.exited).toBe(4);
  expect(run.log).toMatch(
    /CODEC=h264 but the camera sends video H265: set codec to auto or to what the camera sends/,
  );
  expect(cam.connections).toHaveLength(1);
});

test('AUDIO=true adds the camera AAC track; G.711 A-law passes through too', async () => {
  const aacCam = await camera({ audio: 'aac' });
  const alawCam = await camera({ audio: 'pcma', auth: 'digest', user: 'viewer', password: PASSWORD });
  const aac = runCamera('aac-cam', { RTSP_URL: aacCam.url(), AUDIO: 'true' });
  const alaw = runCamera('alaw-cam', { RTSP_URL: alawCam.url(), AUDIO: 'true' });

  for (const { run, folder } of [aac, alaw]) {
    await run.waitForLine(/video flowing/, 20000);
    await fileGrowsPast(folder, 10000);
    expect(await run.stop()).toBe(0);
  }
  expect(aac.run.log).toContain('streaming H264 + MPEG4-GENERIC audio');
  expect(discoverMediaFile(mkvFiles(aac.folder)[0])).toMatchObject({
    video: expect.stringMatching(/^H\.264/),
    audio: expect.stringMatching(/AAC/),
  });
  // The A-law camera also uses digest authentication with the special-character password.
  expect(alaw.run.log).toContain('streaming H264 + PCMA audio');
  expect(discoverMediaFile(mkvFiles(alaw.folder)[0]).audio).toMatch(/A-Law/i);
});

test('tracks not asked for (audio with AUDIO=false, an ONVIF-style metadata track) are not set up', async () => {
  const cam = await camera({ audio: 'aac', metadata: true });
  const { run, folder } = runCamera('onvif-cam', { RTSP_URL: cam.url(), AUDIO: 'false' });

  await run.waitForLine(/video flowing/, 20000);
  expect(run.log).toMatch(
    /camera offers video H264, audio MPEG4-GENERIC, application X-GST; streaming H264 to /,
  );
  await fileGrowsPast(folder, 10000);
  expect(await run.stop()).toBe(0);
  const info = discoverMediaFile(mkvFiles(folder)[0]);
  expect(info.video).toMatch(/^H\.264/);
  expect(info.audio).toBeUndefined();
});

test('AUDIO=true with a camera without audio streams video only, with a warning', async () => {
  const cam = await camera({ audio: 'none' });
  const { run, folder } = runCamera('mute-cam', { RTSP_URL: cam.url(), AUDIO: 'true' });

  await run.waitForLine(/video flowing/, 20000);
  expect(run.log).toMatch(
    /warning: AUDIO=true but the camera sends no AAC or G\.711 audio \(video H264\): streaming video only/,
  );
  await fileGrowsPast(folder, 5000);
  expect(await run.stop()).toBe(0);
  const info = discoverMediaFile(mkvFiles(folder)[0]);
  expect(info.video).toMatch(/^H\.264/);
  expect(info.audio).toBeUndefined();
});

test('with KVS_CREDENTIAL_PATH, static AWS keys are kept out of the pipeline environment', async () => {
  const cam = await camera();
  const { run } = runCamera('credential-file', {
    RTSP_URL: cam.url(),
    GATEWAY_SINK: 'fake',
    AWS_REGION: 'eu-west-1',
    KVS_CREDENTIAL_PATH: path.join(workDir(), 'credential'),
    AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    AWS_SESSION_TOKEN: 'stand-in-session-token',
    AWS_DEFAULT_REGION: 'us-east-1',
  });

  await run.waitForLine(/video flowing/, 20000);
  const [pipelinePid] = run.pipelinePids();
  const environment = fs.readFileSync(`/proc/${pipelinePid}/environ`, 'utf8').split('\0');
  expect(
    environment.some((entry) => /^AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN)=/.test(entry)),
  ).toBe(false);
  // AWS_DEFAULT_REGION would override kvssink's aws-region: the script aligns it with AWS_REGION.
  expect(environment).toContain('AWS_DEFAULT_REGION=eu-west-1');
  expect(fs.readFileSync(`/proc/${pipelinePid}/cmdline`, 'utf8')).not.toContain('rtsp://');
});
