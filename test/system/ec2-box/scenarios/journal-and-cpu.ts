import { BoxEnvironment } from '../box-environment';

/** Last of the scenarios: reads what every boot and every scenario before it left in the journal. */
export function journalAndCpu(env: BoxEnvironment): void {
  test('no secret in the journal, no process died by a signal; the reconciler stays under 1 % of a core', async () => {
    env.requireInstalled();
    const { box } = env;
    const journal = await box.mustExec(['journalctl', '--no-pager', '-o', 'json']);
    for (const secret of env.secrets) {
      expect(journal).not.toContain(secret);
      expect(journal).not.toContain(encodeURIComponent(secret));
    }
    const text = await box.journal();
    const deaths = text
      .split('\n')
      .filter((line) =>
        /SIGSYS|SIGSEGV|status=31\/SYS|status=11\/SEGV|code=dumped|oom-kill|Out of memory|Bad system call/.test(
          line,
        ),
      );
    expect(deaths).toEqual([]);

    // systemd logs a unit's CPU only above 1 s ("Consumed ..."): no reconciler run got there. Ten runs of
    // the installed reconciler with its unit's environment, through systemd-run, which reports the CPU.
    const cpuMs: number[] = [];
    for (let run = 0; run < 10; run++) {
      const result = await box.exec([
        'systemd-run',
        '--wait',
        '--property=EnvironmentFile=/etc/kvs-gateway/gateway.env',
        '--property=EnvironmentFile=/etc/kvs-box-test/gateway-test.env',
        '/opt/kvs-gateway/bin/reconcile-cameras.sh',
      ]);
      const output = `${result.stdout}${result.stderr}`;
      expect(output).toContain('Finished with result: success');
      const [, amount, unit] = /CPU time consumed: (\d+(?:\.\d+)?)(ms|s)/.exec(output) ?? [];
      cpuMs.push(Number(amount) * (unit === 's' ? 1000 : 1));
    }
    const perRun = cpuMs.reduce((a, b) => a + b, 0) / cpuMs.length;
    // The timer starts a run 30 s after the previous one ended: about 120 runs an hour.
    env.figure(
      `reconciler CPU per idle run: ${cpuMs.join(', ')} ms; mean ${perRun.toFixed(0)} ms, ${((perRun * 120) / 1000).toFixed(1)} s per hour (${((perRun / 30_000) * 100).toFixed(2)} % of a core)`,
    );
  });
}
