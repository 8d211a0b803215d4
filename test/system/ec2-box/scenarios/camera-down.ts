import { sleep } from '../../support/gateway-box';
import { BoxEnvironment } from '../box-environment';

/** How long the measured stretch lasts at least: a down camera logs one attempt about once a minute. */
const WINDOW_MS = 180_000;
/** The first attempts after a start are each logged (three of them); the steady state begins after. */
const SETTLE_MS = 60_000;

export function cameraDown(env: BoxEnvironment): void {
  test('a camera that is down keeps trying and says so about once a minute, in a few hundred bytes, with no program text', async () => {
    env.requireInstalled();
    const unit = 'kvs-camera@lobby.service';
    expect(await env.box.unitProperties(unit, 'ActiveState', 'SubState')).toEqual({
      ActiveState: 'active',
      SubState: 'running',
    });
    const entries = async () =>
      (await env.box.journal('-u', unit, '-o', 'json', '--output-fields=MESSAGE'))
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { __REALTIME_TIMESTAMP: string; MESSAGE: string | number[] })
        .map((entry) => ({
          at: Number(entry.__REALTIME_TIMESTAMP) / 1000,
          // journald gives a message that is not valid UTF-8 as its bytes
          message: typeof entry.MESSAGE === 'string' ? entry.MESSAGE : Buffer.from(entry.MESSAGE).toString(),
        }));
    // Measured from the last start of the camera's run script on: the box has run long enough by now
    // that this rarely waits; a 60 s sample would sometimes fall between two logged attempts.
    const starts = (await entries()).filter((entry) => /run-camera\[lobby\]: starting:/.test(entry.message));
    const from = starts[starts.length - 1].at + SETTLE_MS;
    await sleep(Math.max(0, from + WINDOW_MS - Date.now()));
    const to = Date.now();
    const window = (await entries()).filter((entry) => entry.at >= from && entry.at <= to);
    const minutes = (to - from) / 60_000;
    const bytes = window.reduce((sum, entry) => sum + Buffer.byteLength(entry.message) + 1, 0);
    const perMinute = Math.round(bytes / minutes);
    env.figure(
      `journal of a camera that is down: ${perMinute} bytes per minute over ${minutes.toFixed(1)} minutes`,
    );
    // Still trying, and saying so: a failed attempt logged at least every 90 s.
    const attempts = window.filter((entry) => entry.message.includes('cannot connect to the camera'));
    expect(attempts.length).toBeGreaterThanOrEqual(Math.floor((to - from) / 90_000));
    expect(perMinute).toBeLessThan(2048);
    const everything = await env.box.journal();
    expect(everything).not.toMatch(/^\s*(import gi|def \w+\(|gi\.require_version)/m);
  });
}
