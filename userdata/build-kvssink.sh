#!/usr/bin/env bash
# Builds kvssink, the Producer SDK's GStreamer sink, from pinned commits against the system's GStreamer,
# curl, OpenSSL and log4cplus (Ubuntu 24.04 packages), and installs it under a prefix.
# One recipe for both gateways: the EC2 install script and the container image's build stage run it.
#
#   build-kvssink.sh --producer-sdk TAG@COMMIT --producer-c TAG@COMMIT --pic TAG@COMMIT
#                    [--prefix /opt/kvs-gateway] [--skip-packages | --keep-build-packages]
#
# Settings (environment; the options win): KVS_PRODUCER_SDK_PIN, KVS_PRODUCER_C_PIN, KVS_PIC_PIN (each
# "v3.5.0@<40-hex commit>", from the config's "pins"), KVS_INSTALL_PREFIX (default /opt/kvs-gateway),
# KVS_BUILD_JOBS (default: every core).
#
# Nothing is trusted by name. Each repository is fetched at its tag, and the tag must still point at the
# pinned commit (a moved tag stops the build with one line saying so); the commit is what is checked out.
# The SDK's CMake clones producer-c, and producer-c's CMake clones PIC, by tag (ExternalProject) while
# it configures: each must name the pinned tag, and git is pointed at the clones verified here
# (url.<clone>.insteadOf) and allowed no other transport than local files (GIT_ALLOW_PROTOCOL=file), so
# nothing is fetched during the configure; afterwards each source tree must be at its pinned commit.
# A mirror: git's own url.<mirror>.insteadOf=https://github.com/awslabs/ in the git config.
#
# Installs <prefix>/lib/gstreamer-1.0/libgstkvssink.so, the SDK's own libraries in <prefix>/lib (the
# plugin finds them through its run path), and in <prefix>/share/kvs-gateway/ the pins it built
# (kvssink-sources) and the Debian packages that own the system libraries kvssink links to
# (kvssink-runtime-packages: what a host or image without the build packages must install).
# Then it removes the build packages it installed (--keep-build-packages keeps them: the image's build
# stage, which is thrown away; --skip-packages installs none and so removes none): a gateway runs for
# months, and a compiler, git and headers left on it are tools for whoever gets in. Only what this run
# installed goes, and nothing kvssink loads (its runtime packages are marked as installed by hand).
# Idempotent: when kvssink from the same pins is already installed under the prefix it does nothing.
# Exit status: 2 bad arguments, 3 a pin does not hold (moved tag, other dependency tag), 1 anything else.
#
# Test only: KVS_TEST_WITHOUT_KVSSINK=1 builds nothing and installs an empty plugin folder and empty
# package list, for the image test (no deployment sets it: the image then has no kvssink and its cameras
# need a stand-in sink, GATEWAY_SINK=file:...).
set -Eeuo pipefail

readonly SDK_REPOSITORY=https://github.com/awslabs/amazon-kinesis-video-streams-producer-sdk-cpp.git
readonly PRODUCER_C_REPOSITORY=https://github.com/awslabs/amazon-kinesis-video-streams-producer-c.git
readonly PIC_REPOSITORY=https://github.com/awslabs/amazon-kinesis-video-streams-pic.git
# Where each repository's CMake names the one it clones.
readonly SDK_NAMES_PRODUCER_C=CMake/Dependencies/libkvscproducer-CMakeLists.txt
readonly PRODUCER_C_NAMES_PIC=CMake/Dependencies/libkvspic-CMakeLists.txt
readonly PIN_PATTERN='^(v[0-9]+\.[0-9]+\.[0-9]+)@([0-9a-f]{40})$'
# Every apt step waits for all of apt's locks and retries (first-boot unattended upgrades hold them).
APT_GET=(bash "$(dirname "${BASH_SOURCE[0]}")/apt-get-waiting.sh")
readonly APT_GET
# What only the build needs: removed again once kvssink is built (the packages this run installed).
readonly TOOLCHAIN_PACKAGES=(
  build-essential cmake git pkg-config libssl-dev libcurl4-openssl-dev liblog4cplus-dev
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
)
# Plus what a bare image lacks and the gateway needs too (so never removed): the CA bundle for the HTTPS
# fetch and gst-inspect-1.0 for the final check.
readonly BUILD_PACKAGES=("${TOOLCHAIN_PACKAGES[@]}" ca-certificates gstreamer1.0-tools)

