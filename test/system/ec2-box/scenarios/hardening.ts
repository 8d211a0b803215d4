import { waitFor } from '../../support/gateway-box';
import { BoxEnvironment } from '../box-environment';

export function hardening(env: BoxEnvironment): void {
  test('every gateway unit runs under its hardening, and the camera processes keep it', async () => {
    env.requireInstalled();
    const { box } = env;
    for (const unit of ['kvs-credentials.service', 'kvs-reconcile-cameras.service']) {
      const properties = await box.unitProperties(
        unit,
        'Result',
        'ExecMainStatus',
        'NoNewPrivileges',
        'ProtectSystem',
      );
      expect([unit, properties]).toEqual([
        unit,
        { Result: 'success', ExecMainStatus: '0', NoNewPrivileges: 'yes', ProtectSystem: 'strict' },
      ]);
    }
    expect(await box.mustExec(['cat', '/run/kvs-gateway/credentials'])).toMatch(
      /^CREDENTIALS ASIASTANDINKEY000001 \S+Z /,
    );
    for (const name of ['front-door', 'loading-dock']) {
      const unit = `kvs-camera@${name}.service`;
      const { ControlGroup } = await box.unitProperties(unit, 'ControlGroup');
      // The run script and its pipeline program, once the pipeline runs.
      const processes = await waitFor(`${unit}'s pipeline`, env.ms(60_000), async () => {
        const procs = await box.exec(['cat', `/sys/fs/cgroup${ControlGroup}/cgroup.procs`]);
        const pids = procs.stdout.trim().split('\n').filter(Boolean);
        return pids.length >= 2 ? pids : undefined;
      });
      for (const pid of processes) {
        const status = await box.mustExec(['cat', `/proc/${pid}/status`]);
        const hardening = ['Seccomp', 'NoNewPrivs', 'CapEff', 'CapBnd', 'Uid'].map(
          (field) => new RegExp(`^${field}:\\s+(\\S+)`, 'm').exec(status)?.[1],
        );
        // Seccomp 2: a system-call filter; no privileges to gain, no capability, not root.
        expect([unit, pid, ...hardening]).toEqual([
          unit,
          pid,
          '2',
          '1',
          '0000000000000000',
          '0000000000000000',
          expect.not.stringMatching(/^0$/),
        ]);
      }
    }
  });
}
