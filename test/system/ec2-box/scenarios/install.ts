import { INSTALL_TIMEOUT } from '../../../../lib/ec2-stack';
import { waitFor } from '../../support/gateway-box';
import { BoxEnvironment } from '../box-environment';

/**
 * The first boot: the user-data installs the gateway and signals SUCCESS; the box then serves every later
 * scenario. It is the shard's first instance, so the kvssink cache is empty: it builds kvssink from the
 * pinned sources ("GitHub" is the box environment's git server) and publishes the build.
 */
export function install(env: BoxEnvironment): void {
  test('installs with first-boot apt holding the lists lock, builds kvssink from the pinned sources, publishes it, and signals SUCCESS', async () => {
    const { userData } = env;
    env.box = await env.newBox('box');
    env.firstBootAt = Date.now();
    await env.box.boot();
    const signal = await waitFor(
      'the install to signal',
      env.ms(INSTALL_TIMEOUT.toMilliseconds()),
      () => env.signals()[0],
      2000,
    );
    env.figure(
      `first boot (builds kvssink): boot to SUCCESS signal ${Math.round((Date.now() - env.firstBootAt) / 1000)}s`,
    );
    const log = env.box.readFile('var/log/cloud-init-output.log');
    // The install log's end comes with a failure, to say why.
    expect({ ...signal, log: signal.Status === 'SUCCESS' ? '' : log.slice(-4000) }).toEqual({
      StackName: userData.settings.KVS_STACK_NAME,
      LogicalResourceId: userData.settings.KVS_SIGNAL_RESOURCE,
      UniqueId: env.instance.instanceId,
      Status: 'SUCCESS',
      log: '',
    });
    env.markInstalled();
    // The lists lock was held when apt-get update first ran; the install waited instead of failing.
    expect(log).toMatch(/Could not get lock \/var\/lib\/apt\/lists\/lock/);
    expect(log).toContain('apt-get update: another apt process holds an apt lock');

    // Nothing in the cache: it fetched the three repositories once each, built, and published.
    const cache = userData.settings.KVS_KVSSINK_CACHE;
    expect(log).toContain(`kvssink-cache: no kvssink build in ${cache} yet (S3 answered 404): building one`);
    expect(env.gitFetches()).toEqual([
      '/amazon-kinesis-video-streams-producer-sdk-cpp.git',
      '/amazon-kinesis-video-streams-producer-c.git',
      '/amazon-kinesis-video-streams-pic.git',
    ]);
    expect(log).toContain(
      `build-kvssink: kvssink from Producer SDK ${userData.settings.KVS_PRODUCER_SDK_PIN} installed`,
    );
    expect(log).toMatch(new RegExp(`kvssink-cache: published kvssink to ${cache} \\(\\d+ bytes\\)`));
    expect(env.kvssinkCacheCalls()).toEqual(['HeadObject 404', 'PutObject 200']);
    // The build's plugin loads where the cameras look for it (the stand-in's kvssink, or the real one by
    // hand), with every build package the build installed gone again (the scenarios after this one
    // check that the cameras stream).
    await env.box.mustExec([
      'env',
      'GST_PLUGIN_PATH=/opt/kvs-gateway/lib/gstreamer-1.0',
      'gst-inspect-1.0',
      'kvssink',
    ]);
    const removed = /build-kvssink: removed the (\d+) packages this build installed for itself/.exec(log);
    expect(removed).not.toBeNull();
    expect(await env.buildPackagesInstalled(env.box)).toEqual([]);
    const tools = await env.box.exec(['sh', '-c', 'command -v cc gcc c++ cmake git || true']);
    expect(tools.stdout.trim()).toBe('');
    const lddMissing = await env.box.exec([
      'sh',
      '-c',
      'ldd /opt/kvs-gateway/lib/gstreamer-1.0/libgstkvssink.so /opt/kvs-gateway/lib/lib*.so* | grep "not found" || true',
    ]);
    expect(lddMissing.stdout.trim()).toBe('');
    // apt's own summary of the purge, the last "freed" line of the install log.
    const freed = [...log.matchAll(/After this operation, (.+) disk space will be freed/g)].pop()?.[1];
    env.figure(
      `first boot: removed ${removed![1]} build packages (${freed} freed) in ${await removalSeconds(env)}s`,
    );
  });
}

/** Seconds from the build's removal step to its next step, by the journal's timestamps. */
async function removalSeconds(env: BoxEnvironment): Promise<number | string> {
  const lines = (await env.box.mustExec(['journalctl', '--no-pager', '-o', 'short-unix']))
    .split('\n')
    .filter((line) => line.includes('build-kvssink: step: '));
  const at = (step: string) => Number(lines.find((line) => line.includes(step))?.split(' ')[0]);
  const seconds = at('step: check that GStreamer loads kvssink') - at('step: remove the build packages');
  return Number.isNaN(seconds) ? '?' : Math.round(seconds);
}
