import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

/**
 * The gateway's decision about recording schedules (userdata/recording_schedule.py) is unit-tested in
 * Python, next to this file (test_recording_schedule.py), with the distribution's Python and its
 * time-zone database, as the gateway runs it; this runs them in `npm test`.
 */
test("the Python unit tests of recording_schedule.py pass with the system's Python and tzdata", () => {
  const result = spawnSync(
    '/usr/bin/python3',
    ['-m', 'unittest', 'discover', '-s', __dirname, '-p', 'test_recording_schedule.py', '-v'],
    { cwd: path.join(__dirname, '..', '..'), encoding: 'utf8' },
  );
  expect({ status: result.status, output: result.stderr }).toEqual({
    status: 0,
    output: expect.stringMatching(/\nOK\n?$/),
  });
  expect(Number(/^Ran (\d+) tests?/m.exec(result.stderr)?.[1])).toBeGreaterThanOrEqual(6);
});
