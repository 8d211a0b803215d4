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
# Each run makes two SSM requests (GetParameter for the list, GetParameters for the URL parameters'
# versions, 10 names a call), signed by curl through aws-request.sh: a run costs tens of milliseconds
# of CPU, where the AWS CLI cost seconds.
#
# Environment: KVS_CAMERA_LIST_PARAMETER (required), AWS_REGION, KVS_CREDENTIAL_PATH (the credential
# file the refresher writes; see aws-request.sh for the other sources and AWS_ENDPOINT_URL_SSM);
# KVS_GATEWAY_ROOT prefixes every path (tests use a temporary root); `systemctl` is taken from PATH.
set -euo pipefail

# shellcheck source=userdata/aws-request.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/aws-request.sh"

readonly ROOT="${KVS_GATEWAY_ROOT:-}"
readonly CAMERA_ENV_DIR="$ROOT/etc/kvs-gateway/cameras"
readonly STATE_FILE="$ROOT/var/lib/kvs-gateway/cameras.state"
readonly UNIT_TEMPLATE="kvs-camera@"
# GetParameters takes at most 10 names a call.
readonly SSM_BATCH=10

log() { printf 'reconcile-cameras: %s\n' "$*" >&2; }
camera_log() { log "camera $1: $2"; }

unit_of() { printf '%s%s.service' "$UNIT_TEMPLATE" "$1"; }

# Validates the camera list and prints one tab-separated line per camera:
#   name, streamName, codec, audio, urlParameter
# shellcheck disable=SC2016 # jq's $variables, not the shell's
readonly CAMERA_LIST_FILTER='
  def field($i; $key; $pattern; $hint):
    .[$key] as $value
    | if ($value | type) == "string" and ($value | test($pattern)) then $value
      else error("cameras[\($i)].\($key) \($value | tojson): \($hint)") end;
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
      else $cameras[] | @tsv end
  end'

read_camera_list() {
  local answer json problem
  if ! answer="$(ssm_request GetParameter "$(jq -cn --arg name "$KVS_CAMERA_LIST_PARAMETER" '{Name: $name}')")" ||
    ! json="$(jq -er '.Parameter.Value' <<<"$answer")"; then
    log "cannot read the camera list $KVS_CAMERA_LIST_PARAMETER ($(aws_error_code "$answer")); nothing changed"
    return 1
  fi
  if ! problem="$(jq -r "$CAMERA_LIST_FILTER" 2>&1 <<<"$json")"; then
    log "the camera list $KVS_CAMERA_LIST_PARAMETER is not valid: ${problem#jq: error (at <stdin>:*): }; nothing changed"
    return 1
  fi
  printf '%s\n' "$problem"
}

