import { CameraConfig, cameraUrlParameterName, GatewayConfig } from './config';
import { compileSchedule, CompiledSchedule } from './recording-schedule';

/**
 * A shard's camera list, the gateway's live configuration, as the stack writes it to SSM: the EC2
 * gateway's reconciler (userdata/reconcile-cameras.sh) applies all of it; the Fargate gateway's task
 * takes the recording schedules from it (userdata/sync-camera-schedules.sh), the rest of a Fargate camera's
 * settings being in its task definition. It names each camera's URL parameter but never holds a URL: the
 * URL (with its password) stays in that SecureString. Bump the version with the reconciler when the
 * shape changes.
 *
 * Version 1: the cameras. Version 2 adds recording schedules: `schedules` lists each distinct schedule
 * once (compiled, see lib/recording-schedule.ts) and a camera's `schedule` is its index there (a camera
 * without one records around the clock). A list without any schedule stays version 1, so an instance
 * whose reconciler predates schedules (during a rolling update) keeps applying it.
 */
export const CAMERA_LIST_SCHEMA_VERSION = 2;

export interface CameraListEntry {
  readonly name: string;
  readonly streamName: string;
  readonly codec: CameraConfig['codec'];
  readonly audio: boolean;
  readonly urlParameter: string;
  /** Index into `CameraList.schedules`; absent: records around the clock. */
  readonly schedule?: number;
}

export interface CameraList {
  readonly schemaVersion: 1 | typeof CAMERA_LIST_SCHEMA_VERSION;
  readonly schedules?: readonly CompiledSchedule[];
  readonly cameras: readonly CameraListEntry[];
}

/** The list of some cameras: one EC2 gateway instance (one shard) runs the cameras of its list. */
export function cameraList(config: {
  readonly parameterPrefix: GatewayConfig['parameterPrefix'];
  readonly cameras: readonly Pick<CameraConfig, 'name' | 'streamName' | 'codec' | 'audio' | 'schedule'>[];
}): CameraList {
  // One entry per distinct schedule: a default schedule is written once, not once per camera (8 KB a list).
  const schedules: CompiledSchedule[] = [];
  const indexOf = new Map<string, number>();
  const scheduleIndex = (camera: Pick<CameraConfig, 'schedule'>): number | undefined => {
    if (!camera.schedule) return undefined;
    const compiled = compileSchedule(camera.schedule);
    const key = JSON.stringify(compiled);
    if (!indexOf.has(key)) indexOf.set(key, schedules.push(compiled) - 1);
    return indexOf.get(key);
  };
  const cameras = config.cameras.map((camera) => {
    const schedule = scheduleIndex(camera);
    return {
      name: camera.name,
      streamName: camera.streamName,
      codec: camera.codec,
      audio: camera.audio,
      urlParameter: cameraUrlParameterName(config.parameterPrefix, camera.name),
      ...(schedule === undefined ? {} : { schedule }),
    };
  });
  return schedules.length === 0
    ? { schemaVersion: 1, cameras }
    : { schemaVersion: CAMERA_LIST_SCHEMA_VERSION, schedules, cameras };
}
