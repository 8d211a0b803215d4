#!/usr/bin/env bash
# The container's entry point: one image, two roles in every gateway task.
#
#   entrypoint.sh credentials        the task's one credential refresher: keeps kvssink's credential file
#                                    (KVS_CREDENTIAL_PATH, on a volume the camera containers read)
#                                    fresh from the task role, like the EC2 gateway's refresher timer; with
#                                    KVS_CAMERA_LIST_PARAMETER, also the cameras' recording schedules
#                                    (sync-camera-schedules.sh, into KVS_SCHEDULE_DIR on the same volume)
#   entrypoint.sh camera             one camera: waits for the credential file, then becomes run-camera.sh
#                                    (exec, so ECS's SIGTERM reaches it and the sink flushes)
#   entrypoint.sh check-credentials  health check of the refresher: the file exists and is valid for at
#                                    least KVS_CREDENTIAL_MIN_VALIDITY_SECONDS (default 300)
#
# run-camera.sh and refresh-kvs-credentials.sh are the EC2 gateway's own files, installed next to this one.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR
readonly WAIT_SECONDS="${KVS_CREDENTIAL_WAIT_SECONDS:-60}"
readonly MIN_VALIDITY_SECONDS="${KVS_CREDENTIAL_MIN_VALIDITY_SECONDS:-300}"

log() { printf 'entrypoint[%s]: %s\n' "${CAMERA_NAME:-gateway}" "$*" >&2; }

require_credential_path() {
  if [[ -z "${KVS_CREDENTIAL_PATH:-}" ]]; then
    log "KVS_CREDENTIAL_PATH is not set: name kvssink's credential file"
    exit 2
  fi
}

# Seconds until the expiration written in the credential file (CREDENTIALS <key> <expiration> ...).
seconds_left() {
  local keyword="" access_key="" expiration="" expires_at
  # The refresher writes the one line without a newline: read then reports end of file, not an error.
  read -r keyword access_key expiration _ 2>/dev/null <"$KVS_CREDENTIAL_PATH" || [[ -n "$keyword" ]] || return 1
  [[ "$keyword" == CREDENTIALS && -n "$access_key" ]] || return 1
  expires_at="$(date -u -d "$expiration" +%s 2>/dev/null)" || return 1
  printf '%s\n' "$((expires_at - $(date -u +%s)))"
}

check_credentials() {
  local left
  require_credential_path
  if ! left="$(seconds_left)"; then
    echo "unhealthy: no readable credential file at $KVS_CREDENTIAL_PATH"
    exit 1
  fi
  if ((left < MIN_VALIDITY_SECONDS)); then
    echo "unhealthy: the credentials in $KVS_CREDENTIAL_PATH expire in ${left}s"
    exit 1
  fi
  echo "healthy: credentials valid for ${left}s"
}

wait_for_credentials() {
  local waited=0 left
  require_credential_path
  until left="$(seconds_left)" && ((left > 0)); do
    if ((waited >= WAIT_SECONDS)); then
      log "no valid credential file at $KVS_CREDENTIAL_PATH after ${WAIT_SECONDS}s: is the credentials container running?"
      exit 5
    fi
    sleep 1
    waited=$((waited + 1))
  done
}

# The schedules are read with the task role's credentials, from the file the refresher writes first.
sync_schedules_after_credentials() {
  until seconds_left >/dev/null 2>&1; do sleep 1; done
  exec "$SCRIPT_DIR/sync-camera-schedules.sh" --loop
}

main() {
  case "${1:-}" in
    credentials)
      require_credential_path
      # In the background of the same container: ECS runs at most 10 containers a task, 9 of them cameras.
      if [[ -n "${KVS_CAMERA_LIST_PARAMETER:-}" ]]; then sync_schedules_after_credentials & fi
      exec "$SCRIPT_DIR/refresh-kvs-credentials.sh" --loop
      ;;
    camera)
      # Only kvssink reads the file; the stand-in sinks (file:, fake) run without AWS credentials.
      if [[ "${GATEWAY_SINK:-kvssink}" == kvssink ]]; then wait_for_credentials; fi
      exec "$SCRIPT_DIR/run-camera.sh"
      ;;
    check-credentials) check_credentials ;;
    *)
      log "usage: entrypoint.sh credentials|camera|check-credentials"
      exit 2
      ;;
  esac
}

main "$@"
