#!/usr/bin/python3
"""camera-pipeline.py: one probe and one pipeline run for one camera, run by run-camera.sh.

It probes the camera (RTSP DESCRIBE only), builds
    rtspsrc ! depayloader ! parser ! caps filter (what kvssink accepts) ! sink
with no transcoding, watches every track where it enters the sink (the health file and the stall
timeout), follows what KVS says about the upload (kvssink_reports.py, next to this file), and exits with a
status that tells run-camera.sh how the run ended, so the script can choose its backoff. It reads
everything from the environment that run-camera.sh prepares (see that file): the camera URL arrives as
RTSP_URL and reaches rtspsrc as properties, never through argv.

Everything this process prints besides its own lines (kvssink's log, GStreamer's warnings) goes through a
pipe it reads: request headers are dropped, secrets redacted, and floods (kvssink logs each of its ~86
retries a second while KVS is unreachable) summed up once a minute.

It lives in its own file rather than inside the shell script so that it can be read and linted as
Python, and so that bash never prints it: bash reports a background job killed by a signal with its
whole command text, and a heredoc is part of that text.
Needs Debian/Ubuntu packages python3-gi and gir1.2-gstreamer-1.0 next to GStreamer.
"""

import collections
import os
import re
import signal
import sys
import threading
import time
import urllib.parse

import gi

gi.require_version("Gst", "1.0")
from gi.repository import GLib, Gst  # noqa: E402

import camera_status  # noqa: E402
import kvssink_reports as reports  # noqa: E402
import recording_schedule  # noqa: E402

# How a run ends (run-camera.sh reads these; keep both lists equal).
STOPPED, TRANSIENT, AUTH, STALL, NOT_FOUND, UNSUPPORTED, MISSING_ELEMENT, BAD_URL = 0, 20, 21, 22, 23, 24, 25, 26
STREAM_MISSING, RESTART_NOW, CREDENTIALS, OFF_SCHEDULE = 27, 28, 29, 30
FINISH_CODES = {"fresh-session": RESTART_NOW, "new-credentials": RESTART_NOW, "stream-missing": STREAM_MISSING, "credentials": CREDENTIALS}
# How a run's end shows in `kvs-gateway status` (camera_status.py); a code not here says nothing new.
END_STATES = {
    TRANSIENT: "camera-down",
    AUTH: "login-refused",
    STALL: "camera-down",
    NOT_FOUND: "camera-down",
    UNSUPPORTED: "unsupported-camera",
    MISSING_ELEMENT: "missing-software",
    BAD_URL: "config-error",
    STREAM_MISSING: "stream-missing",
    CREDENTIALS: "no-credentials",
}

env = os.environ
camera_name = env["CAMERA_NAME"]
quiet_failure = env.get("QUIET_FAILURE") == "1"
stall_timeout = int(env["STALL_TIMEOUT_SECONDS"])
connect_timeout = int(env["CONNECT_TIMEOUT_SECONDS"])
sink_is_kvs = env["GATEWAY_SINK"] == "kvssink"
secrets = []
video_seen = threading.Event()


def redact(text):
    text = re.sub(r"(rtsp[st]?://[^\s/@:]*):[^\s/@]*@", r"\1:***@", str(text), flags=re.I)
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


class Output:
    """Where the log goes. The program's own lines are written straight to the original stderr; everything
    else written to this process's stdout and stderr (kvssink's log4cplus output, its "Stream is ready",
    GStreamer's warnings, a Python traceback) goes through a pipe that a thread reads and filters
    (kvssink_reports.KvssinkLog). What kvssink reports on the way is queued for the main loop."""

    def __init__(self):
        self.fd = os.dup(2)
        self.lock = threading.Lock()
        self.reports = collections.deque()
        self.filter = reports.KvssinkLog()
        read_end, write_end = os.pipe()
        os.dup2(write_end, 1)
        os.dup2(write_end, 2)
        os.close(write_end)
        self.pumping = threading.Thread(target=self.pump, args=(read_end,), daemon=True)
        self.pumping.start()

    def write(self, text):
        data = f"run-camera[{camera_name}]: {redact(text)}\n".encode(errors="replace")
        with self.lock:
            os.write(self.fd, data)

    def pump(self, read_end):
        with os.fdopen(read_end, "r", errors="replace") as pipe:
            for raw in pipe:
                try:
                    with self.lock:
                        lines, report = self.filter.feed(raw)
                    for line in lines:
                        self.write(line)
                    if report is not None:
                        self.reports.append(("report", report, time.monotonic()))
                except Exception as error:  # the pump must outlive any odd line, or the pipe would fill up
                    self.write(f"log filter: {error!r}")

    def tick(self):
        """Once a second: the summary of what was held back, once a minute, even when the flood has stopped."""
        with self.lock:
            lines = self.filter.throttle.summary()
        for line in lines:
            self.write(line)

    def close(self):
        """At exit: reads what is left in the pipe, then sums up what was held back."""
        sys.stdout.flush()
        sys.stderr.flush()
        os.close(1)
        os.close(2)
        self.pumping.join(1)
        with self.lock:
            lines = self.filter.close()
        for line in lines:
            self.write(line)


