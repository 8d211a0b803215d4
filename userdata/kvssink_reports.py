"""kvssink_reports.py: what kvssink says about KVS, and what the gateway does about each thing it says.

camera-pipeline.py feeds it kvssink's log lines (read through a pipe: kvssink reports most service
errors only there), its stream-error signal (a status code), its fragment-ack signal (one call per
acknowledgement event) and the key frames seen on the video pad. It answers with the lines to log, whether
KVS is accepting the camera's video (the health file), and when a run must end and how. No GStreamer here:
the unit tests (test/userdata/test_kvssink_reports.py) drive every decision with the real codes.

Codes, from the Producer SDK v3.5.0 / PIC v1.2.0 headers and checked against the real kvssink:
  - a KVS error acknowledgement (ErrorId 4002, 4004...) reaches kvssink's stream-error callback as
    0x52000000 + an offset (4002 -> 0x5200005e). kvssink logs it ("Reported stream error. Errored
    timecode: ... Status: 0x5200005e") but emits the stream-error signal only for errors the SDK does not
    retry by itself, which these are not: the log line is the report that always comes;
  - 0x32000002 (invalid frame timestamp) comes from the SDK's MKV packager when a frame is stamped before
    its fragment's key frame (B-frames in an open GOP): kvssink drops the frame and posts a GStreamer
    warning ("put frame error occurred. Status: 0x32000002");
  - HTTP 403 and 404 appear in the WARN lines of failed requests ("HTTP Error 403 : Response: ...",
    followed by the request's headers, which are never logged here).
"""

import re
import time
from collections import namedtuple

FRAGMENT_TOO_LONG = 0x5200005E  # KVS 4002: a fragment longer than 10 s
TIMECODE_NOT_MONOTONIC = 0x52000060  # KVS 4004: a fragment timecode lower than the previous one
INVALID_PRODUCER_TIMESTAMP = 0x52000063  # KVS 4007
INVALID_FRAME_TIMESTAMP = 0x32000002  # the SDK's MKV packager: a frame before its fragment's start
NOT_AUTHORIZED = 0x52000010  # HTTP 401/403 from a KVS API call
STREAM_NOT_FOUND = 0x52000017  # HTTP 404 (ResourceNotFoundException)
STREAM_NOT_ACTIVE = 0x52000064  # KVS 4008
STREAM_DELETED = 0x5200006C  # KVS 4507
KMS_ERRORS = range(0x52000065, 0x5200006C)  # KVS 4500-4506: the stream's KMS key refused or unusable
CREDENTIALS_EXPIRED = 0x15000017  # the credential file's expiration has passed

# KVS ErrorId (PutMedia acknowledgement) -> the status kvssink reports for it.
ACK_ERROR_STATUS = {
    4002: FRAGMENT_TOO_LONG,
    4004: TIMECODE_NOT_MONOTONIC,
    4007: INVALID_PRODUCER_TIMESTAMP,
    4008: STREAM_NOT_ACTIVE,
    **{4500 + offset: KMS_ERRORS[offset] for offset in range(len(KMS_ERRORS))},
    4507: STREAM_DELETED,
}

# What a report means for the camera. action:
#   continue       kvssink carries on by itself; the gateway logs it and keeps the run
#   fresh-session  end the run and start again at once: a new kvssink begins a new upload session
#   stream-missing end the run; the supervisor waits long (a configuration error, not a crash loop)
#   credentials    re-read the credential file at once: a new kvssink when the file has changed
KEY_FRAMES = "fragment-too-long"
TIMESTAMPS = "timestamps"
REJECTED = "credentials-rejected"
MISSING_STREAM = "stream-missing"
KMS = "kms-key"


# state: what `kvs-gateway status` shows while it lasts (camera_status.STATES). message format fields: {stream}
# {region} {code} {interval} {file_advice}. (namedtuple, not dataclass: the dataclasses module alone costs 1.4 MB
# of memory per camera.)
Verdict = namedtuple("Verdict", "problem action unhealthy state message")


