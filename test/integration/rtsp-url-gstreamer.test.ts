import { execFileSync } from 'node:child_process';
import { buildRtspUrl } from '../../lib/rtsp-url';

/** GStreamer's own RTSP URL parser (what rtspsrc uses) reads back the user and password we encoded. */
const PARSE_WITH_GSTREAMER = `
import json, sys
import gi
gi.require_version('Gst', '1.0')
gi.require_version('GstRtsp', '1.0')
from gi.repository import Gst, GstRtsp
Gst.init(None)
result = []
for url in json.load(sys.stdin):
    status, parsed = GstRtsp.RTSPUrl.parse(url)
    result.append([parsed.user, parsed.passwd, parsed.host, parsed.port, parsed.abspath])
json.dump(result, sys.stdout)
`;

test("GStreamer's RTSP URL parser (rtspsrc's) decodes the user and password buildRtspUrl encoded", () => {
  const credentials = [
    ['admin', 'p@ss:w/rd%'],
    ['über', 'pässwörd€😀'],
    ['a:b@c', '%41%'],
    ['viewer', "sp ace#?&=+;,!*'()[]"],
  ];
  const urls = credentials.map(([user, password]) =>
    buildRtspUrl({ url: 'rtsp://192.0.2.10:8554/stream1', user, password }),
  );

  const parsed = JSON.parse(
    execFileSync('/usr/bin/python3', ['-c', PARSE_WITH_GSTREAMER], {
      input: JSON.stringify(urls),
    }).toString(),
  );

  expect(parsed).toEqual(
    credentials.map(([user, password]) => [user, password, '192.0.2.10', 8554, '/stream1']),
  );
});
