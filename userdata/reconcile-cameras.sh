#!/usr/bin/env bash
# Makes the running camera units match the gateway's camera list, an SSM String parameter that the
# stack writes (schema below). Run at boot and by kvs-reconcile-cameras.timer.
#   - a camera new to the list starts;            systemctl enable --now kvs-camera@<name>.service
#   - a camera gone from the list stops;          systemctl disable --now kvs-camera@<name>.service
#   - a camera whose settings or URL parameter version changed (a password rotated with the camera
#     CLI) restarts;                              systemctl restart kvs-camera@<name>.service
#   - every other camera is left alone and keeps streaming.
# A list that cannot be read or fails validation changes nothing: the reason is logged, exit 1.
#
# Camera list, schema version 1 (never a URL: only the name of the SecureString that holds it):
#   {"schemaVersion": 1, "cameras": [{"name": "front-door", "streamName": "front-door",
#     "codec": "auto|h264|h265", "audio": false, "urlParameter": "/kvs-gateway/cameras/front-door"}]}
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
# What was applied, one camera a line: name, streamName, codec, audio, urlParameter, URL version.
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
# list and prints tab-separated lines: "camera" name streamName codec audio urlParameter, one per
# camera, then "version" name version, one per URL parameter in the answer.
# shellcheck disable=SC2016 # jq's $variables, not the shell's
readonly CAMERA_LIST_FILTER='
  def field($i; $key; $pattern; $hint):
    .[$key] as $value
    | if ($value | type) == "string" and ($value | test($pattern)) then $value
      else error("cameras[\($i)].\($key) \($value | tojson): \($hint)") end;
  def cameras:
    if type != "object" then error("the list is not a JSON object")
    elif .schemaVersion != 1 then error("schemaVersion \(.schemaVersion | tojson): this reconciler reads version 1")
    elif (.cameras | type) != "array" then error("cameras: must be a list")
    else
      [ .cameras | to_entries[] | .key as $i | .value
        | if type != "object" then error("cameras[\($i)]: must be an object") else . end
        | [ field($i; "name"; "^[A-Za-z0-9_.-]{1,256}$"; "use letters, digits, \"_\", \".\" or \"-\""),
            field($i; "streamName"; "^[A-Za-z0-9_.-]{1,256}$"; "use letters, digits, \"_\", \".\" or \"-\""),
            field($i; "codec"; "^(auto|h264|h265)$"; "must be auto, h264 or h265"),
            (if (.audio | type) == "boolean" then .audio | tostring
             else error("cameras[\($i)].audio \(.audio | tojson): must be true or false") end),
            field($i; "urlParameter"; "^(/[A-Za-z0-9_.-]+)+$"; "must be an SSM parameter name like /kvs-gateway/cameras/front-door") ]
      ] as $cameras
      | ($cameras | map(.[0]) | group_by(.) | map(select(length > 1) | .[0])) as $repeated
      | if ($repeated | length) > 0 then error("cameras: name \($repeated[0] | tojson) is listed more than once")
        else $cameras[] end
    end;
  ((.Parameters // []) | map({key: .Name, value: .}) | from_entries) as $found
  | if $found[$list] == null then error("ParameterNotFound")
    else
      ($found[$list].Value | try fromjson catch error("not JSON (\(.))") | cameras | ["camera"] + . | @tsv),
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
    "CAMERA_NAME=$name" "STREAM_NAME=$stream" "CODEC=$codec" "AUDIO=$audio" "RTSP_URL_PARAMETER=$url_parameter")"$'\n'
}

main() {
  if [[ -z "${KVS_CAMERA_LIST_PARAMETER:-}" ]]; then
    log "KVS_CAMERA_LIST_PARAMETER is not set (see /etc/kvs-gateway/gateway.env)"
    exit 2
  fi
  [[ -d "$CAMERA_ENV_DIR" && -d "${STATE_FILE%/*}" ]] || mkdir -p "$CAMERA_ENV_DIR" "${STATE_FILE%/*}"
  aws_use_default_credentials || exit 1

  # What was applied last time: the settings (tab-separated, as in the state file) and URL version.
  local -A wanted url_parameter version_of_parameter denied_parameter applied applied_version asked
  local names=() known=() name settings stream codec audio parameter version kind
  if [[ -f "$STATE_FILE" ]]; then
    while IFS=$'\t' read -r name stream codec audio parameter version; do
      [[ -n "$name" ]] || continue
      applied["$name"]="$stream"$'\t'"$codec"$'\t'"$audio"$'\t'"$parameter"
      applied_version["$name"]="$version"
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
  while IFS=$'\t' read -r kind name stream codec audio parameter; do
    if [[ "$kind" == version ]]; then
      version_of_parameter["$name"]="$stream"
    elif [[ "$kind" == camera ]]; then
      wanted["$name"]="$stream"$'\t'"$codec"$'\t'"$audio"$'\t'"$parameter"
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
      rm -f "$CAMERA_ENV_DIR/$name.env"
      unset "applied[$name]" "applied_version[$name]"
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
      state+="$name"$'\t'"${applied[$name]}"$'\t'"${applied_version[$name]}"$'\n'
    done
    write_file_atomically "$STATE_FILE" "$(printf '%s' "$state" | sort)"$'\n'
  fi
  ((failures == 0))
}

main "$@"
