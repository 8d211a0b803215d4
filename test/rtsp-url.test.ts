import { buildRtspUrl, checkCameraUrl } from '../lib/rtsp-url';
import { redactRtspUrl } from '../lib/shown-value';

describe('buildRtspUrl', () => {
  test.each([
    ['@ : / %', 'ad@min', 'p@ss:w/rd%', 'rtsp://ad%40min:p%40ss%3Aw%2Frd%25@192.0.2.10:554/stream1'],
    [
      'non-ASCII',
      'überwachung',
      'pässwörd€',
      'rtsp://%C3%BCberwachung:p%C3%A4ssw%C3%B6rd%E2%82%AC@192.0.2.10:554/stream1',
    ],
    ['spaces, # and ?', 'viewer', 'a b#c?d', 'rtsp://viewer:a%20b%23c%3Fd@192.0.2.10:554/stream1'],
  ])('percent-encodes %s in the user and password', (_what, user, password, expected) => {
    const url = buildRtspUrl({ url: 'rtsp://192.0.2.10:554/stream1', user, password });

    expect(url).toBe(expected);
    const userinfo = /^rtsp:\/\/([^@]*)@/.exec(url)![1].split(':');
    expect(userinfo.map(decodeURIComponent)).toEqual([user, password]);
  });

  test('a user without a password, and no credentials at all', () => {
    expect(buildRtspUrl({ url: 'rtsps://cam.example/live', user: 'guest' })).toBe(
      'rtsps://guest@cam.example/live',
    );
    expect(buildRtspUrl({ url: 'rtsp://[2001:db8::10]:8554/live' })).toBe('rtsp://[2001:db8::10]:8554/live');
  });

  test.each([
    ['http://192.0.2.10/live', 'must look like rtsp://host:554/path'],
    ['rtsp://', 'must look like rtsp://host:554/path'],
    ['rtsp://viewer:secret@192.0.2.10/live', 'leave the user and password out of the URL'],
    ['rtsp://192.0.2.10:99999/live', 'the port must be a number from 1 to 65535'],
  ])('refuses %s', (url, message) => {
    expect(() => checkCameraUrl(url)).toThrow(message);
  });

  test('never repeats a password in its own error message', () => {
    expect(() => checkCameraUrl('rtsp://viewer:Sekret@192.0.2.10/live')).toThrow(
      /rtsp:\/\/viewer:\*\*\*\*@192\.0\.2\.10\/live/,
    );
  });
});

describe('redactRtspUrl', () => {
  test.each([
    ['rtsp://viewer:p%40ss@192.0.2.10:554/stream1', 'rtsp://viewer:****@192.0.2.10:554/stream1'],
    ['rtsp://viewer:p@ss:w/rd@192.0.2.10/live', 'rtsp://viewer:****@192.0.2.10/live'],
    ['rtsp://guest@192.0.2.10/live', 'rtsp://guest@192.0.2.10/live'],
    ['rtsp://192.0.2.10/live', 'rtsp://192.0.2.10/live'],
    ['RTSPS://a:b@[2001:db8::1]:322/x?y=1', 'RTSPS://a:****@[2001:db8::1]:322/x?y=1'],
    ['not a url', 'not a url'],
  ])('%s → %s', (url, redacted) => {
    expect(redactRtspUrl(url)).toBe(redacted);
  });

  test('a built URL with any password redacts to the same line', () => {
    for (const password of ['x', '@@@', ':/:/', '%', 'ä€😀', 'a@b:c/d%e']) {
      const url = buildRtspUrl({ url: 'rtsp://192.0.2.10/live', user: 'viewer', password });
      expect(redactRtspUrl(url)).toBe('rtsp://viewer:****@192.0.2.10/live');
    }
  });
});
