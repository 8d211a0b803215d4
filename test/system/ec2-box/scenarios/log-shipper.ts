import { BoxEnvironment } from '../box-environment';

/**
 * The install's Fluent Bit steps, run as on an instance against the stand-in repository: the key checked
 * against the config's fingerprint, the signed repository, apt-get install, and the package's unit with
 * the gateway's drop-in. The package is a stand-in (CI has no Fluent Bit): what it proves is that Fluent
 * Bit is installed and started as the drop-in says, with the gateway's configuration and every variable it
 * uses set; not that it ships (the real one's run is in docs/ec2-gateway.md#logs).
 */
export function logShipper(env: BoxEnvironment): void {
  test('Fluent Bit comes from its signed repository with the pinned key, no gpg, and runs on the gateway configuration', async () => {
    env.requireInstalled();
    const log = env.box.readFile('var/log/cloud-init-output.log');
    expect(log).toContain('step: install the log shipper (Fluent Bit)');
    expect(env.box.readFile('etc/apt/sources.list.d/fluent-bit.list')).toBe(
      `deb [signed-by=/usr/share/keyrings/fluentbit-keyring.asc] https://packages.fluentbit.io/ubuntu/${env.variant.suite} ${env.variant.suite} main\n`,
    );
    expect(env.box.readFile('usr/share/keyrings/fluentbit-keyring.asc')).toContain(
      '-----BEGIN PGP PUBLIC KEY BLOCK-----',
    );
    // The box, like an image without it, has no gpg: nothing in the install needed it.
    expect((await env.box.exec(['sh', '-c', 'command -v gpg'])).code).not.toBe(0);
    const unit = await env.box.unitProperties('fluent-bit.service', 'ActiveState', 'UnitFileState');
    expect(unit).toEqual({ ActiveState: 'active', UnitFileState: 'enabled' });
    const started = JSON.parse(await env.box.mustExec(['cat', '/run/fluent-bit-stand-in.json'])) as {
      config: string;
    };
    expect(started.config).toBe('/etc/kvs-gateway/fluent-bit.conf');
  });
}
