#!/usr/bin/python3
"""The program of the stand-in fluent-bit package the EC2 box installs from the stand-in repository.

CI has no Fluent Bit. This stands in for /opt/fluent-bit/bin/fluent-bit so that the install's Fluent Bit
steps (the key, the signed repository, apt-get install, the unit with the gateway's drop-in) run in the
box as on an instance. It proves only that Fluent Bit is started the way the drop-in says, with the
gateway's configuration and environment: it reads the file given with -c/--config, fails (as a service
that does not start) when the file is missing or uses a ${VARIABLE} its environment does not set, writes
what it was started with to /run/fluent-bit-stand-in.json for the test, and then idles like a service. It
reads no journal and ships nothing: the real Fluent Bit's run is checked by hand (docs/ec2-gateway.md#logs).
"""

import json
import os
import re
import signal
import sys


def main():
    arguments = sys.argv[1:]
    config = None
    for index, argument in enumerate(arguments):
        if argument in ("-c", "--config") and index + 1 < len(arguments):
            config = arguments[index + 1]
        elif argument.startswith("--config="):
            config = argument.split("=", 1)[1]
    if not config or not os.path.isfile(config):
        sys.exit(f"fluent-bit stand-in: no configuration file ({config})")
    with open(config) as file:
        text = file.read()
    missing = sorted({name for name in re.findall(r"\$\{(\w+)\}", text) if not os.environ.get(name)})
    if missing:
        sys.exit(f"fluent-bit stand-in: {config} uses {', '.join(missing)}, not set in the environment")
    with open("/run/fluent-bit-stand-in.json", "w") as file:
        json.dump({"arguments": arguments, "config": config, "pid": os.getpid()}, file)
    print(f"fluent-bit stand-in: started with {config}; it reads no journal and ships nothing", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        signal.pause()


if __name__ == "__main__":
    main()
