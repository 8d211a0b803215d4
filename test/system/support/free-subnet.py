#!/usr/bin/python3
"""Prints the first subnet of POOL, of length PREFIX, that overlaps no address and no route of this machine,
and its first two host addresses: "198.51.100.4/30 198.51.100.5 198.51.100.6".

The whole-system tests' networks take their addresses from a documentation range at run time, so that
any number of them (other test files, other checkouts) run at once. A subnet in use by anything (another
test's link, or the machine's own network when it happens to sit in the range) is never taken.
Usage: free-subnet.py POOL PREFIX      e.g. free-subnet.py 198.51.100.0/24 30
"""

import ipaddress
import json
import subprocess
import sys


def networks_in_use():
    """Every IPv4 network on an interface or in a routing table of this network namespace."""
    used = []
    addresses = json.loads(subprocess.run(["ip", "-j", "-4", "addr"], check=True, capture_output=True).stdout)
    for interface in addresses:
        for address in interface.get("addr_info", []):
            used.append(ipaddress.ip_network(f"{address['local']}/{address['prefixlen']}", strict=False))
    routes = json.loads(subprocess.run(["ip", "-j", "-4", "route", "show", "table", "all"], check=True, capture_output=True).stdout)
    for route in routes:
        if route["dst"] != "default":  # the default route covers everything and claims nothing
            used.append(ipaddress.ip_network(route["dst"], strict=False))
    return used


def main():
    pool = ipaddress.ip_network(sys.argv[1])
    prefix = int(sys.argv[2])
    used = networks_in_use()
    for candidate in pool.subnets(new_prefix=prefix):
        if not any(candidate.overlaps(network) for network in used):
            hosts = list(candidate.hosts())
            print(candidate, hosts[0], hosts[1])
            return
    print(f"free-subnet: every /{prefix} of {pool} is in use on this machine (ip addr, ip route)", file=sys.stderr)
    sys.exit(1)


if __name__ == "__main__":
    main()
