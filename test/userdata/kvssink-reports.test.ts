import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

/**
 * The pipeline program's decisions about what kvssink reports (userdata/kvssink_reports.py) are unit-tested
 * in Python, next to this file (test_kvssink_reports.py); this runs them in `npm test`.
 */
test('the Python unit tests of kvssink_reports.py pass', () => {
  const result = spawnSync(
    'python3',
    ['-m', 'unittest', 'discover', '-s', __dirname, '-p', 'test_kvssink_reports.py', '-v'],
    {
      cwd: path.join(__dirname, '..', '..'),
      encoding: 'utf8',
    },
  );
  const summary = /^Ran (\d+) tests?/m.exec(result.stderr);
  expect({ status: result.status, output: result.stderr }).toEqual({
    status: 0,
    output: expect.stringMatching(/\nOK\n?$/),
  });
  expect(Number(summary?.[1])).toBeGreaterThanOrEqual(20);
});
