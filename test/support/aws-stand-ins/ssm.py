#!/usr/bin/python3
"""A stand-in for AWS Systems Manager Parameter Store: GetParameter, GetParameters, GetParametersByPath,
PutParameter and DeleteParameter (JSON 1.1), for the gateway's scripts and for the CLI alike.

Requests must be signed with SigV4 (sigv4.py) by the role's keys (credentials.json) or any
other-credentials.json names (an operator's, for the CLI); an unknown key is UnrecognizedClientException,
as SSM answers it. State files: ssm-parameters.json {"<name>": {"Type": "String" | "SecureString",
"Value": "...", "Version": 1}} (PutParameter adds "KeyId" when given and "LastModifiedDate"), read at
every request; each call is recorded in ssm-calls.jsonl ({"target", "names", "decrypt"}); ssm-throttle.json
{"remaining": n} throttles the next n calls (ThrottlingException). As the real service: a SecureString
read without WithDecryption returns its ciphertext; a missing name is ParameterNotFound (GetParameter,
DeleteParameter) or listed in InvalidParameters (GetParameters); more than 10 names is a
ValidationException; GetParametersByPath answers 10 parameters a page at most (NextToken), one level
below the path unless Recursive; PutParameter of a name that exists without Overwrite is
ParameterAlreadyExists.

What IAM authorizes for each call goes to aws-requests.jsonl: the ssm: action on every name asked for (the
path's ARN for GetParametersByPath); for each SecureString decrypted, kms:Decrypt on its key (a parameter's
"KeyId", else the AWS managed alias/aws/ssm) through SSM, with the parameter's ARN as encryption context,
as SSM asks KMS on the caller's behalf; kms:Encrypt likewise for a SecureString put. iam.json's
"deniedParameters" plays IAM that does not allow those names yet (a deploy's policy change not in force):
a call naming one of them fails whole with AccessDeniedException, as GetParameters authorizes every name it
is asked for, and is recorded with the outcome "denied".
"""

import base64
import datetime
import json
import threading

import sigv4
from stand_in_server import StandInHandler, serve, write_state

TARGET_PREFIX = "AmazonSSM."
MAX_PAGE = 10
# PutParameter and DeleteParameter read, change and write ssm-parameters.json: one at a time.
parameters_lock = threading.Lock()


