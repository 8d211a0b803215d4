"""Unit tests of userdata/kvssink_reports.py: every decision driven with the codes and log lines of the real
kvssink (fixtures/kvssink-log-samples.txt was captured by hand from kvssink v3.5.0 against the KVS API
stand-in). Run by jest (test/userdata/kvssink-reports.test.ts) through `python3 -m unittest`."""

import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "userdata"))

import kvssink_reports as reports  # noqa: E402

SAMPLES = os.path.join(os.path.dirname(__file__), "fixtures", "kvssink-log-samples.txt")


def sample_lines(section=None):
    """The captured lines, all of them or those of one '## <section>'."""
    lines, current = [], None
    with open(SAMPLES) as samples:
        for line in samples:
            if line.startswith("## "):
                current = line[3:].strip()
            elif not line.startswith("# ") and (section is None or (current or "").startswith(section)):
                lines.append(line)
    return lines


class FakeClock:
    def __init__(self, now=1000.0):
        self.now = now

    def __call__(self):
        return self.now


class VerdictTable(unittest.TestCase):
    def test_a_fragment_over_10_s_makes_the_camera_unhealthy_and_names_the_fix(self):
        for code in (4002, 0x5200005E):
            verdict = reports.verdict_for_status(code)
            self.assertEqual((verdict.problem, verdict.action, verdict.unhealthy), ("fragment-too-long", "continue", True))
            self.assertIn("set its I-frame interval (GOP) to 1-4 s", verdict.message)

    def test_refused_timestamps_restart_with_a_fresh_session(self):
        for code in (4004, 0x52000060, 0x32000002, 4007):
            verdict = reports.verdict_for_status(code)
            self.assertEqual((verdict.problem, verdict.action, verdict.unhealthy), ("timestamps", "fresh-session", False))

    def test_rejected_credentials_and_missing_streams(self):
        self.assertEqual(reports.verdict_for_http(403).action, "credentials")
        self.assertEqual(reports.verdict_for_status(0x52000010).action, "credentials")
        for missing in (reports.verdict_for_http(404), reports.verdict_for_status(4507), reports.verdict_for_status(4008)):
            self.assertEqual((missing.action, missing.unhealthy), ("stream-missing", True))

    def test_kms_errors_and_codes_kvssink_retries_itself(self):
        self.assertEqual(reports.verdict_for_status(4500).problem, "kms-key")
        self.assertEqual(reports.verdict_for_status(4506).problem, "kms-key")
        # 0x52000011: DescribeStream failed (KVS unreachable); kvssink retries it, the gateway only logs it.
        self.assertIsNone(reports.verdict_for_status(0x52000011))
        self.assertIsNone(reports.verdict_for_http(500))


class ParseLine(unittest.TestCase):
    def parse(self, text):
        return reports.parse_line(" ".join(text.split()[2:]) if text.startswith("kvssink") else text)

    def test_reports_in_real_lines(self):
        self.assertEqual(
            self.parse("kvssink ERROR Reported stream error. Errored timecode: 150000 Status: 0x5200005e for cam1"),
            reports.Report("status", 0x5200005E),
        )
        self.assertEqual(self.parse("kvssink ERROR Put frame for cam1 failed with 0x32000002"), reports.Report("status", 0x32000002))
        self.assertEqual(self.parse("kvssink WARN  curlCompleteSync(): [cam1] HTTP Error 403 : Response: (null)").code, 403)
        self.assertEqual(
            self.parse("kvssink WARN  putStreamCurlHandler(): [cam1] Stream with streamHandle 1 uploadHandle 5 has exited without "
                       "triggering end-of-stream. Service call result: 403"),
            reports.Report("http", 403),
        )
        unreachable = self.parse(
            "kvssink WARN  curlCompleteSync(): [cam1] curl perform failed for url http://127.0.0.1:18080/putMedia with result "
            "Couldn't connect to server: Failed to connect to 127.0.0.1 port 18080 after 0 ms: Couldn't connect to server"
        )
        self.assertEqual(unreachable, reports.Report("unreachable", 0, "http://127.0.0.1:18080: Couldn't connect to server"))
        self.assertEqual(
            self.parse("kvssink ERROR Unable to create Rotating Credential provider. Error status: 0x15000017").kind,
            "credentials-expired",
        )
        self.assertIsNone(self.parse("kvssink WARN  notifyDataAvailable(): [cam1] Failed to un-pause curl with error: 43."))

    def test_every_captured_404_is_a_missing_stream_said_by_the_gateway_not_by_kvssink(self):
        log = reports.KvssinkLog()
        fed = [log.feed(line) for line in sample_lines("missing stream")]
        self.assertEqual({report.code for _, report in fed if report}, {404})
        self.assertEqual([line for lines, _ in fed for line in lines], [])
        self.assertRegex(log.close()[0], r"^4 similar lines in the last \d+s not shown \(most often, 4x: kvssink WARN curlCompleteSync")


