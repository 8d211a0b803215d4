/**
 * The seed's bare pipeline, as `gst-launch-1.0` arguments: the camera's H.264 over RTSP/TCP,
 * depayloaded and parsed into the caps kvssink takes, then `sink`.
 */
export function seedPipeline(
  url: string,
  sink: readonly string[],
  rtspsrcOptions: readonly string[] = [],
): string[] {
  return [
    '-q',
    'rtspsrc',
    `location=${url}`,
    'protocols=tcp',
    ...rtspsrcOptions,
    '!',
    'rtph264depay',
    '!',
    'h264parse',
    '!',
    'video/x-h264,stream-format=avc,alignment=au',
    '!',
    ...sink,
  ];
}