VERDICTS = {
    KEY_FRAMES: Verdict(
        KEY_FRAMES,
        "continue",
        True,
        "kvs-refusing",
        "KVS refuses this camera's fragments (error 4002, fragment over 10 s): the camera sends a key frame every "
        "{interval}; set its I-frame interval (GOP) to 1-4 s (turn off 'smart codec' / dynamic GOP modes)",
    ),
    TIMESTAMPS: Verdict(
        TIMESTAMPS,
        "fresh-session",
        False,
        "kvs-refusing",
        "KVS refuses this camera's timestamps ({code}): restarting the upload with a fresh session",
    ),
    REJECTED: Verdict(
        REJECTED,
        "credentials",
        True,
        "kvs-refusing",
        "KVS refused the credentials (HTTP 403): {file_advice}",
    ),
    MISSING_STREAM: Verdict(
        MISSING_STREAM,
        "stream-missing",
        True,
        "stream-missing",
        "KVS stream {stream} does not exist in {region} (or is being deleted): deploy the gateway's streams "
        "(`npx cdk deploy StreamStack`, which `cdk deploy Ec2GatewayStack`/`FargateGatewayStack` includes), or fix "
        "STREAM_NAME/AWS_REGION; the camera waits and tries again",
    ),
    KMS: Verdict(
        KMS,
        "continue",
        True,
        "kvs-refusing",
        "KVS cannot use the stream's KMS key ({code}): the gateway's role needs kms:GenerateDataKey on the key, "
        "and the key must be enabled",
    ),
}

STATUS_PROBLEMS = {
    FRAGMENT_TOO_LONG: KEY_FRAMES,
    TIMECODE_NOT_MONOTONIC: TIMESTAMPS,
    INVALID_PRODUCER_TIMESTAMP: TIMESTAMPS,
    INVALID_FRAME_TIMESTAMP: TIMESTAMPS,
    NOT_AUTHORIZED: REJECTED,
    STREAM_NOT_FOUND: MISSING_STREAM,
    STREAM_NOT_ACTIVE: MISSING_STREAM,
    STREAM_DELETED: MISSING_STREAM,
    **{status: KMS for status in KMS_ERRORS},
}
HTTP_PROBLEMS = {401: REJECTED, 403: REJECTED, 404: MISSING_STREAM}


def verdict_for_status(code):
    """The verdict for a status kvssink reports, or a KVS ErrorId (4002); None when it is not one the gateway
    acts on (kvssink retries those by itself; they are logged, rate-limited)."""
    problem = STATUS_PROBLEMS.get(ACK_ERROR_STATUS.get(code, code))
    return VERDICTS[problem] if problem else None


def verdict_for_http(status):
    problem = HTTP_PROBLEMS.get(status)
    return VERDICTS[problem] if problem else None


# ---- kvssink's log lines ----------------------------------------------------------------------------

# camera-pipeline.py's log4cplus layout: "<MARK><level> <message>"; continuation lines of a multi-line
# message (the request URL and headers of a failed request) lack the mark.
KVSSINK_MARK = "kvssink "


# kind: status | http | unreachable | credentials-missing | credentials-expired
Report = namedtuple("Report", "kind code detail", defaults=(0, ""))


STATUS_LINE = re.compile(r"(?:Reported stream error\. Errored timecode: \d+ Status:|Put frame for \S+ failed with) (0x[0-9a-fA-F]+)")
HTTP_LINE = re.compile(r"HTTP Error (\d{3}) : Response: (.*)")
SERVICE_RESULT_LINE = re.compile(r"has exited without triggering end-of-stream\. Service call result: (40[134])\b")
CURL_FAILED_LINE = re.compile(r"curl perform failed for url (\S+) with result ([^:]+)")


def parse_line(text):
    """What one kvssink log message reports, or None. The text is one line: the message's first line."""
    match = STATUS_LINE.search(text)
    if match:
        return Report("status", int(match.group(1), 16))
    match = HTTP_LINE.search(text)
    if match:
        return Report("http", int(match.group(1)), match.group(2)[:200])
    match = SERVICE_RESULT_LINE.search(text)
    if match:
        return Report("http", int(match.group(1)))
    match = CURL_FAILED_LINE.search(text)
    if match:
        endpoint = re.sub(r"^(https?://[^/]+).*", r"\1", match.group(1))
        return Report("unreachable", 0, f"{endpoint}: {match.group(2)}")
    if "Could not find any AWS credentials" in text:
        return Report("credentials-missing")
    if "Unable to create Rotating Credential provider" in text and "0x15000017" in text:
        return Report("credentials-expired", CREDENTIALS_EXPIRED)
    return None


