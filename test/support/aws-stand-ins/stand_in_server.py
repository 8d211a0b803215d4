"""What the AWS stand-ins share: arguments, the state folder, the listening socket and the ready line.

Each stand-in is a small HTTP server speaking one AWS protocol. The tests talk to it only through
files in its state folder (the parameters it serves, the calls and signals it records), so a test
changes what AWS "holds" by writing a file, as the real service would see a console edit. Once it
listens it prints one JSON line on stdout: {"event": "ready", "port": 8080}. Every AWS request a
stand-in answers is also appended to aws-requests.jsonl with what IAM authorizes for it
(record_request), so a test can judge it against the synthesized policies.
"""

import argparse
import json
import os
import ssl
import sys
import tempfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEFAULT_ACCOUNT = "123456789012"


class StandInHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state_dir = "."

    def log_message(self, format, *args):
        sys.stderr.write("%s: %s\n" % (type(self).__name__, format % args))

    def read_body(self):
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def reply(self, status, body=b"", content_type="application/json", headers=None):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def state_path(self, name):
        return os.path.join(self.state_dir, name)

    def read_state(self, name, default=None):
        try:
            with open(self.state_path(name)) as file:
                return json.load(file)
        except FileNotFoundError:
            return default

    def record(self, name, entry):
        with open(self.state_path(name), "a") as file:
            file.write(json.dumps(entry) + "\n")

    def known_credentials(self):
        """Every key the stand-in accepts: the role's (credentials.json, what IMDS hands out) and any other a test
        names (other-credentials.json: an operator's keys, for the calls the CLI makes)."""
        return [self.read_state("credentials.json")] + self.read_state("other-credentials.json", [])

    def account(self):
        """The account the stand-ins play (account.json {"account": ...}), in every ARN they record."""
        return self.read_state("account.json", {"account": DEFAULT_ACCOUNT})["account"]

    def iam(self):
        """iam.json {"generation": n, "deniedParameters": [...]}: which deploy's policies are in force (the
        test judges each request against that deploy's templates) and the SSM parameter names IAM does not
        allow yet. Read once per request, so a request sees one state."""
        return self.read_state("iam.json", {"generation": 0, "deniedParameters": []})

    def record_request(self, signer, service, operation, authorizations, outcome="answered", iam=None):
        """Appends what IAM authorizes for one request to aws-requests.jsonl, for the permission check
        (test/support/permission-check.ts): who signed it (signer: sigv4.check's answer), one
        {"action", "resource", "context"} per action and resource AWS authorizes for it, and the IAM
        generation in force."""
        self.record(
            "aws-requests.jsonl",
            {
                "accessKeyId": signer.access_key_id,
                "service": service,
                "operation": operation,
                "authorizations": authorizations,
                "outcome": outcome,
                "generation": (iam or self.iam())["generation"],
            },
        )


def write_state(state_dir, name, value):
    """Replaces a state file atomically: a request never reads half a file."""
    descriptor, temporary = tempfile.mkstemp(dir=state_dir, prefix=f".{name}.")
    with os.fdopen(descriptor, "w") as file:
        json.dump(value, file)
    os.replace(temporary, os.path.join(state_dir, name))


def serve(handler_class, description):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--address", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--state", required=True, help="the folder of state files the test reads and writes")
    parser.add_argument("--tls-cert", help="serve HTTPS with this certificate chain (PEM; a throw-away CA's)")
    parser.add_argument("--tls-key", help="the certificate's private key (PEM)")
    args = parser.parse_args()
    handler_class.state_dir = args.state
    server = ThreadingHTTPServer((args.address, args.port), handler_class)
    server.daemon_threads = True
    if args.tls_cert:
        # For clients that speak only HTTPS to AWS (Fluent Bit's CloudWatch Logs output).
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    print(json.dumps({"event": "ready", "port": server.server_address[1]}), flush=True)
    server.serve_forever()
