#!/usr/bin/env bash
# Makes the running camera units match the gateway's camera list, an SSM String parameter that the
# stack writes (schema below). Run at boot and by kvs-reconcile-cameras.timer.
#   - a camera new to the list starts;            systemctl enable --now kvs-camera@<name>.service
#   - a camera gone from the list stops;          systemctl disable --now kvs-camera@<name>.service
#   - a camera whose settings or URL parameter version changed (a password rotated with the camera
#     CLI) restarts;                              systemctl restart kvs-camera@<name>.service
#   - a camera whose recording schedule changed gets its schedule file rewritten, and no restart: its run
#     script follows the file (/etc/kvs-gateway/cameras/<name>.schedule.json);
#   - every other camera is left alone and keeps streaming.
# A list that cannot be read or fails validation changes nothing: the reason is logged, exit 1.
#
# Camera list, schema version 1 (never a URL: only the name of the SecureString that holds it):
#   {"schemaVersion": 1, "cameras": [{"name": "front-door", "streamName": "front-door",
#     "codec": "auto|h264|h265", "audio": false, "urlParameter": "/kvs-gateway/cameras/front-door"}]}
# Version 2 adds recording schedules (compiled by lib/recording-schedule.ts), each listed once, and a
# camera's "schedule" is its index (absent: around the clock):
#   {"schemaVersion": 2, "schedules": [{"timeZone": "Europe/Berlin", "weekMinutes": [[420, 1140], ...]}],
#    "cameras": [{"name": "front-door", ..., "schedule": 0}]}
#
# It runs every 30 s for the life of the instance, so a run that changes nothing is kept to a few
# processes: one SSM GetParameters request (the list, and the versions of the URL parameters applied
# last time; new cameras' versions in more requests, 10 names each), signed by curl through
# aws-request.sh, one jq, no file written. The AWS
# CLI it replaces cost about 0.5 s of CPU per call to start.
#
# A deploy changes the camera list and the instance role's policy; IAM applies a policy change seconds
# after CloudFormation reports it, and GetParameters fails whole (AccessDeniedException) when the role
# may not read one of the names it asks for. So a name the role may not read (yet) never costs the
# others: when the combined request is denied the list is read alone and the versions name by name; a
# camera whose URL parameter is denied is left as it is (running, or not started) until it is allowed.
#
# Environment: KVS_CAMERA_LIST_PARAMETER (required), AWS_REGION, KVS_CREDENTIAL_PATH (the credential
# file the refresher writes; see aws-request.sh for the other sources and AWS_ENDPOINT_URL_SSM);
# KVS_GATEWAY_ROOT prefixes every path (tests use a temporary root); `systemctl` is taken from PATH.
set -euo pipefail

# Next to this script (no dirname process: this runs every 30 s).
SCRIPT_DIR="${BASH_SOURCE[0]%/*}"
if [[ "$SCRIPT_DIR" == "${BASH_SOURCE[0]}" ]]; then SCRIPT_DIR=.; fi
# shellcheck source=userdata/aws-request.sh
source "$SCRIPT_DIR/aws-request.sh"

readonly ROOT="${KVS_GATEWAY_ROOT:-}"
readonly CAMERA_ENV_DIR="$ROOT/etc/kvs-gateway/cameras"
# What was applied, one camera a line: name, streamName, codec, audio, urlParameter, URL version, schedule.
readonly STATE_FILE="$ROOT/var/lib/kvs-gateway/cameras.state"
readonly UNIT_TEMPLATE="kvs-camera@"
# GetParameters takes at most 10 names a call.
readonly SSM_BATCH=10

log() { printf 'reconcile-cameras: %s\n' "$*" >&2; }
camera_log() { log "camera $1: $2"; }

unit_of() { printf '%s%s.service' "$UNIT_TEMPLATE" "$1"; }

# The JSON string of a parameter name (names hold only [A-Za-z0-9_./-]: the list's filter checks them).
json_name() { printf '"%s"' "$1"; }

