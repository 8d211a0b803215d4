#!/usr/bin/python3
"""Holds apt's lists lock (/var/lib/apt/lists/lock) for SECONDS, as unattended-upgrades does at first boot.

apt takes its locks with fcntl (lockf), which a child does not inherit: the child takes the lock, then
tells the parent, which exits so that systemd (Type=forking) starts what is ordered after it.
Usage: hold-apt-lock.py SECONDS
"""

import fcntl
import os
import sys
import time

LISTS_LOCK = "/var/lib/apt/lists/lock"


def main():
    seconds = float(sys.argv[1])
    locked_read, locked_write = os.pipe()
    if os.fork():
        os.close(locked_write)
        sys.exit(0 if os.read(locked_read, 1) == b"1" else 1)
    os.close(locked_read)
    lock = os.open(LISTS_LOCK, os.O_RDWR | os.O_CREAT, 0o640)
    fcntl.lockf(lock, fcntl.LOCK_EX)
    os.write(locked_write, b"1")
    print(f"hold-apt-lock: holding {LISTS_LOCK} for {seconds:.0f}s", file=sys.stderr, flush=True)
    time.sleep(seconds)


if __name__ == "__main__":
    main()
