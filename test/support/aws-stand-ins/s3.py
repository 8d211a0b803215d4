#!/usr/bin/python3
"""A stand-in for Amazon S3 GetObject, path-style (GET /<bucket>/<key>).

Requests must be signed with SigV4 for service s3, with a signed x-amz-content-sha256 (sigv4.py).
Objects are files under the state folder: s3/<bucket>/<key>. Errors are S3's XML documents
(NoSuchKey 404, AccessDenied or SignatureDoesNotMatch 403). Each request is recorded in s3-calls.jsonl,
and what IAM authorizes for it (s3:GetObject on the object) in aws-requests.jsonl.
"""

import os
from xml.sax.saxutils import escape

import sigv4
from stand_in_server import StandInHandler, serve


class S3Handler(StandInHandler):
    def do_GET(self):
        body = self.read_body()
        self.record("s3-calls.jsonl", {"path": self.path})
        try:
            signer = sigv4.check(self, body, "s3", self.read_state("credentials.json"))
        except sigv4.SignatureProblem as problem:
            self.error(403 if problem.code != "InvalidRequest" else 400, problem.code, str(problem))
            return
        bucket_and_key = self.path.lstrip("/").split("?")[0]
        self.record_request(
            signer, "s3", "GetObject", [{"action": "s3:GetObject", "resource": f"arn:aws:s3:::{bucket_and_key}"}]
        )
        root = os.path.realpath(self.state_path("s3"))
        file = os.path.realpath(os.path.join(root, self.path.lstrip("/").split("?")[0]))
        if not file.startswith(root + "/") or not os.path.isfile(file):
            self.error(404, "NoSuchKey", "The specified key does not exist.")
            return
        with open(file, "rb") as source:
            self.reply(200, source.read(), "application/zip")

    def error(self, status, code, message):
        document = f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{escape(message)}</Message></Error>'
        self.reply(status, document, "application/xml")


if __name__ == "__main__":
    serve(S3Handler, __doc__.splitlines()[0])
