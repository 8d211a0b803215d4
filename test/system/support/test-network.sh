#!/usr/bin/env bash
# The whole-system tests' links: a network namespace joined to this machine by a veth pair, on a /30 of
# 198.51.100.0/24 (TEST-NET-2, documentation only) chosen at run time, so that any number of boxes and
# task networks (other test files, other checkouts) run side by side. Nothing routes out of a namespace.
#
#   test-network.sh up RECORD LABEL   makes namespace kvs-LABEL-<random>, a veth pair (kvs<random> on the
#                                     machine, eth0 in the namespace) and their addresses, and writes what it
#                                     made to RECORD: NETNS, HOST_INTERFACE, HOST_ADDRESS, INNER_ADDRESS,
#                                     SUBNET (NAME=value lines). RECORD is written before anything is made.
#   test-network.sh down RECORD       ends every process in RECORD's namespace, deletes the namespace, the
#                                     veth pair and RECORD; does nothing when RECORD is missing. Only what
#                                     RECORD names is touched: the next run of a test removes the leftovers
#                                     of a killed run of the same test from its own record, and nobody else's.
#
# The subnet is chosen, and its host address added, under a machine-wide lock, and never one that
# overlaps an address or route of the machine (another test's link, or the machine's own network).
set -euo pipefail

SUPPORT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SUPPORT POOL=198.51.100.0/24 LOCK=/run/lock/kvs-gateway-test-networks.lock

log() { printf 'test-network: %s\n' "$*" >&2; }

record_value() {
  sed -n "s/^$2=//p" "$1"
}

up() {
  local record="$1" label="$2" id netns host subnet host_address inner_address lock
  if [[ ! "$label" =~ ^[a-z0-9-]{1,40}$ ]]; then
    log "label \"$label\": use lower-case letters, digits and -"
    exit 2
  fi
  id="$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n')"
  netns="kvs-$label-$id"
  host="kvs$id"
  mkdir -p "$(dirname "$record")" /run/lock
  exec {lock}>"$LOCK"
  flock "$lock"
  read -r subnet host_address inner_address < <(/usr/bin/python3 "$SUPPORT/free-subnet.py" "$POOL" 30)
  printf 'NETNS=%s\nHOST_INTERFACE=%s\nHOST_ADDRESS=%s\nINNER_ADDRESS=%s\nSUBNET=%s\n' \
    "$netns" "$host" "$host_address" "$inner_address" "$subnet" >"$record.new"
  mv "$record.new" "$record"
  ip netns add "$netns"
  ip link add "$host" type veth peer name eth0 netns "$netns"
  ip addr add "$host_address/30" dev "$host"
  flock -u "$lock"
  ip link set "$host" up
  ip -n "$netns" addr add "$inner_address/30" dev eth0
  ip -n "$netns" link set eth0 up
  ip -n "$netns" link set lo up
}

down() {
  local record="$1" netns host pids=()
  if [[ ! -f "$record" ]]; then return 0; fi
  netns="$(record_value "$record" NETNS)"
  host="$(record_value "$record" HOST_INTERFACE)"
  if [[ -n "$netns" && -e "/run/netns/$netns" ]]; then
    mapfile -t pids < <(ip netns pids "$netns" 2>/dev/null)
    bash "$SUPPORT/end-processes.sh" "${pids[@]}"
    ip netns delete "$netns"
  fi
  # The namespace's deletion destroys the pair too, but in the kernel's own time: the link can vanish
  # between the check and the delete (seen under load), which is not a failure.
  if [[ -n "$host" ]] && ip link show "$host" >/dev/null 2>&1 && ! ip link delete "$host" 2>/dev/null; then
    if ip link show "$host" >/dev/null 2>&1; then
      log "could not delete $host"
      exit 1
    fi
  fi
  rm -f "$record"
}

case "${1:-}" in
  up) up "$2" "$3" ;;
  down) down "$2" ;;
  *)
    log "usage: test-network.sh up RECORD LABEL | down RECORD"
    exit 2
    ;;
esac
