#!/usr/bin/python3
"""The project's test camera: a real RTSP server (gst-rtsp-server) on 127.0.0.1.

Serves H.264 or H.265 from a live test pattern, or loops a pre-encoded H.264 file without
re-encoding (for the benchmark), with optional AAC or G.711 A-law audio and optional basic or
digest authentication (the password from the environment, TEST_CAMERA_PASSWORD, so that it never
shows in ps: the tests check that no process's argv holds it). Like real cameras it can also offer
RTSP over UDP only, send a key frame every N seconds (long GOPs of "smart codec" modes), send B-frames
in open GOPs, and jump its RTP timestamps (and restart its GOP) mid-stream, as a camera whose clock
is reset does. Prints one JSON line on stdout once it listens:
    {"event": "ready", "port": 8554, "url": "rtsp://127.0.0.1:8554/stream"}
and then one line per RTSP client connection ({"event": "connect", "time": ...}) so tests can
count a gateway's attempts, and {"event": "jump", ...} when the timestamps jump. Stop it with SIGTERM,
stall it with SIGSTOP/SIGCONT.

Run with Debian's /usr/bin/python3 (it has python3-gi); see test/support/test-camera.ts.
"""

import argparse
import json
import os
import signal
import sys
import time

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstVideo", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer, GstVideo  # noqa: E402


def announce(event, **fields):
    print(json.dumps({"event": event, "time": time.time(), **fields}), flush=True)


def live_video(args):
    raw = (
        f"videotestsrc is-live=true pattern=ball ! "
        f"video/x-raw,width={args.width},height={args.height},framerate={args.fps}/1 ! "
    )
    gop = round(args.key_frame_seconds * args.fps)
    if args.codec == "h264":
        # tune=zerolatency turns B-frames off; scenecut=0 keeps the key frames exactly where asked.
        frames = (
            f"bframes={args.bframes} b-adapt=false option-string=\"scenecut=0{':open-gop=1' if args.open_gop else ''}\""
            if args.bframes
            else "tune=zerolatency bframes=0 option-string=scenecut=0"
        )
        return raw + (
            # The preset first: its defaults (no B-frames for ultrafast) would override what follows.
            f"x264enc name=encoder speed-preset=ultrafast {frames} key-int-max={gop} "
            # The payloader also accepts baseline, which has no B-frames: the encoder would pick it.
            f"bitrate={args.bitrate} ! video/x-h264,profile={'main' if args.bframes else 'constrained-baseline'} "
            "! h264parse ! rtph264pay name=pay0 pt=96 config-interval=1"
        )
    return raw + (
        f"x265enc name=encoder tune=zerolatency speed-preset=ultrafast key-int-max={gop} bitrate={args.bitrate} "
        "! h265parse ! rtph265pay name=pay0 pt=96 config-interval=1"
    )


class TimestampJump:
    """After `after` seconds of a session, shifts every timestamp the payloader sees by `seconds` (its RTP
    timestamps jump with them) and asks the encoder for a key frame: a camera whose clock was reset and
    whose encoder restarted its GOP, on the same RTSP session."""

    RTP_WRAP_SECONDS = 2**32 / 90000  # video RTP timestamps count 90 kHz ticks in 32 bits

    def __init__(self, after, seconds):
        self.after = after
        self.seconds = seconds
        # A jump back is a jump forward by the rest of the 32-bit RTP clock: the same timestamps on the wire,
        # and no timestamp below zero before the payloader.
        self.shift = int((seconds if seconds >= 0 else seconds + self.RTP_WRAP_SECONDS) * Gst.SECOND)

    @staticmethod
    def stop_pacing(pipeline):
        """The server's RTP sinks pace packets by their timestamps and would wait out a jump forward; a
        camera's sender does not (the live source paces the stream anyway)."""
        elements = pipeline.iterate_recurse()
        while True:
            result, element = elements.next()
            if result != Gst.IteratorResult.OK:
                return
            if element.get_factory() and element.get_factory().get_name().endswith("sink") and element.find_property("sync"):
                element.set_property("sync", False)

    def attach(self, media_element):
        payloader = media_element.get_by_name("pay0")
        state = {"start": None, "jumped": False}

        def shift(_pad, info):
            buffer = info.get_buffer()
            now = time.monotonic()
            state["start"] = state["start"] or now
            if now - state["start"] < self.after:
                return Gst.PadProbeReturn.OK
            if not state["jumped"]:
                state["jumped"] = True
                self.stop_pacing(media_element.get_parent())
                announce("jump", seconds=self.seconds)
                # An upstream event, sent into the encoder's source pad.
                media_element.get_by_name("encoder").get_static_pad("src").send_event(
                    GstVideo.video_event_new_upstream_force_key_unit(Gst.CLOCK_TIME_NONE, True, 0)
                )
            for field in ("pts", "dts"):
                value = getattr(buffer, field)
                if value != Gst.CLOCK_TIME_NONE:
                    setattr(buffer, field, value + self.shift)
            return Gst.PadProbeReturn.OK

        payloader.get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER, shift)


def audio(args):
    source = "audiotestsrc is-live=true wave=sine freq=440 volume=0.2 ! audioconvert ! audioresample"
    if args.audio == "aac":
        return f"{source} ! audio/x-raw,rate=16000,channels=1 ! voaacenc bitrate=32000 ! rtpmp4gpay name=pay1 pt=97"
    # G.711 is what many IP cameras send by default; it is 8 kHz mono by definition.
    return f"{source} ! audio/x-raw,rate=8000,channels=1 ! alawenc ! rtppcmapay name=pay1 pt=8"


