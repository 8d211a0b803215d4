#!/usr/bin/python3
"""camera-pipeline.py: one probe and one pipeline run for one camera, run by run-camera.sh.

It probes the camera (RTSP DESCRIBE only), builds
    rtspsrc ! depayloader ! parser ! caps filter (what kvssink accepts) ! sink
with no transcoding, watches every track where it enters the sink (the health file and the stall
timeout) and exits with a status that tells run-camera.sh how the run ended, so the script can choose
its backoff. It reads everything from the environment that run-camera.sh prepares (see that file):
the camera URL arrives as RTSP_URL and reaches rtspsrc as properties, never through argv.

It lives in its own file rather than inside the shell script so that it can be read and linted as
Python, and so that bash never prints it: bash reports a background job killed by a signal with its
whole command text, and a heredoc is part of that text.
Needs Debian/Ubuntu packages python3-gi and gir1.2-gstreamer-1.0 next to GStreamer.
"""

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

STOPPED, TRANSIENT, AUTH, STALL, NOT_FOUND, UNSUPPORTED, MISSING_ELEMENT, BAD_URL = 0, 20, 21, 22, 23, 24, 25, 26

env = os.environ
camera_name = env["CAMERA_NAME"]
quiet_failure = env.get("QUIET_FAILURE") == "1"
stall_timeout = int(env["STALL_TIMEOUT_SECONDS"])
connect_timeout = int(env["CONNECT_TIMEOUT_SECONDS"])
secrets = []
video_seen = threading.Event()


def redact(text):
    text = re.sub(r"(rtsp[st]?://[^\s/@:]*):[^\s/@]*@", r"\1:***@", str(text), flags=re.I)
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def log(message, failure=False):
    """failure=True: a repeated failure, left out of the log in quiet mode unless video flowed this run."""
    if failure and quiet_failure and not video_seen.is_set():
        return
    print(f"run-camera[{camera_name}]: {redact(message)}", file=sys.stderr, flush=True)


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
    def __init__(self, code, reason):
        super().__init__(reason)
        self.code = code


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


def configure_source(source, endpoint):
    location, user, password, _ = endpoint
    source.set_property("location", location)
    if user is not None:
        source.set_property("user-id", user)
        source.set_property("user-pw", password or "")
    # Interleaved TCP crosses NAT and security groups and never loses packets; tcp-timeout bounds the
    # connect and each answer (microseconds).
    source.set_property("protocols", "tcp")
    source.set_property("tcp-timeout", connect_timeout * 1_000_000)
    source.set_property("latency", int(env["RTSP_LATENCY_MS"]))


def failure_for(error, debug):
    """Maps a GStreamer error to how the supervisor should react."""
    text = f"{error.message} ({(debug or '').splitlines()[-1] if debug else ''})"
    if error.matches(Gst.ResourceError.quark(), Gst.ResourceError.NOT_AUTHORIZED) or "(401)" in text:
        return Finished(AUTH, f"the camera refused the user name or password: {text}")
    if error.matches(Gst.ResourceError.quark(), Gst.ResourceError.NOT_FOUND) or "(404)" in text:
        return Finished(NOT_FOUND, f"the camera has no stream at this path: {text}")
    if error.matches(Gst.ResourceError.quark(), Gst.ResourceError.OPEN_READ_WRITE):
        return Finished(TRANSIENT, f"cannot connect to the camera: {text}")
    return Finished(TRANSIENT, f"pipeline error: {text}")