# ---- redaction and rate limits ----------------------------------------------------------------------

SECRET_PATTERNS = [
    # A SigV4 Authorization header, its parts, a session token, access key ids
    (re.compile(r"(Credential=)[^,\s]+", re.I), r"\1***"),
    (re.compile(r"(Signature=)[0-9a-fA-F]+", re.I), r"\1***"),
    (re.compile(r"(x-amz-security-token[:=]\s*)\S+", re.I), r"\1***"),
    (re.compile(r"(Authorization[:=]\s*)\S.*", re.I), r"\1***"),
    (re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b"), r"\1***"),
    # Long base64-like runs (secret keys, tokens) that no other rule caught
    (re.compile(r"[A-Za-z0-9+/=]{40,}"), "***"),
]
# The lines of a request dump (after a failed request's "HTTP Error ..." line): never logged. Header lines
# are indented "name: value" (or a name cut short); an indented line of code in a traceback is not.
REQUEST_DUMP_LINE = re.compile(r"^(Request URL:|Request Headers:|\s+[\w-]+(:|\s*$))")


# kvssink messages that say nothing to act on, at every start or stop: curl_easy_pause refusing a handle that
# is not transferring yet (libcurl >= 7.68), the stream's retention differing from kvssink's own default (it
# is only used to create streams, which the gateway never does), the end of the stream reaching kvssink.
BENIGN = (
    "Failed to un-pause curl with error: 43",
    "Retention period returned from the DescribeStream call doesn't match",
    "GStreamer buffer is invalid for",
)


def redact(text):
    for pattern, replacement in SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def shape(text):
    """Lines that differ only in numbers (handles, timecodes, addresses) count as similar."""
    return re.sub(r"0x[0-9a-fA-F]+|\d+", "#", text)[:160]


class LogThrottle:
    """Bounds how much any flood of similar lines can write: each kind of line (its shape) is shown at most
    once every `repeat_seconds`, at most `burst` lines at once and `per_minute` lines a minute after that;
    what is held back is counted and summed up in one line a minute."""

    def __init__(self, burst=8, per_minute=3, repeat_seconds=600, clock=time.monotonic):
        self.burst = burst
        self.per_minute = per_minute
        self.repeat_seconds = repeat_seconds
        self.clock = clock
        self.tokens = float(burst)
        self.refilled = clock()
        self.shown = {}  # shape -> when last shown
        self.held = 0
        self.held_shapes = {}
        self.summarized = clock()

    def offer(self, text):
        """Returns the lines to write now for `text` (none, it, and/or a summary)."""
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.refilled) * self.per_minute / 60)
        self.refilled = now
        key = shape(text)
        last = self.shown.get(key)
        if (last is None or now - last >= self.repeat_seconds) and self.tokens >= 1:
            self.tokens -= 1
            self.shown[key] = now
            return [text] + self.summary(now)
        return self.hold(text, now)

    def hold(self, text, now=None):
        """Counts a line that is not shown; returns the summary when one is due."""
        now = self.clock() if now is None else now
        key = shape(text)
        self.held += 1
        self.held_shapes[key] = self.held_shapes.get(key, 0) + 1
        return self.summary(now)

    def summary(self, now=None, final=False):
        """One line for what was held back, once a minute (or at the end, when there is more than a line or
        two to tell)."""
        now = self.clock() if now is None else now
        if not self.held or (not final and now - self.summarized < 60) or (final and self.held < 3):
            return []
        common, count = max(self.held_shapes.items(), key=lambda item: item[1])
        seconds = max(1, round(now - self.summarized))
        line = (
            f"{self.held} similar {'line' if self.held == 1 else 'lines'} in the last {seconds}s not shown "
            f"(most often, {count}x: {common.strip()[:100]})"
        )
        self.held = 0
        self.held_shapes = {}
        self.summarized = now
        return [line]