class RecordedVideo:
    """A pre-encoded H.264 file held in memory and replayed in a loop at its frame rate."""

    def __init__(self, path, fps):
        self.frame_ns = Gst.SECOND // fps
        self.fps = fps
        self.frames = []
        pipeline = Gst.parse_launch(
            f'filesrc location="{path}" ! matroskademux ! h264parse ! '
            "video/x-h264,stream-format=byte-stream,alignment=au ! appsink name=frames sync=false"
        )
        sink = pipeline.get_by_name("frames")
        pipeline.set_state(Gst.State.PLAYING)
        while True:
            sample = sink.emit("pull-sample")
            if sample is None:
                break
            buffer = sample.get_buffer()
            self.frames.append(buffer.extract_dup(0, buffer.get_size()))
        pipeline.set_state(Gst.State.NULL)
        if not self.frames:
            raise SystemExit(f"test-camera: {path} holds no H.264 frames")

    def attach(self, appsrc):
        position = {"frame": 0}

        def feed(source, _length):
            index = position["frame"]
            buffer = Gst.Buffer.new_wrapped(self.frames[index % len(self.frames)])
            buffer.pts = buffer.dts = index * self.frame_ns
            buffer.duration = self.frame_ns
            position["frame"] = index + 1
            source.emit("push-buffer", buffer)

        appsrc.connect("need-data", feed)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--address", default="127.0.0.1", help="listen address (a test network's own)")
    parser.add_argument("--path", default="/stream")
    parser.add_argument("--codec", choices=["h264", "h265"], default="h264")
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--fps", type=int, default=15)
    parser.add_argument("--bitrate", type=int, default=300, help="kbit/s")
    parser.add_argument("--audio", choices=["none", "aac", "pcma"], default="none")
    parser.add_argument(
        "--metadata", action="store_true", help="add an application track, as ONVIF cameras send metadata"
    )
    parser.add_argument("--user", help="require this user; the password comes from TEST_CAMERA_PASSWORD")
    parser.add_argument("--auth", choices=["basic", "digest"], default="basic")
    parser.add_argument("--file", help="loop this pre-encoded H.264 MKV instead of encoding live")
    parser.add_argument("--transport", choices=["any", "udp", "tcp"], default="any", help="RTSP transports offered")
    parser.add_argument("--key-frame-seconds", type=float, default=1.0, help="seconds between key frames (the GOP)")
    parser.add_argument("--bframes", type=int, default=0, help="B-frames between references (H.264)")
    parser.add_argument("--open-gop", action="store_true", help="open GOPs: B-frames shown before their key frame")
    parser.add_argument("--jump-after", type=float, help="seconds into a session when the timestamps jump")
    parser.add_argument("--jump-seconds", type=float, default=3600.0, help="how far they jump (negative: back)")
    args = parser.parse_args()

    password = os.environ.get("TEST_CAMERA_PASSWORD", "")
    Gst.init(None)
    if args.file:
        recorded = RecordedVideo(args.file, args.fps)
        video = (
            "appsrc name=recorded format=time is-live=false block=true max-bytes=2000000 "
            f"caps=video/x-h264,stream-format=byte-stream,alignment=au,framerate={args.fps}/1 ! "
            "h264parse ! rtph264pay name=pay0 pt=96 config-interval=1"
        )
    else:
        recorded = None
        video = live_video(args)
    metadata = (
        "videotestsrc is-live=true pattern=black ! video/x-raw,width=16,height=16,framerate=5/1 ! "
        f"rtpgstpay name=pay{2 if args.audio != 'none' else 1} pt=107"
    )
    launch = f"( {video} {audio(args) if args.audio != 'none' else ''} {metadata if args.metadata else ''} )"

    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(launch)
    factory.set_shared(False)
    if args.transport != "any":
        # A camera that offers one transport answers a SETUP for the other with 461 Unsupported Transport.
        factory.set_protocols(
            GstRtsp.RTSPLowerTrans.UDP if args.transport == "udp" else GstRtsp.RTSPLowerTrans.TCP
        )
    if recorded:
        factory.connect(
            "media-configure",
            lambda _f, media: recorded.attach(media.get_element().get_by_name("recorded")),
        )
    if args.jump_after is not None:
        jump = TimestampJump(args.jump_after, args.jump_seconds)
        factory.connect("media-configure", lambda _f, media: jump.attach(media.get_element()))

    server = GstRtspServer.RTSPServer()
    server.set_address(args.address)
    server.set_service(str(args.port))
    if args.user is not None:
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "camera-user")
        if args.auth == "digest":
            auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
            auth.add_digest(args.user, password, token)
        else:
            auth.add_basic(GstRtspServer.RTSPAuth.make_basic(args.user, password), token)
        server.set_auth(auth)
        permissions = GstRtspServer.RTSPPermissions()
        permissions.add_permission_for_role("camera-user", GstRtspServer.RTSP_PERM_MEDIA_FACTORY_ACCESS, True)
        permissions.add_permission_for_role(
            "camera-user", GstRtspServer.RTSP_PERM_MEDIA_FACTORY_CONSTRUCT, True
        )
        factory.set_permissions(permissions)
    server.get_mount_points().add_factory(args.path, factory)
    server.connect("client-connected", lambda _s, _c: announce("connect"))

    loop = GLib.MainLoop()
    if server.attach(None) == 0:
        raise SystemExit(f"test-camera: cannot listen on 127.0.0.1:{args.port}")
    # Expire the sessions of clients that vanished without TEARDOWN, as a real camera does.
    GLib.timeout_add_seconds(2, lambda: server.get_session_pool().cleanup() >= 0)
    for signum in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signum, loop.quit)
    port = server.get_bound_port()
    announce("ready", port=port, url=f"rtsp://127.0.0.1:{port}{args.path}", codec=args.codec)
    loop.run()
    sys.exit(0)


if __name__ == "__main__":
    main()
