/**
 * The memory a camera needs once kvssink's buffer is full, which one KVS outage does to every camera
 * of a gateway at once (and kvssink keeps those pages afterwards). Measured with the real kvssink
 * (docs/run-script.md, "Memory per camera"): about 50 MB for the run script and kvssink, plus the
 * video of KVS_BUFFER_SECONDS at the camera's bitrate.
 */
export const CAMERA_BASE_MIB = 50;

/** run-camera.sh's default KVS_BUFFER_SECONDS (a test checks the two agree). */
export const KVS_BUFFER_SECONDS = 120;

/** A camera's memory with its buffer full, in MiB. */
export function cameraMemoryMiB(bitrateKbps: number): number {
  return CAMERA_BASE_MIB + (bitrateKbps * 1000 * KVS_BUFFER_SECONDS) / 8 / 2 ** 20;
}
