import { execFileSync } from 'node:child_process';

/** What gst-discoverer-1.0 reads from a media file written by the gateway's file sink. */
export interface MediaFileInfo {
  /** e.g. "H.264 (Constrained Baseline Profile)" or "H.265 (Main Profile)"; undefined without video. */
  readonly video?: string;
  readonly width?: number;
  readonly height?: number;
  /** e.g. "MPEG-4 AAC" or "A-Law"; undefined without audio. */
  readonly audio?: string;
  readonly durationSeconds?: number;
}

export function discoverMediaFile(file: string): MediaFileInfo {
  const report = execFileSync('gst-discoverer-1.0', [file], { encoding: 'utf8', timeout: 30000 });
  const field = (pattern: RegExp): string | undefined => pattern.exec(report)?.[1]?.trim();
  const duration = field(/Duration: (\d+:\d+:[\d.]+)/);
  const seconds = duration
    ?.split(':')
    .map(Number)
    .reduce((total, part) => total * 60 + part, 0);
  const width = field(/Width: (\d+)/);
  const height = field(/Height: (\d+)/);
  return {
    video: field(/video #\d+: (.+)/),
    width: width ? Number(width) : undefined,
    height: height ? Number(height) : undefined,
    audio: field(/audio #\d+: (.+)/),
    durationSeconds: seconds,
  };
}