# Prints "name<TAB>version" for each URL parameter that exists; the value stays encrypted (no
# decryption asked), only its version is read.
read_parameter_versions() {
  local names=("$@") batch answer start
  for ((start = 0; start < ${#names[@]}; start += SSM_BATCH)); do
    batch=("${names[@]:start:SSM_BATCH}")
    if ! answer="$(ssm_request GetParameters "$(jq -cn '{Names: $ARGS.positional}' --args "${batch[@]}")")"; then
      log "cannot read the versions of the camera URL parameters ($(aws_error_code "$answer")); nothing changed"
      return 1
    fi
    jq -r '.Parameters[] | [.Name, (.Version | tostring)] | @tsv' <<<"$answer"
  done
}

camera_env() {
  local name="$1" stream="$2" codec="$3" audio="$4" url_parameter="$5"
  printf '# Written by reconcile-cameras.sh from the camera list; changes here are overwritten.\n'
  printf 'CAMERA_NAME=%s\nSTREAM_NAME=%s\nCODEC=%s\nAUDIO=%s\nRTSP_URL_PARAMETER=%s\n' \
    "$name" "$stream" "$codec" "$audio" "$url_parameter"
}

write_file_atomically() {
  local file="$1" content="$2" temporary
  temporary="$(mktemp "$(dirname "$file")/.$(basename "$file").XXXXXX")"
  printf '%s' "$content" >"$temporary"
  chmod 0644 "$temporary"
  mv -f "$temporary" "$file"
}

main() {
  if [[ -z "${KVS_CAMERA_LIST_PARAMETER:-}" ]]; then
    log "KVS_CAMERA_LIST_PARAMETER is not set (see /etc/kvs-gateway/gateway.env)"
    exit 2
  fi
  mkdir -p "$CAMERA_ENV_DIR" "$(dirname "$STATE_FILE")"
  aws_use_default_credentials || exit 1

  local camera_lines
  camera_lines="$(read_camera_list)" || exit 1

  local -A stream codec audio url_parameter
  local names=() name line
  while IFS=$'\t' read -r name line; do
    [[ -n "$name" ]] || continue
    IFS=$'\t' read -r "stream[$name]" "codec[$name]" "audio[$name]" "url_parameter[$name]" <<<"$line"
    names+=("$name")
  done <<<"$camera_lines"

  local parameter_names=() parameter_version
  for name in "${names[@]}"; do parameter_names+=("${url_parameter[$name]}"); done
  local -A version_of_parameter=()
  if ((${#parameter_names[@]} > 0)); then
    local versions
    versions="$(read_parameter_versions "${parameter_names[@]}")" || exit 1
    while IFS=$'\t' read -r line parameter_version; do
      [[ -n "$line" ]] && version_of_parameter["$line"]="$parameter_version"
    done <<<"$versions"
  fi

  # What was applied last time: name, settings hash, URL parameter version.
  local -A applied_hash applied_version
  local hash applied wanted_env
  if [[ -f "$STATE_FILE" ]]; then
    while IFS=$'\t' read -r name hash applied; do
      [[ -n "$name" ]] || continue
      applied_hash["$name"]="$hash"
      applied_version["$name"]="$applied"
    done <"$STATE_FILE"
  fi

  local failures=0
  local -A listed=()
  for name in "${names[@]}"; do listed["$name"]=1; done

  for name in "${!applied_hash[@]}"; do
    [[ -z "${listed[$name]:-}" ]] || continue
    if systemctl disable --now "$(unit_of "$name")"; then
      rm -f "$CAMERA_ENV_DIR/$name.env"
      unset "applied_hash[$name]" "applied_version[$name]"
      camera_log "$name" "stopped (no longer in the camera list)"
    else
      camera_log "$name" "could not be stopped; will retry"
      failures=$((failures + 1))
    fi
  done

  for name in "${names[@]}"; do
    parameter_version="${version_of_parameter[${url_parameter[$name]}]:-}"
    if [[ -z "$parameter_version" ]]; then
      camera_log "$name" "its URL parameter ${url_parameter[$name]} does not exist: store it with \"npx kvs-gateway cameras add $name\"; not started"
      continue
    fi
    wanted_env="$(camera_env "$name" "${stream[$name]}" "${codec[$name]}" "${audio[$name]}" "${url_parameter[$name]}")"
    hash="$(sha256sum <<<"$wanted_env" | cut -d' ' -f1)"
    if [[ -z "${applied_hash[$name]:-}" ]]; then
      write_file_atomically "$CAMERA_ENV_DIR/$name.env" "$wanted_env"$'\n'
      if systemctl enable --now "$(unit_of "$name")"; then
        camera_log "$name" "started"
      else
        camera_log "$name" "could not be started; will retry"
        failures=$((failures + 1))
        continue
      fi
    elif [[ "${applied_hash[$name]}" != "$hash" || "${applied_version[$name]}" != "$parameter_version" ]]; then
      write_file_atomically "$CAMERA_ENV_DIR/$name.env" "$wanted_env"$'\n'
      if systemctl restart "$(unit_of "$name")"; then
        if [[ "${applied_hash[$name]}" != "$hash" ]]; then
          camera_log "$name" "restarted (settings changed)"
        else
          camera_log "$name" "restarted (URL parameter version ${applied_version[$name]} -> $parameter_version)"
        fi
      else
        camera_log "$name" "could not be restarted; will retry"
        failures=$((failures + 1))
        continue
      fi
    fi
    applied_hash["$name"]="$hash"
    applied_version["$name"]="$parameter_version"
  done

  local state=""
  for name in "${!applied_hash[@]}"; do
    state+="$(printf '%s\t%s\t%s' "$name" "${applied_hash[$name]}" "${applied_version[$name]}")"$'\n'
  done
  write_file_atomically "$STATE_FILE" "$(printf '%s' "$state" | sort)"$'\n'
  ((failures == 0))
}

main "$@"