output = None
status_file = camera_status.StatusFile(env.get("STATUS_FILE") or f"{env['HEALTH_FILE']}.status")


def log(message, failure=False):
    """failure=True: a repeated failure, left out of the log in quiet mode unless video flowed this run."""
    if failure and quiet_failure and not video_seen.is_set():
        return
    if output is None:
        print(f"run-camera[{camera_name}]: {redact(message)}", file=sys.stderr, flush=True)
    else:
        output.write(message)


def exit_if_stuck(seconds, code, what):
    """A teardown or start that hangs (a wedged socket, a kvssink upload) must not freeze this camera
    forever: after `seconds` the process exits and the supervisor starts afresh."""

    def fire():
        log(f"{what} took more than {seconds}s: exiting hard")
        os._exit(code)

    timer = threading.Timer(seconds, fire)
    timer.daemon = True
    timer.start()
    return timer


class Finished(Exception):
    def __init__(self, code, reason, state=None):
        super().__init__(reason)
        self.code = code
        self.state = state or END_STATES.get(code)


class CameraState:
    """What this camera taught the gateway, kept across pipeline runs and restarts of the unit or container
    (run-camera.sh puts STATE_FILE in the unit's state directory, or next to the health file): the RTSP
    transport that worked, and when a fresh KVS session was last tried for refused timestamps. One
    "key=value" a line."""

    def __init__(self, path):
        self.path = path
        self.values = {}
        try:
            with open(path) as saved:
                self.values = dict(line.rstrip("\n").split("=", 1) for line in saved if "=" in line)
        except OSError:
            pass

    def get(self, key, default=None):
        return self.values.get(key, default)

    def set(self, key, value):
        self.values[key] = str(value)
        temporary = f"{self.path}.{os.getpid()}"
        try:
            with open(temporary, "w") as out:
                out.writelines(f"{name}={saved}\n" for name, saved in sorted(self.values.items()))
            os.replace(temporary, self.path)
        except OSError as error:
            log(f"warning: cannot write {self.path}: {error.strerror} (it is only a memory across restarts)")


class ScheduleWatch:
    """The camera's recording schedule during a run (RECORDING_SCHEDULE_FILE, decided by recording_schedule.py):
    the run ends, like a stop signal (EOS first, so the sink sends what it holds), when its window closes or
    the file changes to say the camera is off schedule."""

    def __init__(self, path):
        self.path = path
        self.refresh()

    def signature(self):
        try:
            status = os.stat(self.path)
        except OSError:
            return None
        return status.st_ino, status.st_mtime_ns, status.st_size

    def refresh(self):
        self.seen = self.signature()
        self.recording, self.until, self.text, _ = recording_schedule.decide(self.path, recording_schedule.now())

    def ended(self, running=True):
        """A Finished when the camera is off schedule, else None; cheap enough for once a second."""
        if self.signature() != self.seen or (self.until is not None and recording_schedule.now() >= self.until):
            self.refresh()
        if self.recording:
            return None
        if running:
            return Finished(OFF_SCHEDULE, "the recording window has closed: stopping, the sink sends what it holds")
        return Finished(OFF_SCHEDULE, f"{self.text}: not starting")


URL_SHAPE = "use rtsp://host[:port]/path, with user:password@ (each percent-encoded) before the host"


def camera_endpoint(url):
    """Splits the URL into a location without credentials and the decoded user and password."""
    try:
        parts = urllib.parse.urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as error:
        raise Finished(BAD_URL, f"the camera URL is malformed ({error}): {URL_SHAPE}")
    if parts.scheme.lower() not in ("rtsp", "rtsps", "rtspt") or not parts.hostname:
        raise Finished(BAD_URL, f"the camera URL does not start with rtsp:// and a host: {URL_SHAPE}")
    user = urllib.parse.unquote(parts.username) if parts.username else None
    password = urllib.parse.unquote(parts.password) if parts.password is not None else None
    # Secrets short enough to occur by chance in ordinary text are left to the URL pattern alone.
    for secret in (password, parts.password):
        if secret and len(secret) >= 4:
            secrets.append(secret)
    host = parts.netloc.rpartition("@")[2]
    location = urllib.parse.urlunsplit((parts.scheme, host, parts.path, parts.query, ""))
    shown = f"{parts.scheme}://{parts.username + ':***@' if user else ''}{host}{parts.path}"
    return location, user, password, shown


