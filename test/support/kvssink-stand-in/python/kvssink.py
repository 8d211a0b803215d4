"""A stand-in of the Producer SDK's kvssink GStreamer element, for machines that cannot build the real one (CI).

GStreamer's Python plugin loader (Debian: gstreamer1.0-python3-plugin-loader, python3-gst-1.0) loads it from the
python/ folder of a GST_PLUGIN_PATH entry: GST_PLUGIN_PATH=test/support/kvssink-stand-in. With it the run
script takes its real kvssink path (GATEWAY_SINK=kvssink) against the KVS API stand-in
(test/support/kvs-api-stand-in.py), which CONTROL_PLANE_URI points at, as it does for the real element. What it
does, as the real element does (docs/run-script.md, /work/shared/GATEWAY-FACTS.md):

  - when it starts: DescribeStream, then GetDataEndpoint (PUT_MEDIA), signed (SigV4, botocore) with the keys of
    its credential file (credential-path) or of the environment. A refusal is logged as kvssink logs it
    ("HTTP Error 404 : Response: ..."), tried again three times, then the start fails; a refused connection
    is logged as curl's ("curl perform failed for url ... with result Couldn't connect to server");
  - muxes what reaches its pads into Matroska, one cluster per key frame (key-frame-fragmentation), and uploads
    it with PutMedia (chunked; fragment timecodes relative to the producer start time it sends);
  - reads KVS's acknowledgements: one fragment-ack signal per event; an ERROR event is logged as kvssink logs it
    ("Reported stream error. Errored timecode: <timecode> Status: 0x5200005e") and the upload starts again with
    the next key frame (restart-on-error); a connection that fails is tried again every second.

Not stood in: the buffer that holds video while KVS is out of reach (what comes meanwhile is dropped), credential
rotation, stream creation. Its log lines go to stderr in the layout of the run script's log-config
("kvssink <LEVEL> <message>").
"""

import json
import os
import queue
import socket
import threading
import time
import urllib.parse

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstApp", "1.0")
from gi.repository import GLib, GObject, Gst, GstApp  # noqa: E402,F401

Gst.init(None)


def quiet_binding_warning(domain, level, message):
    # GStreamer 1.22 complains once per element that PyGObject hands it a non-floating reference (and fixes
    # it): noise in the camera's log that the real kvssink never makes.
    if "should be floating" not in message:
        GLib.log_default_handler(domain, level, message)


GLib.log_set_handler("GStreamer", GLib.LogLevelFlags.LEVEL_CRITICAL, quiet_binding_warning)

VIDEO_CAPS = "video/x-h264,stream-format=avc,alignment=au; video/x-h265,alignment=au"
AUDIO_CAPS = "audio/mpeg,mpegversion=(int){2,4},stream-format=raw; audio/x-alaw; audio/x-mulaw"
START_ATTEMPTS = 4


def log(level, message):
    os.write(2, f"kvssink {level:<5} {message}\n".encode(errors="replace"))


def error_status(error_id):
    """The status kvssink reports for a KVS ErrorId (PIC: 0x5200005c + id - 4000; KMS errors 4500-4507 after)."""
    return 0x52000065 + error_id - 4500 if error_id >= 4500 else 0x5200005C + error_id - 4000


class Credentials:
    def __init__(self, path):
        self.path = path

    def read(self):
        """(access key id, secret, session token) from the credential file, else the environment."""
        if self.path:
            try:
                with open(self.path) as file:
                    fields = file.read(4096).split()
                if len(fields) >= 4 and fields[0] == "CREDENTIALS":
                    return fields[1], fields[3], fields[4] if len(fields) > 4 else None
            except OSError:
                pass
            return None
        key, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
        return (key, secret, os.environ.get("AWS_SESSION_TOKEN")) if key and secret else None


