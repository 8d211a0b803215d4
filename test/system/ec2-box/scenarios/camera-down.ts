import { sleep } from '../../support/gateway-box';
import { BoxEnvironment } from '../box-environment';

export function cameraDown(env: BoxEnvironment): void {
  test('a camera that is down writes a few lines a minute, and no program text', async () => {
    env.requireInstalled();
    const lobby = async () => Buffer.byteLength(await env.box.journal('-u', 'kvs-camera@lobby.service'));
    const start = await lobby();
    await sleep(60_000);
    const perMinute = (await lobby()) - start;
    env.figure(`journal bytes per minute for a camera that is down: ${perMinute}`);
    expect(perMinute).toBeLessThan(2048);
    const everything = await env.box.journal();
    expect(everything).not.toMatch(/^\s*(import gi|def \w+\(|gi\.require_version)/m);
  });
}
