import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { cameraList } from '../../lib/camera-list';
import { configWith } from '../support/gateway-app';
import { ReconcilerSandbox, USERDATA, useSsmStandIn } from './stand-ins';

jest.setTimeout(60_000);

const execFileAsync = promisify(execFile);

const SETTINGS = {
  AWS_REGION: 'eu-west-1',
  KVS_CAMERA_LIST_PARAMETER: '/kvs-gateway/Ec2GatewayStack/camera-list',
  KVS_LOG_GROUP: 'Ec2GatewayStack-Logs6819BB44-AbCdEf',
  KVS_INSTANCE_ID: 'i-0123456789abcdef0',
};

/** The install script's steps that need no package, compiler or systemd: writing the gateway's
 * scripts, units and settings under a root. */
async function installFiles(source: string, root: string, env: Record<string, string> = SETTINGS) {
  try {
    const { stderr } = await execFileAsync(
      'bash',
      [path.join(source, 'install-gateway.sh'), '--files-only', '--root', root],
      { env: { PATH: process.env.PATH, ...env } },
    );
    return { code: 0, stderr };
  } catch (error) {
    const failure = error as { code: number; stderr: string };
    return { code: failure.code, stderr: failure.stderr };
  }
}

describe('install-gateway.sh --files-only (the steps that run without packages or systemd)', () => {
  const ssm = useSsmStandIn();
  let sandbox: ReconcilerSandbox;

  beforeEach(async () => {
    sandbox = new ReconcilerSandbox(ssm);
  });

  afterEach(() => sandbox.remove());

  test('writes the scripts, the units and the settings where the units expect them', async () => {
    const result = await installFiles(USERDATA, sandbox.root);
    expect(result.code).toBe(0);
    const mode = (relative: string) => fs.statSync(path.join(sandbox.root, relative)).mode & 0o777;
    for (const script of [
      'run-camera.sh',
      'camera-pipeline.py',
      'camera_status.py',
      'kvssink_reports.py',
      'reconcile-cameras.sh',
      'refresh-kvs-credentials.sh',
      'aws-request.sh',
    ]) {
      expect(mode(`opt/kvs-gateway/bin/${script}`)).toBe(0o755);
      // The units run the project's files as they are, not a copy of their logic.
      expect(fs.readFileSync(path.join(sandbox.root, `opt/kvs-gateway/bin/${script}`))).toEqual(
        fs.readFileSync(path.join(USERDATA, script)),
      );
    }
    for (const unit of [
      'kvs-camera@.service',
      'kvs-credentials.service',
      'kvs-credentials.timer',
      'kvs-reconcile-cameras.service',
      'kvs-reconcile-cameras.timer',
    ]) {
      expect(sandbox.readFile(`etc/systemd/system/${unit}`)).toBe(
        fs.readFileSync(path.join(USERDATA, unit), 'utf8'),
      );
    }
    expect(sandbox.readFile('etc/kvs-gateway/gateway.env')).toBe(
      [
        '# Written by install-gateway.sh; read by every gateway unit. No secret here.',
        'AWS_REGION=eu-west-1',
        'KVS_CAMERA_LIST_PARAMETER=/kvs-gateway/Ec2GatewayStack/camera-list',
        'KVS_CREDENTIAL_PATH=/run/kvs-gateway/credentials',
        'KVS_LOG_GROUP=Ec2GatewayStack-Logs6819BB44-AbCdEf',
        'KVS_INSTANCE_ID=i-0123456789abcdef0',
        'GATEWAY_SINK=kvssink',
        'GST_PLUGIN_PATH=/opt/kvs-gateway/lib/gstreamer-1.0',
        '',
      ].join('\n'),
    );
    expect(sandbox.readFile('etc/tmpfiles.d/kvs-gateway.conf')).toContain(
      'd /run/kvs-gateway 0700 kvs-gateway kvs-gateway -',
    );
    expect(sandbox.readFile('etc/systemd/system/fluent-bit.service.d/kvs-gateway.conf')).toContain(
      '--config=/etc/kvs-gateway/fluent-bit.conf',
    );
    expect(sandbox.readFile('etc/kvs-gateway/fluent-bit.conf')).toContain(
      'Systemd_Filter       KVS_GATEWAY=1',
    );
  });

  test('every path a unit names is one the install writes (or systemd or the reconciler creates)', async () => {
    await installFiles(USERDATA, sandbox.root);
    const unitsDir = path.join(sandbox.root, 'etc/systemd/system');
    for (const unit of fs.readdirSync(unitsDir).filter((name) => /\.(service|timer)$/.test(name))) {
      const text = fs.readFileSync(path.join(unitsDir, unit), 'utf8');
      for (const [, file] of text.matchAll(/^(?:ExecStart|EnvironmentFile)=(\/\S+)$/gm)) {
        const installed = file.replace('%i', 'front-door');
        if (installed.startsWith('/etc/kvs-gateway/cameras/')) continue; // written by the reconciler
        expect([unit, fs.existsSync(path.join(sandbox.root, installed))]).toEqual([unit, true]);
      }
      for (const [, dirs] of text.matchAll(/^ReadWritePaths=(.+)$/gm)) {
        for (const dir of dirs.split(' ').filter((d) => d !== '/run/kvs-gateway')) {
          expect([unit, fs.existsSync(path.join(sandbox.root, dir))]).toEqual([unit, true]);
        }
      }
    }
  });

  test("the installed reconciler brings up the stack's cameras under the same root", async () => {
    await installFiles(USERDATA, sandbox.root);
    const config = configWith();
    sandbox.setCameraList(cameraList(config));
    sandbox.setParameterVersions(
      Object.fromEntries(config.cameras.map((camera) => [`${config.parameterPrefix}/${camera.name}`, 1])),
    );
    const result = await sandbox.run(path.join(sandbox.root, 'opt/kvs-gateway/bin/reconcile-cameras.sh'));
    expect(result.code).toBe(0);
    expect(sandbox.takeSystemctlCalls()).toEqual([
      'enable --now kvs-camera@front-door.service',
      'enable --now kvs-camera@loading-dock.service',
      'enable --now kvs-camera@lobby.service',
    ]);
    expect(sandbox.readFile('etc/kvs-gateway/cameras/lobby.env')).toContain('STREAM_NAME=site1.lobby\n');
    expect(sandbox.readFile('etc/kvs-gateway/cameras/loading-dock.env')).toContain(
      'CODEC=h265\nAUDIO=true\n',
    );
  });

  test.each([
    ['AWS_REGION', 'eu west 1', 'AWS_REGION eu west 1: must be an AWS region'],
    [
      'KVS_CAMERA_LIST_PARAMETER',
      'camera-list',
      'KVS_CAMERA_LIST_PARAMETER camera-list: must be an SSM parameter name',
    ],
    ['KVS_INSTANCE_ID', '', 'KVS_INSTANCE_ID (unset): must be an EC2 instance id'],
  ])('refuses a bad %s and writes nothing', async (name, value, message) => {
    const env: Record<string, string> = { ...SETTINGS, [name]: value };
    if (value === '') delete env[name];
    const result = await installFiles(USERDATA, sandbox.root, env);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(sandbox.snapshot()).toEqual({});
  });
});
