import { PassThrough } from 'node:stream';
import { MAX_CLIP_BYTES, partFiles, planClipParts, progressBar } from '../../lib/cli/camera-clip';
import type { StatusReport } from '../../lib/cli/camera-status';
import { parseStatusLine, STATUS_QUERY } from '../../lib/cli/gateway-reports';
import { runKvsGatewayCli, type CliIo } from '../../lib/cli/kvs-gateway-cli';
import { videoRanges, type VideoFragment } from '../../lib/cli/kvs-fragments';
import { describeSeconds, parseDuration, parseTime, parseTimeRange } from '../../lib/cli/time-input';
import { formatStatus } from '../../lib/cli/video-commands';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

/** 2026-12-01 09:00:00 UTC, a Tuesday. */
const NOW = new Date('2026-12-01T09:00:00Z');

describe('times as people type them', () => {
  const at = (text: string, zone = 'UTC') => parseTime(text, '--from', NOW, { zone }).date.toISOString();

  test('a time of day is today, or yesterday when today it has not come yet', () => {
    expect(at('08:30')).toBe('2026-12-01T08:30:00.000Z');
    expect(at('10:05')).toBe('2026-11-30T10:05:00.000Z');
    expect(at('8:30:15')).toBe('2026-12-01T08:30:15.000Z');
  });

  test('dates, ISO 8601, durations ago and now', () => {
    expect(at('2026-11-30 10:05')).toBe('2026-11-30T10:05:00.000Z');
    expect(at('2026-11-30T10:05:30')).toBe('2026-11-30T10:05:30.000Z');
    expect(at('2026-11-30T10:05:30Z', 'Europe/Berlin')).toBe('2026-11-30T10:05:30.000Z');
    expect(at('-15m')).toBe('2026-12-01T08:45:00.000Z');
    expect(at('-1h30m')).toBe('2026-12-01T07:30:00.000Z');
    expect(at('-2d')).toBe('2026-11-29T09:00:00.000Z');
    expect(at('now')).toBe(NOW.toISOString());
  });

  test('in the local zone unless the time names one', () => {
    expect(at('08:30', 'Europe/Berlin')).toBe('2026-12-01T07:30:00.000Z');
    expect(at('08:30 UTC', 'Europe/Berlin')).toBe('2026-12-01T08:30:00.000Z');
    expect(at('2026-11-30 10:05 America/New_York')).toBe('2026-11-30T15:05:00.000Z');
    expect(at('2026-11-30 10:05+01:00')).toBe('2026-11-30T09:05:00.000Z');
    expect(at('2026-11-30T10:05:00-0500')).toBe('2026-11-30T15:05:00.000Z');
    expect(parseTime('08:30', '--from', NOW, { zone: 'Europe/Berlin' }).shown).toBe(
      '2026-12-01 08:30:00 GMT+1',
    );
  });

  test('what cannot be read says how to write it, as a usage error', () => {
    for (const text of ['25:00', 'yesterday', '10:05 Mars/Olympus', '2026-13-01 10:00', '+20m']) {
      expect(() => parseTime(text, '--from', NOW, { zone: 'UTC' })).toThrow(
        expect.objectContaining({
          exitCode: 2,
          message: expect.stringMatching(/^--from ".*": .*e\.g\. 10:05/),
        }),
      );
    }
    expect(parseDuration('+20m')).toBe(1200);
    expect(parseDuration('10:05')).toBeUndefined();
  });

  test('a range: --to after --from (+20m counts from it), within a day, --from not in the future', () => {
    const range = parseTimeRange('08:00', '+20m', NOW, { maxSeconds: 86400, zone: 'UTC' });
    expect([range.from.date.toISOString(), range.to.date.toISOString()]).toEqual([
      '2026-12-01T08:00:00.000Z',
      '2026-12-01T08:20:00.000Z',
    ]);
    expect(parseTimeRange('-10m', undefined, NOW, { maxSeconds: 86400, zone: 'UTC' }).to.date).toEqual(NOW);
    expect(() => parseTimeRange('08:00', '07:00', NOW, { maxSeconds: 86400, zone: 'UTC' })).toThrow(
      '--to (2026-12-01 07:00:00 UTC) must be after --from (2026-12-01 08:00:00 UTC)',
    );
    expect(() => parseTimeRange('-3d', '-1h', NOW, { maxSeconds: 86400, zone: 'UTC' })).toThrow(
      'is 2 d 23 h: at most 1 d at once',
    );
    expect(() => parseTimeRange(undefined, undefined, NOW, { maxSeconds: 86400 })).toThrow(
      '--from is required',
    );
    expect(describeSeconds(4 * 3600 + 600)).toBe('4 h 10 min');
    expect(describeSeconds(725)).toBe('12 min 5 s');
  });
});

