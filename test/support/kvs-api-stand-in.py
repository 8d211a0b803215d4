#!/usr/bin/python3
"""A local stand-in of the Kinesis Video Streams API, for kvssink and the gateway's tests.

It speaks what the Producer SDK (kvssink) sends when CONTROL_PLANE_URI=http://127.0.0.1:<port> is in its
environment: POST /describeStream and /getDataEndpoint (JSON), then POST /putMedia, a chunked MKV upload
answered, while it is still uploading, with one JSON event per fragment (BUFFERING, RECEIVED, PERSISTED,
or ERROR with an ErrorId), as KVS does. It applies KVS's own rules to what it receives: a fragment longer
than 10 s gets ERROR 4002, a fragment timecode lower than the previous one on the connection ERROR 4004;
after an ERROR event it ends the response, as KVS does.

Modes, switched at run time through its control port (POST /mode {"mode": ...}):
    normal      every stream exists, fragments are acknowledged
    missing     every stream is missing: 404 ResourceNotFoundException (allow-create-stream=false); open
                uploads end
    refuse      the API port is closed: connections are refused, open uploads are cut
    hang        connections are accepted and never answered, open uploads stop being read
    forbidden   403 UnrecognizedClientException for every request (rejected credentials); open uploads end
    error-ack   every fragment is answered with ERROR {"errorId": 4002} (any KVS ErrorId)
POST /reject-keys {"accessKeyIds": [...]} answers 403 to requests signed with those keys only (open uploads
end), so a test can reject a cached key and accept the refreshed one. POST /streams {"streams": {"<name>":
{"retentionHours": 72, "mediaType": "video/h265"}}} sets what DescribeStream says of those streams, as a deploy
made them (default: 24 h, video/h264). GET /state returns the mode and what was received
(requests per API and status, access key ids, uploads, fragments with their timecodes, bytes, frames,
error events sent), per stream; POST /reset clears the counts.

Prints one JSON line on stdout once it listens:
    {"event": "ready", "port": 41235, "controlPort": 41236, "controlPlaneUri": "http://127.0.0.1:41235"}
and one line per API request and per fragment ({"event": "request"|"fragment", ...}).
Standard library only, so it runs in a bare Python on any test machine or box. Stop it with SIGTERM.
"""

import argparse
import collections
import json
import re
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import kvs_media_archive as media

MAX_FRAGMENT_MS = 10_000  # KVS: "fragment duration over 10 s" is error 4002
MODES = ("normal", "missing", "refuse", "hang", "forbidden", "error-ack")
STREAM_MODES = ("normal", "missing", "forbidden", "error-ack")  # these may also be set for some streams only
# KVS's request quotas (TPS per account, per stream; the service quotas page), answered as KVS does when a
# client exceeds them: 400 ClientLimitExceededException. The archived-media APIs' quotas are not enforced.
QUOTAS = {"describeStream": (300, 5), "getDataEndpoint": (300, 5)}
ARCHIVED_MEDIA = ("listFragments", "getClip", "getHLSStreamingSessionURL")
KEEP_FRAGMENTS = 200  # per stream, newest last, for tests to inspect
ERROR_CODES = {4002: "MAX_FRAGMENT_DURATION_REACHED", 4004: "FRAGMENT_TIMECODE_LESSER_THAN_PREVIOUS", 4007: "INVALID_PRODUCER_TIMESTAMP"}

# EBML/Matroska element ids (with their length marker bits, as written in the file)
EBML_HEADER, SEGMENT, INFO, TIMECODE_SCALE, TRACKS, TRACK_ENTRY = 0x1A45DFA3, 0x18538067, 0x1549A966, 0x2AD7B1, 0x1654AE6B, 0xAE
TRACK_NUMBER, CODEC_ID, CLUSTER, CLUSTER_TIMECODE, SIMPLE_BLOCK, BLOCK_GROUP, BLOCK = 0xD7, 0x86, 0x1F43B675, 0xE7, 0xA3, 0xA0, 0xA1
TAGS = 0x1254C367
# The Producer SDK ends the last fragment of an upload with this tag (an "EoFR") and then waits for its
# PERSISTED event before it ends the upload.
END_OF_FRAGMENT_TAG = b"AWS_KINESISVIDEO_END_OF_FRAGMENT"
# Masters whose children matter (entered, not skipped); Segment and Cluster may have an unknown size.
ENTERED = {SEGMENT, INFO, TRACKS, TRACK_ENTRY, CLUSTER, BLOCK_GROUP}


INVALID_TOKEN = "The security token included in the request is invalid."


