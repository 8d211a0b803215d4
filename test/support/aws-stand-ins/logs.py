#!/usr/bin/python3
"""A stand-in for Amazon CloudWatch Logs: CreateLogGroup, CreateLogStream, DescribeLogStreams, PutLogEvents; and,
for `kvs-gateway status`, DescribeLogGroups and Logs Insights (StartQuery, GetQueryResults: logs_insights.py).

AWS JSON 1.1 (X-Amz-Target: Logs_20140328.<operation>), requests signed with SigV4 for service logs
(sigv4.py). State files: log-groups.json ["<group>", ...] (the groups that exist: the stack creates its
own, so CreateLogGroup answers ResourceAlreadyExistsException for them and AccessDenied is left to the
permission check); what arrives goes to log-events.jsonl, one {"group", "stream", "timestamp",
"message"} a line, and the streams made to log-streams.json. As the real service: CreateLogStream of a
stream that exists is ResourceAlreadyExistsException, PutLogEvents to a stream or group that does not
exist ResourceNotFoundException, events must be in time order within a call, a call holds at most
10,000 events and 1,048,576 bytes (each event counting 26 bytes more than its message).

Logs Insights runs over the events of log-events.jsonl in the groups and time range asked for (a query is
Complete when GetQueryResults first asks). Requests are accepted from the role's keys (credentials.json) and any
other-credentials.json names (an operator's, for the CLI).

What IAM authorizes for each call goes to aws-requests.jsonl: logs:CreateLogStream and logs:PutLogEvents
on the stream's ARN, logs:DescribeLogStreams and logs:CreateLogGroup on the group's, logs:StartQuery and
logs:GetQueryResults on the groups queried, logs:DescribeLogGroups on "*" (it has no resource).
"""

import json
import re
import threading

import logs_insights
import sigv4
from stand_in_server import StandInHandler, serve, write_state

TARGET_PREFIX = "Logs_20140328."
MAX_EVENTS = 10_000
MAX_BATCH_BYTES = 1_048_576
EVENT_OVERHEAD_BYTES = 26
state_lock = threading.Lock()
queries = {}  # query id -> (log groups, result rows)