def configure_source(source, endpoint, transport="tcp"):
    location, user, password, _ = endpoint
    source.set_property("location", location)
    if user is not None:
        source.set_property("user-id", user)
        source.set_property("user-pw", password or "")
    # Interleaved TCP crosses NAT and security groups and never loses packets; UDP only for cameras that
    # refuse TCP (rtspsrc then sends dummy packets from its ports, so the replies are return traffic).
    # tcp-timeout bounds the connect and each answer (microseconds).
    source.set_property("protocols", transport)
    source.set_property("tcp-timeout", connect_timeout * 1_000_000)
    source.set_property("latency", int(env["RTSP_LATENCY_MS"]))


def credentials_problem(text):
    """kvssink's start errors that mean the credential file (a GStreamer error's debug text)."""
    if "Could not find any AWS credentials" in text:
        return "credentials-missing"
    if "0x15000017" in text:
        return "credentials-expired"
    return None


def failure_for(error, debug, watch=None):
    """Maps a GStreamer error to how the supervisor should react."""
    text = f"{error.message} ({(debug or '').splitlines()[-1] if debug else ''})"
    problem = credentials_problem(debug or "")
    if problem and watch is not None:
        watch.report(reports.Report(problem), time.monotonic(), time.time())
        return Finished(CREDENTIALS, watch.finish.message)
    if error.matches(Gst.ResourceError.quark(), Gst.ResourceError.NOT_AUTHORIZED) or "(401)" in text:
        return Finished(AUTH, f"the camera refused the user name or password: {text}")
    if error.matches(Gst.ResourceError.quark(), Gst.ResourceError.NOT_FOUND) or "(404)" in text:
        return Finished(NOT_FOUND, f"the camera has no stream at this path: {text}")
    if error.matches(Gst.ResourceError.quark(), Gst.ResourceError.OPEN_READ_WRITE):
        return Finished(TRANSIENT, f"cannot connect to the camera: {text}")
    return Finished(TRANSIENT, f"pipeline error: {text}", "pipeline-error")


def transport_refused(message):
    """rtspsrc's SETUP found no transport the camera accepts (the camera answered 461, or offered none)."""
    error, _ = message.parse_error()
    return error.matches(Gst.StreamError.quark(), Gst.StreamError.CODEC_NOT_FOUND) and message.src.get_name() == "camera"


# encoding-name in the SDP -> (CODEC value, depayloader, parser, timestamper, caps kvssink accepts)
VIDEO_CHAINS = {
    "H264": ("h264", "rtph264depay", "h264parse", "h264timestamper", "video/x-h264,stream-format=avc,alignment=au"),
    # hvc1 keeps the parameter sets in the codec private data, as MKV and KVS players expect.
    "H265": ("h265", "rtph265depay", "h265parse", "h265timestamper", "video/x-h265,stream-format=hvc1,alignment=au"),
}
# encoding-name -> (depayloader, parser or None, caps kvssink accepts)
AUDIO_CHAINS = {
    "MPEG4-GENERIC": ("rtpmp4gdepay", "aacparse", "audio/mpeg,mpegversion=4,stream-format=raw"),
    "MP4A-LATM": ("rtpmp4adepay", "aacparse", "audio/mpeg,mpegversion=4,stream-format=raw"),
    "PCMA": ("rtppcmadepay", None, "audio/x-alaw"),
    "PCMU": ("rtppcmudepay", None, "audio/x-mulaw"),
}


