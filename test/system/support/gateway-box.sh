#!/usr/bin/env bash
# The EC2 box test's plumbing: its network namespace and its root filesystem overlay, made and removed.
#
#   gateway-box.sh network-up NAME         namespace NAME; a veth pair NAME-h (host, 198.51.100.1/24) and
#                                          NAME-n (in NAME, 198.51.100.2/24 and 169.254.169.254/32, the
#                                          instance metadata address); no route out of NAME
#   gateway-box.sh mount ROOTFS DIR        DIR/root: an overlay of ROOTFS (kept unchanged) and DIR/upper
#   gateway-box.sh clean NAME WORK         ends every process in namespace NAME and the processes named in
#                                          WORK/*.pid and WORK/*/*.pid, unmounts every overlay under WORK, deletes NAME and
#                                          its veth pair; safe to run when nothing is there (the test runs
#                                          it before it starts, for leftovers of a killed run, and after)
# Addresses are from 198.51.100.0/24 (TEST-NET-2, documentation only). The machine's own network may
# use a documentation range too (some sandboxes run on 192.0.2.0/24): network-up refuses to start when
# the range is already on any interface or route of the machine, rather than shadow its gateway.
set -euo pipefail

readonly HOST_ADDRESS=198.51.100.1 BOX_ADDRESS=198.51.100.2 PREFIX=198.51.100.

log() { printf 'gateway-box: %s\n' "$*" >&2; }

network_up() {
  local name="$1"
  if ip -4 addr show | grep -q "inet $PREFIX" || ip -4 route show | grep -q "$PREFIX"; then
    log "the machine already uses ${PREFIX}0/24 (ip addr, ip route): not adding the box's network on top of it"
    exit 1
  fi
  ip netns add "$name"
  ip link add "$name-h" type veth peer name "$name-n"
  ip link set "$name-n" netns "$name"
  ip addr add "$HOST_ADDRESS/24" dev "$name-h"
  ip link set "$name-h" up
  ip -n "$name" addr add "$BOX_ADDRESS/24" dev "$name-n"
  # This kernel has no dummy interfaces: the metadata address sits on the namespace's end of the pair.
  ip -n "$name" addr add 169.254.169.254/32 dev "$name-n"
  ip -n "$name" link set "$name-n" up
  ip -n "$name" link set lo up
}

mount_overlay() {
  local rootfs="$1" dir="$2"
  mkdir -p "$dir/upper" "$dir/overlay-work" "$dir/root"
  mount -t overlay overlay -o "lowerdir=$rootfs,upperdir=$dir/upper,workdir=$dir/overlay-work" "$dir/root"
}

# Ends the processes of a list of pids: TERM, then KILL for what is left after 5 s.
end_processes() {
  local pids=("$@") pid alive
  if ((${#pids[@]} == 0)); then return 0; fi
  kill -TERM "${pids[@]}" 2>/dev/null || true
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    alive=0
    for pid in "${pids[@]}"; do
      if kill -0 "$pid" 2>/dev/null; then alive=1; fi
    done
    if ((alive == 0)); then return 0; fi
    sleep 0.5
  done
  kill -KILL "${pids[@]}" 2>/dev/null || true
}

clean() {
  local name="$1" work pids=() pid_file mount_point
  work="$(realpath -m "$2")"
  if [[ -e "/run/netns/$name" ]]; then
    mapfile -t pids < <(ip netns pids "$name" 2>/dev/null)
    end_processes "${pids[@]}"
  fi
  pids=()
  while IFS= read -r pid_file; do
    pids+=("$(cat "$pid_file")")
    rm -f "$pid_file"
  done < <(find "$work" -maxdepth 2 -name '*.pid' 2>/dev/null)
  end_processes "${pids[@]}"
  # Deepest first: the box's own mounts (from a booted box) sit under its overlay.
  while IFS= read -r mount_point; do
    umount --lazy "$mount_point" 2>/dev/null || log "could not unmount $mount_point"
  done < <(awk -v work="$work/" 'index($2, work) == 1 { print $2 }' /proc/self/mounts | sort -r)
  if [[ -e "/run/netns/$name" ]]; then ip netns delete "$name"; fi
  if ip link show "$name-h" >/dev/null 2>&1; then ip link delete "$name-h"; fi
}

case "${1:-}" in
  network-up) network_up "$2" ;;
  mount) mount_overlay "$2" "$3" ;;
  clean) clean "$2" "$3" ;;
  *)
    log "usage: gateway-box.sh network-up NAME | mount ROOTFS DIR | clean NAME WORK"
    exit 2
    ;;
esac