def signed_headers(method, url, region, credentials, body=b"", extra=None):
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials as BotoCredentials

    headers = dict(extra or {})
    request = AWSRequest(method=method, url=url, data=body, headers=headers)
    if body is None:
        request.headers["X-Amz-Content-SHA256"] = "UNSIGNED-PAYLOAD"
    SigV4Auth(BotoCredentials(*credentials), "kinesisvideo", region).add_auth(request)
    return dict(request.headers.items())


class KvsSinkStandIn(Gst.Bin):
    __gstmetadata__ = ("KVS Sink (stand-in)", "Sink/Network", "Stands in for kvssink against a local KVS API", "kvs-gateway")
    __gsttemplates__ = (
        Gst.PadTemplate.new("video_%u", Gst.PadDirection.SINK, Gst.PadPresence.REQUEST, Gst.Caps.from_string(VIDEO_CAPS)),
        Gst.PadTemplate.new("audio_%u", Gst.PadDirection.SINK, Gst.PadPresence.REQUEST, Gst.Caps.from_string(AUDIO_CAPS)),
    )
    __gsignals__ = {
        "stream-error": (GObject.SignalFlags.RUN_LAST, None, (GObject.TYPE_UINT64,)),
        "fragment-ack": (GObject.SignalFlags.RUN_LAST, None, (GObject.TYPE_POINTER,)),
    }
    __gproperties__ = PROPERTIES = {
        "stream-name": (str, "stream-name", "KVS stream", "DEFAULT_STREAM", GObject.ParamFlags.READWRITE),
        "aws-region": (str, "aws-region", "region", "us-west-2", GObject.ParamFlags.READWRITE),
        "credential-path": (str, "credential-path", "credential file", "", GObject.ParamFlags.READWRITE),
        "log-config": (str, "log-config", "log4cplus config (its layout is used as is)", "", GObject.ParamFlags.READWRITE),
        "storage-size": (int, "storage-size", "MB (not stood in)", 0, 1 << 20, 128, GObject.ParamFlags.READWRITE),
        "buffer-duration": (int, "buffer-duration", "s (not stood in)", 0, 1 << 20, 120, GObject.ParamFlags.READWRITE),
        "stop-stream-timeout": (int, "stop-stream-timeout", "s", 0, 1 << 20, 120, GObject.ParamFlags.READWRITE),
        "allow-create-stream": (bool, "allow-create-stream", "", True, GObject.ParamFlags.READWRITE),
        "key-frame-fragmentation": (bool, "key-frame-fragmentation", "", True, GObject.ParamFlags.READWRITE),
        "restart-on-error": (bool, "restart-on-error", "", True, GObject.ParamFlags.READWRITE),
        "frame-timecodes": (bool, "frame-timecodes", "", True, GObject.ParamFlags.READWRITE),
        "absolute-fragment-times": (bool, "absolute-fragment-times", "", True, GObject.ParamFlags.READWRITE),
        "fragment-acks": (bool, "fragment-acks", "", True, GObject.ParamFlags.READWRITE),
    }

    def __init__(self):
        super().__init__()
        self.props_ = {name: spec[3 if spec[0] in (str, bool) else 5] for name, spec in self.PROPERTIES.items()}
        self.mux = Gst.ElementFactory.make("matroskamux")
        self.mux.set_property("streamable", True)
        self.mux.set_property("min-cluster-duration", 0)  # a cluster (a KVS fragment) per key frame
        self.appsink = Gst.ElementFactory.make("appsink")
        self.appsink.set_property("sync", False)
        self.appsink.set_property("emit-signals", True)
        self.appsink.connect("new-sample", self.on_sample)
        self.add(self.mux)
        self.add(self.appsink)
        self.mux.link(self.appsink)
        self.chunks = queue.Queue(maxsize=2000)
        self.header_parts = []
        self.endpoint = None
        self.producer_start = None
        self.uploader = None
        self.stopping = threading.Event()

    def do_get_property(self, spec):
        return self.props_[spec.name]

    def do_set_property(self, spec, value):
        self.props_[spec.name] = value

    def do_request_new_pad(self, template, name, caps):
        pad = self.mux.request_pad_simple("video_%u" if template.name_template.startswith("video") else "audio_%u")
        ghost = Gst.GhostPad.new_from_template(name or pad.get_name(), pad, template)
        ghost.set_active(True)
        self.add_pad(ghost)
        return ghost

    def do_change_state(self, transition):
        if transition == Gst.StateChange.READY_TO_PAUSED and not self.start_stream():
            return Gst.StateChangeReturn.FAILURE
        if transition == Gst.StateChange.PAUSED_TO_READY:
            self.stopping.set()
            self.chunks.put(None)
        return Gst.Bin.do_change_state(self, transition)

    # --- the control plane ----------------------------------------------------------------------------------

    def api(self, operation, body):
        """POSTs to the control plane; returns (status, document) or raises OSError when KVS is out of reach."""
        url = f"{os.environ.get('CONTROL_PLANE_URI', 'https://kinesisvideo.' + self.region + '.amazonaws.com')}/{operation}"
        credentials = Credentials(self.props_["credential-path"]).read()
        if credentials is None:
            log("ERROR", "Could not find any AWS credentials!")
            return 0, {}
        data = json.dumps(body).encode()
        parts = urllib.parse.urlsplit(url)
        headers = signed_headers("POST", url, self.region, credentials, data, {"Content-Type": "application/json"})
        connection = socket.create_connection((parts.hostname, parts.port or 80), timeout=10)
        try:
            head = f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Length: {len(data)}\r\nConnection: close\r\n"
            head += "".join(f"{name}: {value}\r\n" for name, value in headers.items() if name.lower() != "host")
            connection.sendall(head.encode() + b"\r\n" + data)
            answer = b""
            while chunk := connection.recv(65536):
                answer += chunk
        finally:
            connection.close()
        status_line, _, rest = answer.partition(b"\r\n")
        document = rest.partition(b"\r\n\r\n")[2]
        return int(status_line.split()[1]), json.loads(document or b"{}")

    @property
    def region(self):
        return os.environ.get("AWS_DEFAULT_REGION") or self.props_["aws-region"]

    def start_stream(self):
        stream = self.props_["stream-name"]
        for attempt in range(START_ATTEMPTS):
            if attempt:
                time.sleep(2)
            try:
                status, document = self.api("describeStream", {"StreamName": stream})
                if status == 200:
                    status, document = self.api("getDataEndpoint", {"StreamName": stream, "APIName": "PUT_MEDIA"})
            except OSError as error:
                log("WARN", f"curlCompleteSync(): curl perform failed for url {os.environ.get('CONTROL_PLANE_URI')}/describeStream "
                    f"with result Couldn't connect to server: {error}")
                continue
            if status == 200:
                self.endpoint = document["DataEndpoint"]
                self.stopping.clear()
                self.uploader = threading.Thread(target=self.upload_forever, daemon=True)
                self.uploader.start()
                return True
            if status:
                log("WARN", f"curlCompleteSync(): HTTP Error {status} : Response: {json.dumps(document)}")
        log("ERROR", f"Unable to create Kinesis Video stream {stream}. Error status: 0xf")
        return False

    # --- PutMedia -------------------------------------------------------------------------------------------

    def on_sample(self, sink):
        buffer = sink.emit("pull-sample").get_buffer()
        if buffer.has_flags(Gst.BufferFlags.HEADER):
            # The EBML header, Segment, Info and Tracks: every upload starts with them.
            self.header_parts.append(buffer.extract_dup(0, buffer.get_size()))
            return Gst.FlowReturn.OK
        if self.producer_start is None:
            running = (self.get_clock().get_time() - self.get_base_time()) / Gst.SECOND if self.get_clock() else 0
            self.producer_start = time.time() - running
        key = not buffer.has_flags(Gst.BufferFlags.DELTA_UNIT)
        try:
            self.chunks.put_nowait((key, buffer.extract_dup(0, buffer.get_size())))
        except queue.Full:
            pass  # KVS out of reach for long: the real element buffers up to buffer-duration, this one drops
        return Gst.FlowReturn.OK

    def upload_forever(self):
        while not self.stopping.is_set():
            first = self.next_key_chunk()
            if first is None:
                return
            try:
                self.upload(first)
            except OSError as error:
                log("WARN", f"curlCompleteSync(): curl perform failed for url {self.endpoint}/putMedia with result "
                    f"Couldn't connect to server: {error}")
                time.sleep(1)

    def next_key_chunk(self):
        """Waits for the start of a cluster with a key frame (an upload starts there); None when stopping."""
        while True:
            item = self.chunks.get()
            if item is None:
                return None
            if item[0]:
                return item[1]

    def upload(self, first):
        parts = urllib.parse.urlsplit(self.endpoint)
        credentials = Credentials(self.props_["credential-path"]).read()
        if credentials is None:
            log("ERROR", "Could not find any AWS credentials!")
            time.sleep(1)
            return
        extra = {
            "x-amzn-stream-name": self.props_["stream-name"],
            "x-amzn-fragment-timecode-type": "RELATIVE",
            "x-amzn-producer-start-timestamp": f"{self.producer_start:.3f}",
            "Transfer-Encoding": "chunked",
        }
        headers = signed_headers("POST", f"{self.endpoint}/putMedia", self.region, credentials, None, extra)
        connection = socket.create_connection((parts.hostname, parts.port or 80), timeout=10)
        connection.settimeout(None)
        head = f"POST /putMedia HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in headers.items() if name.lower() != "host")
        ended = threading.Event()
        reader = threading.Thread(target=self.read_acks, args=(connection, ended), daemon=True)
        try:
            connection.sendall(head.encode() + b"\r\n")
            reader.start()
            self.send_chunk(connection, b"".join(self.header_parts) + first)
            while not ended.is_set():
                try:
                    item = self.chunks.get(timeout=0.5)
                except queue.Empty:
                    continue
                if item is None:
                    connection.sendall(b"0\r\n\r\n")
                    ended.wait(self.props_["stop-stream-timeout"])
                    self.stopping.set()
                    return
                self.send_chunk(connection, item[1])
        finally:
            ended.set()
            connection.close()

    @staticmethod
    def send_chunk(connection, data):
        connection.sendall(f"{len(data):x}\r\n".encode() + data + b"\r\n")

    def read_acks(self, connection, ended):
        """The acknowledgement events of one upload; sets `ended` when KVS ends it (an ERROR, a refusal, EOF)."""
        try:
            stream = connection.makefile("rb")
            status = int(stream.readline().split()[1])
            while stream.readline() not in (b"\r\n", b"\n", b""):
                pass
            if status != 200:
                log("WARN", f"curlCompleteSync(): HTTP Error {status} : Response: {stream.read(2000).decode(errors='replace')}")
                return
            while not ended.is_set():
                size_line = stream.readline()
                if not size_line or int(size_line.split(b";")[0].strip() or b"0", 16) == 0:
                    return
                event = json.loads(stream.read(int(size_line.split(b";")[0], 16)))
                stream.readline()
                self.emit("fragment-ack", None)
                if event.get("EventType") == "ERROR":
                    log("WARN", f"Reported stream error. Errored timecode: {event.get('FragmentTimecode')} "
                        f"Status: 0x{error_status(int(event.get('ErrorId', 0))):08x}")
                    return
        except (OSError, ValueError):
            return
        finally:
            ended.set()


GObject.type_register(KvsSinkStandIn)
__gstelementfactory__ = ("kvssink", Gst.Rank.NONE, KvsSinkStandIn)