SDK_PIN="${KVS_PRODUCER_SDK_PIN:-}"
PRODUCER_C_PIN="${KVS_PRODUCER_C_PIN:-}"
PIC_PIN="${KVS_PIC_PIN:-}"
PREFIX="${KVS_INSTALL_PREFIX:-/opt/kvs-gateway}"
INSTALL_PACKAGES=true
REMOVE_BUILD_PACKAGES=true
# The packages installed before this run installed the build packages (one a line).
PACKAGES_BEFORE=""
WORK_DIR=""

log() { printf 'build-kvssink: %s\n' "$*" >&2; }
usage() {
  log "usage: build-kvssink.sh --producer-sdk TAG@COMMIT --producer-c TAG@COMMIT --pic TAG@COMMIT [--prefix /absolute/path] [--skip-packages | --keep-build-packages]"
  exit 2
}

require_pin() {
  local option="$1" value="$2"
  if [[ ! "$value" =~ $PIN_PATTERN ]]; then
    log "$option \"$value\": give a release tag and its full commit, e.g. v3.5.0@7771598527883545b2161b56a78160429def4fc1 (the config's \"pins\")"
    exit 2
  fi
}

parse_arguments() {
  while [[ $# -gt 0 ]]; do
    [[ $# -ge 2 || "$1" == --skip-packages || "$1" == --keep-build-packages ]] || usage
    case "$1" in
      --producer-sdk) SDK_PIN="$2"; shift 2 ;;
      --producer-c) PRODUCER_C_PIN="$2"; shift 2 ;;
      --pic) PIC_PIN="$2"; shift 2 ;;
      --prefix) PREFIX="$2"; shift 2 ;;
      --skip-packages) INSTALL_PACKAGES=false; shift ;;
      --keep-build-packages) REMOVE_BUILD_PACKAGES=false; shift ;;
      *) usage ;;
    esac
  done
  require_pin --producer-sdk "$SDK_PIN"
  require_pin --producer-c "$PRODUCER_C_PIN"
  require_pin --pic "$PIC_PIN"
  if [[ ! "$PREFIX" =~ ^/[A-Za-z0-9_./-]*$ || "$PREFIX" == / ]]; then
    log "prefix \"$PREFIX\": give an absolute folder such as /opt/kvs-gateway (--prefix or KVS_INSTALL_PREFIX)"
    exit 2
  fi
  PREFIX="${PREFIX%/}"
}

plugin_file() { printf '%s/lib/gstreamer-1.0/libgstkvssink.so' "$PREFIX"; }
state_dir() { printf '%s/share/kvs-gateway' "$PREFIX"; }
sources() { printf 'producer-sdk=%s\nproducer-c=%s\npic=%s\n' "$SDK_PIN" "$PRODUCER_C_PIN" "$PIC_PIN"; }

already_installed() {
  [[ -f "$(plugin_file)" && -f "$(state_dir)/kvssink-sources" && "$(cat "$(state_dir)/kvssink-sources")" == "$(sources)" ]]
}

# The packages dpkg has installed, one a line, sorted.
installed_packages() {
  dpkg-query -W -f '${db:Status-Abbrev} ${Package}\n' | awk '$1 == "ii" { print $2 }' | sort -u
}

install_build_packages() {
  PACKAGES_BEFORE="$(installed_packages)"
  "${APT_GET[@]}" update
  "${APT_GET[@]}" install --no-install-recommends "${BUILD_PACKAGES[@]}"
}

