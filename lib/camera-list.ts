import { CameraConfig, cameraUrlParameterName, GatewayConfig } from './config';

/**
 * A camera list as the EC2 gateway's reconciler (userdata/reconcile-cameras.sh) reads it
 * from SSM. It names each camera's URL parameter but never holds a URL: the URL (with its password)
 * stays in that SecureString. Bump `schemaVersion` with the reconciler when the shape changes.
 */
export const CAMERA_LIST_SCHEMA_VERSION = 1;

export interface CameraListEntry {
  readonly name: string;
  readonly streamName: string;
  readonly codec: CameraConfig['codec'];
  readonly audio: boolean;
  readonly urlParameter: string;
}

export interface CameraList {
  readonly schemaVersion: typeof CAMERA_LIST_SCHEMA_VERSION;
  readonly cameras: readonly CameraListEntry[];
}

/** The list of some cameras: one EC2 gateway instance (one shard) runs the cameras of its list. */
export function cameraList(config: {
  readonly parameterPrefix: GatewayConfig['parameterPrefix'];
  readonly cameras: readonly Pick<CameraConfig, 'name' | 'streamName' | 'codec' | 'audio'>[];
}): CameraList {
  return {
    schemaVersion: CAMERA_LIST_SCHEMA_VERSION,
    cameras: config.cameras.map((camera) => ({
      name: camera.name,
      streamName: camera.streamName,
      codec: camera.codec,
      audio: camera.audio,
      urlParameter: cameraUrlParameterName(config.parameterPrefix, camera.name),
    })),
  };
}
