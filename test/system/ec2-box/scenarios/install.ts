import { waitFor } from '../../support/gateway-box';
import { BoxEnvironment } from '../box-environment';

/** The first boot: the user-data installs the gateway and signals SUCCESS; the box then serves every later scenario. */
export function install(env: BoxEnvironment): void {
  test('installs with first-boot apt holding the lists lock, and signals SUCCESS', async () => {
    const { userData } = env;
    env.box = await env.newBox('box');
    const booted = Date.now();
    await env.box.boot();
    const signal = await waitFor('the install to signal', env.ms(15 * 60_000), () => env.signals()[0], 2000);
    env.figure(`install: boot to SUCCESS signal ${Math.round((Date.now() - booted) / 1000)}s`);
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
    expect(log).toContain('TEST ONLY (KVS_TEST_WITHOUT_KVSSINK=1)');
  });
}
