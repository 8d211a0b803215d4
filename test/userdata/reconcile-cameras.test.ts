import * as path from 'node:path';
import { cameraList } from '../../lib/camera-list';
import { GatewayConfig } from '../../lib/config';
import { compileSchedule } from '../../lib/recording-schedule';
import { NIGHTS, SHOP_HOURS } from '../support/recording-schedules';
import { ReconcilerSandbox, USERDATA, useSsmStandIn } from './stand-ins';

// Each case runs real bash, jq and sha256sum processes: seconds on a busy machine.
jest.setTimeout(60_000);

const RECONCILER = path.join(USERDATA, 'reconcile-cameras.sh');
const PREFIX = '/kvs-gateway/cameras';

type CameraSettings = Partial<GatewayConfig['cameras'][number]> & { name: string };

/** The camera list exactly as the stack writes it (lib/camera-list.ts), for these cameras. */
function listOf(...cameras: CameraSettings[]) {
  return cameraList({
    parameterPrefix: PREFIX,
    cameras: cameras.map((camera) => ({
      streamName: camera.name,
      retentionHours: 24,
      codec: 'auto',
      audio: false,
      bitrateKbps: 2000,
      ...camera,
    })),
  });
}

describe('reconcile-cameras.sh (real script, temporary root, stand-in systemctl, SSM stand-in)', () => {
  const ssm = useSsmStandIn();
  let sandbox: ReconcilerSandbox;

  beforeEach(async () => {
    sandbox = new ReconcilerSandbox(ssm);
    sandbox.setCameraList(listOf({ name: 'a' }, { name: 'b', codec: 'h265', audio: true }));
    sandbox.setParameterVersions({ [`${PREFIX}/a`]: 1, [`${PREFIX}/b`]: 1, [`${PREFIX}/c`]: 1 });
    const first = await sandbox.run(RECONCILER);
    expect(first.code).toBe(0);
    expect(sandbox.takeSystemctlCalls()).toEqual([
      'enable --now kvs-camera@a.service',
      'enable --now kvs-camera@b.service',
    ]);
  });

  afterEach(() => sandbox.remove());

  test('writes one env file per camera naming its URL parameter, never a URL', () => {
    expect(sandbox.readFile('etc/kvs-gateway/cameras/b.env')).toBe(
      [
        '# Written by reconcile-cameras.sh from the camera list; changes here are overwritten.',
        'CAMERA_NAME=b',
        'STREAM_NAME=b',
        'CODEC=h265',
        'AUDIO=true',
        `RTSP_URL_PARAMETER=${PREFIX}/b`,
        `RECORDING_SCHEDULE_FILE=${sandbox.root}/etc/kvs-gateway/cameras/b.schedule.json`,
        '',
      ].join('\n'),
    );
    expect(Object.values(sandbox.snapshot()).join('\n')).not.toMatch(/rtsp:\/\//);
  });

  test('an unchanged list changes nothing', async () => {
    const result = await sandbox.run(RECONCILER);
    expect(result.code).toBe(0);
    expect(sandbox.takeSystemctlCalls()).toEqual([]);
  });

  test('a run that changes nothing makes one signed SSM request, and none decrypts a camera URL', async () => {
    sandbox.takeSsmCalls();
    await sandbox.run(RECONCILER);
    // The list and the versions of the URL parameters applied last time, in one GetParameters.
    expect(sandbox.takeSsmCalls()).toEqual([
      {
        target: 'AmazonSSM.GetParameters',
        names: ['/kvs-gateway/Ec2GatewayStack/camera-list', `${PREFIX}/a`, `${PREFIX}/b`],
        decrypt: false,
      },
    ]);
    // A new camera's URL parameter is asked for in a second request.
    sandbox.setCameraList(listOf({ name: 'a' }, { name: 'b', codec: 'h265', audio: true }, { name: 'c' }));
    await sandbox.run(RECONCILER);
    expect(sandbox.takeSsmCalls().map((call) => call.names)).toEqual([
      ['/kvs-gateway/Ec2GatewayStack/camera-list', `${PREFIX}/a`, `${PREFIX}/b`],
      [`${PREFIX}/c`],
    ]);
  });

  test('from {a, b} to {a, c}: stops b, starts c, leaves a alone', async () => {
    sandbox.setCameraList(listOf({ name: 'a' }, { name: 'c' }));
    const result = await sandbox.run(RECONCILER);
    expect(result.code).toBe(0);
    expect(sandbox.takeSystemctlCalls()).toEqual([
      'disable --now kvs-camera@b.service',
      'enable --now kvs-camera@c.service',
    ]);
    const files = Object.keys(sandbox.snapshot()).filter((file) => file.endsWith('.env'));
    expect(files.sort()).toEqual(['etc/kvs-gateway/cameras/a.env', 'etc/kvs-gateway/cameras/c.env']);
    expect(result.stderr).toContain('camera b: stopped (no longer in the camera list)');
    expect(result.stderr).toContain('camera c: started');
    expect(result.stderr).not.toMatch(/camera a:/);
  });

  test('a changed setting restarts only that camera', async () => {
    sandbox.setCameraList(listOf({ name: 'a', codec: 'h264' }, { name: 'b', codec: 'h265', audio: true }));
    const result = await sandbox.run(RECONCILER);
    expect(result.code).toBe(0);
    expect(sandbox.takeSystemctlCalls()).toEqual(['restart kvs-camera@a.service']);
    expect(sandbox.readFile('etc/kvs-gateway/cameras/a.env')).toContain('CODEC=h264\n');
    expect(result.stderr).toContain('camera a: restarted (settings changed)');
  });

  test('a new version of a camera URL parameter (a rotated password) restarts only that camera', async () => {
    sandbox.setParameterVersions({ [`${PREFIX}/a`]: 1, [`${PREFIX}/b`]: 2 });
    const result = await sandbox.run(RECONCILER);
    expect(result.code).toBe(0);
    expect(sandbox.takeSystemctlCalls()).toEqual(['restart kvs-camera@b.service']);
    expect(result.stderr).toContain('camera b: restarted (URL parameter version 1 -> 2)');
    // Applied once: the next run has nothing to do.
    await sandbox.run(RECONCILER);
    expect(sandbox.takeSystemctlCalls()).toEqual([]);
  });

  test.each([
    ['not JSON', '{"schemaVersion": 1, "cameras": [', /is not valid: not JSON \(/],
    [
      'an unknown schema version',
      JSON.stringify({ ...listOf({ name: 'a' }), schemaVersion: 3 }),
      /is not valid: schemaVersion 3: this reconciler reads versions 1 and 2;/,
    ],
    [
      'a schedule that is not one',
      JSON.stringify({
        ...listOf({ name: 'a', schedule: SHOP_HOURS }),
        schedules: [{ timeZone: 'UTC', weekMinutes: [[5, 2]] }],
      }),
      /is not valid: schedules\[0\]: not a schedule/,
    ],
    [
      'a camera naming a schedule that is not listed',
      JSON.stringify({
        schemaVersion: 2,
        schedules: [],
        cameras: [{ ...listOf({ name: 'a' }).cameras[0], schedule: 1 }],
      }),
      /is not valid: cameras\[0\]\.schedule 1: must be the index of one of the 0 schedules/,
    ],
    [
      'a codec it does not know',
      JSON.stringify(listOf({ name: 'a' }, { name: 'b', codec: 'mpeg2' as never })),
      /is not valid: cameras\[1\]\.codec "mpeg2": must be auto, h264 or h265/,
    ],
    [
      'a name systemd and KVS would refuse',
      JSON.stringify(listOf({ name: 'a' }, { name: 'front door' })),
      /cameras\[1\]\.name "front door": use letters, digits/,
    ],
    [
      'the same camera twice',
      JSON.stringify(listOf({ name: 'a' }, { name: 'a' })),
      /cameras: name "a" is listed more than once/,
    ],
  ])('a malformed list (%s) changes nothing and says why', async (_case, list, reason) => {
    const before = sandbox.snapshot();
    sandbox.setCameraList(list);
    const result = await sandbox.run(RECONCILER);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(reason);
    expect(result.stderr).toContain('nothing changed');
    expect(sandbox.takeSystemctlCalls()).toEqual([]);
    expect(sandbox.snapshot()).toEqual(before);
  });

  // A deploy changes the list and the role's policy with no order IAM keeps (it applies a policy seconds
  // after CloudFormation reports it), and GetParameters fails whole when one name is not allowed.
  test('a camera added before the role may read its URL is left out, the others untouched; it starts once allowed', async () => {
    ssm.state.denyParameters([`${PREFIX}/c`]);
    sandbox.setCameraList(listOf({ name: 'a' }, { name: 'b', codec: 'h265', audio: true }, { name: 'c' }));
    const denied = await sandbox.run(RECONCILER);
    expect(denied.code).toBe(0);
    expect(sandbox.takeSystemctlCalls()).toEqual([]);
    expect(denied.stderr).toContain(
      `camera c: the instance role may not read its URL parameter ${PREFIX}/c (AccessDeniedException`,
    );

    ssm.state.denyParameters([]);
    const allowed = await sandbox.run(RECONCILER);
    expect(allowed.code).toBe(0);
    expect(sandbox.takeSystemctlCalls()).toEqual(['enable --now kvs-camera@c.service']);
  });

  test('a camera whose URL the role may no longer read stops with the list, and never wedges the others', async () => {
    // The role lost b's parameter first: the list still names b.
    ssm.state.denyParameters([`${PREFIX}/b`]);
    sandbox.takeSsmCalls();
    const early = await sandbox.run(RECONCILER);
    expect(early.code).toBe(0);
    expect(sandbox.takeSystemctlCalls()).toEqual([]);
    expect(early.stderr).toContain('camera b: the instance role may not read its URL parameter');
    // The denied request, then the list alone, then the versions: first together, then name by name.
    expect(sandbox.takeSsmCalls().map((call) => call.names)).toEqual([
      ['/kvs-gateway/Ec2GatewayStack/camera-list', `${PREFIX}/a`, `${PREFIX}/b`],
      ['/kvs-gateway/Ec2GatewayStack/camera-list'],
      [`${PREFIX}/a`, `${PREFIX}/b`],
      [`${PREFIX}/a`],
      [`${PREFIX}/b`],
    ]);

    // The list follows: b stops, even though its parameter is still named in what was applied.
    sandbox.setCameraList(listOf({ name: 'a' }));
    const removed = await sandbox.run(RECONCILER);
    expect(removed.code).toBe(0);
    expect(sandbox.takeSystemctlCalls()).toEqual(['disable --now kvs-camera@b.service']);
    // Then one request a run again.
    sandbox.takeSsmCalls();
    await sandbox.run(RECONCILER);
    expect(sandbox.takeSsmCalls()).toHaveLength(1);
    expect(sandbox.takeSystemctlCalls()).toEqual([]);
  });

  test('an unreachable SSM changes nothing and says why', async () => {
    const before = sandbox.snapshot();
    sandbox.setCameraList(listOf({ name: 'c' }));
    sandbox.setAwsUnreachable(true);
    const result = await sandbox.run(RECONCILER);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('cannot read the camera list /kvs-gateway/Ec2GatewayStack/camera-list');
    expect(sandbox.takeSystemctlCalls()).toEqual([]);
    expect(sandbox.snapshot()).toEqual(before);
  });

  test('a camera whose URL parameter does not exist yet is not started, and starts once it does', async () => {
    sandbox.setCameraList(listOf({ name: 'a' }, { name: 'b', codec: 'h265', audio: true }, { name: 'd' }));
    const waiting = await sandbox.run(RECONCILER);
    expect(waiting.code).toBe(0);
    expect(waiting.stderr).toContain(
      `camera d: its URL parameter ${PREFIX}/d does not exist: store it with "npx kvs-gateway cameras add d"`,
    );
    expect(sandbox.takeSystemctlCalls()).toEqual([]);

    sandbox.setParameterVersions({ [`${PREFIX}/a`]: 1, [`${PREFIX}/b`]: 1, [`${PREFIX}/d`]: 1 });
    await sandbox.run(RECONCILER);
    expect(sandbox.takeSystemctlCalls()).toEqual(['enable --now kvs-camera@d.service']);
  });

  test('recording schedules: each camera gets its schedule file before it starts; a change rewrites it, restarting nothing', async () => {
    sandbox.setCameraList(
      listOf(
        { name: 'a', schedule: SHOP_HOURS },
        { name: 'b', codec: 'h265', audio: true },
        { name: 'c', schedule: SHOP_HOURS },
      ),
    );
    const first = await sandbox.run(RECONCILER);
    expect(first.code).toBe(0);
    expect(sandbox.takeSystemctlCalls()).toEqual(['enable --now kvs-camera@c.service']);
    const scheduleOf = (name: string) =>
      JSON.parse(sandbox.readFile(`etc/kvs-gateway/cameras/${name}.schedule.json`)) as unknown;
    expect([scheduleOf('a'), scheduleOf('b'), scheduleOf('c')]).toEqual([
      compileSchedule(SHOP_HOURS),
      null,
      compileSchedule(SHOP_HOURS),
    ]);
    expect(first.stderr).toContain(
      'camera a: recording schedule changed: the camera follows it without a restart',
    );

    sandbox.setCameraList(
      listOf(
        { name: 'a', schedule: NIGHTS },
        { name: 'b', codec: 'h265', audio: true },
        { name: 'c', schedule: SHOP_HOURS },
      ),
    );
    const changed = await sandbox.run(RECONCILER);
    expect(changed.code).toBe(0);
    expect(sandbox.takeSystemctlCalls()).toEqual([]);
    expect(scheduleOf('a')).toEqual(compileSchedule(NIGHTS));
    expect(changed.stderr).toContain('camera a: recording schedule changed');
    expect(changed.stderr).not.toMatch(/camera [bc]:/);
    await sandbox.run(RECONCILER);
    expect(sandbox.takeSystemctlCalls()).toEqual([]);

    sandbox.setCameraList(listOf({ name: 'a', schedule: NIGHTS }, { name: 'b', codec: 'h265', audio: true }));
    await sandbox.run(RECONCILER);
    expect(sandbox.takeSystemctlCalls()).toEqual(['disable --now kvs-camera@c.service']);
    expect(Object.keys(sandbox.snapshot()).filter((file) => file.includes('/c.'))).toEqual([]);
  });

  test('more cameras than one GetParameters call takes are read in batches', async () => {
    const names = Array.from({ length: 23 }, (_, i) => `cam-${String(i).padStart(2, '0')}`);
    sandbox.setCameraList(listOf(...names.map((name) => ({ name }))));
    sandbox.setParameterVersions(Object.fromEntries(names.map((name) => [`${PREFIX}/${name}`, 1])));
    const result = await sandbox.run(RECONCILER);
    expect(result.code).toBe(0);
    const calls = sandbox.takeSystemctlCalls();
    expect(calls.filter((call) => call.startsWith('enable --now'))).toHaveLength(23);
    expect(calls.filter((call) => call.startsWith('disable --now')).sort()).toEqual([
      'disable --now kvs-camera@a.service',
      'disable --now kvs-camera@b.service',
    ]);
  });
});
