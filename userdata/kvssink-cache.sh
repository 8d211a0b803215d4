#!/usr/bin/env bash
# The deployment's kvssink cache: one build of kvssink per (pinned sources, distribution release,
# architecture), kept in the gateway's own S3 bucket, so that only the first instance compiles.
#
#   kvssink-cache.sh install    installs kvssink from the cache; exit 0 when it did, 1 when there is no
#                               usable build there (one line says why): the caller builds instead
#   kvssink-cache.sh publish    uploads the kvssink installed under the prefix; exit 0 published, 3 the
#                               object already exists (another instance published first), 1 failed
#
# Settings (environment): KVS_KVSSINK_CACHE (s3://bucket/key of this deployment's build, written by
# Ec2GatewayStack), KVS_PRODUCER_SDK_PIN, KVS_PRODUCER_C_PIN, KVS_PIC_PIN (what build-kvssink.sh
# builds), KVS_INSTALL_PREFIX (default /opt/kvs-gateway), AWS_REGION, KVS_INSTANCE_ID.
#
# Why it is safe (docs/security.md#the-kvssink-cache): only the gateway's instance roles may write the
# key, the bucket refuses every write without If-None-Match: * (the first build stays; nobody replaces
# it), the object carries the SHA-256 that S3 checked on upload, and an instance installs it only when
# that checksum, the pinned sources and its own release and architecture all match.
set -Eeuo pipefail

SOURCE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SOURCE_DIR
PREFIX="${KVS_INSTALL_PREFIX:-/opt/kvs-gateway}"
readonly PREFIX
readonly STATE=share/kvs-gateway
# What a build leaves under the prefix (build-kvssink.sh), and so what the cache holds.
readonly CONTENTS=(lib "$STATE/kvssink-sources" "$STATE/kvssink-runtime-packages")
WORK_DIR=""

# shellcheck source=userdata/aws-request.sh
source "$SOURCE_DIR/aws-request.sh"

log() { printf 'kvssink-cache: %s\n' "$*" >&2; }
clean_up() { if [[ -n "$WORK_DIR" ]]; then rm -rf "$WORK_DIR"; fi; }

sources() { printf 'producer-sdk=%s;producer-c=%s;pic=%s' "$KVS_PRODUCER_SDK_PIN" "$KVS_PRODUCER_C_PIN" "$KVS_PIC_PIN"; }
platform() { (. /etc/os-release && printf '%s-%s/%s' "$ID" "$VERSION_ID" "$(dpkg --print-architecture)"); }

# The value of a header in a file curl dumped (names are case-insensitive; the last response counts).
header() { grep -i "^$2:" "$1" | tail -n 1 | cut -d: -f2- | tr -d '\r' | sed 's/^ *//'; }

# s3_head_object s3://BUCKET/KEY HEADERS_FILE: the object's headers, with its checksum, into HEADERS_FILE.
# Returns 0, or aws_request's 1 (no answer) or 2 (an HTTP error, AWS_REQUEST_STATUS says which).
s3_head_object() {
  aws_request s3 "$(s3_object_url "$1")" --head --dump-header "$2" --output /dev/null \
    -H 'x-amz-checksum-mode: ENABLED' -H "x-amz-content-sha256: $S3_EMPTY_PAYLOAD" >/dev/null
}

# s3_put_new_object s3://BUCKET/KEY FILE [NAME=VALUE...]: creates the object from FILE only when the key
# is free (If-None-Match: *), with its SHA-256 checksum (S3 refuses a body that does not match it) and
# x-amz-meta-NAME metadata. Returns 0 when created, 3 when the key already holds an object (412), else
# aws_request's 1 or 2 with S3's error on stderr.
s3_put_new_object() {
  local object="$1" file="$2" hash checksum answer pair status=0 metadata=()
  shift 2
  hash="$(sha256sum "$file" | cut -d' ' -f1)"
  checksum="$(openssl dgst -sha256 -binary "$file" | base64 -w 0)"
  for pair in "$@"; do metadata+=(-H "x-amz-meta-${pair%%=*}: ${pair#*=}"); done
  answer="$WORK_DIR/put-answer"
  # The body goes in through --data-binary: curl 7.88 hashes it into the signature, as S3 does.
  aws_request s3 "$(s3_object_url "$object")" -X PUT --data-binary "@$file" -H 'Content-Type: application/gzip' \
    -H 'If-None-Match: *' -H "x-amz-checksum-sha256: $checksum" -H "x-amz-content-sha256: $hash" \
    "${metadata[@]}" >"$answer" || status=$?
  if ((status != 0)); then
    if [[ "$AWS_REQUEST_STATUS" == 412 ]]; then return 3; fi
    log "S3 PutObject $object failed: $(aws_error_code "$(cat "$answer")")"
  fi
  return "$status"
}

