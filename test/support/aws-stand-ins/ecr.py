#!/usr/bin/python3
"""A stand-in for Amazon ECR's and ECR Public's GetAuthorizationToken (JSON 1.1), what `aws ecr
get-login-password` and `aws ecr-public get-login-password` call before a docker login.

Requests must be signed with SigV4 (sigv4.py) for the service their target belongs to: "ecr" for
AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken, "ecr-public" for
SpencerFrontendService.GetAuthorizationToken. The token is base64("AWS:<password>") with a password made
up per call, as the real ones are; each call is recorded in ecr-calls.jsonl ({"target", "password"}),
and what IAM authorizes for it in aws-requests.jsonl (ECR Public's also needs sts:GetServiceBearerToken).
"""

import base64
import json
import secrets
import time

import sigv4
from stand_in_server import StandInHandler, serve

TARGETS = {
    "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken": ("ecr", ["ecr:GetAuthorizationToken"]),
    "SpencerFrontendService.GetAuthorizationToken": (
        "ecr-public",
        ["ecr-public:GetAuthorizationToken", "sts:GetServiceBearerToken"],
    ),
}


class EcrHandler(StandInHandler):
    def do_POST(self):
        body = self.read_body()
        target = self.headers.get("X-Amz-Target", "")
        if target not in TARGETS:
            self.error(400, "UnknownOperationException", f"unknown operation {target}")
            return
        service, actions = TARGETS[target]
        try:
            signer = sigv4.check(self, body, service, self.read_state("credentials.json"))
        except sigv4.SignatureProblem as problem:
            self.error(403 if problem.code == "InvalidClientTokenId" else 400, problem.code, str(problem))
            return
        self.record_request(signer, service, "GetAuthorizationToken", [{"action": a, "resource": "*"} for a in actions])
        password = secrets.token_urlsafe(24)
        self.record("ecr-calls.jsonl", {"target": target, "password": password})
        token = {
            "authorizationToken": base64.b64encode(f"AWS:{password}".encode()).decode(),
            "expiresAt": int(time.time()) + 12 * 3600,
        }
        if service == "ecr":
            account = self.account()
            token["proxyEndpoint"] = f"https://{account}.dkr.ecr.{signer.region}.amazonaws.com"
            self.reply(200, json.dumps({"authorizationData": [token]}), "application/x-amz-json-1.1")
        else:
            self.reply(200, json.dumps({"authorizationData": token}), "application/x-amz-json-1.1")

    def error(self, status, code, message):
        self.reply(status, json.dumps({"__type": code, "message": message}), "application/x-amz-json-1.1")


if __name__ == "__main__":
    serve(EcrHandler, __doc__.splitlines()[0])