class LogsHandler(StandInHandler):
    def do_POST(self):
        body = self.read_body()
        try:
            signer = sigv4.check(self, body, "logs", self.known_credentials())
        except sigv4.SignatureProblem as problem:
            self.error(400 if problem.code != "InvalidClientTokenId" else 403, problem.code, str(problem))
            return
        target = self.headers.get("X-Amz-Target", "")
        if not target.startswith(TARGET_PREFIX):
            self.error(400, "UnknownOperationException", f"unknown operation {target}")
            return
        operation = target[len(TARGET_PREFIX):]
        request = json.loads(body or b"{}")
        group = request.get("logGroupName", "")
        stream = request.get("logStreamName", "")
        group_arn = f"arn:aws:logs:{signer.region}:{self.account()}:log-group:{group}"
        stream_arn = f"{group_arn}:log-stream:{stream}"

        def group_arns(names):
            return [f"arn:aws:logs:{signer.region}:{self.account()}:log-group:{name}" for name in names]

        queried = queries.get(request.get("queryId"), ([], []))[0]
        handlers = {
            "CreateLogGroup": ([group_arn], self.create_log_group),
            "CreateLogStream": ([stream_arn], self.create_log_stream),
            "DescribeLogStreams": ([group_arn], self.describe_log_streams),
            "PutLogEvents": ([stream_arn], self.put_log_events),
            "DescribeLogGroups": (["*"], self.describe_log_groups),
            "StartQuery": (group_arns(request.get("logGroupNames") or [group]), self.start_query),
            "GetQueryResults": (group_arns(queried), self.get_query_results),
        }
        if operation not in handlers:
            self.error(400, "UnknownOperationException", f"the stand-in does not serve {operation}")
            return
        resources, handle = handlers[operation]
        self.record_request(signer, "logs", operation, [{"action": f"logs:{operation}", "resource": r} for r in resources])
        with state_lock:
            handle(request, group, stream)

    def reply(self, status, body=b"", content_type="application/x-amz-json-1.1", headers=None):
        # Every answer of CloudWatch Logs carries its request id; Fluent Bit takes a 200 without one as a
        # failure and sends the events again.
        self.request_number = getattr(self, "request_number", 0) + 1
        headers = {"x-amzn-RequestId": f"stand-in-{id(self):x}-{self.request_number}", **(headers or {})}
        super().reply(status, body, content_type, headers)

    def groups(self):
        return self.read_state("log-groups.json", [])

    def streams(self):
        return self.read_state("log-streams.json", {})

    def create_log_group(self, _request, group, _stream):
        if group in self.groups():
            self.error(400, "ResourceAlreadyExistsException", "The specified log group already exists")
            return
        write_state(self.state_dir, "log-groups.json", self.groups() + [group])
        self.reply(200, "{}", "application/x-amz-json-1.1")

    def create_log_stream(self, _request, group, stream):
        if group not in self.groups():
            self.error(400, "ResourceNotFoundException", "The specified log group does not exist.")
            return
        streams = self.streams()
        if stream in streams.get(group, []):
            self.error(400, "ResourceAlreadyExistsException", "The specified log stream already exists")
            return
        streams.setdefault(group, []).append(stream)
        write_state(self.state_dir, "log-streams.json", streams)
        self.reply(200, "{}", "application/x-amz-json-1.1")

    def describe_log_streams(self, request, group, _stream):
        if group not in self.groups():
            self.error(400, "ResourceNotFoundException", "The specified log group does not exist.")
            return
        prefix = request.get("logStreamNamePrefix", "")
        names = [name for name in self.streams().get(group, []) if name.startswith(prefix)]
        document = {"logStreams": [{"logStreamName": name} for name in sorted(names)]}
        self.reply(200, json.dumps(document), "application/x-amz-json-1.1")

    def put_log_events(self, request, group, stream):
        if stream not in self.streams().get(group, []):
            self.error(400, "ResourceNotFoundException", "The specified log stream does not exist.")
            return
        events = request.get("logEvents") or []
        size = sum(len(e.get("message", "").encode()) + EVENT_OVERHEAD_BYTES for e in events)
        timestamps = [e.get("timestamp", 0) for e in events]
        if not events or len(events) > MAX_EVENTS or size > MAX_BATCH_BYTES or timestamps != sorted(timestamps):
            in_order = timestamps == sorted(timestamps)
            self.error(400, "InvalidParameterException", f"{len(events)} events, {size} bytes, in time order: {in_order}")
            return
        for event in events:
            self.record(
                "log-events.jsonl",
                {"group": group, "stream": stream, "timestamp": event["timestamp"], "message": event["message"]},
            )
        self.reply(200, json.dumps({"nextSequenceToken": "0"}), "application/x-amz-json-1.1")

    def describe_log_groups(self, request, _group, _stream):
        prefix = request.get("logGroupNamePrefix", "")
        names = sorted(name for name in self.groups() if name.startswith(prefix))
        document = {"logGroups": [{"logGroupName": name} for name in names]}
        self.reply(200, json.dumps(document), "application/x-amz-json-1.1")

    def start_query(self, request, group, _stream):
        names = request.get("logGroupNames") or [group]
        missing = [name for name in names if name not in self.groups()]
        if missing:
            self.error(400, "ResourceNotFoundException", f"Log group {missing[0]} does not exist")
            return
        start, end = request.get("startTime", 0) * 1000, request.get("endTime", 0) * 1000
        events = [
            event
            for event in self.read_records("log-events.jsonl")
            if event["group"] in names and start <= event["timestamp"] <= end
        ]
        try:
            rows = logs_insights.run_query(request.get("queryString", ""), events)
        except (logs_insights.MalformedQuery, re.error) as problem:
            self.error(400, "MalformedQueryException", str(problem))
            return
        query_id = f"stand-in-query-{len(queries) + 1}"
        queries[query_id] = (names, rows[: int(request.get("limit") or 1000)])
        self.reply(200, json.dumps({"queryId": query_id}), "application/x-amz-json-1.1")

    def get_query_results(self, request, _group, _stream):
        if request.get("queryId") not in queries:
            self.error(400, "ResourceNotFoundException", "unknown queryId")
            return
        rows = queries[request["queryId"]][1]
        document = {"status": "Complete", "results": rows, "statistics": {"recordsMatched": len(rows)}}
        self.reply(200, json.dumps(document), "application/x-amz-json-1.1")

    def read_records(self, name):
        try:
            with open(self.state_path(name)) as file:
                return [json.loads(line) for line in file if line.strip()]
        except FileNotFoundError:
            return []

    def error(self, status, code, message):
        self.reply(status, json.dumps({"__type": code, "message": message}), "application/x-amz-json-1.1")


if __name__ == "__main__":
    serve(LogsHandler, __doc__.splitlines()[0])