function fragments(count: number, bytes: number, lengthMs = 1000, startMs = NOW.getTime()): VideoFragment[] {
  return Array.from({ length: count }, (_, index) => ({
    number: String(index),
    producer: new Date(startMs + index * lengthMs),
    server: new Date(startMs + index * lengthMs + 50),
    lengthMs,
    bytes,
  }));
}

describe('clips in parts', () => {
  test('at most 200 fragments a part', () => {
    const parts = planClipParts(fragments(450, 10_000));
    expect(parts.map((part) => part.fragments.length)).toEqual([200, 200, 50]);
    expect(parts[1].start.toISOString()).toBe('2026-12-01T09:03:20.000Z');
    // GetClip's end is inclusive and compares fragment starts: the last fragment's start.
    expect(parts[1].lastStart.toISOString()).toBe('2026-12-01T09:06:39.000Z');
    expect(parts[1].end.toISOString()).toBe('2026-12-01T09:06:40.000Z');
  });

  test('at most 100 MB a part, with room for the MP4 being a little larger', () => {
    const parts = planClipParts(fragments(10, 20 * 1024 * 1024));
    expect(parts.map((part) => part.fragments.length)).toEqual([4, 4, 2]);
    expect(Math.max(...parts.map((part) => part.expectedBytes))).toBeLessThan(MAX_CLIP_BYTES);
  });

  test('numbered files for several parts, the name as given for one', () => {
    expect(partFiles('/tmp/dock.mp4', 1)).toEqual(['/tmp/dock.mp4']);
    expect(partFiles('/tmp/dock.mp4', 3)).toEqual([
      '/tmp/dock-part1.mp4',
      '/tmp/dock-part2.mp4',
      '/tmp/dock-part3.mp4',
    ]);
    expect(progressBar(5_000_000, 10_000_000, 1, 2)).toBe(
      '[###############...............]  50%  5.0 MB of ~10.0 MB  part 1/2',
    );
  });

  test('the ranges with video: a pause of more than 5 s starts a new one', () => {
    const morning = fragments(60, 1000);
    const later = fragments(30, 1000, 1000, NOW.getTime() + 120_000);
    expect(
      videoRanges([...morning, ...later]).map((range) => [
        range.start.toISOString(),
        range.end.toISOString(),
        range.fragments,
      ]),
    ).toEqual([
      ['2026-12-01T09:00:00.000Z', '2026-12-01T09:01:00.000Z', 60],
      ['2026-12-01T09:02:00.000Z', '2026-12-01T09:02:30.000Z', 30],
    ]);
  });
});

describe("the gateway's status lines", () => {
  const line = (camera: string, status: string) => `run-camera[${camera}]: status ${status}`;

  test('are read back as the run script writes them', () => {
    expect(
      parseStatusLine(
        'login-refused since 2026-12-01T08:55:00Z: the camera refused the user name or password',
      ),
    ).toEqual({
      state: 'login-refused',
      since: new Date('2026-12-01T08:55:00Z'),
      reason: 'the camera refused the user name or password',
    });
    expect(parseStatusLine('streaming since 2026-12-01T08:00:00Z')).toEqual({
      state: 'streaming',
      since: new Date('2026-12-01T08:00:00Z'),
      reason: '',
    });
  });

  test('the Logs Insights query gives the latest one of every camera, and nothing else', () => {
    // Run by the CloudWatch Logs stand-in's evaluator (test/support/aws-stand-ins/logs_insights.py).
    const events = [
      { timestamp: 1000, message: line('dock', 'streaming since 2026-12-01T08:00:00Z'), stream: 'a' },
      { timestamp: 2000, message: 'run-camera[dock]: probing rtsp://192.0.2.10/stream', stream: 'a' },
      {
        timestamp: 3000,
        message: line('dock', 'camera-down since 2026-12-01T08:50:00Z: cannot connect'),
        stream: 'a',
      },
      { timestamp: 2500, message: line('lobby', 'streaming since 2026-12-01T07:00:00Z'), stream: 'b' },
      { timestamp: 4000, message: 'run-camera[lobby]: status of nothing', stream: 'b' },
    ];
    const program =
      'import json, sys; from logs_insights import run_query; q, e = json.load(sys.stdin); print(json.dumps(run_query(q, e)))';
    const result = spawnSync('python3', ['-c', program], {
      cwd: path.join(__dirname, '..', 'support', 'aws-stand-ins'),
      input: JSON.stringify([STATUS_QUERY, events]),
      encoding: 'utf8',
    });
    const rows = (JSON.parse(result.stdout) as { field: string; value: string }[][]).map((row) =>
      Object.fromEntries(row.map((cell) => [cell.field, cell.value])),
    );
    expect(rows).toEqual(
      expect.arrayContaining([
        {
          camera: 'dock',
          status: 'camera-down since 2026-12-01T08:50:00Z: cannot connect',
          reportedAt: '1970-01-01 00:00:03.000',
        },
        {
          camera: 'lobby',
          status: 'streaming since 2026-12-01T07:00:00Z',
          reportedAt: '1970-01-01 00:00:02.500',
        },
      ]),
    );
    expect(rows).toHaveLength(2);
  });
});

