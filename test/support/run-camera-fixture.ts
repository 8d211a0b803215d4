import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RunCamera } from './run-camera';
import { TestCamera, TestCameraOptions } from './test-camera';

export interface StartedRun {
  readonly run: RunCamera;
  /** The file sink's folder (`GATEWAY_SINK=file:<folder>`), which also holds the health file. */
  readonly folder: string;
  readonly env: Record<string, string>;
}

/**
 * For one jest file of run-camera.sh tests: a work folder, test cameras and runs that are stopped after
 * each test, and, whatever a test did, the check that no line any run logged holds the camera password,
 * plain or percent-encoded.
 */
export function useRunCameraFixture(password: string) {
  const cameras: TestCamera[] = [];
  const runs: RunCamera[] = [];
  let workDir = '';

  beforeAll(() => {
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'run-camera-'));
  });

  afterEach(async () => {
    const finished = runs.splice(0);
    await Promise.all(finished.map((run) => run.stop()));
    for (const run of finished) {
      expect(run.log).not.toContain(password);
      expect(run.log).not.toContain(encodeURIComponent(password));
    }
    await Promise.all(cameras.splice(0).map((camera) => camera.stop()));
  });

  afterAll(() => fs.rmSync(workDir, { recursive: true, force: true }));

  return {
    /** This file's temporary folder (made before its first test). */
    workDir: (): string => workDir,
    /** Stops `run` after the test and checks its log, like the runs `runCamera` starts. */
    track(run: RunCamera): RunCamera {
      runs.push(run);
      return run;
    },
    async camera(options: TestCameraOptions = {}): Promise<TestCamera> {
      const started = await TestCamera.start(options);
      cameras.push(started);
      return started;
    },
    /** Runs the real script for a camera named `name`, writing MKV files to a folder of its own. */
    runCamera(name: string, env: Record<string, string>): StartedRun {
      const folder = path.join(workDir, name);
      const fullEnv = {
        STREAM_NAME: name,
        GATEWAY_SINK: `file:${folder}`,
        HEALTH_FILE: path.join(folder, 'health'),
        ...env,
      };
      const run = new RunCamera(fullEnv);
      runs.push(run);
      return { run, folder, env: fullEnv };
    },
  };
}