def wait_for(bus, seconds, stopping):
    """Pops the next error/EOS message, or None after `seconds` or once a stop signal arrived."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not stopping.is_set():
        # Python runs signal handlers between calls: slices of at most 1 s keep SIGTERM responsive.
        left = min(1.0, deadline - time.monotonic())
        message = bus.timed_pop_filtered(int(left * Gst.SECOND), Gst.MessageType.ERROR | Gst.MessageType.EOS)
        if message:
            return message
    return None


def probe(endpoint, stopping):
    """RTSP DESCRIBE only: returns the SDP's streams as (index, media, encoding name), no SETUP."""
    pipeline = Gst.Pipeline.new("probe")
    source = Gst.ElementFactory.make("rtspsrc")
    configure_source(source, endpoint)
    pipeline.add(source)
    streams = []

    def offered(_source, index, caps):
        s = caps.get_structure(0)
        streams.append((index, s.get_string("media"), (s.get_string("encoding-name") or "?").upper()))
        return False  # declining every stream ends the session right after DESCRIBE

    source.connect("select-stream", offered)
    stuck = exit_if_stuck(connect_timeout + 30, TRANSIENT, "the probe")
    try:
        pipeline.set_state(Gst.State.PLAYING)
        message = wait_for(pipeline.get_bus(), connect_timeout + 2, stopping)
    finally:
        pipeline.set_state(Gst.State.NULL)
        stuck.cancel()
    if stopping.is_set():
        raise Finished(STOPPED, "stopped")
    if streams:
        return streams
    if message is None:
        raise Finished(TRANSIENT, f"the camera did not answer DESCRIBE within {connect_timeout + 2}s")
    if message.type == Gst.MessageType.ERROR:
        raise failure_for(*message.parse_error())
    raise Finished(TRANSIENT, "the camera ended the session during DESCRIBE")


def choose_tracks(streams):
    videos = [(i, name) for i, media, name in streams if media == "video"]
    wanted = env["CODEC"]
    usable = [(i, name) for i, name in videos if name in VIDEO_CHAINS and wanted in ("auto", VIDEO_CHAINS[name][0])]
    offered = ", ".join(f"{media} {name}" for _, media, name in streams) or "nothing"
    if not usable:
        if any(name in VIDEO_CHAINS for _, name in videos):
            raise Finished(UNSUPPORTED, f"CODEC={wanted} but the camera sends {offered}: set codec to auto or to what the camera sends")
        raise Finished(UNSUPPORTED, f"the camera sends {offered}: set its video codec to H.264 or H.265 (the gateway does not transcode)")
    video = usable[0]
    audio = None
    if env["AUDIO"] == "true":
        audios = [(i, name) for i, media, name in streams if media == "audio" and name in AUDIO_CHAINS]
        if audios:
            audio = audios[0]
        else:
            log(f"warning: AUDIO=true but the camera sends no AAC or G.711 audio ({offered}): streaming video only")
    return video, audio, offered


def sink_description():
    """Everything after the caps filters: the only part that differs between kvssink and the stand-ins.
    Returns (sink elements, where video goes, where audio goes)."""
    sink = env["GATEWAY_SINK"]
    if sink == "kvssink":
        # allow-create-stream=false: the stacks create the streams and the role may not CreateStream.
        # key-frame-fragmentation: one fragment per camera GOP (fragment-duration then does not apply).
        # restart-on-error: kvssink restarts its upload session by itself after a service error.
        # frame-timecodes + absolute-fragment-times: fragment times are the producer's wall clock at its first
        # frame plus the pipeline's timestamps, never the camera's clock; every run starts a fresh session.
        # storage-size and buffer-duration: how much video rides out a KVS outage (docs/run-script.md, sizing).
        # stream-name, aws-region and credential-path are set as properties (set_sink_properties).
        return (
            "kvssink name=sink allow-create-stream=false key-frame-fragmentation=true restart-on-error=true"
            " frame-timecodes=true absolute-fragment-times=true fragment-acks=true"
            f" storage-size={int(env['KVS_STORAGE_SIZE_MB'])} buffer-duration={int(env['KVS_BUFFER_SECONDS'])}"
            f" stop-stream-timeout={int(env['KVS_STOP_TIMEOUT_SECONDS'])}",
            "sink.",
            "sink.",
        )
    if sink == "fake":
        return "", "fakesink sync=false", "fakesink sync=false"
    return "matroskamux name=sink ! filesink name=file sync=false", "sink.", "sink."


def build_pipeline(video, audio):
    """The one pipeline description (no URL, password or user path in it: those are set as properties)."""
    _, depay, parse, timestamper, caps = VIDEO_CHAINS[video[1]]
    sink, video_target, audio_target = sink_description()
    # RTP carries presentation times only. Without decoding times kvssink drops every key frame that carries
    # the parameter sets (seen with cameras that send SPS/PPS at each IDR: nothing was ever uploaded) and
    # makes up decoding times of its own; the timestamper derives them from the stream (B-frames included).
    # GStreamer 1.22 has it (Ubuntu 24.04: 1.24); without it, the stream goes as it comes.
    stamp = f" ! {timestamper}" if Gst.ElementFactory.find(timestamper) else ""
    if not stamp:
        log(f"warning: {timestamper} is missing (gst-plugins-bad >= 1.22): key frames with parameter sets and B-frames "
            "may not reach KVS", failure=True)
    # The caps filter after the parser makes a camera/sink mismatch fail at negotiation, clearly. The tee's
    # second branch keeps key frames only, so that Python sees one call per key frame (the GOP), not per frame.
    parts = [
        f"rtspsrc name=camera  {depay} name=video ! {parse}{stamp} ! tee name=videotee ! capsfilter name=videocaps caps={caps}"
        f" ! {video_target}  videotee. ! identity name=keyframes drop-buffer-flags=delta-unit ! fakesink sync=false async=false"
    ]
    if audio:
        depay, parse, caps = AUDIO_CHAINS[audio[1]]
        parse_step = f" ! {parse}" if parse else ""
        parts.append(f"{depay} name=audio{parse_step} ! capsfilter name=audiocaps caps={caps} ! {audio_target}")
    if sink:
        parts.append(sink)
    return "  ".join(parts)


