#!/usr/bin/env bash
# The gateway instance's user-data. The stack (lib/ec2-stack.ts) puts the deployment's settings
# above this text as shell assignments, then aws-request.sh's functions (the signed AWS requests);
# the camera list is never among them, so adding a camera does not touch the user-data or the instance.
#
# It downloads the gateway files (the userdata/ folder, an S3 asset), runs install-gateway.sh and
# signals CloudFormation: SUCCESS at the end, FAILURE from the error trap with the failing step in the
# signal's UniqueId, which the stack events show ("Received FAILURE signal with UniqueId
# i-0123…-download-the-gateway-files"). It needs only bash, curl and python3, which Ubuntu's cloud
# images have: nothing is installed before the first request, so any failure can be signalled.
# Everything is logged to /var/log/cloud-init-output.log, the console and the journal
# (identifier kvs-gateway-install, shipped to CloudWatch Logs once the shipper runs).
set -Eeuo pipefail

: "${AWS_REGION:?}" "${KVS_STACK_NAME:?}" "${KVS_SIGNAL_RESOURCE:?}" "${KVS_GATEWAY_FILES_URL:?}"
: "${KVS_PRODUCER_SDK_TAG:?}" "${KVS_CAMERA_LIST_PARAMETER:?}" "${KVS_LOG_GROUP:?}" "${KVS_FLUENT_BIT_KEY_FINGERPRINT:?}"
export AWS_REGION KVS_PRODUCER_SDK_TAG KVS_CAMERA_LIST_PARAMETER KVS_LOG_GROUP KVS_FLUENT_BIT_KEY_FINGERPRINT

readonly FILES_DIR=/opt/kvs-gateway/install
export KVS_INSTALL_STEP_FILE=/run/kvs-gateway-install.step

exec > >(tee >(systemd-cat --identifier=kvs-gateway-install)) 2>&1

log() { printf 'kvs-gateway bootstrap: %s\n' "$*" >&2; }

# Run by hand (not as user-data), the signed requests come from the file next to this one.
if ! declare -F aws_request >/dev/null; then
  # shellcheck source=userdata/aws-request.sh
  source "$(dirname "${BASH_SOURCE[0]}")/aws-request.sh"
fi

step() {
  log "step: $1"
  printf '%s\n' "$1" >"$KVS_INSTALL_STEP_FILE"
}

# Runs a command up to 4 times, 2, 4 then 8 s apart: a fresh instance role can take seconds to work.
with_retries() {
  local attempt
  for attempt in 1 2 3 4; do
    if "$@"; then return 0; fi
    if ((attempt < 4)); then sleep $((2 ** attempt)); fi
  done
  return 1
}

signal_cloudformation() {
  local status="$1" unique_id="$2"
  aws_use_instance_role &&
    with_retries cloudformation_signal_resource "$KVS_STACK_NAME" "$KVS_SIGNAL_RESOURCE" "$unique_id" "$status"
}

on_error() {
  local status=$? failed_step reason id
  trap - ERR
  failed_step="$(cat "$KVS_INSTALL_STEP_FILE" 2>/dev/null || printf 'start')"
  log "FAILED at step \"$failed_step\" (exit $status); details above and in /var/log/cloud-init-output.log"
  if id="$(aws_imds_get instance-id)"; then
    # A UniqueId has at most 64 characters; the step, shortened, fits after the instance id.
    reason="$(tr -cs 'A-Za-z0-9.' '-' <<<"$failed_step")"
    reason="${reason%-}"
    signal_cloudformation FAILURE "${id}-${reason:0:$((63 - ${#id}))}" ||
      signal_cloudformation FAILURE "$id" || log "could not send the FAILURE signal"
  else
    log "could not read the instance id from IMDS: no FAILURE signal sent"
  fi
  exit "$status"
}
trap on_error ERR

download_gateway_files() {
  local archive
  archive="$(mktemp --suffix=.zip)"
  aws_use_instance_role
  with_retries s3_get_object "$KVS_GATEWAY_FILES_URL" "$archive"
  rm -rf "$FILES_DIR"
  install -d -m 0755 "$FILES_DIR"
  # Python's zipfile, not unzip: cloud images have python3 (cloud-init is written in it), not unzip.
  python3 -m zipfile -e "$archive" "$FILES_DIR"
  rm -f "$archive"
}

main() {
  step "read the instance id"
  KVS_INSTANCE_ID="$(aws_imds_get instance-id)"
  export KVS_INSTANCE_ID
  step "download the gateway files"
  download_gateway_files
  step "run install-gateway.sh"
  bash "$FILES_DIR/install-gateway.sh"
  step "signal success"
  signal_cloudformation SUCCESS "$KVS_INSTANCE_ID"
  log "done"
}

main "$@"