# Why the object cannot be used, or nothing: read from its headers before downloading it.
unusable_because() {
  local headers="$1" built_from built_on
  built_from="$(header "$headers" x-amz-meta-kvs-sources)"
  built_on="$(header "$headers" x-amz-meta-kvs-platform)"
  if [[ "$built_from" != "$(sources)" ]]; then
    printf 'it was built from %s, not from the pinned %s' "${built_from:-unknown sources}" "$(sources)"
  elif [[ "$built_on" != "$(platform)" ]]; then
    printf 'it was built on %s, this instance runs %s' "${built_on:-an unknown platform}" "$(platform)"
  elif [[ -z "$(header "$headers" x-amz-checksum-sha256)" ]]; then
    printf 'it has no SHA-256 checksum'
  fi
}

# Only the files a build leaves, and none outside the prefix.
expected_layout() {
  local archive="$1" member
  while IFS= read -r member; do
    if [[ "$member" == /* || "$member" == *..* || ! "$member" =~ ^(lib(/.*)?|$STATE(/.*)?)$ ]]; then
      log "the archive holds $member, which no kvssink build makes"
      return 1
    fi
  done < <(tar --list --gzip --file "$archive")
}

# Takes out what was installed from the cache, so that the build that follows starts clean.
remove_installed() {
  local item
  for item in "${CONTENTS[@]}"; do rm -rf "${PREFIX:?}/$item"; done
}

install_from_cache() {
  local object="$KVS_KVSSINK_CACHE" headers archive expected actual reason status=0
  WORK_DIR="$(mktemp -d)"
  trap clean_up EXIT
  headers="$WORK_DIR/headers"
  aws_use_default_credentials
  s3_head_object "$object" "$headers" || status=$?
  if ((status != 0)); then
    if [[ "$AWS_REQUEST_STATUS" == 404 || "$AWS_REQUEST_STATUS" == 403 ]]; then
      log "no kvssink build in $object yet (S3 answered $AWS_REQUEST_STATUS): building one"
    else
      log "could not look at $object (${AWS_REQUEST_STATUS:-no answer}): building kvssink instead"
    fi
    return 1
  fi
  reason="$(unusable_because "$headers")"
  if [[ -n "$reason" ]]; then
    log "not using $object: $reason; building kvssink instead"
    return 1
  fi
  archive="$WORK_DIR/kvssink.tar.gz"
  if ! s3_get_object "$object" "$archive" --dump-header "$headers" -H 'x-amz-checksum-mode: ENABLED'; then
    log "could not download $object: building kvssink instead"
    return 1
  fi
  expected="$(header "$headers" x-amz-checksum-sha256)"
  actual="$(openssl dgst -sha256 -binary "$archive" | base64 -w 0)"
  if [[ -z "$expected" || "$actual" != "$expected" ]]; then
    log "REFUSED $object: its SHA-256 is $actual but S3 recorded ${expected:-none} at upload: not installing it; building kvssink instead (delete the object to let an instance publish a good build)"
    return 1
  fi
  expected_layout "$archive" || return 1
  install -d -m 0755 "$PREFIX"
  tar --extract --gzip --file "$archive" --directory "$PREFIX" --no-same-owner
  if ! install_runtime_packages || ! GST_PLUGIN_PATH="$PREFIX/lib/gstreamer-1.0" gst-inspect-1.0 kvssink >/dev/null; then
    remove_installed
    log "the kvssink from $object does not load here: building kvssink instead"
    return 1
  fi
  log "installed kvssink from $object (SHA-256 $actual, built by $(header "$headers" x-amz-meta-kvs-built-by))"
}

install_runtime_packages() {
  local packages
  mapfile -t packages <"$PREFIX/$STATE/kvssink-runtime-packages"
  if ((${#packages[@]} > 0)); then
    bash "$SOURCE_DIR/apt-get-waiting.sh" install --no-install-recommends "${packages[@]}"
  fi
}

publish() {
  local object="$KVS_KVSSINK_CACHE" archive status=0
  if [[ ! -f "$PREFIX/lib/gstreamer-1.0/libgstkvssink.so" ]]; then
    log "no kvssink in $PREFIX/lib/gstreamer-1.0: nothing to publish"
    return 1
  fi
  WORK_DIR="$(mktemp -d)"
  trap clean_up EXIT
  archive="$WORK_DIR/kvssink.tar.gz"
  tar --create --gzip --file "$archive" --directory "$PREFIX" --sort=name --owner=0 --group=0 "${CONTENTS[@]}"
  aws_use_default_credentials
  s3_put_new_object "$object" "$archive" "kvs-sources=$(sources)" "kvs-platform=$(platform)" \
    "kvs-built-by=${KVS_INSTANCE_ID:-unknown}" || status=$?
  case "$status" in
    0) log "published kvssink to $object ($(stat -c %s "$archive") bytes) for the next instances" ;;
    3) log "$object was published by another instance meanwhile: it stays as it is (objects there are never replaced)" ;;
    *) log "could not publish kvssink to $object: the next instance builds it again" ;;
  esac
  return "$status"
}

main() {
  : "${KVS_KVSSINK_CACHE:?}" "${KVS_PRODUCER_SDK_PIN:?}" "${KVS_PRODUCER_C_PIN:?}" "${KVS_PIC_PIN:?}" "${AWS_REGION:?}"
  case "${1:-}" in
    install) install_from_cache ;;
    publish) publish ;;
    *)
      log "usage: kvssink-cache.sh install|publish"
      exit 2
      ;;
  esac
}

main "$@"
