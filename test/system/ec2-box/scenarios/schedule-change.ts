import { wallClock } from '../../../../lib/recording-schedule';
import { sleep, waitFor } from '../../support/gateway-box';
import { BoxEnvironment, INITIAL_CAMERAS } from '../box-environment';

/** "HH:MM" of the Berlin wall clock `minutes` from now. */
function berlinClockIn(minutes: number): string {
  const clock = wallClock('Europe/Berlin', Date.now() + minutes * 60_000);
  return `${String(clock.hour).padStart(2, '0')}:${String(clock.minute).padStart(2, '0')}`;
}

export function scheduleChange(env: BoxEnvironment): void {
  test('a schedule change in the camera list stops and starts that camera only, without restarting a unit', async () => {
    env.requireInstalled();
    const before = {
      frontDoor: await env.mainPid('front-door'),
      loadingDock: await env.mainPid('loading-dock'),
    };
    // loading-dock gets a window six hours from now (Europe/Berlin: the box's tzdata is used): off schedule.
    const opens = berlinClockIn(6 * 60);
    const window = { days: 'daily', from: opens, to: berlinClockIn(6 * 60 + 1) };
    const scheduled = INITIAL_CAMERAS.map((camera) =>
      camera.name === 'loading-dock'
        ? { ...camera, schedule: { timeZone: 'Europe/Berlin', windows: [window] } }
        : camera,
    );
    env.setCameras(scheduled);
    const changed = Date.now();
    const unit = 'kvs-camera@loading-dock.service';
    const journal = await waitFor(
      'loading-dock to go off schedule',
      env.ms(90_000),
      async () => {
        const text = await env.box.journal('-u', unit);
        return text.includes(`off schedule until ${opens} (Europe/Berlin): not connecting to the camera`)
          ? text
          : undefined;
      },
      1000,
    );
    env.figure(
      `schedule change to off applied ${Math.round((Date.now() - changed) / 1000)}s after the list changed`,
    );
    expect(journal).toContain('the recording window has closed: stopping, the sink sends what it holds');
    // Stopped: no new connection to its camera and no video for 20 s; front-door streams on.
    const loadingDockCamera = env.testCamera('loading-dock');
    const connections = loadingDockCamera.connections.length;
    const bytes = env.videoBytes('loading-dock');
    await Promise.all([env.videoGrows('front-door', env.ms(20_000)), sleep(20_000)]);
    expect([loadingDockCamera.connections.length, env.videoBytes('loading-dock')]).toEqual([
      connections,
      bytes,
    ]);
    expect(await env.box.journal('-u', 'kvs-reconcile-cameras.service')).toContain(
      'camera loading-dock: recording schedule changed: the camera follows it without a restart',
    );

    // Back to around the clock: it streams again.
    env.setCameras(INITIAL_CAMERAS);
    const back = Date.now();
    await env.videoGrows('loading-dock', env.ms(90_000));
    env.figure(
      `schedule change to always: video ${Math.round((Date.now() - back) / 1000)}s after the list changed`,
    );
    // No unit was restarted: the schedule is live configuration.
    expect({
      frontDoor: await env.mainPid('front-door'),
      loadingDock: await env.mainPid('loading-dock'),
    }).toEqual(before);
  });
}
