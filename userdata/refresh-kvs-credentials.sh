#!/usr/bin/env bash
# Writes kvssink's rotating credential file (its credential-path property) from the role the gateway
# runs as, so the pipeline never holds credentials that expire under it. kvssink re-reads the file
# about 40 s before the expiration it last read; this script keeps the file ahead of that.
#
#   refresh-kvs-credentials.sh           refresh once; exit non-zero (old file untouched) on any problem
#   refresh-kvs-credentials.sh --loop    refresh every KVS_CREDENTIAL_REFRESH_SECONDS (default 120),
#                                        retrying every KVS_CREDENTIAL_RETRY_SECONDS (15) after a failure
#
# Where the credentials come from, in the AWS SDKs' order:
#   AWS_CONTAINER_CREDENTIALS_RELATIVE_URI  ECS/Fargate task role (KVS_ECS_CREDENTIALS_ENDPOINT,
#                                           default http://169.254.170.2)
#   AWS_CONTAINER_CREDENTIALS_FULL_URI      with AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE) when set
#   otherwise                               the EC2 instance role through IMDSv2 (KVS_IMDS_ENDPOINT,
#                                           default http://169.254.169.254)
# KVS_CREDENTIAL_PATH names the file (required); KVS_CREDENTIAL_MODE its mode (default 0600).
set -euo pipefail

readonly IMDS_ENDPOINT="${KVS_IMDS_ENDPOINT:-http://169.254.169.254}"
readonly ECS_ENDPOINT="${KVS_ECS_CREDENTIALS_ENDPOINT:-http://169.254.170.2}"
readonly REFRESH_SECONDS="${KVS_CREDENTIAL_REFRESH_SECONDS:-120}"
readonly RETRY_SECONDS="${KVS_CREDENTIAL_RETRY_SECONDS:-15}"
readonly CREDENTIAL_MODE="${KVS_CREDENTIAL_MODE:-0600}"
# kvssink refuses a file whose expiration has passed; credentials this close to it are refused here.
readonly MIN_VALIDITY_SECONDS=120

log() { printf 'refresh-kvs-credentials: %s\n' "$*" >&2; }

http_get() {
  curl --silent --show-error --fail --max-time 5 --retry 2 --retry-delay 1 "$@"
}

# Prints the instance role's credentials JSON (IMDSv2: a session token first, then the role's name).
read_instance_role() {
  local token role
  token="$(http_get -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' "$IMDS_ENDPOINT/latest/api/token")" ||
    { log "IMDSv2 did not give a session token ($IMDS_ENDPOINT)"; return 1; }
  role="$(http_get -H "X-aws-ec2-metadata-token: $token" "$IMDS_ENDPOINT/latest/meta-data/iam/security-credentials/")" ||
    { log "IMDS lists no instance role: does the instance have an instance profile?"; return 1; }
  role="${role%%$'\n'*}"
  if [[ ! "$role" =~ ^[A-Za-z0-9+=,.@_-]+$ ]]; then
    log "IMDS returned an unexpected role name"
    return 1
  fi
  http_get -H "X-aws-ec2-metadata-token: $token" "$IMDS_ENDPOINT/latest/meta-data/iam/security-credentials/$role" ||
    { log "IMDS did not return the credentials of role $role"; return 1; }
}

# Prints the task role's credentials JSON from the ECS/Fargate (or compatible) container endpoint.
read_container_role() {
  local url token=""
  if [[ -n "${AWS_CONTAINER_CREDENTIALS_RELATIVE_URI:-}" ]]; then
    url="$ECS_ENDPOINT$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"
  else
    url="$AWS_CONTAINER_CREDENTIALS_FULL_URI"
    if [[ -n "${AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE:-}" ]]; then
      token="$(<"$AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")"
    else
      token="${AWS_CONTAINER_AUTHORIZATION_TOKEN:-}"
    fi
  fi
  if [[ -z "$token" ]]; then
    http_get "$url" || { log "the container credentials endpoint did not answer with credentials"; return 1; }
    return 0
  fi
  # The authorization token goes through stdin, never on a command line that ps can show.
  printf 'Authorization: %s\n' "$token" | http_get -H @- "$url" ||
    { log "the container credentials endpoint did not answer with credentials"; return 1; }
}

