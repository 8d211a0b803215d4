import { waitFor } from '../../support/gateway-box';
import { BoxEnvironment, INITIAL_CAMERAS } from '../box-environment';

/** The restarts measured: enough to see the delay grow, few enough to stay under two minutes. */
const RESTARTS = 5;
/** systemd's RestartSteps= and RestartMaxDelaySec= (growing restart delays) arrived in v254. */
const GROWING_DELAYS_SINCE = 254;

interface JournalEntry {
  readonly MESSAGE: string;
  readonly __REALTIME_TIMESTAMP: string;
}

/**
 * A camera unit that keeps failing (the camera sends H.265, the config says h264: the run script exits 4
 * each time) is restarted by systemd after RestartSec=5s, then, where systemd honours RestartSteps= and
 * RestartMaxDelaySec= (v254 and later: Ubuntu 24.04's 255, Debian 13's 257), after longer and longer
 * delays (5 s x 60^(n/10), up to 5 minutes). Debian 12's systemd 252 ignores both keys and restarts every
 * 5 s: the delays are measured and printed on every box, and each box is held to what its systemd does.
 */
export function restartDelays(env: BoxEnvironment): void {
  test('a camera unit that keeps failing is restarted after growing delays where systemd >= 254', async () => {
    env.requireInstalled();
    const { box } = env;
    const unit = 'kvs-camera@gate.service';
    const systemdVersion = Number(/^systemd (\d+)/.exec(await box.mustExec(['systemctl', '--version']))?.[1]);
    const gate = await env.startCamera('gate', { codec: 'h265' });
    env.putCameraUrl('gate', gate.url());
    // A deploy that adds the camera: the role's policy first, then the list (CloudFormation's order).
    const withGate = [...INITIAL_CAMERAS, { name: 'gate', codec: 'h264' as const }];
    env.deployIam(withGate);
    env.setCameras(withGate);

    // systemd's own lines for the unit: entering auto-restart (the delay starts), the restart job (it ends).
    const delays = async (): Promise<number[]> => {
      const lines = (await box.mustExec(['journalctl', '--no-pager', '-o', 'json', '-u', unit]))
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as JournalEntry);
      const measured: number[] = [];
      let failedAt: number | undefined;
      for (const { MESSAGE, __REALTIME_TIMESTAMP } of lines) {
        const time = Number(__REALTIME_TIMESTAMP) / 1e6;
        if (/Failed with result 'exit-code'/.test(MESSAGE)) failedAt = time;
        if (/Scheduled restart job/.test(MESSAGE) && failedAt !== undefined) {
          measured.push(time - failedAt);
          failedAt = undefined;
        }
      }
      return measured;
    };
    // The sum of the first five delays of the unit's settings, each restart's probe of the camera, margin.
    const measured = await waitFor(
      `${RESTARTS} restarts of ${unit}`,
      env.ms(240_000),
      async () => {
        const found = await delays();
        return found.length >= RESTARTS ? found.slice(0, RESTARTS) : undefined;
      },
      2000,
    );
    // A deploy that removes it: the role loses its parameter first, then the list.
    env.deployIam(INITIAL_CAMERAS, [env.urlParameter('gate')]);
    env.setCameras(INITIAL_CAMERAS);
    env.figure(
      `restart delays of a failing camera unit (systemd ${systemdVersion}): ${measured.map((d) => d.toFixed(1)).join(', ')} s`,
    );
    expect(await box.journal('-u', unit)).toContain('CODEC=h264 but the camera sends video H265');
    if (systemdVersion >= GROWING_DELAYS_SINCE) {
      // 5, 7.5, 11.3, 17.1, 25.7 s: each step at least 2.5 s longer than the one before.
      for (let i = 1; i < measured.length; i++) expect(measured[i]).toBeGreaterThan(measured[i - 1] + 1);
      expect(measured[RESTARTS - 1]).toBeGreaterThan(3 * measured[0]);
    } else {
      for (const delay of measured) expect(delay).toBeLessThan(measured[0] + 3);
    }
    // Stopped, and the reconciler's state written without it (a reboot next must not find it there);
    // its URL parameter stays denied, as IAM has it after the deploy.
    await waitFor(
      'the reconciler to stop gate',
      env.ms(90_000),
      async () =>
        (await box.journal('-u', 'kvs-reconcile-cameras.service')).includes(
          'camera gate: stopped (no longer in the camera list)',
        ) && !/^gate\t/m.test(box.readFile('var/lib/kvs-gateway/cameras.state')),
      2000,
    );
  });
}