# Takes a GetParameters answer holding the camera list ($list) and some URL parameters, validates the
# list and prints tab-separated lines: "camera" name streamName codec audio urlParameter schedule (its
# JSON, or null), one per camera, then "version" name version, one per URL parameter in the answer. The
# run script checks a schedule's zone and ranges again, and records around the clock if it cannot follow it.
# shellcheck disable=SC2016 # jq's $variables, not the shell's
readonly CAMERA_LIST_FILTER='
  def field($i; $key; $pattern; $hint):
    .[$key] as $value
    | if ($value | type) == "string" and ($value | test($pattern)) then $value
      else error("cameras[\($i)].\($key) \($value | tojson): \($hint)") end;
  def minute: type == "number" and floor == . and . >= 0 and . <= 10080;
  def schedules:
    if .schemaVersion == 1 then []
    elif (.schedules | type) != "array" then error("schedules: must be a list")
    else
      [ .schedules | to_entries[] | .key as $s | .value
        | if type == "object" and (.timeZone | type) == "string"
            and (.timeZone | test("^[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*$"))
            and (.weekMinutes | type) == "array"
            and all(.weekMinutes[]; type == "array" and length == 2 and all(.[]; minute) and .[0] < .[1])
          then {timeZone, weekMinutes} | tojson
          else error("schedules[\($s)]: not a schedule (a timeZone and weekMinutes, [start, end] minutes of the week)") end ]
    end;
  def cameras:
    if type != "object" then error("the list is not a JSON object")
    elif .schemaVersion != 1 and .schemaVersion != 2 then
      error("schemaVersion \(.schemaVersion | tojson): this reconciler reads versions 1 and 2")
    elif (.cameras | type) != "array" then error("cameras: must be a list")
    else
      schedules as $schedules
      | [ .cameras | to_entries[] | .key as $i | .value
        | if type != "object" then error("cameras[\($i)]: must be an object") else . end
        | [ field($i; "name"; "^[A-Za-z0-9_.-]{1,256}$"; "use letters, digits, \"_\", \".\" or \"-\""),
            field($i; "streamName"; "^[A-Za-z0-9_.-]{1,256}$"; "use letters, digits, \"_\", \".\" or \"-\""),
            field($i; "codec"; "^(auto|h264|h265)$"; "must be auto, h264 or h265"),
            (if (.audio | type) == "boolean" then .audio | tostring
             else error("cameras[\($i)].audio \(.audio | tojson): must be true or false") end),
            field($i; "urlParameter"; "^(/[A-Za-z0-9_.-]+)+$"; "must be an SSM parameter name like /kvs-gateway/cameras/front-door"),
            (.schedule as $index
             | if $index == null then "null"
               elif ($index | type) == "number" and $index >= 0 and $index < ($schedules | length) and ($index | floor) == $index
               then $schedules[$index]
               else error("cameras[\($i)].schedule \($index | tojson): must be the index of one of the \($schedules | length) schedules") end) ]
      ] as $cameras
      | ($cameras | map(.[0]) | group_by(.) | map(select(length > 1) | .[0])) as $repeated
      | if ($repeated | length) > 0 then error("cameras: name \($repeated[0] | tojson) is listed more than once")
        else $cameras[] end
    end;
  ((.Parameters // []) | map({key: .Name, value: .}) | from_entries) as $found
  | if $found[$list] == null then error("ParameterNotFound")
    else
      # In an array, so that jq 1.6 (Debian 12) does not catch the errors of what follows as parse errors.
      ([$found[$list].Value | try fromjson catch {notJson: .}] as [$list_document]
       | if ($list_document | type) == "object" and ($list_document | has("notJson"))
         then error("not JSON (\($list_document.notJson))") else $list_document end
       | cameras | ["camera"] + . | @tsv),
      ($found | to_entries[] | select(.key != $list) | ["version", .key, (.value.Version | tostring)] | @tsv)
    end'

# GetParameters for the given names (at most SSM_BATCH); prints the answer.
get_parameters() {
  local name request=""
  for name in "$@"; do request+="${request:+,}$(json_name "$name")"; done
  ssm_request GetParameters "{\"Names\":[$request]}"
}

# Reads the camera list and, in the same request, the versions of the URL parameters named in $@
# (the ones applied last time, so that a run that changes nothing makes one request). Prints the
# filter's lines. Returns 3 when IAM denied the request and it named URL parameters: one of them may
# no longer be allowed (a deploy removing its camera changed the role first).
read_camera_list() {
  local answer lines code
  if ! answer="$(get_parameters "$KVS_CAMERA_LIST_PARAMETER" "$@")"; then
    code="$(aws_error_code "$answer")"
    if [[ "$code" == AccessDeniedException && $# -gt 0 ]]; then return 3; fi
    log "cannot read the camera list $KVS_CAMERA_LIST_PARAMETER ($code); nothing changed"
    return 1
  fi
  if ! lines="$(jq -r --arg list "$KVS_CAMERA_LIST_PARAMETER" "$CAMERA_LIST_FILTER" 2>&1 <<<"$answer")"; then
    lines="${lines#jq: error (at <stdin>:*): }"
    if [[ "$lines" == ParameterNotFound* ]]; then
      log "cannot read the camera list $KVS_CAMERA_LIST_PARAMETER (ParameterNotFound); nothing changed"
    else
      log "the camera list $KVS_CAMERA_LIST_PARAMETER is not valid: $lines; nothing changed"
    fi
    return 1
  fi
  printf '%s\n' "$lines"
}

# Prints "version<TAB>name<TAB>version" for each URL parameter that exists, SSM_BATCH names a request,
# and "denied<TAB>name" for each one IAM does not let the role read (a batch that is denied is asked
# again name by name); the value stays encrypted (no decryption asked), only its version is read.
read_parameter_versions() {
  local names=("$@") answer start name
  for ((start = 0; start < ${#names[@]}; start += SSM_BATCH)); do
    if answer="$(get_parameters "${names[@]:start:SSM_BATCH}")"; then
      jq -r '.Parameters[] | ["version", .Name, (.Version | tostring)] | @tsv' <<<"$answer"
      continue
    fi
    if [[ "$(aws_error_code "$answer")" != AccessDeniedException ]]; then
      log "cannot read the versions of the camera URL parameters ($(aws_error_code "$answer")); nothing changed"
      return 1
    fi
    for name in "${names[@]:start:SSM_BATCH}"; do
      if answer="$(get_parameters "$name")"; then
        jq -r '.Parameters[] | ["version", .Name, (.Version | tostring)] | @tsv' <<<"$answer"
      elif [[ "$(aws_error_code "$answer")" == AccessDeniedException ]]; then
        printf 'denied\t%s\n' "$name"
      else
        log "cannot read the version of $name ($(aws_error_code "$answer")); nothing changed"
        return 1
      fi
    done
  done
}

write_file_atomically() {
  local file="$1" content="$2" temporary
  temporary="$(mktemp "${file%/*}/.${file##*/}.XXXXXX")"
  printf '%s' "$content" >"$temporary"
  chmod 0644 "$temporary"
  mv -f "$temporary" "$file"
}

# Writes a camera's env file (the unit's EnvironmentFile) from its state line's fields.
write_camera_env() {
  local name="$1" stream="$2" codec="$3" audio="$4" url_parameter="$5"
  write_file_atomically "$CAMERA_ENV_DIR/$name.env" "$(printf '%s\n' \
    '# Written by reconcile-cameras.sh from the camera list; changes here are overwritten.' \
    "CAMERA_NAME=$name" "STREAM_NAME=$stream" "CODEC=$codec" "AUDIO=$audio" "RTSP_URL_PARAMETER=$url_parameter" \
    "RECORDING_SCHEDULE_FILE=$(schedule_file_of "$name")")"$'\n'
}

schedule_file_of() { printf '%s/%s.schedule.json' "$CAMERA_ENV_DIR" "$1"; }

main() {
  if [[ -z "${KVS_CAMERA_LIST_PARAMETER:-}" ]]; then
    log "KVS_CAMERA_LIST_PARAMETER is not set (see /etc/kvs-gateway/gateway.env)"
    exit 2
  fi
  [[ -d "$CAMERA_ENV_DIR" && -d "${STATE_FILE%/*}" ]] || mkdir -p "$CAMERA_ENV_DIR" "${STATE_FILE%/*}"
  aws_use_default_credentials || exit 1

  # What was applied last time: the settings (tab-separated, as in the state file) and URL version.
  local -A wanted url_parameter version_of_parameter denied_parameter applied applied_version asked
  local -A wanted_schedule applied_schedule
  local names=() known=() name settings stream codec audio parameter version kind schedule
  if [[ -f "$STATE_FILE" ]]; then
    while IFS=$'\t' read -r name stream codec audio parameter version schedule; do
      [[ -n "$name" ]] || continue
      applied["$name"]="$stream"$'\t'"$codec"$'\t'"$audio"$'\t'"$parameter"
      applied_version["$name"]="$version"
      applied_schedule["$name"]="$schedule"
      if ((${#known[@]} < SSM_BATCH - 1)); then known+=("$parameter"); fi
    done <"$STATE_FILE"
  fi

  local lines status=0
  lines="$(read_camera_list "${known[@]}")" || status=$?
  if ((status == 3)); then
    # A URL parameter applied last time is not allowed any more: read the list alone, the versions below.
    known=()
    lines="$(read_camera_list)" || exit 1
  elif ((status != 0)); then
    exit 1
  fi
  for parameter in "${known[@]}"; do asked["$parameter"]=1; done
  while IFS=$'\t' read -r kind name stream codec audio parameter schedule; do
    if [[ "$kind" == version ]]; then
      version_of_parameter["$name"]="$stream"
    elif [[ "$kind" == camera ]]; then
      wanted["$name"]="$stream"$'\t'"$codec"$'\t'"$audio"$'\t'"$parameter"
      wanted_schedule["$name"]="$schedule"
      url_parameter["$name"]="$parameter"
      names+=("$name")
    fi
  done <<<"$lines"

  # URL parameters the first request did not ask for (new cameras, or more than it holds).
  local missing=()
  for name in "${names[@]}"; do
    [[ -n "${asked[${url_parameter[$name]}]:-}" ]] || missing+=("${url_parameter[$name]}")
  done
  if ((${#missing[@]} > 0)); then
    lines="$(read_parameter_versions "${missing[@]}")" || exit 1
    while IFS=$'\t' read -r kind parameter version; do
      if [[ "$kind" == version ]]; then
        version_of_parameter["$parameter"]="$version"
      elif [[ "$kind" == denied ]]; then
        denied_parameter["$parameter"]=1
      fi
    done <<<"$lines"
  fi

  local failures=0 changed=false
  for name in "${!applied[@]}"; do
    [[ -z "${wanted[$name]:-}" ]] || continue
    changed=true
    if systemctl disable --now "$(unit_of "$name")"; then
      rm -f "$CAMERA_ENV_DIR/$name.env" "$(schedule_file_of "$name")"
      unset "applied[$name]" "applied_version[$name]" "applied_schedule[$name]"
      camera_log "$name" "stopped (no longer in the camera list)"
    else
      camera_log "$name" "could not be stopped; will retry"
      failures=$((failures + 1))
    fi
  done

  for name in "${names[@]}"; do
    settings="${wanted[$name]}"
    version="${version_of_parameter[${url_parameter[$name]}]:-}"
    if [[ -n "${denied_parameter[${url_parameter[$name]}]:-}" ]]; then
      camera_log "$name" "the instance role may not read its URL parameter ${url_parameter[$name]} (AccessDeniedException; a deploy's IAM change takes seconds to apply); left as it is"
      continue
    fi
    if [[ -z "$version" ]]; then
      camera_log "$name" "its URL parameter ${url_parameter[$name]} does not exist: store it with \"npx kvs-gateway cameras add $name\"; not started"
      continue
    fi
    # Before the unit starts, so that a new camera off schedule never contacts its camera.
    if [[ "${applied_schedule[$name]:-}" != "${wanted_schedule[$name]}" ]]; then
      write_file_atomically "$(schedule_file_of "$name")" "${wanted_schedule[$name]}"$'\n'
      changed=true
      if [[ -n "${applied[$name]:-}" ]]; then
        camera_log "$name" "recording schedule changed: the camera follows it without a restart"
      fi
      applied_schedule["$name"]="${wanted_schedule[$name]}"
    fi
    if [[ "${applied[$name]:-}" == "$settings" && "${applied_version[$name]}" == "$version" ]]; then continue; fi
    changed=true
    IFS=$'\t' read -r stream codec audio parameter <<<"$settings"
    write_camera_env "$name" "$stream" "$codec" "$audio" "$parameter"
    if [[ -z "${applied[$name]:-}" ]]; then
      if ! systemctl enable --now "$(unit_of "$name")"; then
        camera_log "$name" "could not be started; will retry"
        failures=$((failures + 1))
        continue
      fi
      camera_log "$name" "started"
    else
      if ! systemctl restart "$(unit_of "$name")"; then
        camera_log "$name" "could not be restarted; will retry"
        failures=$((failures + 1))
        continue
      fi
      if [[ "${applied[$name]}" != "$settings" ]]; then
        camera_log "$name" "restarted (settings changed)"
      else
        camera_log "$name" "restarted (URL parameter version ${applied_version[$name]} -> $version)"
      fi
    fi
    applied["$name"]="$settings"
    applied_version["$name"]="$version"
  done

  if [[ "$changed" == true ]]; then
    local state=""
    for name in "${!applied[@]}"; do
      state+="$name"$'\t'"${applied[$name]}"$'\t'"${applied_version[$name]}"$'\t'"${applied_schedule[$name]:-}"$'\n'
    done
    write_file_atomically "$STATE_FILE" "$(printf '%s' "$state" | sort)"$'\n'
  fi
  ((failures == 0))
}

main "$@"
