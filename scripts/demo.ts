import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { discoverMediaFile } from '../test/support/media-file';
import { mkvFiles, RunCamera } from '../test/support/run-camera';
import { TestCamera, TestCameraOptions } from '../test/support/test-camera';

/**
 * `npm run demo`: the gateway's job without an AWS account. Starts two local RTSP test cameras (H.264 with
 * AAC audio behind a password, and H.265), runs the real userdata/run-camera.sh for each with the file
 * sink in place of kvssink for about 20 s, then lists the MKV files written with codec, size and length.
 */

const SECONDS = Number(process.env.DEMO_SECONDS ?? 20);

interface DemoCamera {
  readonly name: string;
  readonly options: TestCameraOptions;
  readonly audio: boolean;
}

const DEMO_CAMERAS: DemoCamera[] = [
  {
    name: 'front-door',
    options: {
      codec: 'h264',
      audio: 'aac',
      user: 'admin',
      password: 'p@ss:w/rd%41',
      width: 640,
      height: 360,
    },
    audio: true,
  },
  { name: 'loading-dock', options: { codec: 'h265', width: 640, height: 360 }, audio: false },
];

async function main(): Promise<void> {
  const outputDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvs-gateway-demo-'));
  const cameras: TestCamera[] = [];
  const runs: RunCamera[] = [];
  const stopAll = async () => {
    await Promise.all(runs.map((run) => run.stop()));
    await Promise.all(cameras.map((camera) => camera.stop()));
  };
  process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));

  try {
    for (const demo of DEMO_CAMERAS) {
      const camera = await TestCamera.start(demo.options);
      cameras.push(camera);
      const login = demo.options.user ? `, user ${demo.options.user} with a password` : '';
      console.log(`camera ${demo.name}: ${demo.options.codec} test camera at ${camera.address}${login}`);
      runs.push(
        new RunCamera({
          CAMERA_NAME: demo.name,
          STREAM_NAME: demo.name,
          RTSP_URL: camera.url(),
          CODEC: 'auto',
          AUDIO: String(demo.audio),
          GATEWAY_SINK: `file:${path.join(outputDir, demo.name)}`,
          HEALTH_FILE: path.join(outputDir, `${demo.name}.health`),
        }),
      );
    }
    const echoFrom = runs.map(() => 0);
    const deadline = Date.now() + SECONDS * 1000;
    console.log(`running userdata/run-camera.sh for each camera for ${SECONDS} s (GATEWAY_SINK=file:...)`);
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      runs.forEach((run, i) => {
        for (const line of run.lines.slice(echoFrom[i])) console.log(`  ${line.text}`);
        echoFrom[i] = run.lines.length;
      });
    }
  } finally {
    await stopAll();
  }
  for (const run of runs) for (const line of run.lines.slice(-1)) console.log(`  ${line.text}`);

  console.log(`\nfiles written under ${outputDir}:`);
  const rows = DEMO_CAMERAS.flatMap((demo) =>
    mkvFiles(path.join(outputDir, demo.name)).map((file) => {
      const info = discoverMediaFile(file);
      return {
        file: path.relative(outputDir, file),
        video: info.video ?? '-',
        resolution: info.width ? `${info.width}x${info.height}` : '-',
        audio: info.audio ?? '-',
        seconds: info.durationSeconds?.toFixed(1) ?? '-',
        kB: Math.round(fs.statSync(file).size / 1024),
      };
    }),
  );
  console.table(rows);
  if (rows.length < DEMO_CAMERAS.length) {
    console.error('demo: a camera wrote no file; see the log above');
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
