#!/usr/bin/env bash
# Makes (or reuses) a Debian root filesystem for the whole-system tests: the stand-in for Ubuntu 24.04,
# which is not reachable from the test machines. Both the EC2 box and the Fargate image's base come
# from here.
#
#   debian-rootfs.sh <folder> [package,package,...]
#
# debootstrap's minbase variant plus the packages given. The folder is reused when it was completed
# with the same suite, architecture and package list (a stamp file records them); otherwise it is built
# afresh in a sibling folder and moved into place, so an interrupted build never leaves a half-made
# rootfs behind. Downloaded packages are kept in <folder's parent>/debootstrap-cache/<suite>-<arch> for
# the next build; builds that share that cache wait for each other (a lock on it), so that two test
# files asking for the same rootfs at once build it once.
# Settings (environment): DEBIAN_MIRROR (default http://deb.debian.org/debian), DEBIAN_SUITE (bookworm),
# DEBIAN_ARCH (the machine's; another one, such as arm64 on x86_64, runs under qemu-user emulation).
set -euo pipefail

readonly MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
readonly SUITE="${DEBIAN_SUITE:-bookworm}"
ARCH="${DEBIAN_ARCH:-$(dpkg --print-architecture)}"
readonly ARCH

log() { printf 'debian-rootfs: %s\n' "$*" >&2; }

main() {
  if [[ $# -lt 1 || $# -gt 2 || "$1" != /* ]]; then
    log "usage: debian-rootfs.sh <absolute folder> [package,package,...]"
    exit 2
  fi
  local target="${1%/}" packages="${2:-}" stamp want cache building lock
  stamp="$target/.kvs-gateway-rootfs"
  want="$SUITE $ARCH minbase $packages"
  cache="$(dirname "$target")/debootstrap-cache/$SUITE-$ARCH"
  mkdir -p "$cache"
  exec {lock}>"$cache/.lock"
  flock "$lock"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    log "reusing $target ($want)"
    return 0
  fi
  building="$target.building"
  rm -rf "$building"
  log "building $target with debootstrap ($want)"
  local include=()
  if [[ -n "$packages" ]]; then include=(--include="$packages"); fi
  debootstrap --variant=minbase --arch="$ARCH" "${include[@]}" --cache-dir="$cache" "$SUITE" "$building" "$MIRROR" >&2
  # The same sources a Debian machine has, so that apt inside the rootfs reaches the same mirror.
  printf 'deb %s %s main\ndeb %s %s-updates main\n' "$MIRROR" "$SUITE" "$MIRROR" "$SUITE" \
    >"$building/etc/apt/sources.list"
  rm -rf "$target"
  mv "$building" "$target"
  printf '%s\n' "$want" >"$stamp"
  log "built $target"
}

main "$@"
