import * as fs from 'node:fs';
import * as path from 'node:path';
import { cameraList } from '../../lib/camera-list';
import { STAND_IN_CREDENTIALS } from '../support/aws-stand-ins';
import { DeployedApp } from '../support/deployed-app';
import { buildGatewayApp, configWith } from '../support/gateway-app';
import { describeFindings, PermissionCheck } from '../support/permission-check';
import { compileSchedule, RecordingSchedule } from '../../lib/recording-schedule';
import { NIGHTS, SHOP_HOURS } from '../support/recording-schedules';
import { ReconcilerSandbox, USERDATA, useSsmStandIn } from './stand-ins';

/**
 * The Fargate task's schedule sync (userdata/sync-camera-schedules.sh), run for real against the SSM stand-in
 * (SigV4 checked) with the credential file the refresher writes: the camera list as the stack writes it
 * becomes one schedule file per camera, rewritten only when it changes; a list it cannot read or use
 * changes nothing.
 */

jest.setTimeout(60_000);

const SYNC = path.join(USERDATA, 'sync-camera-schedules.sh');

function listOf(cameras: { name: string; schedule?: RecordingSchedule }[]) {
  return cameraList({
    parameterPrefix: '/kvs-gateway/cameras',
    cameras: cameras.map((camera) => ({ streamName: camera.name, codec: 'auto', audio: false, ...camera })),
  });
}

describe('sync-camera-schedules.sh (real script, SSM stand-in)', () => {
  const ssm = useSsmStandIn();
  let sandbox: ReconcilerSandbox;
  let folder: string;
  const sync = () => sandbox.run(SYNC, { KVS_SCHEDULE_DIR: folder });
  const scheduleOf = (name: string) =>
    JSON.parse(fs.readFileSync(path.join(folder, `${name}.schedule.json`), 'utf8')) as unknown;

  beforeEach(() => {
    sandbox = new ReconcilerSandbox(ssm);
    folder = path.join(sandbox.root, 'run', 'kvs-gateway', 'schedules');
  });
  afterEach(() => sandbox.remove());

  test("writes each camera's compiled schedule, or null, and rewrites only what changed", async () => {
    sandbox.setCameraList(
      listOf([
        { name: 'till', schedule: SHOP_HOURS },
        { name: 'gate' },
        { name: 'yard', schedule: SHOP_HOURS },
      ]),
    );
    const first = await sync();
    expect(first.code).toBe(0);
    expect([scheduleOf('till'), scheduleOf('gate'), scheduleOf('yard')]).toEqual([
      compileSchedule(SHOP_HOURS),
      null,
      compileSchedule(SHOP_HOURS),
    ]);
    expect(sandbox.takeSsmCalls()).toEqual([
      {
        target: 'AmazonSSM.GetParameter',
        names: ['/kvs-gateway/Ec2GatewayStack/camera-list'],
        decrypt: false,
      },
    ]);

    const gateBefore = fs.statSync(path.join(folder, 'gate.schedule.json')).mtimeMs;
    sandbox.setCameraList(
      listOf([{ name: 'till', schedule: NIGHTS }, { name: 'gate' }, { name: 'yard', schedule: SHOP_HOURS }]),
    );
    const second = await sync();
    expect(scheduleOf('till')).toEqual(compileSchedule(NIGHTS));
    expect(second.stderr).toContain('camera till: recording schedule changed');
    expect(second.stderr).not.toMatch(/camera (gate|yard)/);
    expect(fs.statSync(path.join(folder, 'gate.schedule.json')).mtimeMs).toBe(gateBefore);
  });

  test.each([
    ['not JSON', '{"schemaVersion": 2, "cameras": [', /is not valid: .*; the schedules stay as they are/],
    [
      'a newer version',
      JSON.stringify({ schemaVersion: 3, cameras: [] }),
      /schemaVersion 3: this task reads versions 1 and 2/,
    ],
    [
      'a camera name that is not a file name',
      JSON.stringify({ schemaVersion: 1, cameras: [{ name: '../etc/passwd' }] }),
      /a camera name "\.\.\/etc\/passwd" that is not one/,
    ],
  ])('a list it cannot use (%s) changes no file and says why', async (_case, list, reason) => {
    sandbox.setCameraList(listOf([{ name: 'till', schedule: SHOP_HOURS }]));
    await sync();
    const before = sandbox.snapshot();
    sandbox.setCameraList(list);
    const result = await sync();
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(reason);
    expect(sandbox.snapshot()).toEqual(before);
  });

  test("its request is one the shard's task role allows, as deployed", async () => {
    // The sample config with a schedule, synthesized, and its shard 1's camera list as the stack writes it.
    const config = configWith({ schedule: SHOP_HOURS });
    const assembly = buildGatewayApp(config).app.synth().directory;
    const deployment = new DeployedApp(assembly, { account: '123456789012', region: 'eu-west-1' });
    const listName = '/kvs-gateway/fargate-gateway/shard-1/camera-list';
    const [list] = deployment
      .resourcesOf('AWS::SSM::Parameter')
      .map(
        (parameter) => parameter.stack.resources[parameter.logicalId].Properties as Record<string, unknown>,
      )
      .filter((properties) => properties.Name === listName);
    ssm.state.putParameter(listName, String(list.Value), 'String');
    const records = () => ssm.state.requestRecords().filter((r) => r.operation === 'GetParameter');
    const before = records().length;
    const result = await sandbox.run(SYNC, { KVS_SCHEDULE_DIR: folder, KVS_CAMERA_LIST_PARAMETER: listName });
    expect(result.code).toBe(0);
    expect(scheduleOf('front-door')).toEqual(compileSchedule(SHOP_HOURS));
    const taskRole = deployment
      .roles()
      .find((role) => role.logicalId.startsWith('TaskRole') && role.stack.name.includes('Shard1'));
    expect(taskRole).toBeDefined();
    const check = new PermissionCheck(
      deployment,
      new Map([[STAND_IN_CREDENTIALS.AccessKeyId, { role: taskRole! }]]),
    );
    const report = await check.judge(records().slice(before));
    expect(describeFindings(report.findings)).toEqual([]);
    expect(report.judged).toBe(1);
    // Synthesizing the whole app takes most of this test's time on a busy machine.
  }, 240_000);

  test('an unreachable SSM changes nothing and says why', async () => {
    sandbox.setAwsUnreachable(true);
    const result = await sync();
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('cannot read the camera list /kvs-gateway/Ec2GatewayStack/camera-list');
    expect(fs.existsSync(folder)).toBe(false);
  });
});
