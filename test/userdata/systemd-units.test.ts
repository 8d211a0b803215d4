import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { USERDATA } from './stand-ins';

jest.setTimeout(60_000);

const execFileAsync = promisify(execFile);

/**
 * Keys the gateway's target, Ubuntu 24.04 (systemd 255), knows but this machine's older systemd may
 * not: the growing restart delay arrived in systemd 254.
 */
const NEWER_THAN_THIS_SYSTEMD = ['RestartSteps', 'RestartMaxDelaySec'];

describe('the systemd units under userdata/', () => {
  test('pass systemd-analyze verify (with the run scripts in place)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvs-units-'));
    try {
      const bin = path.join(dir, 'bin');
      fs.mkdirSync(bin);
      for (const script of [
        'run-camera.sh',
        'camera-pipeline.py',
        'reconcile-cameras.sh',
        'refresh-kvs-credentials.sh',
      ]) {
        fs.writeFileSync(path.join(bin, script), '#!/bin/sh\n', { mode: 0o755 });
      }
      const units = fs.readdirSync(USERDATA).filter((name) => /^kvs-.*\.(service|timer)$/.test(name));
      expect(units.sort()).toEqual([
        'kvs-camera@.service',
        'kvs-credentials.service',
        'kvs-credentials.timer',
        'kvs-reconcile-cameras.service',
        'kvs-reconcile-cameras.timer',
      ]);
      const toVerify = units.map((unit) => {
        const text = fs
          .readFileSync(path.join(USERDATA, unit), 'utf8')
          .replaceAll('/opt/kvs-gateway/bin/', `${bin}/`);
        // A template is verified through one of its instances.
        const file = path.join(dir, unit.replace('@.service', '@front-door.service'));
        fs.writeFileSync(file, text);
        return file;
      });
      const { stdout, stderr } = await execFileAsync('systemd-analyze', ['verify', '--man=no', ...toVerify], {
        env: { ...process.env, SYSTEMD_LOG_LEVEL: 'info' },
      }).catch((error: { stdout: string; stderr: string }) => error);
      const problems = `${stdout}${stderr}`
        .split('\n')
        .filter(Boolean)
        .filter((line) => !NEWER_THAN_THIS_SYSTEMD.some((key) => line.includes(`Unknown key '${key}'`)));
      expect(problems).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('every gateway unit logs with the field the log shipper selects', () => {
    const shipper = fs.readFileSync(path.join(USERDATA, 'fluent-bit.conf'), 'utf8');
    expect(shipper).toMatch(/^\s+Systemd_Filter\s+KVS_GATEWAY=1$/m);
    for (const unit of fs.readdirSync(USERDATA).filter((name) => /^kvs-.*\.service$/.test(name))) {
      expect([unit, fs.readFileSync(path.join(USERDATA, unit), 'utf8')]).toEqual([
        unit,
        expect.stringMatching(/^LogExtraFields=KVS_GATEWAY=1$/m),
      ]);
    }
  });

  test('the camera and credential units run unprivileged and hardened', () => {
    for (const unit of ['kvs-camera@.service', 'kvs-credentials.service']) {
      const text = fs.readFileSync(path.join(USERDATA, unit), 'utf8');
      for (const setting of [
        'User=kvs-gateway',
        'NoNewPrivileges=yes',
        'ProtectSystem=strict',
        'ProtectHome=yes',
        'PrivateTmp=yes',
        'CapabilityBoundingSet=',
      ]) {
        expect([unit, text]).toEqual([unit, expect.stringContaining(`\n${setting}\n`)]);
      }
    }
  });
});