read_role_credentials() {
  if [[ -n "${AWS_CONTAINER_CREDENTIALS_RELATIVE_URI:-}" || -n "${AWS_CONTAINER_CREDENTIALS_FULL_URI:-}" ]]; then
    read_container_role
  else
    read_instance_role
  fi
}

# Validates the credentials JSON and prints the one line of kvssink's credential file format.
credential_file_line() {
  local json="$1" fields access_key secret_key session_token expiration expires_at
  if ! fields="$(jq -r '
      if type != "object" then error("not a JSON object")
      elif (.Code // "Success") != "Success" then error("Code is \(.Code)")
      else [.AccessKeyId, .SecretAccessKey, .Token, .Expiration]
        | if all(type == "string" and length > 0) then join("\n") else error("a field is missing") end
      end' <<<"$json" 2>/dev/null)"; then
    log "the credentials answer is not valid (needs AccessKeyId, SecretAccessKey, Token, Expiration)"
    return 1
  fi
  { read -r access_key; read -r secret_key; read -r session_token; read -r expiration; } <<<"$fields"
  if [[ ! "$access_key" =~ ^[A-Z0-9]{16,128}$ || "$secret_key" =~ [[:space:]] || "$session_token" =~ [[:space:]] ]]; then
    log "the credentials answer holds a malformed key"
    return 1
  fi
  if ! expires_at="$(date -u -d "$expiration" +%s 2>/dev/null)"; then
    log "the credentials answer has an unreadable Expiration: $expiration"
    return 1
  fi
  if ((expires_at - $(date -u +%s) < MIN_VALIDITY_SECONDS)); then
    log "the credentials answer expires too soon ($expiration)"
    return 1
  fi
  printf 'CREDENTIALS %s %s %s %s\n' "$access_key" "$(date -u -d "@$expires_at" +%Y-%m-%dT%H:%M:%SZ)" \
    "$secret_key" "$session_token"
}

# Replaces the file atomically: kvssink never reads a half-written file.
write_credential_file() {
  local line="$1" directory temporary
  directory="$(dirname "$KVS_CREDENTIAL_PATH")"
  temporary="$(mktemp "$directory/.kvs-credentials.XXXXXX")" || { log "cannot write in $directory"; return 1; }
  if ! { printf '%s\n' "$line" >"$temporary" && chmod "$CREDENTIAL_MODE" "$temporary" &&
    mv -f "$temporary" "$KVS_CREDENTIAL_PATH"; }; then
    rm -f "$temporary"
    log "cannot replace $KVS_CREDENTIAL_PATH"
    return 1
  fi
}

refresh_once() {
  local json line
  json="$(read_role_credentials)" || return 1
  line="$(credential_file_line "$json")" || return 1
  write_credential_file "$line" || return 1
  log "refreshed $KVS_CREDENTIAL_PATH, valid until $(cut -d' ' -f3 <<<"$line")"
}

main() {
  if [[ -z "${KVS_CREDENTIAL_PATH:-}" ]]; then
    log "KVS_CREDENTIAL_PATH is not set: name the file kvssink reads (its credential-path property)"
    exit 2
  fi
  umask 077
  case "${1:-}" in
    "") refresh_once ;;
    --loop)
      while true; do
        if refresh_once; then sleep "$REFRESH_SECONDS"; else sleep "$RETRY_SECONDS"; fi
      done
      ;;
    *)
      log "usage: refresh-kvs-credentials.sh [--loop]"
      exit 2
      ;;
  esac
}

main "$@"