# Purges the toolchain this run installed and what apt installed only for it, back to the packages the
# host had before the build plus the ones kvssink loads: no package depends on kvssink, so those are
# marked as installed by hand first (or the purge takes liblog4cplus with liblog4cplus-dev). apt's
# auto-remove would keep what a package already there merely Recommends or Suggests (apt Suggests
# dpkg-dev, which Recommends gcc; python3.11 Suggests binutils, perl make), and it would also take the
# host's own unused packages: so apt is told to keep only hard dependencies, and only what this run
# installed is purged.
remove_build_packages() {
  local added named simulated removed
  added="$(comm -13 <(printf '%s\n' "$PACKAGES_BEFORE") <(installed_packages))"
  xargs -r apt-mark -o DPkg::Lock::Timeout="${KVS_APT_LOCK_WAIT_SECONDS:-900}" manual \
    <"$(state_dir)/kvssink-runtime-packages" >/dev/null
  mapfile -t named < <(printf '%s\n' "${TOOLCHAIN_PACKAGES[@]}" | sort -u | comm -12 - <(printf '%s\n' "$added"))
  if ((${#named[@]} == 0)); then
    log "no build package to remove: each was installed before this build"
    return 0
  fi
  simulated="$("${APT_GET[@]}" -o APT::AutoRemove::RecommendsImportant=false \
    -o APT::AutoRemove::SuggestsImportant=false --simulate purge --auto-remove "${named[@]}")"
  mapfile -t removed < <(awk '$1 == "Purg" { print $2 }' <<<"$simulated" | sort -u |
    comm -12 - <(printf '%s\n' "$added"))
  "${APT_GET[@]}" purge "${removed[@]}"
  log "removed the ${#removed[@]} packages this build installed for itself: ${named[*]} and what only they needed"
}

# fetch_pinned NAME REPOSITORY TAG@COMMIT FOLDER: the tag's commit, checked out in FOLDER, or exit 3.
fetch_pinned() {
  local name="$1" repository="$2" pin="$3" folder="$4" tag commit fetched
  tag="${pin%@*}"
  commit="${pin#*@}"
  git init --quiet "$folder"
  if ! git -C "$folder" fetch --quiet --depth 1 --no-tags "$repository" "+refs/tags/$tag:refs/tags/$tag"; then
    log "$name: could not fetch tag $tag from $repository (details above)"
    return 1
  fi
  fetched="$(git -C "$folder" rev-parse --verify --quiet "refs/tags/$tag^{commit}")"
  if [[ "$fetched" != "$commit" ]]; then
    log "$name: tag $tag of $repository points at $fetched, not at the pinned commit $commit: the tag has moved; not building (see docs/config.md#pinned-sources)"
    exit 3
  fi
  git -C "$folder" -c advice.detachedHead=false checkout --quiet --detach "$commit"
  if [[ "$(git -C "$folder" rev-parse HEAD)" != "$commit" ]]; then
    log "$name: the checkout is not at $commit"
    exit 3
  fi
}

# requires_dependency NAME FOLDER FILE DEPENDENCY REPOSITORY TAG@COMMIT: FILE (a CMake ExternalProject)
# in FOLDER must clone REPOSITORY at the pinned tag, or exit 3.
requires_dependency() {
  local name="$1" folder="$2" file="$3" dependency="$4" repository="$5" pin="$6" named_repository named_tag
  named_repository="$(awk '$1 == "GIT_REPOSITORY" { print $2 }' "$folder/$file")"
  named_tag="$(awk '$1 == "GIT_TAG" { print $2 }' "$folder/$file")"
  if [[ "$named_repository" != "$repository" ]]; then
    log "$name clones $dependency from \"$named_repository\" ($file), not from $repository: this recipe does not know that repository"
    exit 3
  fi
  if [[ "$named_tag" != "${pin%@*}" ]]; then
    log "$name clones $dependency $named_tag ($file), but its pin is ${pin%@*}: move the pins together (see docs/config.md#pinned-sources)"
    exit 3
  fi
}

fetch_sources() {
  WORK_DIR="$(mktemp -d "${TMPDIR:-/var/tmp}/kvs-producer-sdk.XXXXXX")"
  fetch_pinned "Producer SDK" "$SDK_REPOSITORY" "$SDK_PIN" "$WORK_DIR/src"
  fetch_pinned producer-c "$PRODUCER_C_REPOSITORY" "$PRODUCER_C_PIN" "$WORK_DIR/producer-c"
  fetch_pinned PIC "$PIC_REPOSITORY" "$PIC_PIN" "$WORK_DIR/pic"
  requires_dependency "Producer SDK ${SDK_PIN%@*}" "$WORK_DIR/src" "$SDK_NAMES_PRODUCER_C" producer-c \
    "$PRODUCER_C_REPOSITORY" "$PRODUCER_C_PIN"
  requires_dependency "producer-c ${PRODUCER_C_PIN%@*}" "$WORK_DIR/producer-c" "$PRODUCER_C_NAMES_PIC" PIC \
    "$PIC_REPOSITORY" "$PIC_PIN"
}

# The one source tree of a dependency the configure cloned (by its ExternalProject folder name) must be
# at the pinned commit.
cloned_at_pin() {
  local name="$1" folder_name="$2" pin="$3" found head
  mapfile -t found < <(find "$WORK_DIR/src" -type d -name "$folder_name" -prune)
  if ((${#found[@]} != 1)); then
    log "$name: the configure made ${#found[@]} source trees named $folder_name, expected one"
    exit 3
  fi
  head="$(git -C "${found[0]}" rev-parse HEAD)"
  if [[ "$head" != "${pin#*@}" ]]; then
    log "$name: the configure checked out $head, not the pinned ${pin#*@}"
    exit 3
  fi
}

# Only the GStreamer plugin, against the system's libraries (BUILD_DEPENDENCIES=OFF skips the SDK's own
# builds of curl, OpenSSL and log4cplus); the SDK's libraries are found through the run path.
# PIC v1.2.0 calls pthread_getname_np without _GNU_SOURCE: GCC 14 and later (Debian 13) make that implicit
# declaration an error, older GCC a warning; the flag keeps it a warning (the call is right).
build_plugin() {
  GIT_CONFIG_COUNT=2 \
    GIT_CONFIG_KEY_0="url.$WORK_DIR/producer-c.insteadOf" GIT_CONFIG_VALUE_0="$PRODUCER_C_REPOSITORY" \
    GIT_CONFIG_KEY_1="url.$WORK_DIR/pic.insteadOf" GIT_CONFIG_VALUE_1="$PIC_REPOSITORY" \
    GIT_ALLOW_PROTOCOL=file \
    cmake -S "$WORK_DIR/src" -B "$WORK_DIR/build" -DCMAKE_BUILD_TYPE=Release \
    -DBUILD_GSTREAMER_PLUGIN=ON -DBUILD_DEPENDENCIES=OFF \
    -DCMAKE_C_FLAGS=-Wno-error=implicit-function-declaration \
    -DCMAKE_BUILD_WITH_INSTALL_RPATH=ON -DCMAKE_INSTALL_RPATH="$PREFIX/lib"
  cloned_at_pin producer-c kvscproducer-src "$PRODUCER_C_PIN"
  cloned_at_pin PIC kvspic-src "$PIC_PIN"
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
  sources >"$(state_dir)/kvssink-sources"
}

clean_up() {
  if [[ -n "$WORK_DIR" ]]; then rm -rf "$WORK_DIR"; fi
}

# The test-only switch above: the folders and files a real build leaves, with no plugin in them.
install_nothing_for_tests() {
  log "TEST ONLY (KVS_TEST_WITHOUT_KVSSINK=1): not building kvssink; cameras need a stand-in sink"
  install -d -m 0755 "$PREFIX/lib/gstreamer-1.0" "$(state_dir)"
  : >"$(state_dir)/kvssink-runtime-packages"
  printf 'none (KVS_TEST_WITHOUT_KVSSINK)\n' >"$(state_dir)/kvssink-sources"
}

main() {
  parse_arguments "$@"
  if [[ "${KVS_TEST_WITHOUT_KVSSINK:-}" == 1 ]]; then
    install_nothing_for_tests
    return 0
  fi
  if already_installed; then
    log "kvssink from Producer SDK $SDK_PIN is already installed in $(plugin_file): nothing to do"
    return 0
  fi
  trap clean_up EXIT
  if [[ "$INSTALL_PACKAGES" == true ]]; then
    log "step: install the build packages"
    install_build_packages
  fi
  log "step: fetch Producer SDK $SDK_PIN, producer-c $PRODUCER_C_PIN, PIC $PIC_PIN"
  fetch_sources
  log "step: build the GStreamer plugin"
  build_plugin
  log "step: install under $PREFIX"
  install_plugin
  log "step: list the runtime packages"
  write_runtime_packages
  if [[ "$INSTALL_PACKAGES" == true && "$REMOVE_BUILD_PACKAGES" == true ]]; then
    log "step: remove the build packages"
    remove_build_packages
  fi
  log "step: check that GStreamer loads kvssink"
  check_plugin
  log "kvssink from Producer SDK $SDK_PIN installed in $(plugin_file)"
}

main "$@"
