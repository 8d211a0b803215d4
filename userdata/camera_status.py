"""camera_status.py: the gateway's one line about where each camera stands, for `kvs-gateway status`.

    run-camera[<camera>]: status <state> since <ISO 8601 UTC>: <reason>

The camera's log already reaches CloudWatch Logs (EC2: the journal through Fluent Bit; Fargate: the awslogs
driver), so this line costs nothing new to ship, and one Logs Insights query finds the latest one of every
camera (lib/cli/gateway-reports.ts). It is logged when the state changes, when the reason changes (at most
once a minute), and again every REPEAT_SECONDS while nothing changes: a query over the last
REPORT_WINDOW_SECONDS of logs finds every camera whose gateway is running, so a camera with no line there has
no gateway running it. States (keep lib/cli/gateway-reports.ts in step):

    streaming           video passes the parser and KVS accepts it (with kvssink: it acknowledges)
    camera-down         the camera does not answer, refuses the connection, goes silent or ends the stream
    login-refused       the camera refuses the user name or password (the gateway backs off, up to an hour)
    kvs-refusing        KVS refuses the fragments or the credentials (the reason says which and why)
    kvs-unreachable     kvssink cannot reach KVS, or KVS stopped acknowledging
    stream-missing      the camera's KVS stream does not exist
    no-credentials      kvssink's credential file is missing or expired
    no-camera-url       the camera's SSM parameter does not exist
    unsupported-camera  the camera sends nothing the gateway can pass through
    config-error        a variable or the camera URL is malformed
    missing-software    a GStreamer element or another program is missing
    pipeline-error      any other pipeline error (the gateway restarts it)
    stopped             the camera's service was stopped
    off-schedule        outside the camera's recording schedule: the gateway does not connect to it (the reason
                        says until when: "off schedule until 07:00 (Europe/Berlin)")

What was last said is kept in a small file next to the health file ("<epoch logged> <epoch since> <state>
<reason>"), shared by the pipeline runs (camera-pipeline.py imports this module) and the supervisor
(run-camera.sh runs it: `camera_status.py <file> <state> [reason...]`, or `--repeat` while it waits, which
prints the line to log when one is due). Standard library only: it runs where python3-gi is missing too.
"""

import os
import sys
import time

STATES = (
    "streaming",
    "camera-down",
    "login-refused",
    "kvs-refusing",
    "kvs-unreachable",
    "stream-missing",
    "no-credentials",
    "no-camera-url",
    "unsupported-camera",
    "config-error",
    "missing-software",
    "pipeline-error",
    "stopped",
    "off-schedule",
)
REPEAT_SECONDS = 600  # a state that lasts is said again this often ...
REPORT_WINDOW_SECONDS = 900  # ... so that the CLI's query over this window finds every running camera
REASON_CHANGE_SECONDS = 60  # a new reason for the same state is said at most this often
MAX_REASON = 400


def iso(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


class StatusFile:
    """The last status said for one camera, and when."""

    def __init__(self, path, clock=time.time):
        self.path = path
        self.clock = clock

    def read(self):
        """(logged, since, state, reason), or None."""
        try:
            with open(self.path) as saved:
                logged, since, state, *reason = saved.read(4096).rstrip("\n").split(" ", 3)
            return float(logged), float(since), state, reason[0] if reason else ""
        except (OSError, ValueError):
            return None

    def write(self, logged, since, state, reason):
        temporary = f"{self.path}.{os.getpid()}"
        try:
            with open(temporary, "w") as out:
                out.write(f"{logged:.0f} {since:.0f} {state} {reason}\n")
            os.replace(temporary, self.path)
        except OSError:
            pass  # only a memory between runs: the line is said anyway

    def report(self, state, reason=""):
        """The status line to log for `state` now ("status <state> since <time>: <reason>"), or None when it
        was said recently enough."""
        if state not in STATES:
            raise ValueError(f"unknown camera state {state!r}")
        reason = " ".join(str(reason).split())[:MAX_REASON]
        now = self.clock()
        last = self.read()
        if last is not None and last[2] == state:
            logged, since, _, said = last
            due = now - logged >= REPEAT_SECONDS or (reason != said and now - logged >= REASON_CHANGE_SECONDS)
            if not due:
                return None
        else:
            since = now
        self.write(now, since, state, reason)
        return line(state, since, reason)

    def repeat(self):
        """The last status again, when REPEAT_SECONDS have passed since it was said (a long wait)."""
        last = self.read()
        if last is None or self.clock() - last[0] < REPEAT_SECONDS:
            return None
        _, since, state, reason = last
        self.write(self.clock(), since, state, reason)
        return line(state, since, reason)


def line(state, since, reason):
    return f"status {state} since {iso(since)}{': ' + reason if reason else ''}"


def main(argv):
    if len(argv) < 3:
        print("usage: camera_status.py <status file> (<state> [reason...] | --repeat)", file=sys.stderr)
        return 2
    status = StatusFile(argv[1])
    said = status.repeat() if argv[2] == "--repeat" else status.report(argv[2], " ".join(argv[3:]))
    if said:
        print(said)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
