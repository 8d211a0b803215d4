#!/usr/bin/env bash
# Makes (or reuses) a Debian root filesystem for the whole-system tests: the stand-in for Ubuntu 24.04,
# which is not reachable from the test machines. Both the EC2 box and the Fargate image's base come
# from here.
#
#   debian-rootfs.sh <folder> [package,package,...]
#
# Without packages: debootstrap's minbase variant (<folder> is then usually <suite>-<arch>-minbase).
# With packages: a copy of the minbase of the same suite and architecture, kept next to <folder> as
# <suite>-<arch>-minbase and built first when missing, with the packages installed by apt inside it
# (no recommended packages, as debootstrap's --include): the minbase is made once for the box and the
# image base of one architecture, which counts under emulation (arm64 on x86_64 runs every maintainer
# script through qemu-user).
# A folder is reused when it was completed with the same suite, architecture and package list (a stamp
# file records them); otherwise it is built afresh in a sibling folder and moved into place, so an
# interrupted build never leaves a half-made rootfs behind. Downloaded packages are kept in
# <folder's parent>/debootstrap-cache/<suite>-<arch> for the next build; builds of one suite and
# architecture wait for each other (a lock on that cache), so that two test files asking for the same
# rootfs at once build it once.
# Settings (environment): DEBIAN_MIRROR (default http://deb.debian.org/debian), DEBIAN_SUITE (bookworm),
# DEBIAN_ARCH (the machine's; another one, such as arm64 on x86_64, runs under qemu-user emulation).
set -euo pipefail

readonly MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
readonly SUITE="${DEBIAN_SUITE:-bookworm}"
ARCH="${DEBIAN_ARCH:-$(dpkg --print-architecture)}"
readonly ARCH

log() { printf 'debian-rootfs: %s\n' "$*" >&2; }

stamp_of() { printf '%s/.kvs-gateway-rootfs' "$1"; }
is_built() { [[ -f "$(stamp_of "$1")" && "$(cat "$(stamp_of "$1")")" == "$2" ]]; }

# debootstrap's minbase, with the same apt sources a Debian machine has.
build_minbase() {
  local building="$1" cache="$2"
  debootstrap --variant=minbase --arch="$ARCH" --cache-dir="$cache" "$SUITE" "$building" "$MIRROR" >&2
  printf 'deb %s %s main\ndeb %s %s-updates main\n' "$MIRROR" "$SUITE" "$MIRROR" "$SUITE" \
    >"$building/etc/apt/sources.list"
}

# A copy of the minbase with the packages installed by apt, run inside it with systemd-nspawn (its own
# /proc and /dev, the machine's network to reach the mirror, nothing mounted on the machine); apt's
# downloads go to the debootstrap cache.
build_with_packages() {
  local building="$1" minbase="$2" packages="$3" cache="$4" list
  IFS=, read -ra list <<<"$packages"
  cp -a "$minbase" "$building"
  rm -f "$(stamp_of "$building")"
  mkdir -p "$cache/partial"
  systemd-nspawn --quiet --register=no --keep-unit --resolv-conf=copy-host --timezone=off \
    --bind="$cache:/var/cache/apt/archives" -D "$building" -E DEBIAN_FRONTEND=noninteractive \
    bash -c 'set -e; apt-get update -qq; apt-get install -y -qq --no-install-recommends "$@"' \
    apt-in-rootfs "${list[@]}" >&2
}

main() {
  if [[ $# -lt 1 || $# -gt 2 || "$1" != /* ]]; then
    log "usage: debian-rootfs.sh <absolute folder> [package,package,...]"
    exit 2
  fi
  local target="${1%/}" packages="${2:-}" cache lock minbase
  cache="$(dirname "$target")/debootstrap-cache/$SUITE-$ARCH"
  minbase="$(dirname "$target")/$SUITE-$ARCH-minbase"
  mkdir -p "$cache"
  exec {lock}>"$cache/.lock"
  flock "$lock"
  if is_built "$target" "$(want "$packages")"; then
    log "reusing $target ($(want "$packages"))"
    return 0
  fi
  if [[ -n "$packages" ]] && ! is_built "$minbase" "$(want "")"; then
    build_rootfs "$minbase" "" "$cache"
  fi
  build_rootfs "$target" "$packages" "$cache" "$minbase"
}

want() { printf '%s %s minbase %s' "$SUITE" "$ARCH" "$1"; }

build_rootfs() {
  local target="$1" packages="$2" cache="$3" minbase="${4:-}" building="$1.building" started="$SECONDS"
  rm -rf "$building"
  log "building $target ($(want "$packages"))"
  if [[ -z "$packages" ]]; then
    build_minbase "$building" "$cache"
  else
    build_with_packages "$building" "$minbase" "$packages" "$cache"
  fi
  rm -rf "$target"
  mv "$building" "$target"
  want "$packages" >"$(stamp_of "$target")"
  log "built $target in $((SECONDS - started)) s"
}

main "$@"