class KvssinkLog:
    """kvssink's log (and anything else the pipeline process prints) as it arrives line by line through the
    pipe: the request dump that follows a failed request's first line (URL and headers, the access key id and
    signature among them) is dropped, secrets are redacted, floods are rate-limited, and each kvssink message
    is parsed for a report."""

    def __init__(self, throttle=None):
        self.throttle = throttle or LogThrottle()
        self.in_traceback = False

    def feed(self, raw):
        """Returns (lines to write, report or None) for one raw line."""
        text = raw.rstrip("\n")
        # A Python traceback is the program's own failure: all of it is shown, never rate-limited.
        if text.startswith("Traceback (most recent call last):"):
            self.in_traceback = True
            return [redact(text)], None
        if self.in_traceback:
            self.in_traceback = text.startswith((" ", "\t"))
            return [redact(text)], None
        if not text.strip() or REQUEST_DUMP_LINE.match(text):
            return [], None
        if text.startswith(KVSSINK_MARK):
            message = " ".join(text[len(KVSSINK_MARK):].split())
            if any(benign in message for benign in BENIGN):
                return [], None
            report = parse_line(message)
            if said_better(report):
                # The gateway's own line about it names the cause and the fix; this one is only counted.
                return self.throttle.hold("kvssink " + message), report
            return self.throttle.offer(redact("kvssink " + message)), report
        # Other output of the process: GStreamer's own warnings, kvssink's "Stream is ready" on stdout.
        return self.throttle.offer(redact(text)), None

    def close(self):
        return self.throttle.summary(final=True)


def said_better(report):
    """Reports that KvsWatch turns into a line of its own: a missing stream, refused fragments or timestamps,
    an unreachable KVS. A 403's own line stays: its response body may tell why the key was refused."""
    if report is None:
        return False
    if report.kind == "unreachable":
        return True
    if report.kind == "status":
        return verdict_for_status(report.code) is not None
    return report.kind == "http" and report.code == 404


# ---- key frames -------------------------------------------------------------------------------------

KVS_MAX_FRAGMENT_SECONDS = 10


class KeyFrameInterval:
    """The camera's key-frame interval as measured on the video pad, and the warning before KVS refuses
    fragments over 10 s (with key-frame fragmentation, one fragment is one GOP)."""

    def __init__(self):
        self.last = None  # (stream time in s, monotonic time) of the latest key frame
        self.interval = None
        self.warned = False

    def key_frame(self, stream_seconds, now):
        """A key frame with its presentation time (stream seconds; None if unknown). Returns a warning or None."""
        if self.last is not None:
            wall = now - self.last[1]
            stream = stream_seconds - self.last[0] if stream_seconds is not None and self.last[0] is not None else None
            # The camera's own timestamps, unless they jumped (then the arrival times are better).
            self.interval = stream if stream is not None and 0 < stream < 2 * wall + 1 else wall
        self.last = (stream_seconds, now)
        return self.check(now, self.interval)

    def check(self, now, interval=None):
        """Warns once when a GOP is (or, with no key frame for that long, already is) over KVS's 10 s."""
        if interval is None and self.last is not None:
            waited = now - self.last[1]
            interval = waited if waited > KVS_MAX_FRAGMENT_SECONDS else None
        if interval is None or interval <= KVS_MAX_FRAGMENT_SECONDS:
            if interval is not None:
                self.warned = False
            return None
        if self.warned:
            return None
        self.warned = True
        return (
            f"the camera sends a key frame every {describe_interval(interval)} or more: KVS refuses fragments over "
            f"{KVS_MAX_FRAGMENT_SECONDS} s (error 4002); set its I-frame interval (GOP) to 1-4 s"
        )

    def describe(self):
        # KVS refuses a fragment over 10 s before the camera's second key frame comes: that much is known.
        return describe_interval(self.interval) if self.interval is not None else f"{KVS_MAX_FRAGMENT_SECONDS} s or more"


def describe_interval(seconds):
    return f"{seconds:.1f} s"


# ---- what KVS says, over time -----------------------------------------------------------------------

