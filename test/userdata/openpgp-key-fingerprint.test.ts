import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FLUENT_BIT_KEY_FINGERPRINT } from '../../lib/config';
import { USERDATA } from './stand-ins';

/**
 * userdata/openpgp-key-fingerprint.py, which the install runs on Fluent Bit's repository key before apt
 * may trust it (no gpg on the instance): checked against gpg's own fingerprints of throw-away keys.
 */

jest.setTimeout(120_000);

const SCRIPT = path.join(USERDATA, 'openpgp-key-fingerprint.py');
let home: string;

/** A throw-away key made by gpg in a keyring of the test's own; returns its fingerprint as gpg prints it. */
function makeKey(uid: string, algorithm: string): string {
  execFileSync(
    'gpg',
    ['--batch', '--quiet', '--passphrase', '', '--quick-gen-key', uid, algorithm, 'sign', 'never'],
    {
      env: { ...process.env, GNUPGHOME: home },
      stdio: 'ignore',
    },
  );
  const listing = execFileSync('gpg', ['--with-colons', '--fingerprint', uid], {
    env: { ...process.env, GNUPGHOME: home },
  }).toString();
  return /^fpr:+([0-9A-F]+):/m.exec(listing)![1];
}

function exported(...uids: string[]): string {
  const file = path.join(home, `${uids.length}-keys.asc`);
  fs.writeFileSync(
    file,
    execFileSync('gpg', ['--armor', '--export', ...uids], { env: { ...process.env, GNUPGHOME: home } }),
  );
  return file;
}

function fingerprintOf(file: string) {
  const run = spawnSync('python3', [SCRIPT, file], { encoding: 'utf8' });
  return { code: run.status, stdout: run.stdout.trim(), stderr: run.stderr.trim() };
}

let rsa: string;
let ed25519: string;

beforeAll(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'kvs-gnupg-'));
  fs.chmodSync(home, 0o700);
  rsa = makeKey('Stand-in repository <rsa@example.com>', 'rsa2048');
  ed25519 = makeKey('Stand-in repository <ed25519@example.com>', 'ed25519');
});

afterAll(() => {
  spawnSync('gpgconf', ['--kill', 'all'], { env: { ...process.env, GNUPGHOME: home } });
  fs.rmSync(home, { recursive: true, force: true });
});

test("prints gpg's fingerprint of one armoured key (RSA and Ed25519, with subkeys)", () => {
  expect(fingerprintOf(exported('rsa@example.com'))).toEqual({ code: 0, stdout: rsa, stderr: '' });
  expect(fingerprintOf(exported('ed25519@example.com'))).toEqual({ code: 0, stdout: ed25519, stderr: '' });
});

test('refuses a file with a second primary key next to the pinned one (apt would trust both)', () => {
  const both = fingerprintOf(exported('rsa@example.com', 'ed25519@example.com'));
  expect(both.code).toBe(1);
  expect(both.stderr).toContain('expected one primary public key, found 2');
});

test('refuses what is not an armoured key: an HTML error page, a binary keyring', () => {
  const page = path.join(home, 'page.asc');
  fs.writeFileSync(page, '<html><body>503 Service Unavailable</body></html>\n');
  expect(fingerprintOf(page)).toMatchObject({ code: 1, stderr: expect.stringContaining('found 0') });
  const binary = path.join(home, 'key.gpg');
  fs.writeFileSync(
    binary,
    execFileSync('gpg', ['--export', 'rsa@example.com'], { env: { ...process.env, GNUPGHOME: home } }),
  );
  expect(fingerprintOf(binary).code).toBe(1);
});

test("the pinned fingerprint of Fluent Bit's key has the form the install compares", () => {
  expect(FLUENT_BIT_KEY_FINGERPRINT).toMatch(/^[0-9A-F]{40}$/);
});
