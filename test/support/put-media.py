#!/usr/bin/python3
"""put-media.py: uploads a Matroska file to a KVS API (the stand-in) with PutMedia, as fast as it goes, as if it
had been filmed from --start on: the fragments' timecodes count from that producer start time (RELATIVE).

For tests and benchmarks that need minutes of received video in seconds (a clip in parts, 100 cameras):
the file is real Matroska from GStreamer (one cluster per key frame), the upload speaks PutMedia (chunked,
SigV4-signed with botocore), and the stand-in handles it exactly as it handles kvssink's. Prints one JSON
line when done: {"stream", "fragments" (acknowledged), "errors"}.

    put-media.py --endpoint http://127.0.0.1:PORT --stream lobby --start 1796200000 --key AKIA... --secret ... file.mkv
"""

import argparse
import json
import socket
import sys
import threading
import urllib.parse

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

CHUNK = 64 * 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--stream", required=True)
    parser.add_argument("--start", type=float, required=True, help="producer start time, epoch seconds")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--key", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("file")
    args = parser.parse_args()

    url = f"{args.endpoint}/putMedia"
    request = AWSRequest(
        method="POST",
        url=url,
        headers={
            "x-amzn-stream-name": args.stream,
            "x-amzn-fragment-timecode-type": "RELATIVE",
            "x-amzn-producer-start-timestamp": f"{args.start:.3f}",
            "Transfer-Encoding": "chunked",
            "X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD",
        },
    )
    SigV4Auth(Credentials(args.key, args.secret), "kinesisvideo", args.region).add_auth(request)
    parts = urllib.parse.urlsplit(url)
    connection = socket.create_connection((parts.hostname, parts.port or 80), timeout=60)
    head = f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in request.headers.items() if name.lower() != "host")
    connection.sendall(head.encode() + b"\r\n")
    # KVS answers each fragment while the upload goes on: read the answers meanwhile, or both ends wait.
    answers = {"status": 0, "fragments": 0, "errors": []}
    reader = threading.Thread(target=read_answers, args=(connection, answers))
    reader.start()
    with open(args.file, "rb") as media:
        while data := media.read(CHUNK):
            connection.sendall(f"{len(data):x}\r\n".encode() + data + b"\r\n")
    connection.sendall(b"0\r\n\r\n")
    reader.join()
    connection.close()
    status, acknowledged, errors = answers["status"], answers["fragments"], answers["errors"]
    print(json.dumps({"stream": args.stream, "status": status, "fragments": acknowledged, "errors": errors}))
    return 0 if status == 200 and not errors else 1


def read_answers(connection, answers):
    answer = connection.makefile("rb")
    answers["status"] = int(answer.readline().split()[1])
    while answer.readline() not in (b"\r\n", b"\n", b""):
        pass
    while answers["status"] == 200:
        size = int(answer.readline().split(b";")[0].strip() or b"0", 16)
        if size == 0:
            break
        event = json.loads(answer.read(size))
        answer.readline()
        if event.get("EventType") == "PERSISTED":
            answers["fragments"] += 1
        if event.get("EventType") == "ERROR":
            answers["errors"].append(event.get("ErrorId"))


if __name__ == "__main__":
    sys.exit(main())
