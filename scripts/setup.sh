#!/usr/bin/env bash
# Installs what the project needs on a fresh Debian or Ubuntu machine; quick when all is already there.
#   scripts/setup.sh node   npm packages: enough to synthesize the stacks
#   scripts/setup.sh test   also GStreamer, the RTSP server, shellcheck and Chromium that the tests run, and
#                           what the whole-system tests need (debootstrap; buildah, runc and tini for the
#                           Fargate image and task; qemu-user-static and binfmt_misc for the arm64 box and
#                           image, which run under emulation on an x86_64 machine)
set -euo pipefail
cd "$(dirname "$0")/.."

readonly TEST_PACKAGES=(
  gstreamer1.0-tools
  gstreamer1.0-plugins-base
  gstreamer1.0-plugins-base-apps
  gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly
  gstreamer1.0-libav
  gstreamer1.0-rtsp
  gir1.2-gstreamer-1.0
  gir1.2-gst-rtsp-server-1.0
  python3-gi
  python3-gst-1.0
  gstreamer1.0-python3-plugin-loader
  shellcheck
  flake8
  chromium
  procps
  systemd
  python3-botocore
  iproute2
  iptables
  debootstrap
  buildah
  runc
  tini
  systemd-container
  tinyproxy
  util-linux
  qemu-user-static
  binfmt-support
  gnupg
)

log() { printf 'setup: %s\n' "$*" >&2; }

install_npm_packages() {
  local stamp=node_modules/.setup-stamp want
  want="$(sha256sum package-lock.json | cut -d' ' -f1)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    return
  fi
  log "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund
  printf '%s\n' "$want" >"$stamp"
}

# The kvs-gateway CLI runs compiled (dist/, npm's "prepare" builds it at npm ci); rebuilt here when
# a source is newer than the last build, so that a pulled change never runs stale.
build_cli() {
  if [[ -f dist/.tsbuildinfo ]] && [[ -z "$(find bin lib tsconfig.json tsconfig.build.json package.json -newer dist/.tsbuildinfo -print -quit)" ]]; then
    return
  fi
  log "building the kvs-gateway CLI (npm run build)"
  npm run --silent build
  touch dist/.tsbuildinfo
}

install_debian_packages() {
  local missing=() package
  for package in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$package")
    fi
  done
  if [[ ${#missing[@]} -eq 0 ]]; then
    return
  fi
  local as_root=()
  if [[ "$(id -u)" -ne 0 ]]; then
    as_root=(sudo)
  fi
  log "installing Debian packages: ${missing[*]}"
  "${as_root[@]}" apt-get update -qq
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# arm64 programs run under qemu-user through binfmt_misc. The handler is registered with the F flag (the
# interpreter opened once, at registration), so it works inside chroots, nspawn boxes and buildah builds.
# A machine whose init is not systemd has binfmt_misc neither mounted nor populated: do both here.
enable_arm64_emulation() {
  local binfmt=/proc/sys/fs/binfmt_misc as_root=()
  if [[ "$(dpkg --print-architecture)" == arm64 ]]; then return; fi
  if [[ "$(id -u)" -ne 0 ]]; then as_root=(sudo); fi
  if [[ ! -e "$binfmt/register" ]]; then
    log "mounting binfmt_misc on $binfmt"
    "${as_root[@]}" mount -t binfmt_misc binfmt_misc "$binfmt"
  fi
  if [[ ! -e "$binfmt/qemu-aarch64" ]]; then
    log "registering qemu-aarch64 for arm64 programs (update-binfmts)"
    "${as_root[@]}" update-binfmts --enable qemu-aarch64
  fi
  if ! grep -q '^enabled$' "$binfmt/qemu-aarch64" || ! grep -q '^flags: .*F' "$binfmt/qemu-aarch64"; then
    log "qemu-aarch64 is not enabled with the F flag in $binfmt/qemu-aarch64: arm64 tests cannot run"
    exit 1
  fi
}

case "${1:-test}" in
  node)
    install_npm_packages
    build_cli
    ;;
  test)
    install_debian_packages "${TEST_PACKAGES[@]}"
    enable_arm64_emulation
    install_npm_packages
    build_cli
    ;;
  *)
    log "usage: scripts/setup.sh [node|test]"
    exit 2
    ;;
esac
