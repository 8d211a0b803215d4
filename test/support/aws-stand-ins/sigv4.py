"""Checks AWS Signature Version 4 on a request the way AWS does, by recomputing it with botocore.

The credentials a stand-in accepts are the ones the IMDS stand-in hands out: the state file
credentials.json ({"AccessKeyId", "SecretAccessKey", "Token"}). A request passes only when it names
that key, carries that session token, is dated within 5 minutes, and its signature over the method,
path, query, signed headers and body is the one botocore computes: a wrong signature fails the test.
"""

import hashlib
import re
import time
from calendar import timegm
from collections import namedtuple

from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials

AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request, "
    r"SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=(?P<signature>[0-9a-f]{64})$"
)
MAX_SKEW_SECONDS = 300

# Who signed a request that passed: the access key id and the region of the credential scope.
Signer = namedtuple("Signer", "access_key_id region")


class SignatureProblem(Exception):
    """Why AWS would refuse the request: an error code and message as AWS words them."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def signed_as_given(signer_class):
    """botocore's signer leaves User-Agent (and X-Amzn-Trace-Id, Expect) out of what it signs; AWS checks
    the headers the client says it signed, whichever they are (Fluent Bit signs User-Agent): the request
    handed to it holds exactly those headers, so sign them all."""

    class SignedAsGiven(signer_class):
        def headers_to_sign(self, request):
            headers = HTTPHeaders()
            for name, value in request.headers.items():
                headers[name.lower()] = value
            return headers

    return SignedAsGiven


def check(handler, body, service, credentials):
    """Raises SignatureProblem unless the handler's request is signed for `service` with `credentials` (one
    {"AccessKeyId", ...}, or a list of them: the key the request names); returns the Signer."""
    headers = {name.lower(): value for name, value in handler.headers.items()}
    match = AUTHORIZATION.match(headers.get("authorization", ""))
    if not match:
        raise SignatureProblem("IncompleteSignature", "no AWS4-HMAC-SHA256 Authorization header")
    if match["service"] != service:
        raise SignatureProblem("SignatureDoesNotMatch", f"credential scope names service {match['service']}")
    if isinstance(credentials, list):
        credentials = next((known for known in credentials if known.get("AccessKeyId") == match["key"]), None)
    if not credentials or match["key"] != credentials["AccessKeyId"]:
        raise SignatureProblem("InvalidClientTokenId", "the security token included in the request is invalid")
    if headers.get("x-amz-security-token") != credentials.get("Token"):
        raise SignatureProblem("InvalidClientTokenId", "the session token is missing or wrong")
    signed = match["signed"].split(";")
    for required in ("host", "x-amz-date"):
        if required not in signed:
            raise SignatureProblem("SignatureDoesNotMatch", f"{required} is not signed")
    amz_date = headers.get("x-amz-date", "")
    try:
        skew = abs(time.time() - timegm(time.strptime(amz_date, "%Y%m%dT%H%M%SZ")))
    except ValueError:
        raise SignatureProblem("IncompleteSignature", f"x-amz-date {amz_date!r} is not a date")
    if skew > MAX_SKEW_SECONDS or not amz_date.startswith(match["date"]):
        raise SignatureProblem("SignatureDoesNotMatch", "signature expired or dated wrongly")
    if service == "s3":
        check_s3_payload_hash(headers, signed, body)
    request = AWSRequest(
        method=handler.command,
        url=f"http://{headers['host']}{handler.path}",
        data=body,
        headers={name: headers[name] for name in signed if name in headers},
    )
    request.context["timestamp"] = amz_date
    signer_class = signed_as_given(S3SigV4Auth if service == "s3" else SigV4Auth)
    signer = signer_class(
        Credentials(credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials.get("Token")),
        service,
        match["region"],
    )
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if expected != match["signature"]:
        raise SignatureProblem(
            "SignatureDoesNotMatch",
            "the request signature we calculated does not match the signature you provided",
        )
    return Signer(match["key"], match["region"])


def check_s3_payload_hash(headers, signed, body):
    """S3 refuses a SigV4 request without a signed x-amz-content-sha256 that matches the body."""
    declared = headers.get("x-amz-content-sha256")
    if declared is None or "x-amz-content-sha256" not in signed:
        raise SignatureProblem("InvalidRequest", "Missing required header for this request: x-amz-content-sha256")
    if declared != "UNSIGNED-PAYLOAD" and declared != hashlib.sha256(body).hexdigest():
        raise SignatureProblem("XAmzContentSHA256Mismatch", "x-amz-content-sha256 does not match the body")