def not_found(stream):
    return f"The requested stream {stream} is not found or not active."


printing = threading.Lock()


def announce(event, **fields):
    # One write per line, under a lock: uploads run in threads of their own.
    line = json.dumps({"event": event, "time": round(time.time(), 3), **fields}) + "\n"
    with printing:
        sys.stdout.write(line)
        sys.stdout.flush()


def read_vint(data, pos, keep_marker):
    """An EBML variable-length integer at data[pos:]: (value, length, all ones), or None if incomplete."""
    if pos >= len(data):
        return None
    first = data[pos]
    length = 1
    while length <= 8 and not first & (0x80 >> (length - 1)):
        length += 1
    if length > 8:
        raise ValueError(f"invalid EBML length byte 0x{first:02x}")
    if pos + length > len(data):
        return None
    value = first if keep_marker else first & (0xFF >> length)
    for byte in data[pos + 1:pos + length]:
        value = (value << 8) | byte
    all_ones = value == (1 << (7 * length)) - 1 and not keep_marker
    return value, length, all_ones


class MkvFragments:
    """Follows a Matroska byte stream as it arrives and reports fragments (clusters): on_start(timecode) when a
    cluster's timecode is known, on_frame(fragment) per block, on_end(fragment) when the next cluster, a new
    MKV header or the end of the upload closes it. Timecodes are in the stream's TimecodeScale units, which
    is what KVS echoes in FragmentTimecode. Each fragment carries its byte range in the upload ("start", "end")
    and that of the header before it ("header": EBML header to first cluster), for the media archive."""

    def __init__(self, listener):
        self.listener = listener
        self.buffer = bytearray()
        self.offset = 0  # of buffer[0] in the upload
        self.header = [0, None]
        self.skip = 0
        self.scale_ns = 1_000_000
        self.tracks = {}
        self.track = {}
        self.fragment = None

    def feed(self, data):
        self.buffer += data
        pos = 0
        while True:
            if self.skip:
                step = min(self.skip, len(self.buffer) - pos)
                pos += step
                self.skip -= step
                if self.skip:
                    break
            element_id = read_vint(self.buffer, pos, keep_marker=True)
            if element_id is None:
                break
            size = read_vint(self.buffer, pos + element_id[1], keep_marker=False)
            if size is None:
                break
            header = element_id[1] + size[1]
            identity, length, unknown = element_id[0], size[0], size[2]
            at = self.offset + pos
            if identity in ENTERED:
                pos += header
                self.enter(identity, at)
                continue
            if unknown:
                raise ValueError(f"element 0x{identity:x} of unknown size")
            if identity in (SIMPLE_BLOCK, BLOCK):
                # Track number, 16-bit relative timecode and flags: enough of the block to time and count it.
                if pos + header + min(length, 11) > len(self.buffer):
                    break
                self.block(self.buffer, pos + header, identity == SIMPLE_BLOCK)
                pos += header
                self.skip = length
                continue
            if identity in (TIMECODE_SCALE, CLUSTER_TIMECODE, TRACK_NUMBER, CODEC_ID, TAGS):
                if pos + header + length > len(self.buffer):
                    break
                self.value(identity, bytes(self.buffer[pos + header:pos + header + length]), at)
            elif identity == EBML_HEADER:
                self.close_fragment(at)
                self.header = [at, None]
            pos += header
            self.skip = length
        self.offset += pos
        del self.buffer[:pos]

    def enter(self, identity, at):
        if identity == CLUSTER:
            self.close_fragment(at)
            if self.header[1] is None:
                self.header[1] = at
            self.fragment = {
                "timecode": None, "frames": 0, "videoFrames": 0, "keyFrames": 0, "bytes": 0, "lastOffset": 0,
                "start": at, "header": tuple(self.header),
            }
        elif identity == TRACK_ENTRY:
            self.track = {}

    def value(self, identity, raw, at):
        number = int.from_bytes(raw, "big") if len(raw) <= 8 else None
        if identity == TAGS:
            if END_OF_FRAGMENT_TAG in raw:
                self.close_fragment(at)
        elif identity == TIMECODE_SCALE:
            self.scale_ns = number
        elif identity == TRACK_NUMBER:
            self.track["number"] = number
            self.tracks[number] = self.track
        elif identity == CODEC_ID:
            self.track["codec"] = raw.decode("ascii", "replace").rstrip("\0")
        elif identity == CLUSTER_TIMECODE and self.fragment is not None and self.fragment["timecode"] is None:
            self.fragment["timecode"] = number
            self.listener.on_start(self.fragment)

    def block(self, data, pos, simple):
        if self.fragment is None or self.fragment["timecode"] is None:
            return
        track = read_vint(data, pos, keep_marker=False)
        if track is None or pos + track[1] + 3 > len(data):
            return
        offset = int.from_bytes(data[pos + track[1]:pos + track[1] + 2], "big", signed=True)
        flags = data[pos + track[1] + 2]
        self.fragment["frames"] += 1
        self.fragment["videoFrames"] += 1 if self.tracks.get(track[0], {}).get("codec", "").startswith("V_") else 0
        self.fragment["keyFrames"] += 1 if simple and flags & 0x80 else 0
        self.fragment["lastOffset"] = max(self.fragment["lastOffset"], offset)
        self.listener.on_frame(self.fragment)

    def close_fragment(self, end=None):
        """Closes the open fragment at byte `end` of the upload (default: all that arrived)."""
        if self.fragment is not None and self.fragment["timecode"] is not None:
            self.fragment["end"] = self.offset + len(self.buffer) if end is None else end
            self.listener.on_end(self.fragment)
        self.fragment = None

    def duration_ms(self, fragment):
        return fragment["lastOffset"] * self.scale_ns / 1_000_000

    def codecs(self):
        return sorted(track.get("codec", "?") for track in self.tracks.values())