def kvs_log_config():
    """Writes the Producer SDK's log4cplus config and returns its path. Without one the SDK logs at DEBUG
    to stdout: every request's headers, the session token among them, and lines per frame. Its output goes
    to this process's stderr, which Output reads and filters (KVSSINK_MARK tells its lines apart)."""
    path = f"{env['HEALTH_FILE']}.log4cplus.properties"
    with open(path, "w") as out:
        out.write(
            f"log4cplus.rootLogger={env['KVS_LOG_LEVEL']}, stderr\n"
            "log4cplus.appender.stderr=log4cplus::ConsoleAppender\n"
            "log4cplus.appender.stderr.logToStdErr=true\n"
            "log4cplus.appender.stderr.layout=log4cplus::PatternLayout\n"
            f"log4cplus.appender.stderr.layout.ConversionPattern={reports.KVSSINK_MARK}%-5p %m%n\n"
        )
    return path


def credential_key(path):
    """The access key id in kvssink's credential file (CREDENTIALS <key id> <expiration> ...), or None."""
    try:
        with open(path) as credentials:
            fields = credentials.read(4096).split()
    except OSError:
        return None
    return fields[1] if len(fields) >= 3 and fields[0] == "CREDENTIALS" else None


def check_credential_file(watch):
    """Before the camera is contacted: a missing or expired credential file ends the run with a line that
    names the file and what refreshes it (kvssink itself would say "Could not find any AWS credentials!")."""
    path = env.get("KVS_CREDENTIAL_PATH")
    if not sink_is_kvs or not path:
        return
    problem = None
    try:
        with open(path) as credentials:
            fields = credentials.read(4096).split()
        # ISO 8601 UTC times compare as strings (and parsing dates would cost memory for nothing).
        if len(fields) >= 3 and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", fields[2]):
            if fields[2] <= time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()):
                problem = "credentials-expired"
    except OSError:
        problem = "credentials-missing"
    if problem:
        watch.report(reports.Report(problem), time.monotonic(), time.time())
        raise Finished(CREDENTIALS, watch.finish.message)


def set_sink_properties(pipeline):
    """Sets the sink's user-given strings; returns the MKV path for the file sink."""
    stream_name = env["STREAM_NAME"]
    if sink_is_kvs:
        kvssink = pipeline.get_by_name("sink")
        kvssink.set_property("stream-name", stream_name)
        kvssink.set_property("aws-region", env["AWS_REGION"])
        kvssink.set_property("log-config", kvs_log_config())
        if env.get("KVS_CREDENTIAL_PATH"):
            kvssink.set_property("credential-path", env["KVS_CREDENTIAL_PATH"])
        return None
    file_sink = pipeline.get_by_name("file")
    if file_sink is None:
        return None
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + f"{time.time() % 1:.3f}"[1:]
    path = os.path.join(env["GATEWAY_SINK"][len("file:"):], f"{stream_name}-{stamp}Z.mkv")
    file_sink.set_property("location", path)
    return path


def watch_kvssink(pipeline, events):
    """kvssink's signals, from its own threads, into the main loop's queue: stream-error carries a status;
    fragment-ack fires once per acknowledgement event (its argument, a pointer into the SDK, is not read)."""
    kvssink = pipeline.get_by_name("sink")
    kvssink.connect("stream-error", lambda _sink, code: events.append(("report", reports.Report("status", code), time.monotonic())))
    kvssink.connect("fragment-ack", lambda _sink, _ack: events.append(("ack", None, time.monotonic())))


