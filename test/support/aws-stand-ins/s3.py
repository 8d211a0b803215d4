#!/usr/bin/python3
"""A stand-in for Amazon S3 objects, path-style: GetObject, HeadObject and PutObject (/<bucket>/<key>).

Requests must be signed with SigV4 for service s3, with a signed x-amz-content-sha256 that matches the
body (sigv4.py). Objects are files under the state folder, s3/<bucket>/<key> (a test may write one
directly); what S3 keeps beside an object is in s3-metadata/<bucket>/<key>.json: its x-amz-meta-*
metadata, its SHA-256 checksum (base64) when the upload gave one, and its version id. As S3:
- PutObject with If-None-Match: * creates the object only when the key is free: 412 PreconditionFailed
  otherwise (one write at a time, so of two racing writers exactly one wins); other If-None-Match
  values are 501 NotImplemented. x-amz-checksum-sha256 must match the body (400 BadDigest) and is kept.
- GetObject and HeadObject return the metadata headers, and with x-amz-checksum-mode: ENABLED the stored
  checksum (x-amz-checksum-sha256) of an object uploaded with one; HEAD answers errors without a body.
- Errors are S3's XML documents (NoSuchKey 404, AccessDenied or SignatureDoesNotMatch 403).
Each request is recorded in s3-calls.jsonl: {"operation", "path", "status", "headers"} with the
conditional and checksum headers it carried; and what IAM authorizes for it (s3:GetObject on the object
for GetObject and HeadObject, s3:PutObject for PutObject, with the s3:if-none-match condition key) in
aws-requests.jsonl.
"""

import base64
import hashlib
import json
import os
import threading
import uuid
from email.utils import formatdate
from urllib.parse import unquote
from xml.sax.saxutils import escape

import sigv4
from stand_in_server import StandInHandler, serve, write_state

RECORDED_HEADERS = ("if-none-match", "if-match", "x-amz-checksum-sha256", "x-amz-checksum-mode")


class S3Handler(StandInHandler):
    # One PutObject at a time: the conditional check and the write are one step, as S3 makes them.
    writing = threading.Lock()

    def do_GET(self):
        self.read_object("GetObject")

    def do_HEAD(self):
        self.read_object("HeadObject")

    def do_PUT(self):
        body = self.read_body()
        if not self.signed(body, "PutObject"):
            return
        bucket_key = self.bucket_key()
        file = bucket_key and self.object_file(bucket_key)
        if not file:
            self.fail("PutObject", 400, "InvalidRequest", "A key must name an object in a bucket.")
            return
        condition = self.headers.get("If-None-Match")
        self.record_request(
            self.signer,
            "s3",
            "PutObject",
            [
                {
                    "action": "s3:PutObject",
                    "resource": self.object_arn(bucket_key),
                    **({"context": {"s3:if-none-match": condition}} if condition is not None else {}),
                }
            ],
        )
        if condition is not None and condition != "*":
            self.fail("PutObject", 501, "NotImplemented", "If-None-Match supports only *.")
            return
        checksum = self.headers.get("x-amz-checksum-sha256")
        if checksum is not None and checksum != base64.b64encode(hashlib.sha256(body).digest()).decode():
            self.fail("PutObject", 400, "BadDigest", "The SHA256 you specified did not match the calculated checksum.")
            return
        with self.writing:
            if condition == "*" and os.path.isfile(file):
                self.fail("PutObject", 412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
                return
            os.makedirs(os.path.dirname(file), exist_ok=True)
            temporary = f"{file}.uploading-{uuid.uuid4().hex}"
            with open(temporary, "wb") as target:
                target.write(body)
            stored = {
                "metadata": {
                    name.lower(): value for name, value in self.headers.items() if name.lower().startswith("x-amz-meta-")
                },
                "checksumSha256": checksum,
                "versionId": uuid.uuid4().hex,
            }
            metadata_file = self.metadata_file(bucket_key)
            os.makedirs(os.path.dirname(metadata_file), exist_ok=True)
            write_state(os.path.dirname(metadata_file), os.path.basename(metadata_file), stored)
            os.replace(temporary, file)
        self.note("PutObject", 200)
        headers = {"ETag": self.etag(body), "x-amz-version-id": stored["versionId"]}
        if checksum:
            headers["x-amz-checksum-sha256"] = checksum
        self.reply(200, b"", "application/xml", headers)

    def read_object(self, operation):
        if not self.signed(self.read_body(), operation):
            return
        bucket_key = self.bucket_key()
        if bucket_key:
            # HeadObject needs s3:GetObject too.
            self.record_request(
                self.signer, "s3", operation, [{"action": "s3:GetObject", "resource": self.object_arn(bucket_key)}]
            )
        file = bucket_key and self.object_file(bucket_key)
        if not file or not os.path.isfile(file):
            self.fail(operation, 404, "NoSuchKey", "The specified key does not exist.")
            return
        with open(file, "rb") as source:
            body = source.read()
        stored = self.read_json(self.metadata_file(bucket_key)) or {}
        headers = {
            "ETag": self.etag(body),
            "Last-Modified": formatdate(os.path.getmtime(file), usegmt=True),
            **stored.get("metadata", {}),
        }
        if stored.get("versionId"):
            headers["x-amz-version-id"] = stored["versionId"]
        if self.headers.get("x-amz-checksum-mode") == "ENABLED" and stored.get("checksumSha256"):
            headers["x-amz-checksum-sha256"] = stored["checksumSha256"]
            headers["x-amz-checksum-type"] = "FULL_OBJECT"
        self.note(operation, 200)
        self.reply(200, body, "application/octet-stream", headers)

    def signed(self, body, operation):
        """Whether the request is signed as S3 requires; the signer is kept for the request record."""
        try:
            self.signer = sigv4.check(self, body, "s3", self.read_state("credentials.json"))
            return True
        except sigv4.SignatureProblem as problem:
            self.fail(operation, 403 if problem.code != "InvalidRequest" else 400, problem.code, str(problem))
            return False

    def bucket_key(self):
        """(bucket, key) of a path-style request, or None when the path names no object in a bucket."""
        parts = unquote(self.path.split("?")[0]).lstrip("/").split("/", 1)
        return (parts[0], parts[1]) if len(parts) == 2 and parts[0] and parts[1] else None

    @staticmethod
    def object_arn(bucket_key):
        return f"arn:aws:s3:::{bucket_key[0]}/{bucket_key[1]}"

    def object_file(self, bucket_key):
        return self.inside("s3", *bucket_key)

    def metadata_file(self, bucket_key):
        bucket, key = bucket_key
        return self.inside("s3-metadata", bucket, key + ".json")

    def inside(self, folder, bucket, key):
        """A file under the state folder, never outside it (a key may hold "..")."""
        root = os.path.realpath(self.state_path(folder))
        file = os.path.realpath(os.path.join(root, bucket, key))
        return file if file.startswith(root + "/") else None

    @staticmethod
    def read_json(file):
        try:
            with open(file) as source:
                return json.load(source)
        except (FileNotFoundError, TypeError):
            return None

    @staticmethod
    def etag(body):
        return f'"{hashlib.md5(body).hexdigest()}"'

    def note(self, operation, status):
        headers = {name: self.headers[name] for name in RECORDED_HEADERS if self.headers.get(name) is not None}
        self.record("s3-calls.jsonl", {"operation": operation, "path": self.path, "status": status, "headers": headers})

    def fail(self, operation, status, code, message):
        self.note(operation, status)
        document = f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{escape(message)}</Message></Error>'
        self.reply(status, document, "application/xml")


if __name__ == "__main__":
    serve(S3Handler, __doc__.splitlines()[0])
