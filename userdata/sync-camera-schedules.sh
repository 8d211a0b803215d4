#!/usr/bin/env bash
# The Fargate task's live configuration: reads its shard's camera list (the SSM String parameter the
# stack writes; the same document the EC2 gateway's reconciler reads, lib/camera-list.ts) and writes each
# camera's recording schedule to $KVS_SCHEDULE_DIR/<camera>.schedule.json (its compiled schedule, or
# null), which the camera container's run script follows (RECORDING_SCHEDULE_FILE). A changed schedule so
# takes effect without a new task definition, and without restarting a container. The rest of a Fargate
# camera's settings are in its task definition: only the schedules are taken from the list.
#
#   sync-camera-schedules.sh           once; exit 1 (files untouched) when the list cannot be read
#   sync-camera-schedules.sh --loop    every KVS_SCHEDULE_SYNC_SECONDS (default 60; one GetParameter, free
#                                      for a standard parameter: 250 tasks make about 4 requests a second)
#
# Environment: KVS_CAMERA_LIST_PARAMETER, KVS_SCHEDULE_DIR, AWS_REGION, and KVS_CREDENTIAL_PATH, the task's
# credential file, which the refresher in the same container keeps fresh (aws-request.sh signs with it;
# AWS_ENDPOINT_URL_SSM replaces the SSM endpoint).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=userdata/aws-request.sh
source "$SCRIPT_DIR/aws-request.sh"

readonly SYNC_SECONDS="${KVS_SCHEDULE_SYNC_SECONDS:-60}"

log() { printf 'sync-camera-schedules: %s\n' "$*" >&2; }

# A GetParameter answer holding the camera list -> "<camera name><TAB><schedule JSON or null>" lines.
# shellcheck disable=SC2016 # jq's $variables, not the shell's
readonly SCHEDULES_FILTER='
  .Parameter.Value | fromjson
  | if .schemaVersion != 1 and .schemaVersion != 2 then
      error("schemaVersion \(.schemaVersion | tojson): this task reads versions 1 and 2")
    else . end
  | (.schedules // []) as $schedules
  | .cameras[]
  | if (.name | type) == "string" and (.name | test("^[A-Za-z0-9_.-]{1,256}$")) then . else
      error("a camera name \(.name | tojson) that is not one") end
  | [.name, (if .schedule == null then null else $schedules[.schedule] end | tojson)]
  | @tsv'

sync_once() {
  local answer lines name schedule file current=""
  if ! aws_use_default_credentials 2>/dev/null; then
    log "no credentials yet in ${KVS_CREDENTIAL_PATH:-the environment}; the camera list is read at the next round"
    return 1
  fi
  if ! answer="$(ssm_request GetParameter "{\"Name\":\"$KVS_CAMERA_LIST_PARAMETER\"}")"; then
    log "cannot read the camera list $KVS_CAMERA_LIST_PARAMETER ($(aws_error_code "$answer")); the schedules stay as they are"
    return 1
  fi
  if ! lines="$(jq -r "$SCHEDULES_FILTER" 2>&1 <<<"$answer")"; then
    log "the camera list $KVS_CAMERA_LIST_PARAMETER is not valid: ${lines#jq: error (at <stdin>:*): }; the schedules stay as they are"
    return 1
  fi
  mkdir -p "$KVS_SCHEDULE_DIR"
  while IFS=$'\t' read -r name schedule; do
    [[ -n "$name" ]] || continue
    file="$KVS_SCHEDULE_DIR/$name.schedule.json"
    current=""
    [[ ! -f "$file" ]] || current="$(<"$file")"
    [[ "$current" != "$schedule" ]] || continue
    # Atomically: the run script never reads half a file.
    printf '%s\n' "$schedule" >"$file.tmp"
    mv -f "$file.tmp" "$file"
    log "camera $name: recording schedule $([[ -n "$current" ]] && echo changed || echo written) ($file)"
  done <<<"$lines"
}

main() {
  local name
  for name in KVS_CAMERA_LIST_PARAMETER KVS_SCHEDULE_DIR AWS_REGION; do
    if [[ -z "${!name:-}" ]]; then
      log "$name is not set"
      exit 2
    fi
  done
  case "${1:-}" in
    "") sync_once ;;
    --loop)
      while true; do
        sync_once || true
        sleep "$SYNC_SECONDS"
      done
      ;;
    *)
      log "usage: sync-camera-schedules.sh [--loop]"
      exit 2
      ;;
  esac
}

main "$@"
