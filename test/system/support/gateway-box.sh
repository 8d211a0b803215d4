#!/usr/bin/env bash
# The EC2 box test's plumbing: its root filesystem overlay, made and removed with everything the test
# started. The box's network is a test-network.sh link recorded in WORK/network.env.
#
#   gateway-box.sh mount ROOTFS DIR        DIR/root: an overlay of ROOTFS (kept unchanged) and DIR/upper
#   gateway-box.sh clean WORK              removes the network recorded in WORK/network.env (every process in
#                                          its namespace ends), ends the processes named in WORK/*.pid and
#                                          WORK/*/*.pid and unmounts every overlay under WORK; safe to run
#                                          when nothing is there (the test runs it before it starts, for
#                                          leftovers of a killed run of the same work folder, and after)
set -euo pipefail

SUPPORT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SUPPORT

log() { printf 'gateway-box: %s\n' "$*" >&2; }

mount_overlay() {
  local rootfs="$1" dir="$2"
  mkdir -p "$dir/upper" "$dir/overlay-work" "$dir/root"
  mount -t overlay overlay -o "lowerdir=$rootfs,upperdir=$dir/upper,workdir=$dir/overlay-work" "$dir/root"
}

clean() {
  local work pids=() pid_file mount_point
  work="$(realpath -m "$1")"
  bash "$SUPPORT/test-network.sh" down "$work/network.env"
  while IFS= read -r pid_file; do
    pids+=("$(cat "$pid_file")")
    rm -f "$pid_file"
  done < <(find "$work" -maxdepth 2 -name '*.pid' 2>/dev/null)
  bash "$SUPPORT/end-processes.sh" "${pids[@]}"
  # Deepest first: the box's own mounts (from a booted box) sit under its overlay.
  while IFS= read -r mount_point; do
    umount --lazy "$mount_point" 2>/dev/null || log "could not unmount $mount_point"
  done < <(awk -v work="$work/" 'index($2, work) == 1 { print $2 }' /proc/self/mounts | sort -r)
}

case "${1:-}" in
  mount) mount_overlay "$2" "$3" ;;
  clean) clean "$2" ;;
  *)
    log "usage: gateway-box.sh mount ROOTFS DIR | clean WORK"
    exit 2
    ;;
esac
