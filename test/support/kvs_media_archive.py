"""What the KVS API stand-in (kvs-api-stand-in.py) received, kept as KVS keeps it, and served back as KVS serves it.

Every PutMedia upload is written as it arrives to a file of its own; each fragment (cluster) is indexed with its
byte range, producer and server timestamps, length and size. From these the stand-in answers:
  - ListFragments: the fragments whose producer or server timestamp is in a range (KVS guarantees no order;
    neither does this: newest first);
  - GetClip: a real MP4 of the fragments in a range, at most 200 fragments or 100 MB as KVS, made by GStreamer
    from the received Matroska (matroskademux ! parser ! mp4mux), never invented;
  - HLS (fragmented MP4): an init segment and one media segment per fragment, each fragment remuxed by GStreamer
    (mp4mux, fragmented) and placed on the session's timeline by its producer timestamp (the tfdt boxes).
GStreamer is loaded (python3-gi) only when media is served, so the stand-in alone stays standard-library Python.
"""

import base64
import json
import os
import struct
import tempfile
import threading

MAX_CLIP_FRAGMENTS = 200  # GetClip returns at most 200 fragments ...
MAX_CLIP_BYTES = 100 * 1024 * 1024  # ... or 100 MB, from the start of the range
UNKNOWN_SIZE = b"\x01\xff\xff\xff\xff\xff\xff\xff"
EBML_HEADER, SEGMENT, CLUSTER, CLUSTER_TIMECODE = 0x1A45DFA3, 0x18538067, 0x1F43B675, 0xE7
VIDEO_PARSERS = {"V_MPEG4/ISO/AVC": "h264parse", "V_MPEGH/ISO/HEVC": "h265parse"}


class UnsupportedMedia(Exception):
    pass


def read_vint(data, pos, keep_marker):
    first = data[pos]
    length = 1
    while length <= 8 and not first & (0x80 >> (length - 1)):
        length += 1
    value = first if keep_marker else first & (0xFF >> length)
    for byte in data[pos + 1:pos + length]:
        value = (value << 8) | byte
    return value, length


