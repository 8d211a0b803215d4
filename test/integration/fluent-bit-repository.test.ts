import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { FluentBitRepository } from '../support/fluent-bit-repository';

/**
 * The stand-in of Fluent Bit's package repository works as the real one does for the install's steps:
 * its key (checked by the install's fingerprint script) verifies the repository apt reads over HTTPS
 * with a throw-away CA, and apt takes the stand-in package from it; a key that did not sign it is refused.
 * Apt runs on this machine with folders of the test's own (nothing is installed here).
 */

jest.setTimeout(120_000);

const USERDATA = path.join(__dirname, '..', '..', 'userdata');
let dir: string;
let repository: FluentBitRepository;
let port: number;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvs-fluent-bit-repository-'));
  repository = FluentBitRepository.create(path.join(dir, 'repository'), {
    codenames: ['bookworm'],
    architectures: ['amd64'],
  });
  port = await repository.start('127.0.0.1', 0);
});

afterAll(async () => {
  await repository?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** apt-get with its lists, cache and sources in a folder of the test's own. */
function apt(name: string, keyFile: string, ...args: string[]) {
  const root = path.join(dir, name);
  for (const folder of ['etc/sources.list.d', 'state/lists/partial', 'cache/archives/partial', 'download']) {
    fs.mkdirSync(path.join(root, folder), { recursive: true });
  }
  fs.writeFileSync(path.join(root, 'state', 'status'), '');
  fs.writeFileSync(
    path.join(root, 'etc', 'sources.list'),
    `deb [signed-by=${keyFile}] https://127.0.0.1:${port}/ubuntu/bookworm bookworm main\n`,
  );
  const options = [
    `Dir::Etc::SourceList=${path.join(root, 'etc', 'sources.list')}`,
    `Dir::Etc::SourceParts=${path.join(root, 'etc', 'sources.list.d')}`,
    `Dir::State=${path.join(root, 'state')}`,
    `Dir::State::status=${path.join(root, 'state', 'status')}`,
    `Dir::Cache=${path.join(root, 'cache')}`,
    `Acquire::https::CaInfo=${repository.caCertificate}`,
    'APT::Architecture=amd64',
    'Debug::NoLocking=1',
  ].flatMap((option) => ['-o', option]);
  return promisify(execFile)('apt-get', [...options, ...args], { cwd: path.join(root, 'download') });
}

test('its key, fetched over HTTPS, has the fingerprint the install pins for the run', async () => {
  const key = path.join(dir, 'fluentbit-keyring.asc');
  execFileSync('curl', [
    '-fsS',
    '--cacert',
    repository.caCertificate,
    '-o',
    key,
    `https://127.0.0.1:${port}/fluentbit.key`,
  ]);
  const fingerprint = execFileSync('python3', [path.join(USERDATA, 'openpgp-key-fingerprint.py'), key])
    .toString()
    .trim();
  expect(fingerprint).toBe(repository.keyFingerprint);
});

test('apt reads the signed repository with the armoured key in signed-by= and downloads the stand-in package', async () => {
  const key = path.join(repository.root, 'fluentbit.key');
  const armoured = path.join(dir, 'signed-by.asc');
  fs.copyFileSync(key, armoured);
  await apt('good', armoured, 'update');
  await apt('good', armoured, 'download', 'fluent-bit');
  const debs = fs.readdirSync(path.join(dir, 'good', 'download'));
  expect(debs).toEqual([expect.stringMatching(/^fluent-bit_5\.1\.1.*stand-in_amd64\.deb$/)]);
  const files = execFileSync('dpkg-deb', ['-c', path.join(dir, 'good', 'download', debs[0])]).toString();
  expect(files).toContain('./opt/fluent-bit/bin/fluent-bit');
  expect(files).toContain('./lib/systemd/system/fluent-bit.service');
});

test('a key that did not sign the repository is refused', async () => {
  const other = FluentBitRepository.create(path.join(dir, 'other'), { codenames: [], architectures: [] });
  const wrongKey = path.join(dir, 'other-key.asc');
  fs.copyFileSync(path.join(other.root, 'fluentbit.key'), wrongKey);
  await expect(apt('wrong', wrongKey, 'update', '--error-on=any')).rejects.toMatchObject({
    stderr: expect.stringMatching(/NO_PUBKEY|not signed|signatures couldn't be verified/),
  });
});
