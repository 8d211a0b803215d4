import { siteStackName, STACK_IDS } from './site-names';

/**
 * The names a camera's name becomes on AWS and on the gateway, and the checks that keep every one of
 * them valid and distinct. A camera name is checked here once, at config load, instead of failing
 * later in CloudFormation, ECS or systemd.
 */

export type CameraAlarmKind = 'no-frames' | 'upload-failing';
const ALARM_KINDS: readonly CameraAlarmKind[] = ['no-frames', 'upload-failing'];

/** CloudWatch alarm names: the compute stack's name first, so that its SNS topic can trust `<stack>-*`. */
export function cameraAlarmName(gatewayStackName: string, cameraName: string, kind: CameraAlarmKind): string {
  return `${gatewayStackName}-${cameraName}-${kind}`;
}

/** The alarm on a shard's instance (EC2) or task (Fargate): the gateway itself. */
export type GatewayAlarmKind = 'instance-status-check' | 'running-tasks';

export function shardAlarmName(gatewayStackName: string, shard: number, kind: GatewayAlarmKind): string {
  return `${gatewayStackName}-shard-${shard}-${kind}`;
}

/** ECS container names allow letters, digits, "_" and "-": a "." becomes "_" (see `normalizedCameraName`). */
export function cameraContainerName(cameraName: string): string {
  return `camera-${cameraName.replace(/\./g, '_')}`;
}

/**
 * Names that differ only in case or in "-", "_" and "." are one name to a reader, and some of the names
 * derived from them lose the difference (ECS containers turn "." into "_"): such names may not coexist.
 */
export function normalizedCameraName(cameraName: string): string {
  return cameraName.toLowerCase().replace(/[^a-z0-9]/g, '');
}

const MAX_ALARM_NAME = 255;
const MAX_CONTAINER_NAME = 255;
/** Log streams are `<camera>/<container>/<task id>` (ECS awslogs), at most 512 characters; task ids are 32. */
const MAX_LOG_STREAM_NAME = 512;
const ECS_TASK_ID_LENGTH = 32;
/** systemd unit names (`kvs-camera@<camera>.service`) have at most 255 characters. */
const MAX_UNIT_NAME = 255;

/** The longest camera name each derived name allows, with what it is, for the error message. */
function cameraNameLimits(site: string | undefined): { limit: number; what: string }[] {
  const longestStackName = Math.max(
    siteStackName(site, STACK_IDS.ec2Gateway).length,
    siteStackName(site, STACK_IDS.fargateGateway).length,
  );
  const longestAlarm = Math.max(...ALARM_KINDS.map((kind) => cameraAlarmName('', '', kind).length));
  return [
    {
      limit: MAX_ALARM_NAME - longestStackName - longestAlarm,
      what: `its CloudWatch alarm names ("${cameraAlarmName(siteStackName(site, STACK_IDS.fargateGateway), '<name>', 'upload-failing')}", at most ${MAX_ALARM_NAME})`,
    },
    {
      limit: MAX_CONTAINER_NAME - cameraContainerName('').length,
      what: `its ECS container name (at most ${MAX_CONTAINER_NAME})`,
    },
    {
      limit: Math.floor(
        (MAX_LOG_STREAM_NAME - cameraContainerName('').length - ECS_TASK_ID_LENGTH - '//'.length) / 2,
      ),
      what: `its log stream name ("<name>/<container>/<task id>", at most ${MAX_LOG_STREAM_NAME})`,
    },
    {
      limit: MAX_UNIT_NAME - 'kvs-camera@.service'.length,
      what: `its systemd unit name ("kvs-camera@<name>.service", at most ${MAX_UNIT_NAME})`,
    },
  ];
}

/** Why a camera name is too long for one of the names derived from it, or undefined when it fits. */
export function cameraNameLengthProblem(site: string | undefined, cameraName: string): string | undefined {
  const tightest = cameraNameLimits(site).reduce((a, b) => (b.limit < a.limit ? b : a));
  if (cameraName.length <= tightest.limit) return undefined;
  return `is ${cameraName.length} characters; at most ${tightest.limit} fit ${tightest.what}`;
}
