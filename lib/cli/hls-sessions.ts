import { APIName, DescribeStreamCommand, type StreamInfo } from '@aws-sdk/client-kinesis-video';
import {
  ContainerFormat,
  GetHLSStreamingSessionURLCommand,
  HLSDiscontinuityMode,
  HLSDisplayFragmentTimestamp,
  HLSFragmentSelectorType,
  HLSPlaybackMode,
  type GetHLSStreamingSessionURLInput,
} from '@aws-sdk/client-kinesis-video-archived-media';
import type { CameraConfig } from '../config';
import type { AwsClients } from './aws-clients';
import { awsCall, CliError } from './aws-errors';
import { DataEndpoints, streamMissing } from './kvs-fragments';

/**
 * HLS sessions of a camera's stream: live (`view`, the wall) and on demand (`view --from`). Each is
 * DescribeStream (kept per stream), GetDataEndpoint (kept) and GetHLSStreamingSessionURL on that
 * endpoint; the errors KVS gives become sentences that say what to do.
 */

export interface HlsSession {
  readonly camera: string;
  readonly streamName: string;
  /** Carries a session token: anyone with it can watch until it expires. */
  readonly hlsUrl: string;
  readonly expiresAt: string;
  readonly mediaType?: string;
  /** Set when the stream is H.265, which most browsers cannot play through MSE. */
  readonly h265: boolean;
}

/** KVS's answer when a LIVE session finds no fragment in the last 30 seconds. */
export class NoRecentVideo extends CliError {}

/** The most fragments an on-demand media playlist holds (MaxMediaPlaylistFragmentResults). */
export const MAX_PLAYLIST_FRAGMENTS = 5000;

export class HlsSessions {
  private readonly streams = new Map<string, Promise<StreamInfo | undefined>>();

  constructor(
    private readonly clients: Pick<AwsClients, 'kinesisVideo' | 'archivedMedia' | 'region'>,
    private readonly endpoints: DataEndpoints = new DataEndpoints(clients),
    private readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * A live session. `timestamps`: the playlist carries each fragment's producer time
   * (EXT-X-PROGRAM-DATE-TIME), which the wall shows; otherwise KVS's defaults, as `view` always had.
   */
  live(camera: CameraConfig, expiresSeconds: number, timestamps = false): Promise<HlsSession> {
    return this.session(camera, expiresSeconds, {
      PlaybackMode: HLSPlaybackMode.LIVE,
      ...(timestamps
        ? {
            HLSFragmentSelector: { FragmentSelectorType: HLSFragmentSelectorType.PRODUCER_TIMESTAMP },
            DisplayFragmentTimestamp: HLSDisplayFragmentTimestamp.ALWAYS,
            DiscontinuityMode: HLSDiscontinuityMode.ON_DISCONTINUITY,
          }
        : {}),
    });
  }

  /** An on-demand session of the fragments that start in [start, end] (producer time), timestamps shown. */
  onDemand(
    camera: CameraConfig,
    range: { start: Date; end: Date; fragments: number },
    expiresSeconds: number,
  ): Promise<HlsSession> {
    return this.session(camera, expiresSeconds, {
      PlaybackMode: HLSPlaybackMode.ON_DEMAND,
      HLSFragmentSelector: {
        FragmentSelectorType: HLSFragmentSelectorType.PRODUCER_TIMESTAMP,
        TimestampRange: { StartTimestamp: range.start, EndTimestamp: range.end },
      },
      ContainerFormat: ContainerFormat.FRAGMENTED_MP4,
      DisplayFragmentTimestamp: HLSDisplayFragmentTimestamp.ALWAYS,
      // A gap (the camera was down) restarts the player's timeline instead of stalling it.
      DiscontinuityMode: HLSDiscontinuityMode.ON_DISCONTINUITY,
      MaxMediaPlaylistFragmentResults: Math.min(MAX_PLAYLIST_FRAGMENTS, Math.max(1, range.fragments)),
    });
  }

  private async session(
    camera: CameraConfig,
    expiresSeconds: number,
    input: Omit<GetHLSStreamingSessionURLInput, 'StreamName' | 'Expires'>,
  ): Promise<HlsSession> {
    const { streamName } = camera;
    const region = this.clients.region;
    const stream = await this.describe(camera);
    if (stream?.DataRetentionInHours === 0) throw new CliError(noRetentionSentence(camera));
    const endpoint = await this.endpoints.get(camera, APIName.GET_HLS_STREAMING_SESSION_URL);
    const requestedAt = this.now();
    const live = input.PlaybackMode === HLSPlaybackMode.LIVE;
    const session = await awsCall(
      {
        action: 'kinesisvideo:GetHLSStreamingSessionURL',
        resource: stream?.StreamARN ?? `stream ${streamName}`,
        region,
      },
      async () => {
        try {
          return await this.clients.archivedMedia(endpoint).send(
            new GetHLSStreamingSessionURLCommand({
              ...input,
              StreamName: streamName,
              Expires: expiresSeconds,
            }),
          );
        } catch (error) {
          // In LIVE mode this means no fragment arrived in the last 30 seconds.
          if (live && (error as { name?: string }).name === 'ResourceNotFoundException') {
            throw new NoRecentVideo(
              `stream "${streamName}" has received no video in the last 30 seconds: check that the camera "${camera.name}" is online and its gateway service is running ("kvs-gateway status" says why not), then try again`,
            );
          }
          throw error;
        }
      },
      {
        ResourceNotFoundException: `stream "${streamName}" has no video in the requested range`,
        NoDataRetentionException: noRetentionSentence(camera),
        UnsupportedStreamMediaTypeException: `stream "${streamName}" holds a media type HLS cannot serve: HLS needs H.264 or H.265 video (and AAC audio, if any)`,
        MissingCodecPrivateDataException: `stream "${streamName}" has fragments without codec private data (SPS/PPS): the gateway's parser must send it; restart the camera's service and try again`,
        InvalidCodecPrivateDataException: `stream "${streamName}" has codec private data HLS cannot use: check the camera's codec settings (H.264 or H.265)`,
      },
    );
    if (!session.HLSStreamingSessionURL) {
      throw new CliError(`GetHLSStreamingSessionURL returned no URL for stream "${streamName}": try again`);
    }
    const mediaType = stream?.MediaType;
    return {
      camera: camera.name,
      streamName,
      hlsUrl: session.HLSStreamingSessionURL,
      expiresAt: new Date(requestedAt.getTime() + expiresSeconds * 1000).toISOString(),
      ...(mediaType ? { mediaType } : {}),
      h265: camera.codec === 'h265' || /h265|hevc/i.test(mediaType ?? ''),
    };
  }

  private describe(camera: CameraConfig): Promise<StreamInfo | undefined> {
    let described = this.streams.get(camera.streamName);
    if (!described) {
      described = awsCall(
        {
          action: 'kinesisvideo:DescribeStream',
          resource: `stream ${camera.streamName}`,
          region: this.clients.region,
        },
        () => this.clients.kinesisVideo.send(new DescribeStreamCommand({ StreamName: camera.streamName })),
        { ResourceNotFoundException: streamMissing(camera, this.clients.region) },
      ).then((answer) => answer.StreamInfo);
      this.streams.set(camera.streamName, described);
      described.catch(() => this.streams.delete(camera.streamName));
    }
    return described;
  }
}

export function noRetentionSentence(camera: CameraConfig): string {
  return (
    `stream "${camera.streamName}" keeps no video (data retention 0 hours) and HLS playback needs retention: ` +
    `set "retentionHours" of camera "${camera.name}" to 1 or more in the config and deploy again`
  );
}
