import { BoxEnvironment } from '../box-environment';

export function firstVideo(env: BoxEnvironment): void {
  test("each camera's video arrives within 60 s of the install", async () => {
    env.requireInstalled();
    const signalled = Date.now();
    for (const name of ['front-door', 'loading-dock']) {
      await env.videoGrows(name, env.ms(60_000));
      env.figure(
        `first video from ${name} ${Math.round((Date.now() - signalled) / 1000)}s after the SUCCESS signal`,
      );
    }
    expect(await env.box.journal('-u', 'kvs-camera@loading-dock.service')).toMatch(/streaming H\.265|h265/i);
  });
}
