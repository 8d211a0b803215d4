import { INSTALL_TIMEOUT } from '../../../../lib/ec2-stack';
import { waitFor } from '../../support/gateway-box';
import { BoxEnvironment } from '../box-environment';

/** The replacement's instance id: another instance of the same shard. */
const REPLACEMENT_ID = 'i-0e1a2c3e4e5e6e7e8';

/**
 * The shard's instance fails and the Auto Scaling group launches another from the same launch template:
 * the first box powered off, a second one booted from the same user-data, as another instance. It finds
 * the first instance's kvssink build in the cache, checks it and installs it, and streams, without ever
 * installing a compiler or fetching from "GitHub". Its boot to first video is the figure the kvssink cache
 * exists for.
 */
export function replacementInstance(env: BoxEnvironment): void {
  test('a replacement instance of the shard installs the published kvssink, with no compiler, and streams', async () => {
    env.requireInstalled();
    const fetches = env.gitFetches().length;
    const cacheCalls = env.kvssinkCacheCalls().length;
    await env.box.shutdown();
    env.aws.setInstance({ ...env.instance, instanceId: REPLACEMENT_ID });
    env.box = await env.newBox('replacement');
    const booted = Date.now();
    await env.box.boot();
    const signal = await waitFor(
      "the replacement's install to signal",
      env.ms(INSTALL_TIMEOUT.toMilliseconds()),
      () => env.signals().find((s) => s.UniqueId.startsWith(REPLACEMENT_ID)),
      2000,
    );
    const log = env.box.readFile('var/log/cloud-init-output.log');
    expect({ status: signal.Status, log: signal.Status === 'SUCCESS' ? '' : log.slice(-4000) }).toEqual({
      status: 'SUCCESS',
      log: '',
    });
    env.figure(
      `replacement (kvssink from the cache): boot to SUCCESS signal ${Math.round((Date.now() - booted) / 1000)}s`,
    );
    for (const name of ['front-door', 'loading-dock']) {
      await env.videoGrows(name, env.ms(60_000));
      env.figure(
        `replacement: first video from ${name} ${Math.round((Date.now() - booted) / 1000)}s after boot`,
      );
    }

    const cache = env.userData.settings.KVS_KVSSINK_CACHE;
    expect(log).toMatch(
      new RegExp(
        `kvssink-cache: installed kvssink from ${cache} \\(SHA-256 \\S+, built by ${env.instance.instanceId}\\)`,
      ),
    );
    expect(env.kvssinkCacheCalls().slice(cacheCalls)).toEqual(['HeadObject 200', 'GetObject 200']);
    expect(env.gitFetches().slice(fetches)).toEqual([]);
    expect(log).not.toContain('build-kvssink:');
    // No build tool was ever installed on it (dpkg knows every package the install added).
    expect(await env.buildPackagesInstalled(env.box)).toEqual([]);
    const compilers = await env.box.exec(['sh', '-c', 'command -v cc gcc c++ cmake git || true']);
    expect(compilers.stdout.trim()).toBe('');
    expect(await env.journalProblems(env.box)).toEqual({ secrets: [], deaths: [] });
  });
}
