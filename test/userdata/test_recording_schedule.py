"""Unit tests of userdata/recording_schedule.py, the gateway's decision about recording schedules, against
the system's time-zone database (zoneinfo + tzdata): the hand-worked cases that lib/recording-schedule.ts
is tested against too (test/fixtures/recording-schedule-cases.json), a minute-by-minute scan as the oracle
of next_change around daylight-saving changes, and the command run-camera.sh calls."""

import datetime
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import unittest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "userdata"))

import recording_schedule as rs  # noqa: E402

CASES = json.loads((ROOT / "test" / "fixtures" / "recording-schedule-cases.json").read_text())["schedules"]
PROGRAM = ROOT / "userdata" / "recording_schedule.py"


def epoch(text):
    return int(datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


def scanned_next_change(schedule, start, limit_minutes=rs.SEARCH_LIMIT_SECONDS // 60):
    """The oracle: the first whole minute after `start` whose state differs, found by looking at every fifth
    minute, then at every minute of the last five (every window and gap of the cases is longer than five)."""
    at = start // 60 * 60
    state = schedule.is_recording(at)
    for step in range(5, limit_minutes + 5, 5):
        if schedule.is_recording(at + step * 60) != state:
            return next(at + minute * 60 for minute in range(step - 4, step + 1) if schedule.is_recording(at + minute * 60) != state)
    return None


class HandWorkedCases(unittest.TestCase):
    def test_every_case(self):
        count = 0
        for case in CASES:
            schedule = rs.parse({"timeZone": case["schedule"]["timeZone"], "weekMinutes": case["weekMinutes"]})
            for instant in case["instants"]:
                with self.subTest(case=case["name"], at=instant["at"]):
                    at = epoch(instant["at"])
                    recording, until, text = schedule.state(at)
                    expected_next = epoch(instant["next"]) if instant["next"] else None
                    self.assertEqual((recording, until, text), (instant["recording"], expected_next, instant["text"]))
                    count += 1
        self.assertGreaterEqual(count, 30)


class AgainstAMinuteScan(unittest.TestCase):
    """next_change jumps from boundary to boundary; scanning every minute must find the same instant, in the
    weeks around each daylight-saving change of zones north and south, east and west."""

    def test_next_change_equals_the_scan(self):
        starts = {
            "Europe/Berlin": ["2026-03-27T00:00:00Z", "2026-10-23T00:00:00Z"],
            "America/New_York": ["2026-03-06T00:00:00Z", "2026-10-30T00:00:00Z"],
            "Australia/Sydney": ["2026-04-02T00:00:00Z", "2026-10-01T00:00:00Z"],
            "Australia/Lord_Howe": ["2026-04-03T00:00:00Z", "2026-10-02T00:00:00Z"],
        }
        checked = 0
        for case in CASES:
            for zone, days in starts.items():
                schedule = rs.parse({"timeZone": zone, "weekMinutes": case["weekMinutes"]})
                for day in days:
                    # Every 241 minutes over four days: instants on and between the boundaries.
                    for step in range(0, 4 * 24 * 60, 241):
                        at = epoch(day) + step * 60 + 17
                        with self.subTest(case=case["name"], zone=zone, at=at):
                            self.assertEqual(schedule.next_change(at), scanned_next_change(schedule, at))
                        checked += 1
        self.assertGreater(checked, 1500)


class TheCommand(unittest.TestCase):
    """What run-camera.sh runs: one line, "on|off <seconds|-> <sentence>"."""

    def run_program(self, content, offset_seconds=None):
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "camera.schedule.json")
            if content is not None:
                with open(path, "w") as out:
                    out.write(content)
            env = {**os.environ, "KVS_SCHEDULE_CLOCK_OFFSET_SECONDS": str(offset_seconds or 0)}
            result = subprocess.run([sys.executable, str(PROGRAM), path], capture_output=True, text=True, env=env)
        self.assertEqual(result.returncode, 0, result.stderr)
        return result.stdout.strip(), result.stderr

    def test_off_schedule_with_seconds_to_the_window(self):
        # 2026-03-30 04:59:30 UTC is 06:59:30 in Berlin, a Monday: the shop opens in 30 s.
        now = datetime.datetime.now(datetime.timezone.utc).timestamp()
        line, _ = self.run_program(json.dumps({"timeZone": "Europe/Berlin", "weekMinutes": CASES[0]["weekMinutes"]}),
                                   epoch("2026-03-30T04:59:30Z") - now)
        self.assertRegex(line, r"^off (30|31) off schedule until 07:00 \(Europe/Berlin\)$")

    def test_null_records_around_the_clock(self):
        self.assertEqual(self.run_program("null"), ("on - recording around the clock", ""))

    def test_a_schedule_that_cannot_be_followed_records_and_says_why(self):
        for content, reason in [
            (None, "cannot read"),
            ("{", "is not JSON"),
            ('{"timeZone": "Europe/Berlin", "weekMinutes": [[5, 2]]}', "not a schedule"),
            ('{"timeZone": "Mars/Olympus_Mons", "weekMinutes": [[0, 60]]}', "is not in this system's time-zone database"),
        ]:
            with self.subTest(reason=reason):
                line, _ = self.run_program(content)
                self.assertRegex(line, r"^on - recording around the clock \(.*" + reason)


class TheSystemTimeZoneDatabase(unittest.TestCase):
    def test_every_zone_a_config_may_name_is_in_it(self):
        """lib/time-zone-names.ts lists what the config accepts; the gateway must be able to read each one."""
        source = (ROOT / "lib" / "time-zone-names.ts").read_text()
        names = ["UTC", "Etc/UTC"]
        for area, places in re.findall(r"\n  (\w+):\s*((?:'[^']*'(?:\s*\+\s*)?)+)", source):
            names += [f"{area}/{place}" for place in "".join(re.findall(r"'([^']*)'", places)).split()]
        self.assertGreater(len(names), 400)
        for name in names:
            with self.subTest(zone=name):
                rs.Schedule(name, [[0, 60]])


if __name__ == "__main__":
    unittest.main()
