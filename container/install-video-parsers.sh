#!/usr/bin/env bash
# Installs GStreamer's H.264 and H.265 parsers (h264parse, h265parse) and timestampers (h264timestamper,
# h265timestamper: RTP has no decoding times, which kvssink needs) under a prefix for the Fargate image,
# without the rest of gst-plugins-bad: its package pulls in about 180 others (Mesa, LLVM, GTK,
# codecs; some 450 MB) that the gateway never loads, and every task pulls the image anew.
#
#   install-video-parsers.sh <prefix>     needs the apt lists (apt-get update) of the image's release
#
# Takes the two plugins (videoparsersbad, codectimestamper) and the one library they add (codecparsers) from
# the release's own packages, installs them under <prefix>/lib, registers <prefix>/lib with the dynamic
# linker, and fails unless GStreamer loads the four elements. The EC2 gateway installs the whole package
# instead (userdata/gateway-runtime-packages): there, unattended upgrades patch it in place; the image
# gets the current parsers whenever it is rebuilt.
set -euo pipefail

readonly PACKAGES=(gstreamer1.0-plugins-bad libgstreamer-plugins-bad1.0-0)

WORK_DIR=""

log() { printf 'install-video-parsers: %s\n' "$*" >&2; }
clean_up() { if [[ -n "$WORK_DIR" ]]; then rm -rf "$WORK_DIR"; fi; }

main() {
  local prefix="${1:-}" work plugin package element
  if [[ ! "$prefix" =~ ^/[A-Za-z0-9_./-]+$ ]]; then
    log "usage: install-video-parsers.sh <absolute prefix>"
    exit 2
  fi
  trap clean_up EXIT
  WORK_DIR="$(mktemp -d)"
  work="$WORK_DIR"
  (cd "$work" && apt-get download -q "${PACKAGES[@]}")
  for package in "$work"/*.deb; do dpkg-deb --extract "$package" "$work/files"; done
  for plugin in libgstvideoparsersbad.so libgstcodectimestamper.so; do
    install -D -m 0644 "$(find "$work/files" -name "$plugin")" "$prefix/lib/gstreamer-1.0/$plugin"
  done
  find "$work/files" -name 'libgstcodecparsers-1.0.so*' -exec cp -P -t "$prefix/lib/" {} +
  printf '%s\n' "$prefix/lib" >/etc/ld.so.conf.d/kvs-gateway.conf
  ldconfig
  if ldd "$prefix"/lib/gstreamer-1.0/libgst{videoparsersbad,codectimestamper}.so | grep 'not found' >&2; then
    log "the parsers miss libraries (listed above)"
    exit 1
  fi
  for element in h264parse h265parse h264timestamper h265timestamper; do
    GST_PLUGIN_PATH="$prefix/lib/gstreamer-1.0" GST_REGISTRY="$work/registry.bin" gst-inspect-1.0 --exists "$element" ||
      { log "GStreamer does not load $element"; exit 1; }
  done
  log "installed h264parse, h265parse, h264timestamper and h265timestamper from $(find "$work" -maxdepth 1 -name '*.deb' -printf '%f ')"
}

main "$@"
