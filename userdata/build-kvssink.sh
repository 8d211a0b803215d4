#!/usr/bin/env bash
# Builds kvssink, the Producer SDK's GStreamer sink, from a pinned release tag against the system's
# GStreamer, curl, OpenSSL and log4cplus (Ubuntu 24.04 packages), and installs it under a prefix.
# One recipe for both gateways: the EC2 install script and the container image's build stage run it.
#
#   build-kvssink.sh [--tag v3.5.0] [--prefix /opt/kvs-gateway] [--skip-packages]
#
# Settings (environment; the options win): KVS_PRODUCER_SDK_TAG (required one way or the other),
# KVS_INSTALL_PREFIX (default /opt/kvs-gateway), KVS_PRODUCER_SDK_REPOSITORY (a mirror of the SDK's git
# repository), KVS_BUILD_JOBS (default: every core).
#
# Installs <prefix>/lib/gstreamer-1.0/libgstkvssink.so, the SDK's own libraries in <prefix>/lib (the
# plugin finds them through its run path), and in <prefix>/share/kvs-gateway/ the tag it built
# (kvssink-tag) and the Debian packages that own the system libraries kvssink links to
# (kvssink-runtime-packages: what a host or image without the build packages must install).
# Idempotent: when kvssink from the same tag is already installed under the prefix it does nothing.
#
# Test only: KVS_TEST_WITHOUT_KVSSINK=1 builds nothing and installs an empty plugin folder and empty
# package list, for the whole-system tests on machines that cannot reach github.com (no deployment sets
# it: the gateway then has no kvssink and its cameras need a stand-in sink, GATEWAY_SINK=file:...).
set -Eeuo pipefail

readonly DEFAULT_REPOSITORY=https://github.com/awslabs/amazon-kinesis-video-streams-producer-sdk-cpp.git
# Every apt step waits for all of apt's locks and retries (first-boot unattended upgrades hold them).
APT_GET=(bash "$(dirname "${BASH_SOURCE[0]}")/apt-get-waiting.sh")
readonly APT_GET
# The same build packages as the EC2 install, plus what a bare image lacks: the CA bundle for the HTTPS
# clone and gst-inspect-1.0 for the final check.
readonly BUILD_PACKAGES=(
  build-essential cmake git pkg-config libssl-dev libcurl4-openssl-dev liblog4cplus-dev
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  ca-certificates gstreamer1.0-tools
)

TAG="${KVS_PRODUCER_SDK_TAG:-}"
PREFIX="${KVS_INSTALL_PREFIX:-/opt/kvs-gateway}"
REPOSITORY="${KVS_PRODUCER_SDK_REPOSITORY:-$DEFAULT_REPOSITORY}"
INSTALL_PACKAGES=true
WORK_DIR=""

log() { printf 'build-kvssink: %s\n' "$*" >&2; }
usage() {
  log "usage: build-kvssink.sh [--tag vX.Y.Z] [--prefix /absolute/path] [--skip-packages]"
  exit 2
}