class KvssinkLogFilter(unittest.TestCase):
    def test_no_request_header_access_key_or_signature_is_ever_written(self):
        log = reports.KvssinkLog(reports.LogThrottle(burst=10**6, per_minute=10**6, repeat_seconds=0))
        written = [line for raw in sample_lines() for line in log.feed(raw)[0]]
        self.assertTrue(any("HTTP Error 403" in line for line in written))
        for line in written:
            for secret in ("AKIAIOSFODNN7EXAMPLE", "Signature=", "Authorization", "Request Headers", "user-agent:", "x-amz"):
                self.assertNotIn(secret, line)

    def test_redact_catches_keys_tokens_and_signatures_anywhere(self):
        text = reports.redact(
            "Credential=ASIAQWERTYUIOPASDFGH/20250101/eu-west-1/kinesisvideo/aws4_request, Signature=0a1b2c "
            "X-Amz-Security-Token: IQoJb3JpZ2luX2VjEJr//////////wEaCWV1LXdlc3QtMSJHMEUCIQD "
            "key AKIAIOSFODNN7EXAMPLE secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
        )
        for secret in ("ASIAQWERTYUIOPASDFGH", "0a1b2c", "IQoJb3JpZ2luX2Vj", "IOSFODNN7EXAMPLE", "wJalrXUtnFEMI"):
            self.assertNotIn(secret, text)

    def test_a_30_s_outage_at_86_retries_a_second_writes_a_few_lines(self):
        clock = FakeClock()
        log = reports.KvssinkLog(reports.LogThrottle(clock=clock))
        storm = sample_lines("outage")
        written = []
        for second in range(30):
            clock.now += 1
            for raw in storm * 2:  # ~86 request dumps a second, as seen
                written += log.feed(raw)[0]
        clock.now += 31
        written += log.feed(storm[0])[0] + log.close()
        self.assertLessEqual(len(written), 8)
        self.assertLess(sum(len(line) for line in written), 2000)
        self.assertRegex(written[-1], r"^\d+ similar lines in the last \d+s not shown \(most often, \d+x: kvssink ")

    def test_a_lasting_failure_writes_at_most_a_few_lines_a_minute(self):
        clock = FakeClock()
        throttle = reports.LogThrottle(clock=clock)
        per_minute = []
        for minute in range(10):
            lines = []
            for second in range(60):
                clock.now += 1
                # A message that varies in its numbers (handles, addresses) and one new kind now and then.
                lines += throttle.offer(f"kvssink WARN putStreamCurlHandler(): uploadHandle {minute * 60 + second} exited")
                if second == 30:
                    lines += throttle.offer(f"kvssink WARN another kind of line number {minute} {'x' * minute}")
            per_minute.append(len(lines))
        self.assertLessEqual(max(per_minute[1:]), 4)
        self.assertGreaterEqual(per_minute[0], 2)

    def test_a_traceback_passes_whole_and_unthrottled_request_dump_lines_do_not(self):
        log = reports.KvssinkLog(reports.LogThrottle(burst=1, per_minute=0))
        self.assertEqual(len(log.feed("kvssink WARN something\n")[0]), 1)  # the one line the budget allows
        traceback = [
            "Traceback (most recent call last):",
            '  File "/opt/kvs-gateway/bin/camera-pipeline.py", line 752, in <module>',
            "    main()",
            "    content-length: 25",
            "TypeError: unsupported operand type(s) for -: 'float' and 'str'",
        ]
        self.assertEqual([line for text in traceback for line in log.feed(text + "\n")[0]], traceback)
        self.assertEqual(log.feed("    content-length: 25\n")[0], [])
        self.assertEqual(log.feed("    conn\n")[0], [])
        self.assertEqual(log.feed("Request URL: http://127.0.0.1:1/putMedia\n")[0], [])


