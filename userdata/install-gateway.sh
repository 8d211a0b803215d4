#!/usr/bin/env bash
# Installs the KVS gateway on Ubuntu 24.04: GStreamer from the distribution, kvssink (the deployment's
# build from its S3 cache, or built here from the pinned Producer SDK and published there for the next
# instances), the run script, the systemd units, the credential refresher, the camera reconciler and the
# log shipper. bootstrap.sh (the user-data) runs it as root.
#
#   install-gateway.sh                         the whole install, on the instance
#   install-gateway.sh --files-only --root DIR only write the gateway's files, units and settings
#                                              under DIR (no packages, build, users or systemctl)
#
# Settings (environment): AWS_REGION, KVS_CAMERA_LIST_PARAMETER, KVS_LOG_GROUP, KVS_PRODUCER_SDK_PIN,
# KVS_PRODUCER_C_PIN, KVS_PIC_PIN (tag@commit), KVS_KVSSINK_CACHE (s3://bucket/key),
# KVS_FLUENT_BIT_KEY_FINGERPRINT (the pinned fingerprint of Fluent Bit's repository key); KVS_INSTANCE_ID
# (read from IMDS when unset); KVS_INSTALL_STEP_FILE (where the running step is written, for the
# failure signal).
set -Eeuo pipefail

SOURCE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SOURCE_DIR
readonly GATEWAY_USER=kvs-gateway
readonly INSTALL_PREFIX=/opt/kvs-gateway
readonly PLUGIN_DIR="$INSTALL_PREFIX/lib/gstreamer-1.0"
readonly CREDENTIAL_PATH=/run/kvs-gateway/credentials
readonly FLUENT_BIT_REPOSITORY=https://packages.fluentbit.io
# apt reads an ASCII-armoured key in signed-by= when the file ends in .asc: no gpg to dearmor it.
readonly FLUENT_BIT_KEYRING=/usr/share/keyrings/fluentbit-keyring.asc
# Every apt step waits for all of apt's locks and retries (first-boot unattended upgrades hold them).
readonly APT_GET=(bash "$SOURCE_DIR/apt-get-waiting.sh")

# What the run script, the refresher and GStreamer need at run time; the container image installs the same list.
mapfile -t RUNTIME_PACKAGES <"$SOURCE_DIR/gateway-runtime-packages"
readonly RUNTIME_PACKAGES
readonly UNITS=(
  kvs-camera@.service kvs-credentials.service kvs-credentials.timer
  kvs-reconcile-cameras.service kvs-reconcile-cameras.timer
)
readonly GATEWAY_SCRIPTS=(
  run-camera.sh camera-pipeline.py camera_status.py kvssink_reports.py recording_schedule.py reconcile-cameras.sh refresh-kvs-credentials.sh
  aws-request.sh
)
readonly PIN_PATTERN='^v[0-9]+\.[0-9]+\.[0-9]+@[0-9a-f]{40}$'

# shellcheck source=userdata/aws-request.sh
source "$SOURCE_DIR/aws-request.sh"

ROOT=""

log() { printf 'install-gateway: %s\n' "$*" >&2; }

# Records and announces the step; the bootstrap's failure signal names the step that failed.
step() {
  log "step: $1"
  if [[ -n "${KVS_INSTALL_STEP_FILE:-}" ]]; then printf '%s\n' "$1" >"$KVS_INSTALL_STEP_FILE"; fi
}

on_error() {
  local status=$? line="$1"
  log "failed (exit $status, line $line) at step \"$(cat "${KVS_INSTALL_STEP_FILE:-/dev/null}" 2>/dev/null)\""
  exit "$status"
}

require_setting() {
  local name="$1" pattern="$2" hint="$3"
  if [[ ! "${!name:-}" =~ $pattern ]]; then
    log "$name ${!name:-(unset)}: $hint"
    exit 2
  fi
}

