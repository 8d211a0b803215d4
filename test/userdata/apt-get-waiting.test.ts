import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { USERDATA } from './stand-ins';

jest.setTimeout(30_000);

const execFileAsync = promisify(execFile);

/**
 * userdata/apt-get-waiting.sh with a stand-in apt-get that fails the way apt 2.6/2.7 does: the first
 * `failures` calls print `error` and exit 100, later calls succeed. (The box test holds the real lists
 * lock at first boot; here each path is driven quickly.)
 */
async function aptGetWaiting(failures: number, error: string, env: Record<string, string> = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'apt-get-waiting-'));
  try {
    fs.writeFileSync(
      path.join(dir, 'apt-get'),
      `#!/usr/bin/env bash
printf '%s\\n' "$*" >>'${dir}/calls'
if (( $(wc -l <'${dir}/calls') <= ${failures} )); then echo '${error}' >&2; exit 100; fi
`,
      { mode: 0o755 },
    );
    const result = await execFileAsync('bash', [path.join(USERDATA, 'apt-get-waiting.sh'), 'update'], {
      env: { PATH: `${dir}:${process.env.PATH}`, KVS_APT_RETRY_SECONDS: '0', ...env },
    }).then(
      ({ stderr }) => ({ code: 0, stderr }),
      (failure: { code: number; stderr: string }) => ({ code: failure.code, stderr: failure.stderr }),
    );
    return { ...result, calls: fs.readFileSync(path.join(dir, 'calls'), 'utf8').trim().split('\n') };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const LISTS_LOCK =
  'E: Could not get lock /var/lib/apt/lists/lock. It is held by process 812 (unattended-upgr)';

describe('apt-get-waiting.sh', () => {
  test('waits while another apt holds the lists lock (which apt-get update does not wait for), then succeeds', async () => {
    const result = await aptGetWaiting(3, LISTS_LOCK);
    expect(result.code).toBe(0);
    expect(result.calls).toHaveLength(4);
    expect(result.calls[0]).toBe('-q -y -o DPkg::Lock::Timeout=900 update');
    expect(result.stderr).toContain('apt-get update: another apt process holds an apt lock');
  });

  test('gives up on a lock held longer than KVS_APT_LOCK_WAIT_SECONDS, with apt-get exit status', async () => {
    const result = await aptGetWaiting(1000, LISTS_LOCK, {
      KVS_APT_LOCK_WAIT_SECONDS: '1',
      KVS_APT_RETRY_SECONDS: '1',
    });
    expect(result.code).toBe(100);
    expect(result.stderr).toContain('still holds an apt lock after 1s; giving up');
  });

  test('retries any other failure twice, then gives up', async () => {
    const result = await aptGetWaiting(1000, 'E: Unable to locate package gstreamer1.0-nothing');
    expect(result.code).toBe(100);
    expect(result.calls).toHaveLength(3);
    expect(result.stderr).toContain('apt-get update failed (exit 100) 3 times; giving up');
  });
});