class TrackFlow:
    """Times one track's frames where they enter the sink (after the caps filter)."""

    def __init__(self, name, pad):
        self.name = name
        self.pad = pad
        self.armed = False
        self.first = None  # wall-clock epoch of the first frame
        self.last = None  # monotonic time of the latest frame seen
        self.last_epoch = None  # wall-clock epoch of the same frame
        self.rearm()

    def on_frame(self, _pad, _info):
        # Runs for one frame, then removes itself until rearm(): a Python call per frame (30/s) costs
        # about 80 us each here, and a frame a second times a stall well enough.
        self.last = time.monotonic()
        self.last_epoch = time.time()
        self.armed = False
        if self.first is None:
            self.first = self.last_epoch
            log(f"{self.name} flowing")
        return Gst.PadProbeReturn.REMOVE

    def rearm(self):
        if not self.armed:
            self.armed = True
            self.pad.add_probe(Gst.PadProbeType.BUFFER, self.on_frame)


class MediaFlow:
    """Watches every track sent to the sink: the health file is fresh only while all of them flow (and KVS
    accepts them), and a track silent for the stall timeout stalls the pipeline (the sink waits for all its
    tracks, so a lost audio track stops the video upload too)."""

    def __init__(self, health_file, tracks):
        self.health_file = health_file
        self.tracks = tracks
        self.written = 0.0
        self.healthy_epoch = None  # latest moment video flowed and KVS was accepting it
        self.reason = ""

    def check(self, started):
        """Re-arms the probes; returns the stall message, or None."""
        for track in self.tracks:
            track.rearm()
        if all(track.first is not None for track in self.tracks):
            video_seen.set()
        now = time.monotonic()
        for track in self.tracks:
            silent = now - (track.last or started)
            if silent > stall_timeout:
                what = f"no {track.name} frame" if track.last is None else f"{track.name} stalled"
                return f"{what} for {silent:.0f}s (camera silent or connection half-open): restarting the pipeline"
        return None

    def publish(self, kvs_ok, reason, state, now=False):
        """Writes "<first frame epoch> <latest healthy epoch> [why not healthy]" every 2 s, at once when the
        verdict changes, and when `now`; says the camera's status when it is due (camera_status.py)."""
        if not video_seen.is_set():
            return
        if kvs_ok:
            self.healthy_epoch = min(track.last_epoch for track in self.tracks)
            reason = ""
        if reason == self.reason and time.monotonic() - self.written < 2 and not now:
            return
        self.reason = reason
        self.written = time.monotonic()
        first = min(track.first for track in self.tracks)
        latest = self.healthy_epoch if self.healthy_epoch is not None else first - 1
        write_health(f"{int(first)} {int(latest)}{' ' + reason if reason else ''}")
        report_status("streaming" if kvs_ok else state, reason)


def report_status(state, reason=""):
    said = status_file.report(state, reason)
    if said:
        log(said)


def write_health(line):
    temporary = f"{env['HEALTH_FILE']}.{os.getpid()}"
    with open(temporary, "w") as out:
        out.write(f"{line}\n")
    os.replace(temporary, env["HEALTH_FILE"])


def end_run(finished):
    """Logs how the run ended and exits with its code. A run that ends waiting for a person or for the
    credential refresher says why in the health file too (--check-health prints it)."""
    if finished.code != STOPPED:
        log(str(finished), failure=finished.code in (TRANSIENT, NOT_FOUND, CREDENTIALS, STREAM_MISSING))
    if finished.code in (STREAM_MISSING, CREDENTIALS):
        write_health(f"0 0 {redact(finished)}")
    if finished.state:
        report_status(finished.state, redact(finished))
    flush_output()
    # os._exit: no interpreter teardown racing GStreamer's threads; the pipeline is stopped or cannot be.
    os._exit(finished.code)


def watch_key_frames(pipeline, key_frames, lock, warnings):
    """One Python call per key frame (the tee's key-frame branch): the camera's key-frame interval."""

    def on_key_frame(_pad, info):
        buffer = info.get_buffer()
        stream_seconds = buffer.pts / Gst.SECOND if buffer.pts != Gst.CLOCK_TIME_NONE else None
        with lock:
            warning = key_frames.key_frame(stream_seconds, time.monotonic())
        if warning:
            warnings.append(warning)
        return Gst.PadProbeReturn.OK

    pipeline.get_by_name("keyframes").get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, on_key_frame)