test('the status table: one row per camera, the reason last', () => {
  const report: StatusReport = {
    region: 'eu-west-1',
    checkedAt: NOW.toISOString(),
    milliseconds: 812,
    gateway: { stackName: 'Ec2GatewayStack', logGroups: ['Ec2GatewayStack-Logs1-2'] },
    cameras: [
      {
        camera: 'front-door',
        streamName: 'front-door',
        shard: 1,
        streaming: true,
        state: 'streaming',
        lastFragment: { producer: '', server: '', ageSeconds: 2 },
        bitrateKbps: 1980,
      },
      {
        camera: 'loading-dock',
        streamName: 'loading-dock',
        shard: 1,
        streaming: false,
        state: 'login-refused',
        reason: 'no video in the last 24 h: the camera refuses the login since 08:50:00: ...',
      },
    ],
  };
  expect(formatStatus(report, 'gateway.config.json', NOW).split('\n')).toEqual([
    expect.stringMatching(
      /^Cameras of gateway.config.json in eu-west-1, Ec2GatewayStack, at \d\d:\d\d:\d\d \(0.8 s\):$/,
    ),
    'CAMERA        STATE          LAST FRAGMENT  BITRATE      REASON',
    'front-door    streaming      2 s ago        1980 kbit/s',
    'loading-dock  login-refused  -              -            no video in the last 24 h: the camera refuses the login since 08:50:00: ...',
    '2 camera(s): 1 streaming, 1 not.',
    '',
  ]);
});

describe('argument errors come before any AWS call (exit 2)', () => {
  async function run(args: string[]): Promise<{ code: number; stderr: string }> {
    let stderr = '';
    const stdin = new PassThrough();
    stdin.end();
    const io: CliIo = {
      stdout: () => {},
      stderr: (text) => (stderr += text),
      stdin,
      env: {},
      cwd: '/nonexistent',
      tmpDir: '/tmp',
      openFile: async () => {},
      createClients: async () => {
        throw new Error('no AWS call may happen');
      },
      now: () => NOW,
    };
    return { code: await runKvsGatewayCli(args, io), stderr };
  }

  test.each([
    [['clip', 'dock'], '--from is required'],
    [['clip', 'dock', '--from', '25:00'], '--from "25:00": not a time I can read'],
    [
      ['clip', 'dock', '--from', '2026-13-01 10:05'],
      'you specified 13 (of type number) as a month, which is invalid',
    ],
    [['clip', 'dock', '--from', '-10m', '--to', '-20m'], 'must be after --from'],
    [['clip', 'dock', '--from', '-3d'], 'at most 1 d at once'],
    [['clip', 'dock', 'lobby', '--from', '-10m'], 'takes <name>, got 2 argument(s)'],
    [['status', '--interval', '10'], '--interval goes with --watch'],
    [['status', '--watch', '--interval', '1'], '--interval "1": give whole seconds, 5 to 3600'],
    [['status', '--watch', '--json'], '--watch and --json exclude each other'],
    [['view', '--all', 'dock'], '--all and camera names exclude each other'],
    [['view'], 'give a camera name, several for a wall, or --all'],
    [['view', 'dock', '--to', '-5m'], '--to goes with --from'],
    [['view', 'dock', '--port', '8080'], '--port goes with --all or several cameras'],
    [['view', 'dock', 'lobby', '--from', '-5m'], '--from goes with one camera, not a wall'],
    [['view', '--all', '--port', 'http'], '--port "http": a port number'],
  ])('%j', async (args, message) => {
    const result = await run(args);
    expect(result.stderr).toContain(message);
    expect(result.code).toBe(2);
  });

  // A typed value is echoed escaped: a control character in it can neither drive the terminal nor hide.
  test.each([
    [['status', '--watch', '--interval', 'a\u0000'], '--interval "a\\u0000": give whole seconds'],
    [['view', '--all', '--port', '\u001b[2J'], '--port "\\u001b[2J": a port number'],
    [['clip', 'dock', '--from', '10:05\u0007'], '--from "10:05\\u0007": not a time I can read'],
    [['clip', 'dock', '--from', '-10m', '--to', '\u009b1m'], '--to "\\u009b1m": not a time I can read'],
    [
      ['clip', 'dock', '--from', '10:05 Mars/Base\u202e'],
      '--from "10:05 Mars/Base\\u202e": not a time I can read',
    ],
  ])('%j: echoed escaped', async (args, message) => {
    const result = await run(args);
    expect(result.stderr).toContain(message);
    expect(result.stderr).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/);
    expect(result.code).toBe(2);
  });

  test('a camera name KVS would refuse: the same usage error as every command gives it', async () => {
    const result = await run(['clip', 'front door', '--from', '-10m']);
    expect(result.stderr).toContain('camera name "front door"');
    expect(result.code).toBe(2);
  });
});