check_settings() {
  require_setting AWS_REGION '^[a-z]{2}(-[a-z]+)+-[0-9]+$' 'must be an AWS region (eu-west-1)'
  require_setting KVS_CAMERA_LIST_PARAMETER '^(/[A-Za-z0-9_.-]+)+$' 'must be an SSM parameter name'
  require_setting KVS_LOG_GROUP '^[A-Za-z0-9_./#-]{1,512}$' 'must be a CloudWatch Logs group name'
  require_setting KVS_INSTANCE_ID '^i-[0-9a-f]{8,17}$' 'must be an EC2 instance id'
}

install_packages() {
  "${APT_GET[@]}" update
  "${APT_GET[@]}" install --no-install-recommends "${RUNTIME_PACKAGES[@]}"
}

# kvssink from the deployment's cache when a good build is there; else built here from the pinned
# sources with the recipe both gateways share (it installs its own build packages and removes them once
# kvssink is built; an instance that installs from the cache never gets a compiler), then published for
# the next instances. A failed publication costs the next instance a build, not this one its install.
install_kvssink() {
  if KVS_INSTALL_PREFIX="$INSTALL_PREFIX" bash "$SOURCE_DIR/kvssink-cache.sh" install; then
    return 0
  fi
  step "build kvssink from Producer SDK ${KVS_PRODUCER_SDK_PIN%@*}"
  bash "$SOURCE_DIR/build-kvssink.sh" --producer-sdk "$KVS_PRODUCER_SDK_PIN" --producer-c "$KVS_PRODUCER_C_PIN" \
    --pic "$KVS_PIC_PIN" --prefix "$INSTALL_PREFIX"
  step "publish kvssink to the deployment's cache"
  KVS_INSTALL_PREFIX="$INSTALL_PREFIX" bash "$SOURCE_DIR/kvssink-cache.sh" publish || true
}

create_gateway_user() {
  if ! id "$GATEWAY_USER" >/dev/null 2>&1; then
    useradd --system --user-group --home-dir "/var/lib/$GATEWAY_USER" --no-create-home \
      --shell /usr/sbin/nologin "$GATEWAY_USER"
  fi
}

gateway_env() {
  cat <<SETTINGS
# Written by install-gateway.sh; read by every gateway unit. No secret here.
AWS_REGION=$AWS_REGION
KVS_CAMERA_LIST_PARAMETER=$KVS_CAMERA_LIST_PARAMETER
KVS_CREDENTIAL_PATH=$CREDENTIAL_PATH
KVS_LOG_GROUP=$KVS_LOG_GROUP
KVS_INSTANCE_ID=$KVS_INSTANCE_ID
GATEWAY_SINK=kvssink
GST_PLUGIN_PATH=$PLUGIN_DIR
SETTINGS
}

install_gateway_files() {
  local script unit
  install -d -m 0755 "$ROOT$INSTALL_PREFIX/bin" "$ROOT/etc/kvs-gateway" "$ROOT/etc/kvs-gateway/cameras" \
    "$ROOT/etc/systemd/system/fluent-bit.service.d" "$ROOT/etc/tmpfiles.d"
  install -d -m 0750 "$ROOT/var/lib/kvs-gateway"
  for script in "${GATEWAY_SCRIPTS[@]}"; do
    install -m 0755 "$SOURCE_DIR/$script" "$ROOT$INSTALL_PREFIX/bin/$script"
  done
  for unit in "${UNITS[@]}"; do
    install -m 0644 "$SOURCE_DIR/$unit" "$ROOT/etc/systemd/system/$unit"
  done
  install -m 0644 "$SOURCE_DIR/kvs-gateway.tmpfiles" "$ROOT/etc/tmpfiles.d/kvs-gateway.conf"
  install -m 0644 "$SOURCE_DIR/fluent-bit.conf" "$ROOT/etc/kvs-gateway/fluent-bit.conf"
  install -m 0644 "$SOURCE_DIR/fluent-bit-kvs-gateway.conf" \
    "$ROOT/etc/systemd/system/fluent-bit.service.d/kvs-gateway.conf"
  gateway_env >"$ROOT/etc/kvs-gateway/gateway.env"
  chmod 0644 "$ROOT/etc/kvs-gateway/gateway.env"
}