class Run:
    """One pipeline run: its reports, its health, and how it ends."""

    def __init__(self, state):
        self.state = state
        self.events = output.reports if output else collections.deque()
        self.lock = threading.Lock()
        self.key_frames = reports.KeyFrameInterval()
        self.warnings = collections.deque()
        self.credential_path = env.get("KVS_CREDENTIAL_PATH") if sink_is_kvs else None
        self.watch = reports.KvsWatch(
            env["STREAM_NAME"],
            env.get("AWS_REGION", ""),
            self.credential_path,
            self.key_frames,
            time.monotonic(),
            float(state.get("freshSession", 0)) or None,
            expects_acks=sink_is_kvs,
        )
        self.loaded_key = credential_key(self.credential_path) if self.credential_path else None

    def drain(self):
        """Hands what kvssink reported to the watch; logs what it says; returns a Finished or None."""
        now = time.monotonic()
        if output is not None:
            output.tick()
        while self.events:
            kind, report, at = self.events.popleft()
            with self.lock:
                lines = self.watch.ack(at) if kind == "ack" else self.watch.report(report, at, time.time())
            for line in lines:
                log(line)
        while self.warnings:
            log(f"warning: {self.warnings.popleft()}")
        with self.lock:
            changed = self.credential_path is not None and credential_key(self.credential_path) not in (None, self.loaded_key)
            lines = self.watch.tick(now, credential_file_changed=changed)
            warning = self.key_frames.check(now)
            finish = self.watch.finish
        for line in lines + ([f"warning: {warning}"] if warning else []):
            log(line)
        if finish is None:
            return None
        if finish.outcome == "fresh-session":
            self.state.set("freshSession", time.time())
        if finish.outcome == "new-credentials":
            # What kvssink holds cannot be sent with the refused key, and stopping it would wait for that.
            log(finish.message)
            flush_output()
            os._exit(RESTART_NOW)
        return Finished(FINISH_CODES[finish.outcome], finish.message)

    def healthy(self):
        """(healthy, why not, the camera state that goes with it)."""
        with self.lock:
            ok, reason = self.watch.healthy(time.monotonic(), sink_is_kvs)
            return ok, reason, self.watch.unhealthy_state()


def missing_kvssink_hint():
    """Why kvssink is not there. A plugin file that once failed to load (a library missing then) stays
    marked in GStreamer's registry cache, and is not tried again until the file itself changes."""
    for plugin in Gst.Registry.get().get_plugin_list():
        filename = plugin.get_filename() or ""
        if "kvssink" in os.path.basename(filename) and plugin.flags & Gst.PluginFlags.BLACKLISTED:
            cache = os.path.join(env.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "gstreamer-1.0")
            return (f" ({filename} is there but failed to load, most often a missing library: see `ldd {filename}`;"
                    f" GStreamer tries it again once the file changes or {cache} is removed)")
    return f" (GST_PLUGIN_PATH={env.get('GST_PLUGIN_PATH', '')!r}: does it hold kvssink?)"


def run(stopping, state):
    endpoint = camera_endpoint(env["RTSP_URL"])
    schedule = ScheduleWatch(env["RECORDING_SCHEDULE_FILE"]) if env.get("RECORDING_SCHEDULE_FILE") else None
    # run-camera.sh asked a moment ago; a window that closed since must not open the camera.
    if schedule and (off := schedule.ended(running=False)):
        raise off
    current = Run(state)
    check_credential_file(current.watch)
    log(f"probing {endpoint[3]}", failure=True)
    streams = probe(endpoint, stopping)
    video, audio, offered = choose_tracks(streams)
    description = build_pipeline(video, audio)
    try:
        pipeline = Gst.parse_launch(description)
    except GLib.Error as error:
        hint = missing_kvssink_hint() if "kvssink" in error.message else ""
        raise Finished(MISSING_ELEMENT, f"cannot build the pipeline: {error.message}{hint}")
    transport = state.get("transport", "tcp")
    source = pipeline.get_by_name("camera")
    configure_source(source, endpoint, transport)
    chosen = {video[0]: "video", **({audio[0]: "audio"} if audio else {})}
    source.connect("select-stream", lambda _s, index, _caps: index in chosen)

    def link(_source, pad):
        caps = pad.get_current_caps() or pad.query_caps(None)
        media = caps.get_structure(0).get_string("media")
        target = pipeline.get_by_name(media) if media in ("video", "audio") else None
        if target and not target.get_static_pad("sink").is_linked():
            pad.link(target.get_static_pad("sink"))

    source.connect("pad-added", link)
    file_path = set_sink_properties(pipeline)
    if sink_is_kvs:
        watch_kvssink(pipeline, current.events)
    watch_key_frames(pipeline, current.key_frames, current.lock, current.warnings)
    # Repeated failures (quiet mode) do not repeat what the first attempt said.
    log(f"camera offers {offered}; streaming {video[1]}{' + ' + audio[1] + ' audio' if audio else ''}"
        f"{' over UDP' if transport == 'udp' else ''}{' to ' + file_path if file_path else ''}", failure=True)
    log(f"pipeline: {description}", failure=True)
    tracks = [TrackFlow("video", pipeline.get_by_name("videocaps").get_static_pad("src"))]
    if audio:
        tracks.append(TrackFlow("audio", pipeline.get_by_name("audiocaps").get_static_pad("src")))
    flow = MediaFlow(env["HEALTH_FILE"], tracks)
    bus = pipeline.get_bus()
    stop_timeout = int(env["KVS_STOP_TIMEOUT_SECONDS"]) + 15
    try:
        started_ok = start(pipeline, stopping, current)
        if not started_ok:
            message = bus.pop_filtered(Gst.MessageType.ERROR)
            exit_if_stuck(stop_timeout, TRANSIENT, "stopping the pipeline")
            if message is None:
                raise Finished(TRANSIENT, "the pipeline did not start", "pipeline-error")
            raise failure_for(*message.parse_error(), current.watch)
        started = time.monotonic()
        outcome = None
        while outcome is None:
            message = wait_for(bus, 1, stopping)
            stalled = flow.check(started)
            outcome = (
                current.drain()
                or how_it_ends(message, stalled, stopping, transport, state, current)
                or (schedule.ended() if schedule else None)
            )
            flow.publish(*current.healthy())
        exit_if_stuck(stop_timeout, outcome.code, "stopping the pipeline")
        finish(pipeline, bus)
        flow.publish(*current.healthy(), now=True)
        raise outcome
    finally:
        pipeline.set_state(Gst.State.NULL)