# encoding-name in the SDP -> (CODEC value, depayloader, parser, caps kvssink accepts)
VIDEO_CHAINS = {
    "H264": ("h264", "rtph264depay", "h264parse", "video/x-h264,stream-format=avc,alignment=au"),
    # hvc1 keeps the parameter sets in the codec private data, as MKV and KVS players expect.
    "H265": ("h265", "rtph265depay", "h265parse", "video/x-h265,stream-format=hvc1,alignment=au"),
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
        # frame-timecodes + absolute-fragment-times: wall-clock fragment times (producer start + PTS),
        # which is also why every restart begins a fresh, correctly timed session.
        # stream-name, aws-region and credential-path are set as properties (set_sink_properties).
        return (
            "kvssink name=sink allow-create-stream=false key-frame-fragmentation=true restart-on-error=true"
            " frame-timecodes=true absolute-fragment-times=true fragment-acks=true"
            f" storage-size={int(env['KVS_STORAGE_SIZE_MB'])} stop-stream-timeout={int(env['KVS_STOP_TIMEOUT_SECONDS'])}",
            "sink.",
            "sink.",
        )
    if sink == "fake":
        return "", "fakesink sync=false", "fakesink sync=false"
    return "matroskamux name=sink ! filesink name=file sync=false", "sink.", "sink."


def build_pipeline(video, audio):
    """The one pipeline description (no URL, password or user path in it: those are set as properties)."""
    _, depay, parse, caps = VIDEO_CHAINS[video[1]]
    sink, video_target, audio_target = sink_description()
    # The caps filter after the parser makes a camera/sink mismatch fail at negotiation, clearly.
    parts = [f"rtspsrc name=camera  {depay} name=video ! {parse} ! capsfilter name=videocaps caps={caps} ! {video_target}"]
    if audio:
        depay, parse, caps = AUDIO_CHAINS[audio[1]]
        parse_step = f" ! {parse}" if parse else ""
        parts.append(f"{depay} name=audio{parse_step} ! capsfilter name=audiocaps caps={caps} ! {audio_target}")
    if sink:
        parts.append(sink)
    return "  ".join(parts)


def kvs_log_config():
    """Writes the Producer SDK's log4cplus config and returns its path. Without one the SDK logs at DEBUG
    to stdout: every request's headers, the session token among them, and lines per frame."""
    path = f"{env['HEALTH_FILE']}.log4cplus.properties"
    with open(path, "w") as out:
        out.write(
            f"log4cplus.rootLogger={env['KVS_LOG_LEVEL']}, stderr\n"
            "log4cplus.appender.stderr=log4cplus::ConsoleAppender\n"
            "log4cplus.appender.stderr.logToStdErr=true\n"
            "log4cplus.appender.stderr.layout=log4cplus::PatternLayout\n"
            f"log4cplus.appender.stderr.layout.ConversionPattern=run-camera[{camera_name}]: kvssink %-5p %m%n\n"
        )
    return path


def set_sink_properties(pipeline):
    """Sets the sink's user-given strings; returns the MKV path for the file sink."""
    stream_name = env["STREAM_NAME"]
    if env["GATEWAY_SINK"] == "kvssink":
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
        # Runs for one frame, then removes itself until rearm(): a Python call per frame (30/s) would
        # cost more CPU than the whole depayloader, and a frame a second times a stall well enough.
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
    """Watches every track sent to the sink: the health file is fresh only while all of them flow, and a
    track silent for the stall timeout stalls the pipeline (the sink waits for all its tracks, so a lost
    audio track stops the video upload too)."""

    def __init__(self, health_file, tracks):
        self.health_file = health_file
        self.tracks = tracks
        self.written = 0.0

    def check(self, started):
        """Re-arms the probes, refreshes the health file; returns the stall message, or None."""
        for track in self.tracks:
            track.rearm()
        if all(track.first is not None for track in self.tracks):
            if not video_seen.is_set():
                video_seen.set()
                self.write_health()
            elif time.monotonic() - self.written >= 2:
                self.write_health()
        now = time.monotonic()
        for track in self.tracks:
            silent = now - (track.last or started)
            if silent > stall_timeout:
                what = f"no {track.name} frame" if track.last is None else f"{track.name} stalled"
                return f"{what} for {silent:.0f}s (camera silent or connection half-open): restarting the pipeline"
        return None

    def write_health(self):
        if not video_seen.is_set():
            return
        self.written = time.monotonic()
        first = min(track.first for track in self.tracks)
        last = min(track.last_epoch for track in self.tracks)
        temporary = f"{self.health_file}.{os.getpid()}"
        with open(temporary, "w") as out:
            out.write(f"{int(first)} {int(last)}\n")
        os.replace(temporary, self.health_file)


def run(stopping):
    endpoint = camera_endpoint(env["RTSP_URL"])
    log(f"probing {endpoint[3]}", failure=True)
    streams = probe(endpoint, stopping)
    video, audio, offered = choose_tracks(streams)
    description = build_pipeline(video, audio)
    try:
        pipeline = Gst.parse_launch(description)
    except GLib.Error as error:
        hint = f" (GST_PLUGIN_PATH={env.get('GST_PLUGIN_PATH', '')!r}: does it hold kvssink?)" if "kvssink" in error.message else ""
        raise Finished(MISSING_ELEMENT, f"cannot build the pipeline: {error.message}{hint}")
    source = pipeline.get_by_name("camera")
    configure_source(source, endpoint)
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
    log(f"camera offers {offered}; streaming {video[1]}{' + ' + audio[1] + ' audio' if audio else ''}"
        f"{' to ' + file_path if file_path else ''}")
    log(f"pipeline: {description}")
    tracks = [TrackFlow("video", pipeline.get_by_name("videocaps").get_static_pad("src"))]
    if audio:
        tracks.append(TrackFlow("audio", pipeline.get_by_name("audiocaps").get_static_pad("src")))
    flow = MediaFlow(env["HEALTH_FILE"], tracks)
    bus = pipeline.get_bus()
    stop_timeout = int(env["KVS_STOP_TIMEOUT_SECONDS"]) + 15
    try:
        started_ok = start(pipeline, stopping)
        if not started_ok:
            message = bus.pop_filtered(Gst.MessageType.ERROR)
            exit_if_stuck(stop_timeout, TRANSIENT, "stopping the pipeline")
            raise failure_for(*message.parse_error()) if message else Finished(TRANSIENT, "the pipeline did not start")
        started = time.monotonic()
        outcome = None
        while outcome is None:
            message = wait_for(bus, 1, stopping)
            stalled = flow.check(started)
            if stopping.is_set():
                outcome = Finished(STOPPED, "stopped")
            elif message is not None and message.type == Gst.MessageType.ERROR:
                outcome = failure_for(*message.parse_error())
            elif message is not None:
                outcome = Finished(TRANSIENT, "the camera ended the stream")
            elif stalled:
                outcome = Finished(STALL, stalled)
        exit_if_stuck(stop_timeout, outcome.code, "stopping the pipeline")
        finish(pipeline, bus)
        flow.write_health()
        raise outcome
    finally:
        pipeline.set_state(Gst.State.NULL)


def start(pipeline, stopping):
    """Sets the pipeline PLAYING. kvssink calls KVS inside that state change (DescribeStream and endpoints;
    seen here: up to 4 tries of about 40 s each while KVS is unreachable, then it fails), so it runs in a
    thread and SIGTERM is still obeyed meanwhile."""
    result = []
    starter = threading.Thread(target=lambda: result.append(pipeline.set_state(Gst.State.PLAYING)), daemon=True)
    stuck = exit_if_stuck(240, TRANSIENT, "starting the pipeline (kvssink reaching KVS)")
    starter.start()
    while starter.is_alive():
        starter.join(0.5)
        if stopping.is_set():
            log("stopped while the pipeline was starting")
            os._exit(STOPPED)  # nothing has been sent yet, so there is nothing to flush
    stuck.cancel()
    return result[0] != Gst.StateChangeReturn.FAILURE


def finish(pipeline, bus):
    """Ends the stream at the sink's inputs so the MKV file is closed and kvssink sends what it holds.
    From a thread: when a track is stuck the sink holds its stream lock and the EOS push blocks until
    the NULL state change that follows releases it."""

    def push_eos():
        for name in ("videocaps", "audiocaps"):
            caps_filter = pipeline.get_by_name(name)
            if caps_filter:
                caps_filter.get_static_pad("src").push_event(Gst.Event.new_eos())

    pusher = threading.Thread(target=push_eos, daemon=True)
    pusher.start()
    pusher.join(3)
    if not pusher.is_alive():
        bus.timed_pop_filtered(3 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)


def main():
    Gst.init(None)
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    try:
        run(stopping)
    except Finished as finished:
        if finished.code != STOPPED:
            log(str(finished), failure=finished.code in (TRANSIENT, NOT_FOUND))
        # os._exit: no interpreter teardown racing GStreamer's threads; the pipeline is already stopped.
        os._exit(finished.code)


main()
