#!/usr/bin/python3
"""Serves a folder over HTTPS (a throw-away CA's certificate), for apt and curl in a test: the stand-in of
a package repository such as packages.fluentbit.io.

HTTP/1.1 with keep-alive, as apt expects, and every TLS connection ends with a close_notify: Debian 13's
apt (OpenSSL 3.5) fails with "unexpected eof while reading" on a server that just closes the socket.
Prints {"event": "ready", "port": N} once it listens; logs one line per request on stderr.

Usage: https-file-server.py --folder DIR --cert CHAIN.pem --key KEY.pem [--address A] [--port P]
"""

import argparse
import functools
import json
import ssl
import sys
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer


class Handler(SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        sys.stderr.write("https-file-server: %s\n" % (format % args))


class TlsServer(ThreadingHTTPServer):
    daemon_threads = True

    def shutdown_request(self, request):
        try:
            request.unwrap()  # sends close_notify
        except (ssl.SSLError, OSError, ValueError):
            pass
        super().shutdown_request(request)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--address", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = TlsServer((args.address, args.port), functools.partial(Handler, directory=args.folder))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    print(json.dumps({"event": "ready", "port": server.server_address[1]}), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