def how_it_ends(message, stalled, stopping, transport, state, current):
    """The run's outcome once a second: None while it goes on."""
    if stopping.is_set():
        return Finished(STOPPED, "stopped")
    if message is not None and message.type == Gst.MessageType.ERROR:
        if transport == "tcp" and transport_refused(message):
            state.set("transport", "udp")
            return Finished(
                RESTART_NOW,
                "the camera refuses RTSP over TCP (interleaved): switching to UDP, now and for the next restarts "
                f"({state.path}); UDP needs the camera's RTP packets to reach this host, so prefer enabling RTSP over "
                "TCP in the camera",
            )
        return failure_for(*message.parse_error(), current.watch)
    if message is not None:
        return Finished(TRANSIENT, "the camera ended the stream")
    if stalled and transport == "udp" and not video_seen.is_set():
        state.set("transport", "tcp")
        return Finished(STALL, f"{stalled}; no video over UDP either: RTSP over TCP is tried again next time")
    if stalled:
        return Finished(STALL, stalled)
    return None


def start(pipeline, stopping, current):
    """Sets the pipeline PLAYING. kvssink calls KVS inside that state change (DescribeStream and endpoints;
    seen here: up to 4 tries of about 40 s each while KVS is unreachable or the stream is missing, then it
    fails), so it runs in a thread; SIGTERM is obeyed meanwhile, and so is what kvssink reports: a missing
    stream ends the run at its first 404."""
    result = []
    starter = threading.Thread(target=lambda: result.append(pipeline.set_state(Gst.State.PLAYING)), daemon=True)
    stuck = exit_if_stuck(240, TRANSIENT, "starting the pipeline (kvssink reaching KVS)")
    starter.start()
    while starter.is_alive():
        starter.join(0.5)
        if stopping.is_set():
            log("stopped while the pipeline was starting")
            os._exit(STOPPED)  # nothing has been sent yet, so there is nothing to flush
        outcome = current.drain()
        if outcome is not None:
            # kvssink is inside its own retries and cannot be stopped cleanly; nothing was sent yet.
            end_run(outcome)
    stuck.cancel()
    return result[0] != Gst.StateChangeReturn.FAILURE


def finish(pipeline, bus):
    """Ends the stream at the sink's inputs so the MKV file is closed and kvssink sends what it holds.
    From a thread: when a track is stuck the sink holds its stream lock and the EOS push blocks until
    the NULL state change that follows releases it."""

    def push_eos():
        # Into the video tee (both of its branches end), and out of the audio caps filter.
        pipeline.get_by_name("videotee").get_static_pad("sink").send_event(Gst.Event.new_eos())
        audio = pipeline.get_by_name("audiocaps")
        if audio:
            audio.get_static_pad("src").push_event(Gst.Event.new_eos())

    pusher = threading.Thread(target=push_eos, daemon=True)
    pusher.start()
    pusher.join(3)
    if not pusher.is_alive():
        bus.timed_pop_filtered(3 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)


def flush_output():
    if output is not None:
        output.close()


def state_path():
    return env.get("STATE_FILE") or f"{env['HEALTH_FILE']}.state"


def main():
    global output
    output = Output()
    Gst.init(None)
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    try:
        run(stopping, CameraState(state_path()))
    except Finished as finished:
        end_run(finished)


main()
