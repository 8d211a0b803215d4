import * as fs from 'node:fs';
import * as path from 'node:path';
import { KvsApiStandIn, KvsStandInState } from '../../../support/kvs-api-stand-in';
import { sleep } from '../../support/gateway-box';
import { BoxEnvironment } from '../box-environment';

/**
 * BY HAND ONLY, never in CI (kvssink cannot be built here): with KVS_BOX_REAL_KVSSINK naming a kvssink
 * install folder (lib/ and share/kvs-gateway/kvssink-runtime-packages, e.g. /work/kvssink/opt/kvs-gateway
 * built by hand with userdata/build-kvssink.sh, for the box's architecture), the same booted box runs its
 * cameras with the real kvssink against the project's KVS API stand-in, and prints what an outage and a
 * missing stream cost in the journal.
 */
export function realKvssink(env: BoxEnvironment): void {
  const folder = process.env.KVS_BOX_REAL_KVSSINK;
  (folder ? describe : describe.skip)('by hand: the real kvssink in the box (KVS_BOX_REAL_KVSSINK)', () => {
    let kvs: KvsApiStandIn | undefined;
    afterAll(() => kvs?.stop());

    test('streams to the KVS API stand-in; KVS unreachable and a missing stream stay quiet and kill nothing', async () => {
      env.requireInstalled();
      const { box } = env;
      const packages = fs
        .readFileSync(path.join(folder!, 'share/kvs-gateway/kvssink-runtime-packages'), 'utf8')
        .split('\n')
        .filter(Boolean);
      await box.mustExec(
        [
          'bash',
          '/opt/kvs-gateway/install/apt-get-waiting.sh',
          'install',
          '--no-install-recommends',
          ...packages,
        ],
        env.ms(600_000),
      );
      // After its libraries: a camera starting meanwhile would find a plugin that cannot load, and
      // GStreamer's registry cache would not try that file again until it changes.
      fs.cpSync(path.join(folder!, 'lib'), path.join(box.root, 'opt/kvs-gateway/lib'), {
        recursive: true,
        verbatimSymlinks: true, // the SDK's libraries are relative symlinks (libcproducer.so.1 -> ...)
      });
      kvs = await KvsApiStandIn.start({ region: env.place.region, host: env.network.hostAddress });
      env.writeGatewayTestEnv(box, 'GATEWAY_SINK=kvssink', `CONTROL_PLANE_URI=${kvs.controlPlaneUri}`);
      const units = ['kvs-camera@front-door.service', 'kvs-camera@loading-dock.service'];
      await box.mustExec(['systemctl', 'restart', ...units]);
      const streaming = (state: KvsStandInState) =>
        ['front-door', 'loading-dock'].every((stream) => (state.streams[stream]?.fragments.length ?? 0) > 2);
      await kvs
        .waitFor(streaming, env.ms(120_000), 'fragments from both cameras')
        .catch(async (error: Error) => {
          throw new Error(`${error.message}\n${await box.journal('-n', '60', '-u', units[0])}`);
        });
      env.figure('real kvssink: both cameras streamed fragments to the KVS API stand-in');

      const journalBytes = async () =>
        Buffer.byteLength(await box.journal('-u', units[0])) +
        Buffer.byteLength(await box.journal('-u', units[1]));
      for (const mode of ['refuse', 'missing'] as const) {
        await kvs.setMode(mode);
        await sleep(30_000); // past the first reactions, into the steady state of the outage
        const start = await journalBytes();
        await sleep(60_000);
        env.figure(
          `real kvssink, KVS ${mode}: ${Math.round(((await journalBytes()) - start) / 2)} journal bytes per camera-minute`,
        );
        await kvs.reset();
        await kvs.setMode('normal');
        await kvs.waitFor(streaming, env.ms(180_000), `fragments again after the ${mode} outage`);
      }
      const lines = (await box.journal()).split('\n');
      const deaths = lines.filter((line) =>
        /SIGSYS|SIGSEGV|status=31\/SYS|status=11\/SEGV|code=dumped/.test(line),
      );
      env.figure(`real kvssink: ${deaths.length} processes died by a signal`);
      expect(deaths).toEqual([]);
    });
  });
}
