import { BoxEnvironment } from './box-environment';
import { BoxVariant } from './box-variants';
import { cameraAddedAndRemoved } from './scenarios/camera-added-and-removed';
import { cameraDown } from './scenarios/camera-down';
import { firstStepFailure } from './scenarios/first-step-failure';
import { firstVideo } from './scenarios/first-video';
import { hardening } from './scenarios/hardening';
import { install } from './scenarios/install';
import { logShipper } from './scenarios/log-shipper';
import { journalAndCpu } from './scenarios/journal-and-cpu';
import { passwordRotated } from './scenarios/password-rotated';
import { permissions } from './scenarios/permissions';
import { realKvssink } from './scenarios/real-kvssink';
import { reboot } from './scenarios/reboot';
import { restartDelays } from './scenarios/restart-delays';
import { scheduleChange } from './scenarios/schedule-change';
import { wrongPassword } from './scenarios/wrong-password';

/**
 * A scenario registers its tests (jest's `test`, or a `describe` of its own) against the environment
 * of one booted box. The same scenarios run on every box variant.
 */
export type BoxScenario = (env: BoxEnvironment) => void;

/**
 * Every scenario, in the order they run on one box: the failing first boot, the install (which boots the
 * box the rest share), then what a running gateway must do; the reboot near the end, and last the checks
 * over everything the journal holds. A new scenario is a file in scenarios/ and a line here.
 */
const SCENARIOS: readonly BoxScenario[] = [
  firstStepFailure,
  install,
  logShipper,
  hardening,
  firstVideo,
  wrongPassword,
  cameraAddedAndRemoved,
  passwordRotated,
  scheduleChange,
  cameraDown,
  restartDelays,
  reboot,
  journalAndCpu,
  permissions,
  realKvssink, // by hand only (KVS_BOX_REAL_KVSSINK)
];

/**
 * The EC2 gateway booted whole on one box variant: a debootstrapped Debian (the stand-in for Ubuntu
 * 24.04) booted with systemd in a network namespace of its own runs the user-data exactly as
 * Ec2GatewayStack synthesizes it. AWS is played by stand-ins speaking the real protocols and checking
 * SigV4 (IMDSv2 on 169.254.169.254; S3, SSM and CloudFormation through the AWS_ENDPOINT_URL_* variables
 * the scripts honour), the cameras by the project's RTSP test camera, and apt reaches Debian's mirror
 * through a proxy on the host end of the namespace's veth pair, which lets nothing else out. The only
 * test-only settings are those this machine forces: no kvssink build (no github.com:
 * KVS_TEST_WITHOUT_KVSSINK=1, the cameras write to the run script's file sink through a drop-in), a
 * stand-in Fluent Bit package from a stand-in of its repository (packages.fluentbit.io mapped to the host
 * end, its throw-away CA trusted, its throw-away key's fingerprint in the config), the endpoints. The box's timings are printed, never asserted.
 */
export function describeBox(variant: BoxVariant): void {
  jest.setTimeout(variant.slowdown * 20 * 60_000);
  const env = new BoxEnvironment(variant);
  const slower = variant.slowdown > 1 ? `, emulated: waits x${variant.slowdown}` : '';
  describe(`the EC2 gateway booted whole on ${variant.title} (systemd-nspawn, the synthesized user-data, AWS stand-ins${slower})`, () => {
    beforeAll(() => env.setUp(), variant.slowdown * 60 * 60_000);
    afterAll(() => env.tearDown(), 5 * 60_000);
    for (const scenario of SCENARIOS) scenario(env);
  });
}
