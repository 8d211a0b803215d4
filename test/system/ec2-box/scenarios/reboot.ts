import { BoxEnvironment } from '../box-environment';

export function reboot(env: BoxEnvironment): void {
  test('a reboot brings every camera back within 60 s of boot', async () => {
    env.requireInstalled();
    await env.box.reboot();
    const booted = Date.now();
    for (const name of ['front-door', 'loading-dock']) {
      await env.videoGrows(name, env.ms(60_000) - (Date.now() - booted));
      env.figure(
        `after a reboot, video from ${name} ${Math.round((Date.now() - booted) / 1000)}s after boot`,
      );
    }
    expect(env.signals()).toHaveLength(1); // the user-data ran once, at the first boot
  });
}
