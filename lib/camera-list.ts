import { CameraConfig, cameraUrlParameterName, GatewayConfig } from './config';

/**
 * The gateway's camera list as the EC2 gateway's reconciler (userdata/reconcile-cameras.sh) reads it
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

export function cameraList(config: Pick<GatewayConfig, 'cameras' | 'parameterPrefix'>): CameraList {
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
