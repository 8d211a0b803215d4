"""Unit tests of userdata/camera_status.py: when the gateway says a camera's status line, and what it says.
Run by jest (test/userdata/kvssink-reports.test.ts) through `python3 -m unittest`."""

import os
import subprocess
import sys
import tempfile
import unittest

USERDATA = os.path.join(os.path.dirname(__file__), "..", "..", "userdata")
sys.path.insert(0, USERDATA)

import camera_status  # noqa: E402


class Clock:
    def __init__(self, now=1_796_000_000.0):
        self.now = now

    def __call__(self):
        return self.now


class StatusLines(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.clock = Clock()
        self.status = camera_status.StatusFile(os.path.join(self.dir.name, "cam.health.status"), self.clock)

    def tearDown(self):
        self.dir.cleanup()

    def test_a_new_state_is_said_at_once_with_when_it_began(self):
        self.assertEqual(
            self.status.report("camera-down", "cannot connect to the camera:  Could not open\nresource"),
            "status camera-down since 2026-11-30T00:53:20Z: cannot connect to the camera: Could not open resource",
        )
        self.assertEqual(self.status.report("streaming"), "status streaming since 2026-11-30T00:53:20Z")

    def test_the_same_state_is_said_again_every_10_minutes_keeping_its_start(self):
        self.status.report("login-refused", "the camera refused the user name or password")
        self.clock.now += 599
        self.assertIsNone(self.status.report("login-refused", "the camera refused the user name or password"))
        self.clock.now += 1
        self.assertEqual(
            self.status.report("login-refused", "the camera refused the user name or password"),
            "status login-refused since 2026-11-30T00:53:20Z: the camera refused the user name or password",
        )

    def test_a_new_reason_for_the_same_state_waits_a_minute_and_keeps_the_start(self):
        self.status.report("camera-down", "cannot connect to the camera")
        self.clock.now += 30
        self.assertIsNone(self.status.report("camera-down", "the camera did not answer DESCRIBE within 12s"))
        self.clock.now += 30
        said = self.status.report("camera-down", "the camera did not answer DESCRIBE within 12s")
        self.assertEqual(said, "status camera-down since 2026-11-30T00:53:20Z: the camera did not answer DESCRIBE within 12s")

    def test_repeat_says_the_last_status_again_only_when_due(self):
        self.assertIsNone(self.status.repeat())
        self.status.report("stream-missing", "KVS stream cam does not exist in us-east-1")
        self.clock.now += 300
        self.assertIsNone(self.status.repeat())
        self.clock.now += 300
        self.assertEqual(
            self.status.repeat(), "status stream-missing since 2026-11-30T00:53:20Z: KVS stream cam does not exist in us-east-1"
        )
        self.assertIsNone(self.status.repeat())

    def test_an_unknown_state_is_a_programming_error(self):
        with self.assertRaises(ValueError):
            self.status.report("down")

    def test_the_supervisor_runs_it_as_a_program(self):
        path = os.path.join(self.dir.name, "other.status")
        program = os.path.join(USERDATA, "camera_status.py")
        first = subprocess.run([sys.executable, program, path, "stopped", "the", "camera's", "service", "was", "stopped"],
                               capture_output=True, text=True, check=True)
        again = subprocess.run([sys.executable, program, path, "stopped", "the camera's service was stopped"],
                               capture_output=True, text=True, check=True)
        repeat = subprocess.run([sys.executable, program, path, "--repeat"], capture_output=True, text=True, check=True)
        self.assertRegex(first.stdout, r"^status stopped since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ: the camera's service was stopped\n$")
        self.assertEqual((again.stdout, repeat.stdout), ("", ""))


if __name__ == "__main__":
    unittest.main()