class SsmHandler(StandInHandler):
    def do_POST(self):
        body = self.read_body()
        try:
            signer = sigv4.check(self, body, "ssm", self.known_credentials())
        except sigv4.SignatureProblem as problem:
            # The JSON protocol services name an unknown key so (STS and S3 say InvalidClientTokenId).
            unknown_key = problem.code == "InvalidClientTokenId"
            self.error(400, "UnrecognizedClientException" if unknown_key else problem.code, str(problem))
            return
        if self.throttled():
            self.error(400, "ThrottlingException", "Rate exceeded")
            return
        target = self.headers.get("X-Amz-Target", "")
        if self.headers.get("Content-Type") != "application/x-amz-json-1.1":
            self.error(400, "SerializationException", "Content-Type must be application/x-amz-json-1.1")
            return
        operation = target[len(TARGET_PREFIX):] if target.startswith(TARGET_PREFIX) else ""
        answer = {
            "GetParameter": self.get_parameter,
            "GetParameters": self.get_parameters,
            "GetParametersByPath": self.get_parameters_by_path,
            "PutParameter": self.put_parameter,
            "DeleteParameter": self.delete_parameter,
        }.get(operation)
        if answer is None:
            self.error(400, "UnknownOperationException", f"unknown operation {target}")
            return
        request = json.loads(body or b"{}")
        decrypt = bool(request.get("WithDecryption"))
        if operation == "GetParameters":
            names = request.get("Names") or []
        else:
            names = [request.get("Name") or request.get("Path") or ""]
        self.record("ssm-calls.jsonl", {"target": target, "names": names, "decrypt": decrypt})
        authorizations = [{"action": f"ssm:{operation}", "resource": self.parameter_arn(signer, name)} for name in names]
        iam = self.iam()
        denied = [name for name in names if name in iam["deniedParameters"]]
        if denied:
            self.record_request(signer, "ssm", operation, authorizations, outcome="denied", iam=iam)
            arn = self.parameter_arn(signer, denied[0])
            self.error(400, "AccessDeniedException", f"not authorized to perform: ssm:{operation} on resource: {arn}")
            return
        answer(signer, request, authorizations, iam)

    def get_parameter(self, signer, request, authorizations, iam):
        name, decrypt = request.get("Name"), bool(request.get("WithDecryption"))
        stored = self.read_state("ssm-parameters.json", {}).get(name)
        if decrypt and stored and stored["Type"] == "SecureString":
            authorizations.append(self.key_authorization("kms:Decrypt", signer, name, stored.get("KeyId")))
        self.record_request(signer, "ssm", "GetParameter", authorizations, iam=iam)
        if stored is None:
            self.error(400, "ParameterNotFound", "")
            return
        self.reply(200, json.dumps({"Parameter": self.parameter(signer, name, stored, decrypt)}))

    def get_parameters(self, signer, request, authorizations, iam):
        names, decrypt = request.get("Names") or [], bool(request.get("WithDecryption"))
        parameters = self.read_state("ssm-parameters.json", {})
        if decrypt:
            authorizations += [
                self.key_authorization("kms:Decrypt", signer, name, parameters[name].get("KeyId"))
                for name in names
                if parameters.get(name, {}).get("Type") == "SecureString"
            ]
        self.record_request(signer, "ssm", "GetParameters", authorizations, iam=iam)
        if len(names) > 10:
            self.error(400, "ValidationException", "names: Member must have length less than or equal to 10")
            return
        found = [self.parameter(signer, name, parameters[name], decrypt) for name in names if name in parameters]
        self.reply(200, json.dumps({"Parameters": found, "InvalidParameters": [n for n in names if n not in parameters]}))

    def get_parameters_by_path(self, signer, request, authorizations, iam):
        path = (request.get("Path") or "").rstrip("/")
        decrypt = bool(request.get("WithDecryption"))
        parameters = self.read_state("ssm-parameters.json", {})
        below = sorted(
            name
            for name in parameters
            if name.startswith(f"{path}/") and (request.get("Recursive") or "/" not in name[len(path) + 1:])
        )
        maximum = max(1, min(int(request.get("MaxResults") or MAX_PAGE), MAX_PAGE))
        start = int(base64.b64decode(request["NextToken"])) if request.get("NextToken") else 0
        page = below[start:start + maximum]
        if decrypt:
            authorizations += [
                self.key_authorization("kms:Decrypt", signer, name, parameters[name].get("KeyId"))
                for name in page
                if parameters[name]["Type"] == "SecureString"
            ]
        self.record_request(signer, "ssm", "GetParametersByPath", authorizations, iam=iam)
        document = {"Parameters": [self.parameter(signer, name, parameters[name], decrypt) for name in page]}
        if start + maximum < len(below):
            document["NextToken"] = base64.b64encode(str(start + maximum).encode()).decode()
        self.reply(200, json.dumps(document))

    def put_parameter(self, signer, request, authorizations, iam):
        name, kind, key = request.get("Name"), request.get("Type", "String"), request.get("KeyId")
        if kind == "SecureString":
            authorizations.append(self.key_authorization("kms:Encrypt", signer, name, key and self.key_arn(signer, key)))
        self.record_request(signer, "ssm", "PutParameter", authorizations, iam=iam)
        with parameters_lock:
            parameters = self.read_state("ssm-parameters.json", {})
            existing = parameters.get(name)
            if existing and not request.get("Overwrite"):
                message = "The parameter already exists. To overwrite this value, set the overwrite option in the request to true."
                self.error(400, "ParameterAlreadyExists", message)
                return
            stored = {"Type": kind, "Value": request.get("Value", ""), "Version": (existing or {}).get("Version", 0) + 1}
            if key:
                stored["KeyId"] = self.key_arn(signer, key)
            stored["LastModifiedDate"] = datetime.datetime.now(datetime.timezone.utc).timestamp()
            parameters[name] = stored
            write_state(self.state_dir, "ssm-parameters.json", parameters)
        self.reply(200, json.dumps({"Version": stored["Version"], "Tier": "Standard"}))

    def delete_parameter(self, signer, request, authorizations, iam):
        self.record_request(signer, "ssm", "DeleteParameter", authorizations, iam=iam)
        with parameters_lock:
            parameters = self.read_state("ssm-parameters.json", {})
            if parameters.pop(request.get("Name"), None) is None:
                self.error(400, "ParameterNotFound", "")
                return
            write_state(self.state_dir, "ssm-parameters.json", parameters)
        self.reply(200, "{}")

    def throttled(self):
        """ssm-throttle.json {"remaining": n}: the next n calls are throttled, as a busy account sees."""
        throttle = self.read_state("ssm-throttle.json", {"remaining": 0})
        if throttle["remaining"] <= 0:
            return False
        write_state(self.state_dir, "ssm-throttle.json", {"remaining": throttle["remaining"] - 1})
        return True

    def parameter_arn(self, signer, name):
        return f"arn:aws:ssm:{signer.region}:{self.account()}:parameter/{name.lstrip('/')}"

    def key_arn(self, signer, key):
        """A KeyId as PutParameter takes it (key id, alias name or either's ARN) as an ARN."""
        if key.startswith("arn:"):
            return key
        return f"arn:aws:kms:{signer.region}:{self.account()}:{key if key.startswith('alias/') else f'key/{key}'}"

    def key_authorization(self, action, signer, name, key):
        # The AWS managed key as the permission check names it (awsManagedKeyArn in permission-check.ts).
        key = key or f"arn:aws:kms:{signer.region}:{self.account()}:key/aws-managed-aws-ssm"
        return {
            "action": action,
            "resource": key,
            "context": {
                "kms:ViaService": f"ssm.{signer.region}.amazonaws.com",
                "kms:CallerAccount": self.account(),
                "kms:EncryptionContext:PARAMETER_ARN": self.parameter_arn(signer, name),
            },
        }

    def parameter(self, signer, name, stored, decrypt):
        value = stored["Value"]
        if stored["Type"] == "SecureString" and not decrypt:
            value = base64.b64encode(b"ciphertext:" + name.encode()).decode()
        document = {"Name": name, "Type": stored["Type"], "Value": value, "Version": stored["Version"]}
        document["ARN"] = self.parameter_arn(signer, name)
        if "LastModifiedDate" in stored:
            document["LastModifiedDate"] = stored["LastModifiedDate"]
        return document

    def error(self, status, code, message):
        self.reply(status, json.dumps({"__type": code, "message": message}), "application/x-amz-json-1.1")


if __name__ == "__main__":
    serve(SsmHandler, __doc__.splitlines()[0])
