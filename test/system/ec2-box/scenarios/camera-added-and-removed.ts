import { waitFor } from '../../support/gateway-box';
import { BoxEnvironment, INITIAL_CAMERAS } from '../box-environment';

export function cameraAddedAndRemoved(env: BoxEnvironment): void {
  test('adding a camera to the list starts it within 90 s, removing it stops it, the others keep streaming', async () => {
    env.requireInstalled();
    const before = {
      frontDoor: await env.mainPid('front-door'),
      loadingDock: await env.mainPid('loading-dock'),
    };
    const garage = await env.startCamera('garage', { codec: 'h264' });
    env.putCameraUrl('garage', garage.url());
    env.setCameras([...INITIAL_CAMERAS, { name: 'garage' }]);
    const added = Date.now();
    await env.videoGrows('garage', env.ms(90_000));
    env.figure(`added camera streaming ${Math.round((Date.now() - added) / 1000)}s after the list changed`);

    env.setCameras(INITIAL_CAMERAS);
    await waitFor(
      'garage to stop',
      env.ms(90_000),
      async () => {
        const properties = await env.box.unitProperties(
          'kvs-camera@garage.service',
          'ActiveState',
          'UnitFileState',
        );
        return properties.ActiveState === 'inactive' && properties.UnitFileState === 'disabled';
      },
      2000,
    );
    await Promise.all([
      env.videoGrows('front-door', env.ms(15_000)),
      env.videoGrows('loading-dock', env.ms(15_000)),
    ]);
    expect({
      frontDoor: await env.mainPid('front-door'),
      loadingDock: await env.mainPid('loading-dock'),
    }).toEqual(before);
  });
}
