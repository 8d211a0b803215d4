import { sleep, waitFor } from '../../support/gateway-box';
import { BoxEnvironment } from '../box-environment';

export function wrongPassword(env: BoxEnvironment): void {
  test('a wrong password backs off instead of hammering the camera', async () => {
    env.requireInstalled();
    const journal = await waitFor('back-gate to back off', env.ms(60_000), async () => {
      const text = await env.box.journal('-u', 'kvs-camera@back-gate.service');
      return /authentication failed \(1 in a row\): waiting \d+s/.test(text) ? text : undefined;
    });
    expect(journal).toContain('check the user and password');
    const backGate = env.testCamera('back-gate');
    const attempts = backGate.connections.length;
    await sleep(20_000);
    expect(backGate.connections.length).toBe(attempts);
  });
}
