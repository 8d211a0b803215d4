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
    // Every system call the units' filters name exists on the box's architecture (parsed at unit load,
    // by libseccomp for the native architecture, even where the kernel filter cannot be applied).
    expect(
      (await box.journal()).match(/^.*(Failed to parse system call|Unknown system call group).*$/gm),
    ).toBeNull();
    const filter = (await box.unitProperties('kvs-camera@front-door.service', 'SystemCallFilter'))
      .SystemCallFilter;
    expect(filter.split(' ')).toEqual(expect.arrayContaining(['mincore', 'openat', 'read', 'sendmsg']));
    // Each unit's filters are seccomp filters of their own, on top of the one systemd-nspawn gives the
    // whole box (so "Seccomp: 2" alone proves nothing): a camera process has more than the box's init.
    // Under qemu-user (emulated boxes) none can be added: qemu refuses seccomp (EINVAL, ENOSYS).
    const filters = (status: string) => Number(/^Seccomp_filters:\s+(\d+)/m.exec(status)?.[1]);
    const boxFilters = filters(await box.mustExec(['cat', '/proc/1/status']));
    for (const name of ['front-door', 'loading-dock']) {
      const unit = `kvs-camera@${name}.service`;
      const { ControlGroup } = await box.unitProperties(unit, 'ControlGroup');
      // The run script and its pipeline program, once the pipeline runs.
      const processes = await waitFor(`${unit}'s pipeline`, env.ms(60_000), async () => {
        const procs = await box.exec(['cat', `/sys/fs/cgroup${ControlGroup}/cgroup.procs`]);
        // 0: a process the box's PID namespace cannot see (seen once, emulated): nothing to inspect.
        const pids = procs.stdout
          .trim()
          .split('\n')
          .filter((pid) => pid && pid !== '0');
        return pids.length >= 2 ? pids : undefined;
      });
      let inspected = 0;
      for (const pid of processes) {
        const read = await box.exec(['cat', `/proc/${pid}/status`]);
        if (read.code !== 0) continue; // ended since the cgroup was read: a short-lived helper
        inspected += 1;
        const status = read.stdout;
        const hardening = ['NoNewPrivs', 'CapEff', 'CapBnd', 'Uid'].map(
          (field) => new RegExp(`^${field}:\\s+(\\S+)`, 'm').exec(status)?.[1],
        );
        const unitFilters = filters(status) - boxFilters;
        // The unit's own filters, no privileges to gain, no capability, not root.
        expect([unit, pid, `${unitFilters} filters of its own`, ...hardening]).toEqual([
          unit,
          pid,
          env.variant.emulated ? '0 filters of its own' : expect.not.stringMatching(/^0 /),
          '1',
          '0000000000000000',
          '0000000000000000',
          expect.not.stringMatching(/^0$/),
        ]);
      }
      expect(inspected).toBeGreaterThanOrEqual(2); // the run script and its pipeline program
    }
  });
}
