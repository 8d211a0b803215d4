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

export interface VideoFrame {
  /** Presentation time, seconds from the start of the file. */
  readonly pts: number;
  readonly keyFrame: boolean;
}

/** The video frames of a Matroska file in the order they are stored (decode order), as the demuxer reads them. */
export function videoFrames(file: string): VideoFrame[] {
  const report = execFileSync(
    'gst-launch-1.0',
    [
      '-v',
      'filesrc',
      `location=${file}`,
      '!',
      'matroskademux',
      '!',
      'identity',
      'silent=false',
      '!',
      'fakesink',
    ],
    { encoding: 'utf8', timeout: 60000, maxBuffer: 64 * 1024 * 1024 },
  );
  const frames: VideoFrame[] = [];
  for (const match of report.matchAll(
    /chain {3}\*+.*?pts: (\d+):(\d+):([\d.]+),.*?flags: [0-9a-f]+ ([^,]*),/g,
  )) {
    frames.push({
      pts: Number(match[1]) * 3600 + Number(match[2]) * 60 + Number(match[3]),
      keyFrame: !match[4].includes('delta-unit'),
    });
  }
  return frames;
}