PROBLEM_SECONDS = 30  # a refusal keeps the camera unhealthy this long (plus two GOPs) after the latest one
ACK_TIMEOUT_SECONDS = 30  # with kvssink, no acknowledgement for this long (plus a GOP) is unhealthy
UNREACHABLE_SECONDS = 5  # failed requests without any acknowledgement for this long: KVS is unreachable
REPEAT_SECONDS = 600  # a problem that lasts is logged again this often
FRESH_SESSION_SECONDS = 3600  # refused timestamps get one fresh session an hour: more would only lose video


# End the run. outcome: fresh-session (restart at once, after kvssink sent what it holds), new-credentials
# (restart at once: what kvssink holds cannot be sent with the refused key), stream-missing (the supervisor
# waits long), credentials (the supervisor waits a little for the credential file).
Finish = namedtuple("Finish", "outcome message")


class KvsWatch:
    """Follows what KVS says about one camera's upload: the acknowledgements, the errors kvssink reports, the
    requests that cannot reach KVS. Produces the lines to log, the health verdict and the reasons to end a
    run. Every method takes `now` (monotonic seconds) so that the tests control time; `wall` is epoch time."""

    def __init__(self, stream, region, credential_file, key_frames, started, last_fresh_session=None, expects_acks=True):
        self.expects_acks = expects_acks  # kvssink acknowledges; the file and fake sinks do not
        self.silence_said = False
        self.stream = stream
        self.region = region
        self.credential_file = credential_file
        self.key_frames = key_frames
        self.started = started
        self.last_fresh_session = last_fresh_session  # epoch of the latest fresh-session restart (state file)
        self.last_ack = None
        self.problem = None  # [verdict, first seen, latest seen, code]
        self.failing_since = None  # first failed request since the latest acknowledgement
        self.unreachable_detail = ""
        self.unreachable_said = False
        self.finish = None
        self.said = {}  # problem -> when its line was last logged

    def ack(self, now):
        """One acknowledgement event from KVS (kvssink's fragment-ack signal)."""
        lines = []
        if self.silence_said:
            lines.append(f"KVS is acknowledging video again, after {now - (self.last_ack or self.started):.0f}s of silence")
            self.silence_said = False
        self.last_ack = now
        return lines + self.answered(now)

    def answered(self, now):
        """KVS answered a request (an acknowledgement or an HTTP status): it is within reach."""
        lines = []
        if self.unreachable_said:
            lines.append(f"KVS is answering again, after {now - self.failing_since:.0f}s out of reach")
        self.failing_since = None
        self.unreachable_said = False
        return lines

    def report(self, report, now, wall):
        """A report parsed from kvssink's log or signals. Returns the lines to log."""
        if report.kind == "unreachable":
            if self.failing_since is None:
                self.failing_since = now
            self.unreachable_detail = report.detail
            return []
        if report.kind in ("credentials-missing", "credentials-expired"):
            self.finish = Finish("credentials", self.credential_problem(report.kind))
            return []
        lines = self.answered(now) if report.kind == "http" and report.code else []
        verdict = verdict_for_status(report.code) if report.kind == "status" else verdict_for_http(report.code)
        if verdict is None:
            return lines
        code = f"0x{report.code:08x}" if report.kind == "status" else f"HTTP {report.code}"
        if self.problem and self.problem[0] is verdict:
            self.problem[2:] = [now, code]
        else:
            self.problem = [verdict, now, now, code]
        return lines + self.act(verdict, code, now, wall)

    def act(self, verdict, code, now, wall):
        if verdict.action == "stream-missing":
            self.finish = Finish("stream-missing", self.message(verdict, code))
            return []
        if verdict.action == "fresh-session":
            if self.last_fresh_session is None or wall - self.last_fresh_session > FRESH_SESSION_SECONDS:
                self.finish = Finish("fresh-session", self.message(verdict, code))
                return []
            # It came back right after a fresh session: another restart would only lose more video.
            return self.say(
                verdict.problem,
                now,
                f"KVS keeps refusing this camera's timestamps ({code}) after a fresh session: the camera stamps frames "
                "before their key frame (B-frames in an open GOP) or its clock jumps; kvssink drops those frames. Turn "
                "off B-frames in the camera (or use closed GOPs)",
            )
        return self.say(verdict.problem, now, self.message(verdict, code))

    def tick(self, now, credential_file_changed=False):
        """Once a second. Returns the lines to log; may set `finish`."""
        lines = []
        silent = now - (self.last_ack if self.last_ack is not None else self.started)
        quiet = self.expects_acks and not self.silence_said and not self.unreachable_said and self.problem is None
        if quiet and silent > self.ack_timeout():
            # A connection that went quiet (packets dropped on the way) fails no request for a long while.
            self.silence_said = True
            lines.append(
                f"no acknowledgement from KVS for {silent:.0f}s (a network path that drops packets, or KVS slow): kvssink "
                "keeps the video in its buffer and reconnects by itself"
            )
        if self.failing_since is not None and not self.unreachable_said and now - self.failing_since >= UNREACHABLE_SECONDS:
            self.unreachable_said = True
            lines.append(
                f"cannot reach KVS ({self.unreachable_detail}): kvssink keeps the video in its buffer and retries; "
                "its retries are summed up once a minute"
            )
        if self.problem is None:
            return lines
        verdict, first, latest, code = self.problem
        if verdict.action == "credentials" and credential_file_changed and self.finish is None:
            self.finish = Finish("new-credentials", f"{self.credential_file} was refreshed: restarting kvssink so that it reads it now")
        if now - latest > self.problem_seconds():
            if verdict.unhealthy and self.last_ack is not None and self.last_ack > latest + 1:
                lines.append(f"KVS is accepting this camera's video again ({verdict.problem} over after {latest - first:.0f}s)")
            self.problem = None
        return lines

    def ack_timeout(self):
        return ACK_TIMEOUT_SECONDS + (self.key_frames.interval or 0)

    def problem_seconds(self):
        return PROBLEM_SECONDS + 2 * (self.key_frames.interval or 0)

    def say(self, problem, now, line):
        """A problem's line is logged when it starts, then at most every 10 minutes while it lasts."""
        last = self.said.get(problem)
        if last is not None and now - last < REPEAT_SECONDS:
            return []
        self.said[problem] = now
        return [line]

    def message(self, verdict, code):
        return verdict.message.format(
            stream=self.stream, region=self.region, code=code, interval=self.key_frames.describe(), file_advice=self.file_advice()
        )

    def file_advice(self):
        if not self.credential_file:
            return "the role or keys in kvssink's environment may not write this stream"
        return (
            f"kvssink is restarted as soon as {self.credential_file} changes (refresh-kvs-credentials.sh rewrites it: "
            "EC2 kvs-credentials.timer, Fargate the task's credentials container); if it keeps failing, the role may "
            "not write this stream"
        )

    def credential_problem(self, kind):
        if not self.credential_file:
            return "kvssink found no AWS credentials: set KVS_CREDENTIAL_PATH to the file refresh-kvs-credentials.sh writes"
        what = "has expired" if kind == "credentials-expired" else "is missing"
        return (
            f"the credential file {self.credential_file} {what}: refresh-kvs-credentials.sh writes it (EC2: "
            "kvs-credentials.timer; Fargate: the task's credentials container); waiting for it"
        )

    def unhealthy_state(self):
        """The camera state (camera_status.STATES) that goes with healthy()'s reason when it is not healthy."""
        if self.problem is not None and self.problem[0].unhealthy:
            return self.problem[0].state
        return "kvs-unreachable"

    def healthy(self, now, sink_is_kvs):
        """(healthy, reason): whether KVS is accepting the video, as far as the gateway can tell."""
        if self.problem is not None and self.problem[0].unhealthy:
            verdict, _, _, code = self.problem
            return False, self.message(verdict, code)
        if not sink_is_kvs:
            return True, ""
        since = self.last_ack if self.last_ack is not None else self.started
        waited = now - since
        if waited > self.ack_timeout():
            if self.unreachable_said:
                return False, f"KVS out of reach for {now - self.failing_since:.0f}s"
            return False, f"no acknowledgement from KVS for {waited:.0f}s"
        return True, ""