class UploadEnded(Exception):
    pass


class KvsState:
    """What the stand-in has been told (mode) and what it received (per stream), behind one lock."""

    def __init__(self, region, data_dir, account):
        self.lock = threading.Lock()
        self.account = account
        self.records = []  # what IAM authorizes for each request answered (GET /requests)
        self.changed = threading.Condition(self.lock)
        self.region = region
        self.mode = "normal"
        self.stream_modes = {}
        self.stream_settings = {}  # stream -> {"retentionHours", "mediaType"}: what DescribeStream says of it
        self.error_id = 4002
        self.rejected_keys = set()
        self.archive = media.MediaArchive(data_dir)
        self.archived_media = media.ArchivedMedia(self.archive, time.time)
        self.recent = collections.defaultdict(collections.deque)  # (api, stream or "") -> request times
        self.reset()

    def reset(self):
        self.requests = {}
        self.access_keys = {}
        self.streams = {}

    def mode_for(self, stream):
        with self.lock:
            return self.stream_modes.get(stream, self.mode) if self.mode in STREAM_MODES else self.mode

    def throttled(self, api, stream):
        """Whether this request exceeds KVS's quota for the API (the account's or the stream's TPS)."""
        if api not in QUOTAS:
            return False
        now = time.monotonic()
        with self.lock:
            over = False
            for key, limit in zip(((api, ""), (api, stream)), QUOTAS[api]):
                times = self.recent[key]
                while times and now - times[0] >= 1:
                    times.popleft()
                over = over or len(times) >= limit
            if not over:
                for key in ((api, ""), (api, stream)):
                    self.recent[key].append(now)
            return over

    def stream(self, name):
        return self.streams.setdefault(
            name,
            {
                "uploads": 0, "bytes": 0, "frames": 0, "keyFrames": 0, "persisted": 0, "errors": {}, "codecs": [],
                "fragments": [], "hlsSessions": 0, "clips": 0, "perMinute": {},
            },
        )

    def stream_arn(self, stream):
        return f"arn:aws:kinesisvideo:{self.region}:{self.account}:stream/{stream}/1700000000000"

    def count_request(self, api, status, key):
        with self.lock:
            per_api = self.requests.setdefault(api, {})
            per_api[str(status)] = per_api.get(str(status), 0) + 1
            if key:
                self.access_keys[key] = self.access_keys.get(key, 0) + 1

    def snapshot(self):
        with self.lock:
            return json.loads(
                json.dumps(
                    {
                        "mode": self.mode,
                        "streamModes": self.stream_modes,
                        "streamSettings": self.stream_settings,
                        "errorId": self.error_id,
                        "region": self.region,
                        "rejectedKeys": sorted(self.rejected_keys),
                        "requests": self.requests,
                        "accessKeys": self.access_keys,
                        "streams": self.streams,
                    }
                )
            )


CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/,\s]+)/([^/,\s]+)/aws4_request")


class KvsApiHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, chunked responses, and "Expect: 100-continue" as curl uses it
    server_version = "kvs-api-stand-in"

    def log_message(self, *_args):
        pass  # one JSON line per request instead (announce)

    @property
    def state(self):
        return self.server.state

    def do_POST(self):
        api = self.path.split("?")[0].strip("/")
        if self.wait_while_hung():
            return
        body = {} if api == "putMedia" else json.loads(self.read_body() or b"{}")
        key, refusal = self.check_signature()
        if refusal:
            self.reply_error(api, key, 403, "UnrecognizedClientException", refusal)
            return
        name = self.headers.get("x-amzn-stream-name") if api == "putMedia" else body.get("StreamName")
        self.record_authorization(api, key, name or "?")
        if api == "putMedia":
            self.put_media(key)
            return
        name = body.get("StreamName") or "?"
        mode = self.state.mode_for(name)
        if api not in ("describeStream", "getDataEndpoint") + ARCHIVED_MEDIA:
            self.reply_error(api, key, 400, "InvalidArgumentException", f"the stand-in does not serve {api}", name)
        elif self.state.throttled(api, name):
            message = f"Limit exceeded on number of requests for {api} API for resource '{name}'"
            self.reply_error(api, key, 400, "ClientLimitExceededException", message, name)
        elif mode == "missing":
            self.reply_error(api, key, 404, "ResourceNotFoundException", not_found(name), name)
        elif mode == "forbidden":
            self.reply_error(api, key, 403, "UnrecognizedClientException", INVALID_TOKEN, name)
        elif api == "describeStream":
            arn = self.state.stream_arn(name)
            with self.state.lock:
                settings = self.state.stream_settings.get(name, {})
            info = {
                "DeviceName": "kvs-api-stand-in",
                "StreamName": name,
                "StreamARN": arn,
                "MediaType": settings.get("mediaType", "video/h264"),
                "KmsKeyId": f"arn:aws:kms:{self.state.region}:{self.state.account}:alias/aws/kinesisvideo",
                "Version": "stand-in-1",
                "Status": "ACTIVE",
                "CreationTime": 1700000000.0,
                "DataRetentionInHours": settings.get("retentionHours", 24),
            }
            self.reply_json(api, key, 200, {"StreamInfo": info}, name)
        elif api == "getDataEndpoint":
            self.reply_json(api, key, 200, {"DataEndpoint": self.base_url()}, name)
        else:
            self.archived_media(api, key, name, body)

    def base_url(self):
        # The data endpoint is this server at the address the client used (a box may reach it through a
        # veth address). The SDK's Host header has no port: it signs the host name alone.
        host = re.sub(r":\d+$", "", self.headers.get("Host") or "127.0.0.1")
        return f"http://{host}:{self.server.server_address[1]}"

    def archived_media(self, api, key, name, body):
        archived = self.state.archived_media
        try:
            if api == "listFragments":
                self.reply_json(api, key, 200, archived.list_fragments(name, body), name)
            elif api == "getClip":
                clip = archived.get_clip(name, body)
                with self.state.lock:
                    self.state.stream(name)["clips"] += 1
                self.reply_bytes(api, key, "video/mp4", clip, name)
            else:
                url = archived.new_session(name, body, self.base_url())
                with self.state.lock:
                    self.state.stream(name)["hlsSessions"] += 1
                self.reply_json(api, key, 200, {"HLSStreamingSessionURL": url}, name)
        except media.ApiError as error:
            self.reply_error(api, key, error.status, error.error_type, str(error), name)
        except Exception as error:  # the stand-in's own failure: an answer that says so, not a reset connection
            traceback.print_exc()
            self.reply_error(api, key, 500, "InternalFailure", f"stand-in failure: {error!r}", name)

    def do_GET(self):
        """The HLS resources of a session (the URLs GetHLSStreamingSessionURL returns), for any origin (CORS)."""
        parts = urllib.parse.urlsplit(self.path)
        resource = parts.path.rsplit("/", 1)[-1]
        query = dict(urllib.parse.parse_qsl(parts.query))
        if not parts.path.startswith("/hls/v1/"):
            self.reply_error(resource, None, 404, "ResourceNotFoundException", "GET serves /hls/v1/ only")
            return
        try:
            content_type, body = self.state.archived_media.hls(resource, query)
        except media.ApiError as error:
            self.reply_error(resource, None, error.status, error.error_type, str(error))
            return
        except Exception as error:
            traceback.print_exc()
            self.reply_error(resource, None, 500, "InternalFailure", f"stand-in failure: {error!r}")
            return
        self.reply_bytes(resource.split(".")[0], None, content_type, body.encode() if isinstance(body, str) else body)

    def do_OPTIONS(self):
        self.send_response(204)
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Allow-Methods", "GET, POST")
        self.send_header("Access-Control-Allow-Headers", "*")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def reply_bytes(self, api, key, content_type, body, stream=None):
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Access-Control-Allow-Origin", "*")
        self.end_headers()
        self.wfile.write(body)
        self.state.count_request(api, 200, key)
        announce("request", api=api, status=200, stream=stream, accessKeyId=key, bytes=len(body))

    def record_authorization(self, api, key, stream):
        """What IAM authorizes for the request (as the AWS stand-ins record theirs: test/support/permission-check.ts):
        the action on the stream, and its KMS key where KVS uses it on the caller's behalf (to encrypt what a
        producer sends, to decrypt what a reader gets). Kept for GET /requests; with --record also appended to
        that file, one JSON line each, so the real kvssink's requests can be judged against the gateway's roles."""
        action = api[:1].upper() + api[1:]
        arn = self.state.stream_arn(stream)
        authorizations = [{"action": f"kinesisvideo:{action}", "resource": arn}]
        kms = {"putMedia": "kms:GenerateDataKey", "getClip": "kms:Decrypt", "getHLSStreamingSessionURL": "kms:Decrypt"}
        if api in kms:
            context = {"kms:ViaService": f"kinesisvideo.{self.state.region}.amazonaws.com", "kms:CallerAccount": self.state.account}
            authorizations.append({"action": kms[api], "resource": f"kms-key-of:{arn}", "context": context})
        record = {"accessKeyId": key, "service": "kinesisvideo", "operation": action, "authorizations": authorizations}
        with self.state.lock:
            self.state.records.append(record)
            if self.server.record_file:
                with open(self.server.record_file, "a") as file:
                    file.write(json.dumps(record) + "\n")

    def wait_while_hung(self):
        """In hang mode: accept, never answer, until the mode changes; then drop the connection. True if hung."""
        with self.state.lock:
            if self.state.mode != "hang":
                return False
            while self.state.mode == "hang" and not self.server.closing:
                self.state.changed.wait(1)
        self.close_connection = True
        return True

    def check_signature(self):
        """The access key id of a SigV4 Authorization header, and why the request is refused, if it is."""
        match = CREDENTIAL.search(self.headers.get("Authorization", ""))
        if not match:
            return None, "Missing Authentication Token (no SigV4 Authorization header)"
        key, region, service = match.groups()
        with self.state.lock:
            forbidden = self.state.mode == "forbidden" or key in self.state.rejected_keys
        if forbidden:
            return key, INVALID_TOKEN
        if region != self.state.region or service != "kinesisvideo":
            expected = f"{self.state.region}/kinesisvideo"
            return key, f"Credential should be scoped to a valid region and service: {region}/{service}, expected {expected}"
        return key, None

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def reply_json(self, api, key, status, document, stream=None, error_type=None):
        body = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amzn-RequestId", f"stand-in-{time.monotonic_ns()}")
        self.send_header("Access-Control-Allow-Origin", "*")
        if error_type:
            self.send_header("x-amzn-ErrorType", f"{error_type}:")
        self.end_headers()
        self.wfile.write(body)
        self.state.count_request(api, status, key)
        announce("request", api=api, status=status, stream=stream, accessKeyId=key)

    def reply_error(self, api, key, status, error_type, message, stream=None):
        if api == "putMedia":
            self.close_connection = True  # the upload body is not read
        self.reply_json(api, key, status, {"__type": error_type, "message": message}, stream, error_type)

    def put_media(self, key):
        name = self.headers.get("x-amzn-stream-name") or "?"
        mode = self.state.mode_for(name)
        if mode == "missing":
            self.reply_error("putMedia", key, 404, "ResourceNotFoundException", not_found(name), name)
            return
        if mode == "forbidden":
            self.reply_error("putMedia", key, 403, "UnrecognizedClientException", INVALID_TOKEN, name)
            return
        # One upload per connection: it ends with the upload or at an ERROR event.
        self.close_connection = True
        self.send_response(200)
        self.send_header("Connection", "close")
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("x-amzn-RequestId", f"stand-in-{time.monotonic_ns()}")
        self.end_headers()
        self.state.count_request("putMedia", 200, key)
        announce(
            "request",
            api="putMedia",
            status=200,
            stream=name,
            accessKeyId=key,
            producerStartTimestamp=self.headers.get("x-amzn-producer-start-timestamp"),
            timecodeType=self.headers.get("x-amzn-fragment-timecode-type"),
        )
        timecodes = self.headers.get("x-amzn-fragment-timecode-type")
        upload = PutMediaUpload(self, name, timecodes, self.headers.get("x-amzn-producer-start-timestamp"))
        chunks = self.body_chunks()
        try:
            for chunk in chunks:
                upload.receive(chunk)
            upload.finish()
            self.wfile.write(b"0\r\n\r\n")
        except UploadEnded:
            if upload.failed:
                self.drain(chunks)
        except (ConnectionError, OSError, ValueError):
            pass

    def drain(self, chunks):
        """After an ERROR event the response has ended; what the client still sends is read and dropped until
        it stops, so that it reads the error rather than a reset connection."""
        try:
            for _ in chunks:
                pass
        except (UploadEnded, ConnectionError, OSError, ValueError):
            pass

    def body_chunks(self):
        chunked = self.headers.get("Transfer-Encoding", "").lower() == "chunked"
        left = None if chunked else int(self.headers.get("Content-Length") or 0)
        while True:
            if self.server.closing:
                raise UploadEnded()
            with self.state.lock:
                if self.state.mode in ("refuse", "hang"):
                    mode = self.state.mode
                else:
                    mode = None
            if mode:
                self.stop_reading(mode)
            if not chunked:
                if not left:
                    return
                data = self.rfile.read(min(left, 65536))
                left -= len(data)
                if not data:
                    return
                yield data
                continue
            line = self.rfile.readline(100)
            if not line:
                raise UploadEnded()
            size = int(line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline(1000) not in (b"\r\n", b"\n", b""):
                    pass
                return
            data = self.rfile.read(size)
            self.rfile.readline(10)
            yield data

    def stop_reading(self, mode):
        """refuse: the connection is cut at once. hang: nothing more is read or answered until the mode
        changes (the client's timeouts decide), then the connection is cut."""
        if mode == "hang":
            with self.state.lock:
                while self.state.mode == "hang" and not self.server.closing:
                    self.state.changed.wait(1)
        raise UploadEnded()

    def send_event(self, event):
        data = json.dumps(event).encode()
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")


class PutMediaUpload:
    """One PutMedia connection: counts what arrives, acknowledges each fragment, applies KVS's rules."""

    def __init__(self, handler, stream, timecode_type, producer_start):
        self.handler = handler
        self.state = handler.state
        self.name = stream
        self.parser = MkvFragments(self)
        self.previous_timecode = None
        self.fragment_number = 0
        self.failed = None
        # RELATIVE timecodes count from the producer's start time; ABSOLUTE ones are the time itself.
        self.start_ms = float(producer_start) * 1000 if timecode_type == "RELATIVE" and producer_start else 0.0
        self.file = self.state.archive.new_upload(stream)
        self.stored = None  # the latest fragment archived from this upload
        with self.state.lock:
            self.state.stream(stream)["uploads"] += 1

    def receive(self, data):
        with self.state.lock:
            stream = self.state.stream(self.name)
            stream["bytes"] += len(data)
            self.minute(stream)[0] += len(data)
        if self.state.mode_for(self.name) in ("missing", "forbidden"):
            # KVS checks the stream and the credentials when an upload starts: this one ends, the next is refused.
            raise UploadEnded()
        self.file.write(data)
        self.parser.feed(data)
        if self.failed:
            raise UploadEnded()

    def finish(self):
        self.parser.close_fragment()

    def ack(self, kind, fragment, error_id=None):
        event = {"EventType": kind, "FragmentTimecode": fragment["timecode"], "FragmentNumber": fragment["number"]}
        if error_id is not None:
            event["ErrorId"] = error_id
            event["ErrorCode"] = ERROR_CODES.get(error_id, "ERROR")
        self.handler.send_event(event)

    def fail(self, fragment, error_id, reason):
        """Sends ERROR for the fragment and ends the upload, as KVS does."""
        with self.state.lock:
            errors = self.state.stream(self.name)["errors"]
            errors[str(error_id)] = errors.get(str(error_id), 0) + 1
        self.ack("ERROR", fragment, error_id)
        announce("fragment", stream=self.name, timecode=fragment["timecode"], errorId=error_id, reason=reason)
        self.failed = error_id
        self.handler.wfile.write(b"0\r\n\r\n")
        raise UploadEnded()

    # MkvFragments listener
    def on_start(self, fragment):
        self.fragment_number += 1
        fragment["number"] = f"9134{int(time.time() * 1000):013d}{self.fragment_number:06d}"
        fragment["arrived"] = time.time()
        mode = self.state.mode_for(self.name)
        with self.state.lock:
            error_id = self.state.error_id
        if mode == "error-ack":
            self.fail(fragment, error_id, "error-ack mode")
        if self.previous_timecode is not None and fragment["timecode"] < self.previous_timecode:
            self.fail(fragment, 4004, f"timecode {fragment['timecode']} lower than the previous {self.previous_timecode}")
        self.previous_timecode = fragment["timecode"]
        if self.stored is not None:
            # The previous fragment lasted until this one began (when they touch).
            gap = self.producer_ms(fragment) - self.stored.producer_ms
            if 0 < gap <= self.stored.length_ms + 2000:
                self.stored.length_ms = round(gap)
        self.ack("BUFFERING", fragment)

    def producer_ms(self, fragment):
        return self.start_ms + fragment["timecode"] * self.parser.scale_ns / 1_000_000

    @staticmethod
    def minute(stream):
        """[bytes, frames] received in this minute: what KVS publishes as PutMedia.IncomingBytes and
        PutMedia.IncomingFrames (a day of minutes is kept)."""
        minutes = stream["perMinute"]
        now = str(int(time.time()) // 60 * 60)
        if now not in minutes:
            minutes[now] = [0, 0]
            for old in list(minutes)[:-1440]:
                del minutes[old]
        return minutes[now]

    def on_frame(self, fragment):
        with self.state.lock:
            stream = self.state.stream(self.name)
            stream["frames"] += 1
            self.minute(stream)[1] += 1
            stream["codecs"] = self.parser.codecs()
        duration = self.parser.duration_ms(fragment)
        if duration > MAX_FRAGMENT_MS:
            self.fail(fragment, 4002, f"fragment longer than 10 s ({duration / 1000:.1f} s so far)")

    def on_end(self, fragment):
        duration = self.parser.duration_ms(fragment)
        with self.state.lock:
            stream = self.state.stream(self.name)
            stream["persisted"] += 1
            stream["keyFrames"] += fragment["keyFrames"]
            record = {
                "timecode": fragment["timecode"],
                "durationMs": round(duration),
                "frames": fragment["frames"],
                "keyFrames": fragment["keyFrames"],
                "bytes": fragment["end"] - fragment["start"],
                "arrived": round(fragment["arrived"], 3),
            }
            stream["fragments"] = (stream["fragments"] + [record])[-KEEP_FRAGMENTS:]
        self.archive(fragment, duration)
        self.ack("RECEIVED", fragment)
        self.ack("PERSISTED", fragment)
        announce("fragment", stream=self.name, **record)

    def archive(self, fragment, duration):
        stored = media.Fragment()
        stored.number = fragment["number"]
        stored.upload = self.file
        stored.start, stored.end, stored.header = fragment["start"], fragment["end"], fragment["header"]
        stored.producer_ms = round(self.producer_ms(fragment))
        stored.server_ms = round(fragment["arrived"] * 1000)
        # Until the next fragment says when this one ended: its last frame plus one frame interval.
        frames = max(1, fragment["videoFrames"] - 1)
        stored.length_ms = round(duration + duration / frames) if fragment["videoFrames"] > 1 else max(1, round(duration))
        stored.frames = fragment["frames"]
        stored.tracks = self.parser.codecs()
        self.stored = stored
        self.state.archive.add(self.name, stored)


class ApiServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    record_file = None

    def __init__(self, address, state):
        self.state = state
        self.closing = False
        self.connections = set()
        super().__init__(address, KvsApiHandler)

    def process_request(self, request, client_address):
        with self.state.lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self.state.lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def cut_connections(self):
        with self.state.lock:
            open_connections = list(self.connections)
        for connection in open_connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class StandIn:
    """The API server, closed and reopened on the same port for the refuse mode."""

    record_file = None

    def __init__(self, host, port, state):
        self.host = host
        self.state = state
        self.server = None
        self.start(port)
        self.port = self.server.server_address[1]

    def start(self, port):
        self.server = ApiServer((self.host, port), self.state)
        self.server.record_file = self.record_file
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        server, self.server = self.server, None
        if server:
            server.closing = True
            server.shutdown()
            server.server_close()
            server.cut_connections()

    def set_mode(self, mode, error_id=None):
        if mode not in MODES:
            raise ValueError(f"mode {mode!r}: use one of {', '.join(MODES)}")
        with self.state.lock:
            previous = self.state.mode
            self.state.mode = mode
            if error_id is not None:
                self.state.error_id = int(error_id)
            self.state.changed.notify_all()
        if mode == "refuse" and previous != "refuse":
            self.stop()
        elif mode != "refuse" and previous == "refuse":
            self.start(self.port)
        elif mode in ("forbidden", "missing") and mode != previous:
            # KVS checks credentials and the stream when an upload starts: end the open uploads so that the
            # client's next one meets the new answer, as after a revoked key or a deleted stream.
            self.server.cut_connections()
        announce("mode", mode=mode, errorId=self.state.error_id)

    def set_stream_settings(self, streams):
        """What DescribeStream says of these streams: {"<name>": {"retentionHours": n, "mediaType": "video/h265"}}."""
        if not isinstance(streams, dict) or not all(isinstance(settings, dict) for settings in streams.values()):
            raise TypeError('streams: {"<name>": {"retentionHours": n, "mediaType": "..."}}')
        for name, settings in streams.items():
            unknown = set(settings) - {"retentionHours", "mediaType"}
            if unknown:
                raise ValueError(f"stream {name!r}: unknown settings {sorted(unknown)}: use retentionHours, mediaType")
        with self.state.lock:
            self.state.stream_settings.update({name: dict(settings) for name, settings in streams.items()})
        announce("streams", streams=streams)

    def set_stream_mode(self, streams, mode, error_id=None):
        """A mode for these streams only (the others keep the server's)."""
        if mode not in STREAM_MODES:
            raise ValueError(f"mode {mode!r} for some streams: use one of {', '.join(STREAM_MODES)}")
        with self.state.lock:
            for stream in streams:
                if mode == "normal":
                    self.state.stream_modes.pop(stream, None)
                else:
                    self.state.stream_modes[stream] = mode
            if error_id is not None:
                self.state.error_id = int(error_id)
        announce("mode", mode=mode, streams=streams)


class ControlHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_args):
        pass

    def reply(self, status, document):
        body = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        state = self.server.stand_in.state
        if self.path == "/state":
            self.reply(200, state.snapshot())
        elif self.path == "/requests":
            with state.lock:
                self.reply(200, list(state.records))
        else:
            self.reply(404, {"error": "GET /state or /requests"})

    def do_POST(self):
        stand_in = self.server.stand_in
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
            if self.path == "/mode" and body.get("streams") is not None:
                stand_in.set_stream_mode(body["streams"], body.get("mode", ""), body.get("errorId"))
            elif self.path == "/mode":
                stand_in.set_mode(body.get("mode", ""), body.get("errorId"))
            elif self.path == "/streams":
                stand_in.set_stream_settings(body.get("streams", {}))
            elif self.path == "/expire-sessions":
                stand_in.state.archived_media.expire_sessions(body.get("streams"))
            elif self.path == "/reject-keys":
                with stand_in.state.lock:
                    stand_in.state.rejected_keys = set(body.get("accessKeyIds", []))
                # As with a revoked key: open uploads end, the next ones meet the refusal.
                if stand_in.server:
                    stand_in.server.cut_connections()
            elif self.path == "/reset":
                with stand_in.state.lock:
                    stand_in.state.reset()
            else:
                self.reply(404, {"error": "POST /mode, /streams, /reject-keys, /expire-sessions or /reset"})
                return
        except (ValueError, TypeError) as error:
            self.reply(400, {"error": str(error)})
            return
        self.reply(200, stand_in.state.snapshot())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (a box test may give its veth address)")
    parser.add_argument("--port", type=int, default=0, help="API port; 0 picks a free one")
    parser.add_argument("--control-port", type=int, default=0, help="control port; 0 picks a free one")
    parser.add_argument("--region", default="us-east-1", help="the region requests must be signed for")
    parser.add_argument("--mode", default="normal", choices=MODES)
    parser.add_argument("--error-id", type=int, default=4002, help="the ErrorId of the error-ack mode")
    parser.add_argument("--account", default="123456789012", help="the account in the ARNs it answers and records")
    parser.add_argument("--data-dir", help="where the received uploads are kept (default: a temporary folder, removed at exit)")
    parser.add_argument("--record", help="append what IAM authorizes for each request to this file (JSON lines)")
    args = parser.parse_args()

    data_dir = args.data_dir or tempfile.mkdtemp(prefix="kvs-api-stand-in-")
    state = KvsState(args.region, data_dir, args.account)
    StandIn.record_file = args.record
    stand_in = StandIn(args.host, args.port, state)
    control = ThreadingHTTPServer((args.host, args.control_port), ControlHandler)
    control.daemon_threads = True
    control.stand_in = stand_in
    threading.Thread(target=control.serve_forever, daemon=True).start()
    stand_in.set_mode(args.mode, args.error_id)

    stopped = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopped.set())
    announce(
        "ready",
        port=stand_in.port,
        controlPort=control.server_address[1],
        controlPlaneUri=f"http://{args.host}:{stand_in.port}",
        region=args.region,
    )
    while not stopped.wait(1):
        pass
    stand_in.stop()
    control.shutdown()
    if not args.data_dir:
        shutil.rmtree(data_dir, ignore_errors=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