parse_arguments() {
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --tag) [[ $# -ge 2 ]] || usage; TAG="$2"; shift 2 ;;
      --prefix) [[ $# -ge 2 ]] || usage; PREFIX="$2"; shift 2 ;;
      --skip-packages) INSTALL_PACKAGES=false; shift ;;
      *) usage ;;
    esac
  done
  if [[ ! "$TAG" =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
    log "tag \"$TAG\": give a Producer SDK release tag such as v3.5.0 (--tag or KVS_PRODUCER_SDK_TAG)"
    exit 2
  fi
  if [[ ! "$PREFIX" =~ ^/[A-Za-z0-9_./-]*$ || "$PREFIX" == / ]]; then
    log "prefix \"$PREFIX\": give an absolute folder such as /opt/kvs-gateway (--prefix or KVS_INSTALL_PREFIX)"
    exit 2
  fi
  PREFIX="${PREFIX%/}"
}

plugin_file() { printf '%s/lib/gstreamer-1.0/libgstkvssink.so' "$PREFIX"; }
state_dir() { printf '%s/share/kvs-gateway' "$PREFIX"; }

already_installed() {
  [[ -f "$(plugin_file)" && -f "$(state_dir)/kvssink-tag" && "$(cat "$(state_dir)/kvssink-tag")" == "$TAG" ]]
}

install_build_packages() {
  "${APT_GET[@]}" update
  "${APT_GET[@]}" install --no-install-recommends "${BUILD_PACKAGES[@]}"
}

fetch_source() {
  WORK_DIR="$(mktemp -d "${TMPDIR:-/var/tmp}/kvs-producer-sdk.XXXXXX")"
  git clone --quiet --depth 1 --branch "$TAG" "$REPOSITORY" "$WORK_DIR/src"
}

# Only the GStreamer plugin, against the system's libraries (BUILD_DEPENDENCIES=OFF skips the SDK's own
# builds of curl, OpenSSL and log4cplus); the SDK's libraries are found through the run path.
build_plugin() {
  cmake -S "$WORK_DIR/src" -B "$WORK_DIR/build" -DCMAKE_BUILD_TYPE=Release \
    -DBUILD_GSTREAMER_PLUGIN=ON -DBUILD_DEPENDENCIES=OFF \
    -DCMAKE_BUILD_WITH_INSTALL_RPATH=ON -DCMAKE_INSTALL_RPATH="$PREFIX/lib"
  cmake --build "$WORK_DIR/build" --target gstkvssink --parallel "${KVS_BUILD_JOBS:-$(nproc)}"
}

install_plugin() {
  install -d -m 0755 "$PREFIX/lib/gstreamer-1.0" "$(state_dir)"
  install -m 0644 "$WORK_DIR/build/libgstkvssink.so" "$(plugin_file)"
  find "$WORK_DIR/build" -name 'lib*.so*' ! -name 'libgstkvssink.so' \( -type f -o -type l \) \
    -exec cp -P --preserve=mode -t "$PREFIX/lib/" {} +
}

# The Debian package that owns a library path; usr-merged systems record some under /usr only.
owning_package() {
  local library="$1" candidate
  for candidate in "$library" "$(realpath "$library")" "/usr$library"; do
    if dpkg-query -S "$candidate" 2>/dev/null | head -n 1 | cut -d: -f1; then
      return 0
    fi
  done
  log "no package owns $library"
  return 1
}

# Lists the packages that own every system library the plugin and the SDK's libraries load.
write_runtime_packages() {
  local libraries library
  if ldd "$(plugin_file)" "$PREFIX"/lib/lib*.so* | grep 'not found' >&2; then
    log "kvssink is missing libraries (listed above)"
    return 1
  fi
  libraries="$(ldd "$(plugin_file)" "$PREFIX"/lib/lib*.so* | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' |
    grep -v "^$PREFIX/" | sort -u)"
  while IFS= read -r library; do
    owning_package "$library"
  done <<<"$libraries" | sort -u >"$(state_dir)/kvssink-runtime-packages"
  log "runtime packages: $(tr '\n' ' ' <"$(state_dir)/kvssink-runtime-packages")"
}

check_plugin() {
  GST_PLUGIN_PATH="$PREFIX/lib/gstreamer-1.0" gst-inspect-1.0 kvssink >/dev/null
  printf '%s\n' "$TAG" >"$(state_dir)/kvssink-tag"
}

clean_up() {
  if [[ -n "$WORK_DIR" ]]; then rm -rf "$WORK_DIR"; fi
}

# The test-only switch above: the folders and files a real build leaves, with no plugin in them.
install_nothing_for_tests() {
  log "TEST ONLY (KVS_TEST_WITHOUT_KVSSINK=1): not building kvssink; cameras need a stand-in sink"
  install -d -m 0755 "$PREFIX/lib/gstreamer-1.0" "$(state_dir)"
  : >"$(state_dir)/kvssink-runtime-packages"
  printf 'none (KVS_TEST_WITHOUT_KVSSINK)\n' >"$(state_dir)/kvssink-tag"
}

main() {
  parse_arguments "$@"
  if [[ "${KVS_TEST_WITHOUT_KVSSINK:-}" == 1 ]]; then
    install_nothing_for_tests
    return 0
  fi
  if already_installed; then
    log "kvssink $TAG is already installed in $(plugin_file): nothing to do"
    return 0
  fi
  trap clean_up EXIT
  if [[ "$INSTALL_PACKAGES" == true ]]; then
    log "step: install the build packages"
    install_build_packages
  fi
  log "step: fetch Producer SDK $TAG"
  fetch_source
  log "step: build the GStreamer plugin"
  build_plugin
  log "step: install under $PREFIX"
  install_plugin
  log "step: list the runtime packages"
  write_runtime_packages
  log "step: check that GStreamer loads kvssink"
  check_plugin
  log "kvssink $TAG installed in $(plugin_file)"
}

main "$@"