def element(identity, payload):
    """An EBML element with an 8-byte size."""
    size = struct.pack(">Q", len(payload) | (1 << 56))
    return identity.to_bytes((identity.bit_length() + 7) // 8, "big") + size + payload


class Fragment:
    __slots__ = ("number", "upload", "start", "end", "header", "producer_ms", "server_ms", "length_ms", "frames", "tracks")

    def document(self):
        return {
            "FragmentNumber": self.number,
            "FragmentSizeInBytes": self.end - self.start,
            "ProducerTimestamp": self.producer_ms / 1000,
            "ServerTimestamp": self.server_ms / 1000,
            "FragmentLengthInMilliseconds": self.length_ms,
        }


class Upload:
    """One PutMedia connection's bytes, on disk as they arrive."""

    def __init__(self, path):
        self.path = path
        self.file = open(path, "wb")
        self.lock = threading.Lock()

    def write(self, data):
        with self.lock:
            self.file.write(data)
            self.file.flush()

    def read(self, start, end):
        with open(self.path, "rb") as file:
            file.seek(start)
            return file.read(end - start)


class MediaArchive:
    def __init__(self, folder):
        self.folder = folder
        self.lock = threading.Lock()
        self.fragments = {}  # stream -> [Fragment], in arrival order
        self.by_number = {}
        self.uploads = 0

    def new_upload(self, stream):
        with self.lock:
            self.uploads += 1
            number = self.uploads
        os.makedirs(os.path.join(self.folder, stream), exist_ok=True)
        return Upload(os.path.join(self.folder, stream, f"upload-{number:05d}.mkv"))

    def add(self, stream, fragment):
        with self.lock:
            fragments = self.fragments.setdefault(stream, [])
            fragments.append(fragment)
            self.by_number[fragment.number] = (stream, fragment)

    def stream_fragments(self, stream):
        with self.lock:
            return list(self.fragments.get(stream, []))

    def select(self, stream, selector_type, start_ms, end_ms):
        """The fragments whose timestamp (producer or server) is in [start, end], oldest first."""
        key = (lambda f: f.server_ms) if selector_type == "SERVER_TIMESTAMP" else (lambda f: f.producer_ms)
        return sorted((f for f in self.stream_fragments(stream) if start_ms <= key(f) <= end_ms), key=key)

    def fragment(self, number):
        with self.lock:
            return self.by_number.get(number)

    # --- Matroska, rebuilt from what was received ------------------------------------------------------------

    def matroska(self, fragments, base_ms):
        """One Matroska file of `fragments` (a header from the first one's upload), each cluster's timecode
        moved to its producer timestamp minus `base_ms`."""
        first = fragments[0]
        parts = [segment_header(first.upload.read(*first.header))]
        for fragment in fragments:
            parts.append(rebased_cluster(fragment.upload.read(fragment.start, fragment.end), fragment.producer_ms - base_ms))
        return b"".join(parts)

    def clip(self, fragments):
        """A traditional MP4 of the fragments (their first 200, or 100 MB)."""
        chosen, size = [], 0
        for fragment in fragments[:MAX_CLIP_FRAGMENTS]:
            size += fragment.end - fragment.start
            if chosen and size > MAX_CLIP_BYTES:
                break
            chosen.append(fragment)
        return remux(self.matroska(chosen, chosen[0].producer_ms), chosen[0].tracks, fragmented=False)

    def hls_segment(self, fragment, base_ms):
        """(init segment, media segment) of one fragment on a timeline that starts at `base_ms`."""
        mp4 = remux(self.matroska([fragment], fragment.producer_ms), fragment.tracks, fragmented=True)
        boxes = list(top_boxes(mp4))
        init = b"".join(mp4[start:end] for kind, start, end in boxes if kind in (b"ftyp", b"moov"))
        timescales = track_timescales(mp4, boxes)
        offset_ms = fragment.producer_ms - base_ms
        media = b"".join(
            shifted_moof(mp4[start:end], timescales, offset_ms) if kind == b"moof" else mp4[start:end]
            for kind, start, end in boxes
            if kind in (b"moof", b"mdat")
        )
        return init, media


def segment_header(header):
    """The stored header (EBML header, Segment, Info, Tracks) with the Segment's size made unknown."""
    identity, length = read_vint(header, 0, True)
    size, size_length = read_vint(header, length, False)
    segment_at = length + size_length + size
    identity, length = read_vint(header, segment_at, True)
    if identity != SEGMENT:
        raise ValueError("no Segment after the EBML header")
    _, size_length = read_vint(header, segment_at + length, False)
    return header[: segment_at + length] + UNKNOWN_SIZE + header[segment_at + length + size_length:]


def rebased_cluster(cluster, timecode):
    """A cluster with an unknown size and its Timecode set to `timecode`; its blocks are copied as they are."""
    identity, length = read_vint(cluster, 0, True)
    if identity != CLUSTER:
        raise ValueError("not a cluster")
    _, size_length = read_vint(cluster, length, False)
    pos = length + size_length
    children = []
    while pos < len(cluster):
        child, child_length = read_vint(cluster, pos, True)
        size, size_length = read_vint(cluster, pos + child_length, False)
        end = pos + child_length + size_length + size
        if child != CLUSTER_TIMECODE:
            children.append(cluster[pos:end])
        pos = end
    timecode_element = bytes([CLUSTER_TIMECODE, 0x88]) + struct.pack(">Q", max(0, int(timecode)))
    return struct.pack(">I", CLUSTER) + UNKNOWN_SIZE + timecode_element + b"".join(children)


_gst = None
_gst_lock = threading.Lock()


def gstreamer():
    global _gst
    with _gst_lock:
        if _gst is None:
            import gi

            gi.require_version("Gst", "1.0")
            from gi.repository import Gst

            Gst.init(None)
            _gst = Gst
    return _gst


def remux(matroska, tracks, fragmented):
    """MP4 of a Matroska file, by GStreamer: matroskademux ! parser ! mp4mux (fragmented for HLS)."""
    video = next((codec for codec in tracks if codec.startswith("V_")), None)
    if video not in VIDEO_PARSERS:
        raise UnsupportedMedia(f"video {video}: KVS serves H.264 and H.265 only")
    audio = "A_AAC" in tracks
    Gst = gstreamer()
    with tempfile.TemporaryDirectory(prefix="kvs-remux-") as folder:
        source, target = os.path.join(folder, "in.mkv"), os.path.join(folder, "out.mp4")
        with open(source, "wb") as out:
            out.write(matroska)
        mux = "mp4mux name=mux " + ("fragment-duration=100000 streamable=true" if fragmented else "faststart=true")
        description = (
            f"filesrc location={source} ! matroskademux name=demux  demux.video_0 ! queue ! {VIDEO_PARSERS[video]} ! {mux}"
            f" ! filesink location={target}" + ("  demux.audio_0 ! queue ! aacparse ! mux." if audio else "")
        )
        pipeline = Gst.parse_launch(description)
        pipeline.set_state(Gst.State.PLAYING)
        message = pipeline.get_bus().timed_pop_filtered(60 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
        pipeline.set_state(Gst.State.NULL)
        if message is None or message.type == Gst.MessageType.ERROR:
            raise ValueError(f"remux failed: {message.parse_error()[0].message if message else 'timed out'}")
        with open(target, "rb") as result:
            return result.read()


# --- MP4 boxes ------------------------------------------------------------------------------------------------


def boxes(data, start=0, end=None):
    """(type, start, end) of the boxes in data[start:end]."""
    end = len(data) if end is None else end
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if size == 1:
            size = struct.unpack(">Q", data[pos + 8:pos + 16])[0]
        elif size == 0:
            size = end - pos
        yield kind, pos, pos + size
        pos += size


def top_boxes(data):
    return boxes(data)


def child(data, parent, kind):
    _, start, end = parent
    for found in boxes(data, start + 8, end):
        if found[0] == kind:
            return found
    return None


def track_timescales(mp4, top):
    """track_ID -> the timescale of its media (mdhd)."""
    moov = next(box for box in top if box[0] == b"moov")
    timescales = {}
    for trak in boxes(mp4, moov[1] + 8, moov[2]):
        if trak[0] != b"trak":
            continue
        tkhd = child(mp4, trak, b"tkhd")
        version = mp4[tkhd[1] + 8]
        track_id = struct.unpack(">I", mp4[tkhd[1] + (20 if version == 0 else 28):][:4])[0]
        mdhd = child(mp4, child(mp4, trak, b"mdia"), b"mdhd")
        version = mp4[mdhd[1] + 8]
        timescales[track_id] = struct.unpack(">I", mp4[mdhd[1] + (20 if version == 0 else 28):][:4])[0]
    return timescales


def shifted_moof(moof, timescales, offset_ms):
    """The moof with each track's decode time (tfdt) moved by `offset_ms`."""
    moof = bytearray(moof)
    for traf in boxes(moof, 8):
        if traf[0] != b"traf":
            continue
        tfhd = child(moof, traf, b"tfhd")
        tfdt = child(moof, traf, b"tfdt")
        track_id = struct.unpack(">I", moof[tfhd[1] + 12:tfhd[1] + 16])[0]
        shift = offset_ms * timescales[track_id] // 1000
        if moof[tfdt[1] + 8] == 1:
            at = tfdt[1] + 12
            struct.pack_into(">Q", moof, at, struct.unpack(">Q", moof[at:at + 8])[0] + shift)
        else:
            at = tfdt[1] + 12
            value = struct.unpack(">I", moof[at:at + 4])[0] + shift
            if value >= 1 << 32:
                raise ValueError("an HLS session this long needs 64-bit decode times")
            struct.pack_into(">I", moof, at, value)
    return bytes(moof)


# --- the archived-media API ------------------------------------------------------------------------------------


class ApiError(Exception):
    def __init__(self, status, error_type, message):
        super().__init__(message)
        self.status = status
        self.error_type = error_type


NO_FRAGMENTS = "No fragments found in the stream for the streaming request."
MAX_RANGE_MS = 24 * 3600 * 1000
LIVE_WINDOW_MS = 30_000  # LIVE needs a fragment in the last 30 s
SEGMENT_CACHE = 400


def time_range(selector, required):
    """(type, start ms, end ms) of a FragmentSelector / ClipFragmentSelector / HLSFragmentSelector."""
    selector = selector or {}
    kind = selector.get("FragmentSelectorType", "SERVER_TIMESTAMP")
    if kind not in ("PRODUCER_TIMESTAMP", "SERVER_TIMESTAMP"):
        raise ApiError(400, "InvalidArgumentException", f"FragmentSelectorType {kind!r}")
    span = selector.get("TimestampRange")
    if span is None:
        if required:
            raise ApiError(400, "InvalidArgumentException", "TimestampRange is required")
        return kind, None, None
    start, end = span.get("StartTimestamp"), span.get("EndTimestamp")
    if start is None or end is None or end <= start:
        raise ApiError(400, "InvalidArgumentException", "EndTimestamp must be later than StartTimestamp")
    if (end - start) * 1000 > MAX_RANGE_MS:
        raise ApiError(400, "InvalidArgumentException", "The time range exceeds the maximum of 24 hours")
    return kind, round(start * 1000), round(end * 1000)


class Session:
    __slots__ = ("token", "stream", "mode", "kind", "start_ms", "end_ms", "expires", "display", "discontinuity", "maximum", "base_ms")


class ArchivedMedia:
    """ListFragments, GetClip and HLS (fragmented MP4) over a MediaArchive."""

    def __init__(self, archive, clock):
        self.archive = archive
        self.clock = clock
        self.lock = threading.Lock()
        self.sessions = {}
        self.segments = {}  # (fragment number, base ms) -> (init, media), newest last

    def list_fragments(self, stream, body):
        offset, selector = 0, body.get("FragmentSelector")
        if body.get("NextToken"):
            # The token carries the query it continues, as KVS's does: a next page needs nothing else.
            offset, selector = json.loads(base64.b64decode(body["NextToken"]))
        kind, start, end = time_range(selector, required=False)
        fragments = self.archive.stream_fragments(stream) if start is None else self.archive.select(stream, kind, start, end)
        # KVS promises no order: newest first here, so that a client that forgets to sort shows it.
        fragments = fragments[::-1]
        maximum = max(1, min(int(body.get("MaxResults") or 100), 1000))
        page = fragments[offset:offset + maximum]
        document = {"Fragments": [fragment.document() for fragment in page]}
        if offset + maximum < len(fragments):
            document["NextToken"] = base64.b64encode(json.dumps([offset + maximum, selector]).encode()).decode()
        return document

    def get_clip(self, stream, body):
        kind, start, end = time_range(body.get("ClipFragmentSelector"), required=True)
        fragments = self.archive.select(stream, kind, start, end)
        if not fragments:
            raise ApiError(404, "ResourceNotFoundException", "No fragments found in the stream for the clip request.")
        try:
            return self.archive.clip(fragments)
        except UnsupportedMedia as error:
            raise ApiError(400, "UnsupportedStreamMediaTypeException", str(error))

    def new_session(self, stream, body, base_url):
        mode = body.get("PlaybackMode", "LIVE")
        if mode not in ("LIVE", "ON_DEMAND"):
            raise ApiError(400, "InvalidArgumentException", f"the stand-in serves LIVE and ON_DEMAND, not {mode}")
        if body.get("ContainerFormat", "FRAGMENTED_MP4") != "FRAGMENTED_MP4":
            raise ApiError(400, "InvalidArgumentException", "the stand-in serves FRAGMENTED_MP4 only")
        kind, start, end = time_range(body.get("HLSFragmentSelector"), required=mode == "ON_DEMAND")
        now = self.clock() * 1000
        if mode == "LIVE":
            recent = self.archive.select(stream, "SERVER_TIMESTAMP", now - LIVE_WINDOW_MS, now)
            if not recent:
                raise ApiError(404, "ResourceNotFoundException", NO_FRAGMENTS)
            base = min(fragment.producer_ms for fragment in recent)
        else:
            found = self.archive.select(stream, kind, start, end)
            if not found:
                raise ApiError(404, "ResourceNotFoundException", NO_FRAGMENTS)
            base = found[0].producer_ms
        expires = int(body.get("Expires") or 300)
        if not 300 <= expires <= 43200:
            raise ApiError(400, "InvalidArgumentException", "Expires must be 300 to 43200 seconds")
        session = Session()
        session.token = os.urandom(16).hex()
        session.stream, session.mode, session.kind = stream, mode, kind
        session.start_ms, session.end_ms, session.base_ms = start, end, base
        session.expires = self.clock() + expires
        session.display = body.get("DisplayFragmentTimestamp", "NEVER") == "ALWAYS"
        default_discontinuity = "NEVER" if kind == "PRODUCER_TIMESTAMP" else "ALWAYS"
        session.discontinuity = body.get("DiscontinuityMode", default_discontinuity)
        session.maximum = int(body.get("MaxMediaPlaylistFragmentResults") or (5 if mode == "LIVE" else 1000))
        with self.lock:
            self.sessions[session.token] = session
        return f"{base_url}/hls/v1/getHLSMasterPlaylist.m3u8?SessionToken={session.token}"

    def expire_sessions(self, streams=None):
        with self.lock:
            for session in self.sessions.values():
                if streams is None or session.stream in streams:
                    session.expires = 0

    def hls(self, resource, query):
        """(content type, body) of an HLS resource, or ApiError."""
        with self.lock:
            session = self.sessions.get(query.get("SessionToken", ""))
        if session is None or self.clock() > session.expires:
            raise ApiError(403, "NotAuthorizedException", "The session token has expired or is not valid.")
        token = f"SessionToken={session.token}"
        if resource == "getHLSMasterPlaylist.m3u8":
            lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
            lines += ["#EXT-X-STREAM-INF:BANDWIDTH=2000000", f"getHLSMediaPlaylist.m3u8?{token}"]
            return "application/x-mpegURL", "\n".join(lines) + "\n"
        fragments = self.session_fragments(session)
        if resource == "getHLSMediaPlaylist.m3u8":
            return "application/x-mpegURL", self.media_playlist(session, fragments, token)
        wanted = query.get("FragmentNumber")
        if resource == "getMP4InitFragment.mp4":
            fragment = next((f for f in fragments if f.number == wanted), fragments[0] if fragments else None)
            return "video/mp4", self.segment(fragment, session)[0]
        if resource == "getMP4MediaFragment.mp4":
            fragment = next((f for f in fragments if f.number == wanted), None)
            return "video/mp4", self.segment(fragment, session)[1]
        raise ApiError(404, "ResourceNotFoundException", f"no HLS resource {resource}")

    def session_fragments(self, session):
        if session.mode == "LIVE":
            return sorted(
                (f for f in self.archive.stream_fragments(session.stream) if f.producer_ms >= session.base_ms),
                key=lambda f: f.producer_ms,
            )
        return self.archive.select(session.stream, session.kind, session.start_ms, session.end_ms)[: session.maximum]

    def segment(self, fragment, session):
        if fragment is None:
            raise ApiError(404, "ResourceNotFoundException", "no such fragment in this session")
        key = (fragment.number, session.base_ms)
        with self.lock:
            cached = self.segments.get(key)
        if cached is None:
            try:
                cached = self.archive.hls_segment(fragment, session.base_ms)
            except UnsupportedMedia as error:
                raise ApiError(400, "UnsupportedStreamMediaTypeException", str(error))
            with self.lock:
                self.segments[key] = cached
                while len(self.segments) > SEGMENT_CACHE:
                    self.segments.pop(next(iter(self.segments)))
        return cached

    def media_playlist(self, session, fragments, token):
        breaks = [
            index > 0 and (
                session.discontinuity == "ALWAYS"
                or (session.discontinuity == "ON_DISCONTINUITY" and gap_before(fragments, index))
                or fragments[index].upload is not fragments[index - 1].upload
            )
            for index in range(len(fragments))
        ]
        first = max(0, len(fragments) - session.maximum) if session.mode == "LIVE" else 0
        shown = fragments[first:]
        longest = max((f.length_ms for f in shown), default=1000)
        lines = [
            "#EXTM3U",
            "#EXT-X-VERSION:7",
            f"#EXT-X-TARGETDURATION:{max(1, -(-longest // 1000))}",
            f"#EXT-X-MEDIA-SEQUENCE:{first}",
            f"#EXT-X-DISCONTINUITY-SEQUENCE:{sum(breaks[: first + 1])}",
        ]
        if session.mode == "ON_DEMAND":
            lines.append("#EXT-X-PLAYLIST-TYPE:VOD")
        for index, fragment in enumerate(shown, start=first):
            if index == first or breaks[index]:
                if index != first:
                    lines.append("#EXT-X-DISCONTINUITY")
                # A new upload (a camera that came back) may have new codec data: its own init segment.
                lines.append(f'#EXT-X-MAP:URI="getMP4InitFragment.mp4?FragmentNumber={fragment.number}&{token}"')
            if session.display:
                lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{iso_ms(fragment.producer_ms)}")
            lines.append(f"#EXTINF:{fragment.length_ms / 1000:.3f},")
            lines.append(f"getMP4MediaFragment.mp4?FragmentNumber={fragment.number}&{token}")
        if session.mode == "ON_DEMAND":
            lines.append("#EXT-X-ENDLIST")
        return "\n".join(lines) + "\n"


def gap_before(fragments, index):
    previous, fragment = fragments[index - 1], fragments[index]
    return fragment.producer_ms - (previous.producer_ms + previous.length_ms) > 500


def iso_ms(epoch_ms):
    import time

    seconds, millis = divmod(int(epoch_ms), 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"
