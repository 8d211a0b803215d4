import { waitFor } from '../../support/gateway-box';
import { BoxEnvironment, INITIAL_CAMERAS } from '../box-environment';

/** Resolves once the reconciler has logged `text` more often than `before` times. */
async function reconcilerSays(env: BoxEnvironment, text: string, before: number): Promise<number> {
  const count = async () =>
    (await env.box.journal('-u', 'kvs-reconcile-cameras.service')).split(text).length - 1;
  return waitFor(`the reconciler to log "${text}"`, env.ms(90_000), async () => {
    const now = await count();
    return now > before ? now : undefined;
  });
}

export function cameraAddedAndRemoved(env: BoxEnvironment): void {
  test('a camera added by a deploy starts within 90 s of its IAM change, a removed one stops, the others keep streaming', async () => {
    env.requireInstalled();
    const before = {
      frontDoor: await env.mainPid('front-door'),
      loadingDock: await env.mainPid('loading-dock'),
    };
    const withGarage = [...INITIAL_CAMERAS, { name: 'garage' }];
    const garageUrl = env.urlParameter('garage');
    const notReadable = 'camera garage: the instance role may not read its URL parameter';
    const garage = await env.startCamera('garage', { codec: 'h264' });
    env.putCameraUrl('garage', garage.url());
    // The deploy's list is there before IAM applies its policy (CloudFormation orders them; IAM takes seconds).
    env.aws.denyParameters([garageUrl]);
    env.setCameras(withGarage);
    const seen = await reconcilerSays(env, notReadable, 0);
    env.deployIam(withGarage);
    const added = Date.now();
    await env.videoGrows('garage', env.ms(90_000));
    env.figure(`added camera streaming ${Math.round((Date.now() - added) / 1000)}s after its IAM change`);

    // Removing it: the role loses its parameter first, the list follows.
    env.deployIam(INITIAL_CAMERAS, [garageUrl]);
    await reconcilerSays(env, notReadable, seen);
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
    env.aws.denyParameters([]);
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
