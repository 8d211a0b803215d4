#!/usr/bin/python3
"""A stand-in for AWS CloudFormation's SignalResource (the Query API, form-encoded POST).

Requests must be signed with SigV4 (sigv4.py). Each signal is appended to signals.jsonl as
{"StackName", "LogicalResourceId", "UniqueId", "Status"}; the reply is CloudFormation's XML. As the
real service: a UniqueId longer than 64 characters or a Status other than SUCCESS/FAILURE is a
ValidationError. What IAM authorizes for each signal goes to aws-requests.jsonl.
"""

from urllib.parse import parse_qs

import sigv4
from stand_in_server import StandInHandler, serve

FIELDS = ("StackName", "LogicalResourceId", "UniqueId", "Status")
STACK_ID = "stand-in-stack-id"


class CloudFormationHandler(StandInHandler):
    def do_POST(self):
        body = self.read_body()
        try:
            signer = sigv4.check(self, body, "cloudformation", self.read_state("credentials.json"))
        except sigv4.SignatureProblem as problem:
            self.error(403, problem.code, str(problem))
            return
        form = {name: values[0] for name, values in parse_qs(body.decode(), keep_blank_values=True).items()}
        if form.get("Action") != "SignalResource" or form.get("Version") != "2010-05-15":
            self.error(400, "InvalidAction", f"unsupported action {form.get('Action')}")
            return
        signal = {name: form.get(name, "") for name in FIELDS}
        if not all(signal.values()) or len(signal["UniqueId"]) > 64 or signal["Status"] not in ("SUCCESS", "FAILURE"):
            self.error(400, "ValidationError", f"invalid signal {signal}")
            return
        self.record("signals.jsonl", signal)
        # IAM authorizes SignalResource on the stack's ARN, whose last part is the stack's id: the stand-in
        # deployment (test/support/deployed-app.ts) gives every stack this one.
        stack = f"arn:aws:cloudformation:{signer.region}:{self.account()}:stack/{signal['StackName']}/{STACK_ID}"
        self.record_request(
            signer, "cloudformation", "SignalResource", [{"action": "cloudformation:SignalResource", "resource": stack}]
        )
        self.reply(
            200,
            '<SignalResourceResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">'
            "<ResponseMetadata><RequestId>stand-in</RequestId></ResponseMetadata></SignalResourceResponse>",
            "text/xml",
        )

    def error(self, status, code, message):
        self.reply(
            status,
            '<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type>'
            f"<Code>{code}</Code><Message>{message}</Message></Error></ErrorResponse>",
            "text/xml",
        )


if __name__ == "__main__":
    serve(CloudFormationHandler, __doc__.splitlines()[0])
