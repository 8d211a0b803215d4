#!/usr/bin/python3
"""A stand-in for the EC2 instance metadata service, IMDSv2 only (what the stack requires).

PUT /latest/api/token (with X-aws-ec2-metadata-token-ttl-seconds) gives a session token; every GET
must carry it (X-aws-ec2-metadata-token), else 401, as on an instance with HttpTokens=required.
Serves meta-data/instance-id, meta-data/placement/region and the role's credentials under
meta-data/iam/security-credentials/<role>. State files: instance.json {"instanceId", "roleName",
"region"}, credentials.json {"AccessKeyId", "SecretAccessKey", "Token"} (the keys the other stand-ins
accept); each answer is recorded in imds-calls.jsonl.
"""

import datetime
import json
import secrets

from stand_in_server import StandInHandler, serve

CREDENTIALS_LIFETIME = datetime.timedelta(hours=6)


class ImdsHandler(StandInHandler):
    tokens = set()

    def do_PUT(self):
        self.read_body()
        if self.path != "/latest/api/token" or not self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            self.reply(400, "", "text/plain")
            return
        token = secrets.token_urlsafe(32)
        self.tokens.add(token)
        self.reply(200, token, "text/plain")

    def do_GET(self):
        if self.headers.get("X-aws-ec2-metadata-token") not in self.tokens:
            self.reply(401, "", "text/plain")
            return
        instance = self.read_state("instance.json")
        prefix = "/latest/meta-data/iam/security-credentials/"
        self.record("imds-calls.jsonl", {"path": self.path})
        if self.path == "/latest/meta-data/instance-id":
            self.reply(200, instance["instanceId"], "text/plain")
        elif self.path == "/latest/meta-data/placement/region":
            self.reply(200, instance["region"], "text/plain")
        elif self.path == prefix:
            self.reply(200, instance["roleName"], "text/plain")
        elif self.path == prefix + instance["roleName"]:
            self.reply(200, self.role_credentials(), "application/json")
        else:
            self.reply(404, "", "text/plain")

    def role_credentials(self):
        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        keys = self.read_state("credentials.json")
        return json.dumps(
            {
                "Code": "Success",
                "LastUpdated": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "Type": "AWS-HMAC",
                "AccessKeyId": keys["AccessKeyId"],
                "SecretAccessKey": keys["SecretAccessKey"],
                "Token": keys["Token"],
                "Expiration": (now + CREDENTIALS_LIFETIME).strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        )


if __name__ == "__main__":
    serve(ImdsHandler, __doc__.splitlines()[0])
