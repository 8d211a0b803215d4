import { waitFor } from '../../support/gateway-box';
import { BoxEnvironment } from '../box-environment';

const ROTATED_PASSWORD = 'r0tated#p@ss w0rd';

export function passwordRotated(env: BoxEnvironment): void {
  test('a rotated password restarts only its camera, which streams again', async () => {
    env.requireInstalled();
    const loadingDock = await env.mainPid('loading-dock');
    const frontDoor = await env.mainPid('front-door');
    await env.testCamera('front-door').stop();
    const rotated = await env.startCamera('front-door', {
      codec: 'h264',
      user: 'admin',
      password: ROTATED_PASSWORD,
    });
    env.putCameraUrl('front-door', rotated.url());
    await waitFor(
      'front-door to restart',
      env.ms(90_000),
      async () => (await env.mainPid('front-door')) !== frontDoor,
      2000,
    );
    await env.videoGrows('front-door', env.ms(60_000));
    expect(await env.mainPid('loading-dock')).toBe(loadingDock);
    expect(await env.box.journal('-u', 'kvs-reconcile-cameras.service')).toContain(
      'camera front-door: restarted (URL parameter version 1 -> 2)',
    );
  });
}
