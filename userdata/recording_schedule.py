#!/usr/bin/python3
"""recording_schedule.py: whether a camera records now, and until when: the gateway's one decision about
recording schedules, for run-camera.sh (through the command below) and camera-pipeline.py (imported).

A schedule file holds what the stack compiled from the config (lib/recording-schedule.ts), or null for a
camera that records around the clock:
    {"timeZone": "Europe/Berlin", "weekMinutes": [[420, 1140], [1860, 2580], ...]}
weekMinutes are the [start, end) minutes of the local week (0 = Monday 00:00) in which the camera records.
The rule: a camera records at an instant when the wall-clock time of its zone at that instant, as a
minute of the week, is in one of the ranges. Wall-clock times come from Python's zoneinfo and the
system's time-zone database (the tzdata package), so daylight saving behaves as a clock on the wall does.

    recording_schedule.py <schedule file>
prints one line, "on|off <seconds until the next change, or -> <what to say>", e.g.
    off 43200 off schedule until 07:00 (Europe/Berlin)
A file that is missing, unreadable or not a schedule, or a zone the system does not know, records around
the clock (a schedule problem must never cost video): "on - recording around the clock (<why>)".
KVS_SCHEDULE_CLOCK_OFFSET_SECONDS (tests only) shifts the clock this program reads.
"""

import datetime
import json
import math
import os
import sys
import time
import zoneinfo

MINUTES_PER_DAY = 24 * 60
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY
# A weekly schedule changes state within a week, or two when daylight saving skips its only window once.
SEARCH_LIMIT_SECONDS = (2 * MINUTES_PER_WEEK + MINUTES_PER_DAY) * 60
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class ScheduleProblem(Exception):
    """A schedule that cannot be followed; the camera then records around the clock."""


def now():
    """The clock the schedule is read against (shifted in tests only, never in a deployment)."""
    return time.time() + float(os.environ.get("KVS_SCHEDULE_CLOCK_OFFSET_SECONDS", "0") or 0)


class Schedule:
    def __init__(self, time_zone, week_minutes):
        try:
            self.zone = zoneinfo.ZoneInfo(time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            if not os.path.exists("/usr/share/zoneinfo/UTC"):
                raise ScheduleProblem(f"time zone {time_zone!r}: this system has no time-zone database (install the tzdata package)")
            raise ScheduleProblem(f"time zone {time_zone!r} is not in this system's time-zone database (tzdata)")
        self.time_zone = time_zone
        self.ranges = [(int(start), int(end)) for start, end in week_minutes]
        self.boundaries = sorted({minute for pair in self.ranges for minute in pair})

    def wall_clock(self, epoch):
        """(minute of the local week, UTC offset in minutes) at a whole-minute epoch."""
        local = datetime.datetime.fromtimestamp(epoch, self.zone)
        offset = int(local.utcoffset().total_seconds() // 60)
        return local.weekday() * MINUTES_PER_DAY + local.hour * 60 + local.minute, offset

    def records_at_minute(self, minute):
        return any(start <= minute < end for start, end in self.ranges)

    def is_recording(self, epoch):
        return self.records_at_minute(self.wall_clock(epoch // 60 * 60)[0])

    def minutes_to_next_boundary(self, minute):
        ahead = [(boundary - minute) % MINUTES_PER_WEEK for boundary in self.boundaries]
        return min((a for a in ahead if a > 0), default=MINUTES_PER_WEEK)

    def next_change(self, epoch):
        """The first whole-minute epoch after `epoch` at which recording starts or stops, or None. The state can
        only change at a minute where the local minute of the week reaches a range boundary, or where the
        zone's offset changes; between two such minutes it holds."""
        if not self.ranges or self.ranges == [(0, MINUTES_PER_WEEK)]:
            return None
        at = int(epoch) // 60 * 60
        minute, offset = self.wall_clock(at)
        recording = self.records_at_minute(minute)
        limit = at + SEARCH_LIMIT_SECONDS
        while at < limit:
            following = at + self.minutes_to_next_boundary(minute) * 60
            next_minute, next_offset = self.wall_clock(following)
            if next_offset != offset:
                # The offset changed on the way: find the minute it did, and look at the wall clock from there.
                before = at
                while following - before > 60:
                    middle = before + (following - before) // 120 * 60
                    if self.wall_clock(middle)[1] == offset:
                        before = middle
                    else:
                        following = middle
                next_minute, next_offset = self.wall_clock(following)
            if following > limit:
                return None
            if self.records_at_minute(next_minute) != recording:
                return following
            at, minute, offset = following, next_minute, next_offset
        return None

    def state(self, epoch):
        """(recording, epoch of the next change or None, the sentence to log)."""
        recording = self.is_recording(epoch)
        until = self.next_change(epoch)
        what = "recording" if recording else "off schedule"
        if until is None:
            return recording, None, f"{what} (the schedule never changes)"
        local = datetime.datetime.fromtimestamp(until, self.zone)
        when = local.strftime("%H:%M")
        # Within a day the time alone is clear; further ahead the weekday goes with it.
        if until - epoch >= 24 * 3600:
            when = f"{DAY_NAMES[local.weekday()]} {when}"
        return recording, until, f"{what} until {when} ({self.time_zone})"


def parse(document):
    """A Schedule from the file's JSON value, or None for around the clock."""
    if document is None:
        return None
    try:
        time_zone = document["timeZone"]
        ranges = document["weekMinutes"]
        valid = (
            isinstance(time_zone, str)
            and isinstance(ranges, list)
            and all(
                isinstance(pair, list) and len(pair) == 2 and all(isinstance(v, int) and 0 <= v <= MINUTES_PER_WEEK for v in pair)
                and pair[0] < pair[1]
                for pair in ranges
            )
        )
    except (TypeError, KeyError):
        valid = False
    if not valid:
        raise ScheduleProblem(f"not a schedule: {json.dumps(document)[:200]}")
    return Schedule(time_zone, ranges)


def load(path):
    """The schedule in `path`, or None for around the clock; ScheduleProblem when it cannot be followed."""
    try:
        with open(path) as saved:
            text = saved.read()
    except OSError as error:
        raise ScheduleProblem(f"cannot read {path}: {error.strerror}")
    try:
        return parse(json.loads(text))
    except json.JSONDecodeError as error:
        raise ScheduleProblem(f"{path} is not JSON ({error})")


def decide(path, epoch):
    """(recording, next change or None, sentence, problem or None) for the schedule file at `path`."""
    try:
        schedule = load(path)
    except ScheduleProblem as problem:
        return True, None, f"recording around the clock ({problem})", str(problem)
    if schedule is None:
        return True, None, "recording around the clock", None
    recording, until, text = schedule.state(epoch)
    return recording, until, text, None


def main(argv):
    if len(argv) != 2:
        print("usage: recording_schedule.py <schedule file>", file=sys.stderr)
        return 2
    epoch = now()
    recording, until, text, _ = decide(argv[1], epoch)
    # Seconds, not an epoch: the caller counts them on its own clock (tests shift only this program's).
    seconds = max(1, math.ceil(until - epoch)) if until is not None else "-"
    print(f"{'on' if recording else 'off'} {seconds} {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