# Fluent Bit from its signed package repository: it reads the journal itself and ships to CloudWatch
# Logs with its own cursor, so nothing is lost or sent twice across restarts. The repository's key is
# trusted only when its fingerprint is the pinned one (a key fetched over HTTPS is only as good as the
# server that sent it); curl and python3 are on Ubuntu's image, and nothing here needs gpg.
install_log_shipper() {
  local codename fingerprint
  codename="$(sed -n 's/^VERSION_CODENAME=//p' /etc/os-release)"
  curl -fsSL --retry 3 -o "$FLUENT_BIT_KEYRING.new" "$FLUENT_BIT_REPOSITORY/fluentbit.key"
  fingerprint="$(python3 "$SOURCE_DIR/openpgp-key-fingerprint.py" "$FLUENT_BIT_KEYRING.new")"
  if [[ "$fingerprint" != "$KVS_FLUENT_BIT_KEY_FINGERPRINT" ]]; then
    log "$FLUENT_BIT_REPOSITORY/fluentbit.key has fingerprint $fingerprint, not the pinned $KVS_FLUENT_BIT_KEY_FINGERPRINT: not trusted"
    rm -f "$FLUENT_BIT_KEYRING.new"
    return 1
  fi
  mv -f "$FLUENT_BIT_KEYRING.new" "$FLUENT_BIT_KEYRING"
  printf 'deb [signed-by=%s] %s/ubuntu/%s %s main\n' \
    "$FLUENT_BIT_KEYRING" "$FLUENT_BIT_REPOSITORY" "$codename" "$codename" >/etc/apt/sources.list.d/fluent-bit.list
  "${APT_GET[@]}" update
  "${APT_GET[@]}" install fluent-bit
}

start_gateway() {
  systemd-tmpfiles --create /etc/tmpfiles.d/kvs-gateway.conf
  systemctl daemon-reload
  systemctl enable kvs-credentials.service kvs-reconcile-cameras.service
  systemctl start kvs-credentials.service
  systemctl enable --now kvs-credentials.timer
  systemctl enable --now fluent-bit.service
  systemctl restart fluent-bit.service
  systemctl start kvs-reconcile-cameras.service
  systemctl enable --now kvs-reconcile-cameras.timer
}

main() {
  trap 'on_error "$LINENO"' ERR
  case "${1:-}" in
    --files-only)
      if [[ "${2:-}" != --root || -z "${3:-}" ]]; then
        log "usage: install-gateway.sh [--files-only --root DIR]"
        exit 2
      fi
      ROOT="$3"
      check_settings
      install_gateway_files
      log "gateway files written under $ROOT"
      return
      ;;
    "") ;;
    *)
      log "usage: install-gateway.sh [--files-only --root DIR]"
      exit 2
      ;;
  esac
  if [[ -z "${KVS_INSTANCE_ID:-}" ]]; then
    KVS_INSTANCE_ID="$(aws_imds_get instance-id)"
  fi
  require_setting KVS_PRODUCER_SDK_PIN "$PIN_PATTERN" 'must be a release tag and its commit (v3.5.0@<40 hex digits>)'
  require_setting KVS_PRODUCER_C_PIN "$PIN_PATTERN" 'must be a release tag and its commit (v1.6.0@<40 hex digits>)'
  require_setting KVS_PIC_PIN "$PIN_PATTERN" 'must be a release tag and its commit (v1.2.0@<40 hex digits>)'
  require_setting KVS_KVSSINK_CACHE '^s3://[a-z0-9.-]+/[A-Za-z0-9/._-]+$' 'must be the S3 location of the kvssink cache'
  require_setting KVS_FLUENT_BIT_KEY_FINGERPRINT '^([0-9A-F]{40}|[0-9A-F]{64})$' 'must be an OpenPGP key fingerprint (40 or 64 upper-case hex digits)'
  check_settings

  step "install GStreamer"
  install_packages
  step "install kvssink from the deployment's cache"
  install_kvssink
  step "install the gateway files and units"
  create_gateway_user
  install_gateway_files
  step "install the log shipper (Fluent Bit)"
  install_log_shipper
  step "start the credential refresher, the log shipper and the cameras"
  start_gateway
  log "the gateway is installed"
}

main "$@"
