import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';

/**
 * A stand-in of Fluent Bit's package repository (packages.fluentbit.io), so that the install's Fluent Bit
 * steps run as on an instance: its key at /fluentbit.key (a throw-away GPG key made for the run), an apt
 * repository at /ubuntu/<codename> whose InRelease that key signs, holding a stand-in `fluent-bit` package
 * (test/support/fluent-bit-stand-in/: the unit the real package installs, and a program that checks its
 * configuration and idles, shipping nothing), served over HTTPS with a throw-away CA's certificate for
 * packages.fluentbit.io (and 127.0.0.1). The box trusts the CA and maps the name to the server.
 */

export const FLUENT_BIT_HOST = 'packages.fluentbit.io';
const STAND_IN_FILES = path.join(__dirname, 'fluent-bit-stand-in');
const SERVER = path.join(__dirname, 'https-file-server.py');

function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): string {
  return execFileSync(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
}

const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

export interface FluentBitRepositoryOptions {
  /** Debian or Ubuntu code names the install may ask for (its VERSION_CODENAME). */
  readonly codenames: readonly string[];
  /** dpkg architectures of the package (amd64, arm64). */
  readonly architectures: readonly string[];
}

export class FluentBitRepository {
  /** The folder served: fluentbit.key, ubuntu/<codename>/... */
  readonly root: string;
  /** The throw-away CA's certificate (PEM), which the box must trust. */
  readonly caCertificate: string;
  /** The fingerprint of the throw-away repository key, as the install compares it. */
  readonly keyFingerprint: string;
  private server?: ChildProcess;

  private constructor(
    private readonly dir: string,
    fingerprint: string,
  ) {
    this.root = path.join(dir, 'root');
    this.caCertificate = path.join(dir, 'ca.pem');
    this.keyFingerprint = fingerprint;
  }

  /** Makes the keys, the certificate, the package and the signed repository under `dir`. */
  static create(dir: string, options: FluentBitRepositoryOptions): FluentBitRepository {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    // A short home: gpg-agent's socket path must fit a Unix socket's 108 bytes.
    const gnupg = fs.mkdtempSync(path.join(os.tmpdir(), 'kvs-gnupg-'));
    const env = { ...process.env, GNUPGHOME: gnupg };
    const uid = 'Fluent Bit stand-in repository (throw-away) <stand-in@example.com>';
    run(
      'gpg',
      ['--batch', '--quiet', '--passphrase', '', '--quick-gen-key', uid, 'ed25519', 'sign', '1d'],
      env,
    );
    const fingerprint = /^fpr:+([0-9A-F]+):/m.exec(
      run('gpg', ['--with-colons', '--fingerprint', uid], env),
    )![1];
    const repository = new FluentBitRepository(dir, fingerprint);
    fs.mkdirSync(repository.root, { recursive: true });
    fs.writeFileSync(
      path.join(repository.root, 'fluentbit.key'),
      run('gpg', ['--armor', '--export', uid], env),
    );
    repository.makeCertificates();
    for (const codename of options.codenames) {
      repository.makeRepository(codename, options.architectures, env);
    }
    run('gpgconf', ['--kill', 'all'], env);
    fs.rmSync(gnupg, { recursive: true, force: true });
    return repository;
  }

  /** Serves the repository on `address`:`port` (443 for the box). */
  async start(address: string, port: number, netns?: string): Promise<number> {
    const command = [
      '/usr/bin/python3',
      SERVER,
      '--folder',
      this.root,
      '--cert',
      path.join(this.dir, 'server-chain.pem'),
      '--key',
      path.join(this.dir, 'server.key'),
      '--address',
      address,
      '--port',
      String(port),
    ];
    const argv = netns ? ['ip', 'netns', 'exec', netns, ...command] : command;
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    this.server = child;
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the repository did not start: ${stderr}`)), 20_000);
      child.once('exit', (code) => reject(new Error(`the repository exited with ${code}: ${stderr}`)));
      readline.createInterface({ input: child.stdout! }).once('line', (line) => {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { port: number }).port);
      });
    });
  }

  async stop(): Promise<void> {
    const child = this.server;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    await exited;
  }

  private makeCertificates(): void {
    const file = (name: string) => path.join(this.dir, name);
    run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=Throw-away test CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign',
      '-keyout',
      file('ca.key'),
      '-out',
      file('ca.pem'),
    ]);
    run('openssl', [
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      `/CN=${FLUENT_BIT_HOST}`,
      '-keyout',
      file('server.key'),
      '-out',
      file('server.csr'),
    ]);
    fs.writeFileSync(
      file('server.ext'),
      `subjectAltName=DNS:${FLUENT_BIT_HOST},IP:127.0.0.1\nextendedKeyUsage=serverAuth\n`,
    );
    run('openssl', [
      'x509',
      '-req',
      '-in',
      file('server.csr'),
      '-CA',
      file('ca.pem'),
      '-CAkey',
      file('ca.key'),
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      file('server.ext'),
      '-out',
      file('server.pem'),
    ]);
    fs.writeFileSync(file('server-chain.pem'), fs.readFileSync(file('server.pem')));
  }

  /** /ubuntu/<codename>: pool/ with the package per architecture, dists/<codename>/ signed by the key. */
  private makeRepository(codename: string, architectures: readonly string[], env: NodeJS.ProcessEnv): void {
    const base = path.join(this.root, 'ubuntu', codename);
    const dists = path.join(base, 'dists', codename);
    const indexes: string[] = [];
    for (const architecture of architectures) {
      const deb = this.makePackage(base, architecture);
      const control = run('dpkg-deb', ['-f', deb]).trimEnd();
      const filename = path.relative(base, deb);
      const entry = `${control}\nFilename: ${filename}\nSize: ${fs.statSync(deb).size}\nSHA256: ${sha256(deb)}\n`;
      const index = path.join(dists, 'main', `binary-${architecture}`, 'Packages');
      fs.mkdirSync(path.dirname(index), { recursive: true });
      fs.writeFileSync(index, entry);
      indexes.push(index);
    }
    const release = [
      'Origin: Fluent Bit stand-in',
      'Label: Fluent Bit stand-in',
      `Suite: ${codename}`,
      `Codename: ${codename}`,
      `Date: ${new Date().toUTCString().replace('GMT', '+0000')}`,
      `Architectures: ${architectures.join(' ')}`,
      'Components: main',
      'SHA256:',
      ...indexes.map(
        (index) => ` ${sha256(index)} ${fs.statSync(index).size} ${path.relative(dists, index)}`,
      ),
      '',
    ].join('\n');
    fs.writeFileSync(path.join(dists, 'Release'), release);
    run(
      'gpg',
      ['--batch', '--yes', '--clearsign', '-o', path.join(dists, 'InRelease'), path.join(dists, 'Release')],
      env,
    );
  }

  private makePackage(base: string, architecture: string): string {
    const build = path.join(this.dir, `package-${architecture}`);
    fs.rmSync(build, { recursive: true, force: true });
    const install = (source: string, target: string, mode: number) => {
      fs.mkdirSync(path.dirname(path.join(build, target)), { recursive: true });
      fs.copyFileSync(path.join(STAND_IN_FILES, source), path.join(build, target));
      fs.chmodSync(path.join(build, target), mode);
    };
    install('fluent-bit.py', 'opt/fluent-bit/bin/fluent-bit', 0o755);
    install('fluent-bit.service', 'lib/systemd/system/fluent-bit.service', 0o644);
    fs.mkdirSync(path.join(build, 'DEBIAN'), { recursive: true });
    fs.writeFileSync(
      path.join(build, 'DEBIAN', 'control'),
      [
        'Package: fluent-bit',
        'Version: 5.1.1+stand-in',
        `Architecture: ${architecture}`,
        'Maintainer: KVS Cloud Gateway tests <stand-in@example.com>',
        'Depends: python3',
        'Description: stand-in of Fluent Bit for the gateway tests (ships nothing)',
        '',
      ].join('\n'),
    );
    const deb = path.join(
      base,
      'pool',
      'main',
      'f',
      'fluent-bit',
      `fluent-bit_5.1.1+stand-in_${architecture}.deb`,
    );
    fs.mkdirSync(path.dirname(deb), { recursive: true });
    run('dpkg-deb', ['--root-owner-group', '-Zgzip', '--build', build, deb]);
    return deb;
  }
}