class KeyFrames(unittest.TestCase):
    def test_warns_before_kvs_when_the_gop_passes_10_s_and_names_the_interval(self):
        frames = reports.KeyFrameInterval()
        self.assertIsNone(frames.key_frame(0.0, 100.0))
        self.assertIsNone(frames.check(105.0))
        warning = frames.check(110.5)
        self.assertIn("a key frame every 10.5 s or more", warning)
        self.assertIn("set its I-frame interval (GOP) to 1-4 s", warning)
        self.assertIsNone(frames.check(111.0))  # once
        self.assertIsNone(frames.key_frame(12.0, 112.0))
        self.assertEqual(frames.describe(), "12.0 s")

    def test_camera_timestamps_that_jump_fall_back_to_arrival_times(self):
        frames = reports.KeyFrameInterval()
        frames.key_frame(100.0, 0.0)
        self.assertIsNone(frames.key_frame(5000.0, 2.0))  # the camera's clock jumped: 2 s between arrivals
        self.assertEqual(frames.interval, 2.0)
        frames.key_frame(5002.0, 4.0)
        self.assertEqual(frames.interval, 2.0)


class Watch(unittest.TestCase):
    def watch(self, last_fresh_session=None, interval=None):
        frames = reports.KeyFrameInterval()
        frames.interval = interval
        return reports.KvsWatch("front-door", "eu-west-1", "/run/kvs-gateway/credentials", frames, 0.0, last_fresh_session)

    def test_the_file_and_fake_sinks_never_wait_for_acknowledgements(self):
        watch = reports.KvsWatch("cam", "eu-west-1", None, reports.KeyFrameInterval(), 0.0, expects_acks=False)
        self.assertEqual([line for second in range(100) for line in watch.tick(float(second))], [])

    def test_4002_unhealthy_with_the_measured_interval_one_line_then_recovers(self):
        watch = self.watch(interval=12.0)
        lines = watch.report(reports.Report("status", 0x5200005E), 20.0, 1e9)
        self.assertEqual(len(lines), 1)
        self.assertIn("the camera sends a key frame every 12.0 s", lines[0])
        self.assertEqual(watch.healthy(21.0, True)[0], False)
        self.assertEqual(watch.report(reports.Report("status", 0x5200005E), 32.0, 1e9), [])  # said once
        watch.ack(33.0)
        self.assertEqual(watch.healthy(40.0, True)[0], False)
        for second in range(60, 100):
            watch.ack(float(second))
        recovered = watch.tick(100.0)
        self.assertEqual(len(recovered), 1)
        self.assertIn("accepting this camera's video again", recovered[0])
        self.assertEqual(watch.healthy(100.5, True), (True, ""))

    def test_timestamps_restart_once_then_a_clear_line_instead_of_a_restart_loop(self):
        watch = self.watch()
        self.assertEqual(watch.report(reports.Report("status", 0x32000002), 5.0, 1e9), [])
        self.assertEqual(watch.finish.outcome, "fresh-session")
        again = self.watch(last_fresh_session=1e9 - 60)
        lines = again.report(reports.Report("status", 0x32000002), 5.0, 1e9)
        self.assertIsNone(again.finish)
        self.assertIn("B-frames", lines[0])
        self.assertEqual(again.report(reports.Report("status", 0x32000002), 6.0, 1e9), [])
        self.assertEqual(again.healthy(6.0, False), (True, ""))

    def test_403_waits_for_the_credential_file_then_restarts_at_once(self):
        watch = self.watch()
        lines = watch.report(reports.Report("http", 403), 5.0, 1e9)
        self.assertIn("KVS refused the credentials (HTTP 403)", lines[0])
        self.assertIn("/run/kvs-gateway/credentials", lines[0])
        self.assertIsNone(watch.finish)
        watch.tick(6.0, credential_file_changed=False)
        self.assertIsNone(watch.finish)
        self.assertFalse(watch.healthy(6.0, True)[0])
        watch.tick(7.0, credential_file_changed=True)
        self.assertEqual(watch.finish.outcome, "new-credentials")
        self.assertIn("/run/kvs-gateway/credentials was refreshed", watch.finish.message)

    def test_missing_stream_names_stream_region_and_what_to_deploy(self):
        watch = self.watch()
        watch.report(reports.Report("http", 404, '{"__type": "ResourceNotFoundException"}'), 1.0, 1e9)
        self.assertEqual(watch.finish.outcome, "stream-missing")
        self.assertIn("KVS stream front-door does not exist in eu-west-1", watch.finish.message)
        self.assertIn("npx cdk deploy StreamStack", watch.finish.message)

    def test_missing_or_expired_credential_file_names_the_file_and_its_refresher(self):
        watch = self.watch()
        watch.report(reports.Report("credentials-expired", 0x15000017), 1.0, 1e9)
        self.assertEqual(watch.finish.outcome, "credentials")
        self.assertIn("the credential file /run/kvs-gateway/credentials has expired", watch.finish.message)
        self.assertIn("refresh-kvs-credentials.sh", watch.finish.message)

    def test_unreachable_kvs_one_line_then_one_when_it_answers_again(self):
        watch = self.watch()
        watch.ack(1.0)
        lines = []
        for tenth in range(20, 400):
            lines += watch.report(reports.Report("unreachable", 0, "http://127.0.0.1:1: Couldn't connect to server"), tenth / 10, 1e9)
            if tenth % 10 == 0:
                lines += watch.tick(tenth / 10)
        self.assertEqual(len(lines), 1)
        self.assertIn("cannot reach KVS (http://127.0.0.1:1: Couldn't connect to server)", lines[0])
        self.assertEqual(watch.healthy(40.0, True), (False, "KVS out of reach for 38s"))
        back = watch.ack(41.0)
        self.assertEqual(back, ["KVS is answering again, after 39s out of reach"])
        self.assertEqual(watch.healthy(41.5, True), (True, ""))

    def test_failed_requests_between_http_answers_are_not_an_unreachable_kvs(self):
        watch = self.watch()
        lines = []
        for tenth in range(10, 200):
            now = tenth / 10
            lines += watch.report(reports.Report("unreachable", 0, "http://127.0.0.1:1: Failed sending data to the peer"), now, 1e9)
            lines += watch.report(reports.Report("http", 403), now, 1e9)
            lines += watch.tick(now)
        self.assertEqual(len(lines), 1)
        self.assertIn("KVS refused the credentials (HTTP 403)", lines[0])

    def test_acknowledgements_that_stop_without_any_failure_one_line_then_one_when_back(self):
        watch = self.watch(interval=1.0)
        watch.ack(5.0)
        lines = [line for second in range(6, 90) for line in watch.tick(float(second))]
        self.assertEqual(len(lines), 1)
        self.assertIn("no acknowledgement from KVS for 32s", lines[0])
        self.assertEqual(watch.ack(90.0), ["KVS is acknowledging video again, after 85s of silence"])
        self.assertEqual(watch.tick(91.0), [])

    def test_no_acknowledgement_at_all_is_unhealthy_with_kvssink_only(self):
        watch = self.watch(interval=2.0)
        self.assertEqual(watch.healthy(31.0, True), (True, ""))
        self.assertEqual(watch.healthy(33.0, True), (False, "no acknowledgement from KVS for 33s"))
        self.assertEqual(watch.healthy(33.0, False), (True, ""))


if __name__ == "__main__":
    unittest.main()
