#!/usr/bin/python3
"""A stand-in for AWS Systems Manager Parameter Store: GetParameter and GetParameters (JSON 1.1).

Requests must be signed with SigV4 (sigv4.py). State files: ssm-parameters.json
{"<name>": {"Type": "String" | "SecureString", "Value": "...", "Version": 1}}, read at every request;
each call is recorded in ssm-calls.jsonl ({"target", "names", "decrypt"}); ssm-throttle.json
{"remaining": n} throttles the next n calls (ThrottlingException). As the real service: a
SecureString read without WithDecryption returns its ciphertext; a missing name is ParameterNotFound
(GetParameter) or listed in InvalidParameters (GetParameters); more than 10 names is a
ValidationException.

What IAM authorizes for each call goes to aws-requests.jsonl: ssm:GetParameter(s) on every name asked
for, and for each SecureString decrypted, kms:Decrypt on its key (a parameter's "KeyId", else the AWS
managed alias/aws/ssm) through SSM, with the parameter's ARN as encryption context, as SSM asks KMS on
the caller's behalf. iam.json's "deniedParameters" plays IAM that does not allow those names yet (a
deploy's policy change not in force): a call naming one of them fails whole with AccessDeniedException,
as GetParameters authorizes every name it is asked for, and is recorded with the outcome "denied".
"""

import base64
import json

import sigv4
from stand_in_server import StandInHandler, serve, write_state


class SsmHandler(StandInHandler):
    def do_POST(self):
        body = self.read_body()
        try:
            signer = sigv4.check(self, body, "ssm", self.read_state("credentials.json"))
        except sigv4.SignatureProblem as problem:
            self.error(400 if problem.code != "InvalidClientTokenId" else 403, problem.code, str(problem))
            return
        if self.throttled():
            self.error(400, "ThrottlingException", "Rate exceeded")
            return
        target = self.headers.get("X-Amz-Target", "")
        if self.headers.get("Content-Type") != "application/x-amz-json-1.1":
            self.error(400, "SerializationException", "Content-Type must be application/x-amz-json-1.1")
            return
        request = json.loads(body or b"{}")
        parameters = self.read_state("ssm-parameters.json", {})
        decrypt = bool(request.get("WithDecryption"))
        if target == "AmazonSSM.GetParameter":
            names = [request.get("Name")]
        elif target == "AmazonSSM.GetParameters":
            names = request.get("Names") or []
        else:
            self.error(400, "UnknownOperationException", f"unknown operation {target}")
            return
        self.record("ssm-calls.jsonl", {"target": target, "names": names, "decrypt": decrypt})
        operation = target.split(".")[-1]
        authorizations = [
            {"action": f"ssm:{operation}", "resource": self.parameter_arn(signer, name)} for name in names
        ]
        iam = self.iam()
        denied = [name for name in names if name in iam["deniedParameters"]]
        if denied:
            self.record_request(signer, "ssm", operation, authorizations, outcome="denied", iam=iam)
            arn = self.parameter_arn(signer, denied[0])
            self.error(400, "AccessDeniedException", f"not authorized to perform: ssm:{operation} on resource: {arn}")
            return
        if decrypt:
            authorizations += [
                self.decrypt_authorization(signer, name, parameters[name])
                for name in names
                if parameters.get(name, {}).get("Type") == "SecureString"
            ]
        self.record_request(signer, "ssm", operation, authorizations, iam=iam)
        if target == "AmazonSSM.GetParameter":
            if names[0] not in parameters:
                self.error(400, "ParameterNotFound", "")
                return
            self.reply(200, json.dumps({"Parameter": self.parameter(names[0], parameters[names[0]], decrypt)}))
            return
        if len(names) > 10:
            self.error(400, "ValidationException", "names: Member must have length less than or equal to 10")
            return
        self.reply(
            200,
            json.dumps(
                {
                    "Parameters": [self.parameter(n, parameters[n], decrypt) for n in names if n in parameters],
                    "InvalidParameters": [n for n in names if n not in parameters],
                }
            ),
        )

    def throttled(self):
        """ssm-throttle.json {"remaining": n}: the next n calls are throttled, as a busy account sees."""
        throttle = self.read_state("ssm-throttle.json", {"remaining": 0})
        if throttle["remaining"] <= 0:
            return False
        write_state(self.state_dir, "ssm-throttle.json", {"remaining": throttle["remaining"] - 1})
        return True

    def parameter_arn(self, signer, name):
        return f"arn:aws:ssm:{signer.region}:{self.account()}:parameter/{name.lstrip('/')}"

    def decrypt_authorization(self, signer, name, stored):
        # The AWS managed key as the permission check names it (awsManagedKeyArn in permission-check.ts).
        key = stored.get("KeyId") or f"arn:aws:kms:{signer.region}:{self.account()}:key/aws-managed-aws-ssm"
        return {
            "action": "kms:Decrypt",
            "resource": key,
            "context": {
                "kms:ViaService": f"ssm.{signer.region}.amazonaws.com",
                "kms:CallerAccount": self.account(),
                "kms:EncryptionContext:PARAMETER_ARN": self.parameter_arn(signer, name),
            },
        }

    @staticmethod
    def parameter(name, stored, decrypt):
        value = stored["Value"]
        if stored["Type"] == "SecureString" and not decrypt:
            value = base64.b64encode(b"ciphertext:" + name.encode()).decode()
        return {"Name": name, "Type": stored["Type"], "Value": value, "Version": stored["Version"]}

    def error(self, status, code, message):
        self.reply(status, json.dumps({"__type": code, "message": message}), "application/x-amz-json-1.1")


if __name__ == "__main__":
    serve(SsmHandler, __doc__.splitlines()[0])
