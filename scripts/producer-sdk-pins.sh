#!/usr/bin/env bash
# Prints the config's "pins" for a Producer SDK release, as GitHub has it now: the SDK tag's commit, the
# producer-c tag the SDK's CMake clones and its commit, the PIC tag producer-c's CMake clones and its
# commit. It only reads (git ls-remote, a shallow fetch of two CMake files); nothing is built.
# Compare the commits with the release pages before you deploy them (docs/config.md#pinned-sources).
#
#   bash scripts/producer-sdk-pins.sh v3.6.0
set -euo pipefail

readonly AWSLABS=https://github.com/awslabs
WORK_DIR=""

log() { printf 'producer-sdk-pins: %s\n' "$*" >&2; }
clean_up() { if [[ -n "$WORK_DIR" ]]; then rm -rf "$WORK_DIR"; fi; }

# The commit a tag of a repository points at (an annotated tag's commit, not the tag object).
tag_commit() {
  local repository="$1" tag="$2" commit
  commit="$(git ls-remote "$repository" "refs/tags/$tag^{}" "refs/tags/$tag" | awk 'NR == 1 || /\^\{\}$/ { c = $1 } END { print c }')"
  if [[ -z "$commit" ]]; then
    log "$repository has no tag $tag"
    exit 1
  fi
  printf '%s' "$commit"
}

# The tag a repository's ExternalProject file clones its dependency at.
named_tag() {
  local repository="$1" commit="$2" file="$3" folder
  folder="$WORK_DIR/$(basename "$repository")"
  git init --quiet "$folder"
  git -C "$folder" fetch --quiet --depth 1 "$repository" "$commit"
  git -C "$folder" show "FETCH_HEAD:$file" | awk '$1 == "GIT_TAG" { print $2 }'
}

main() {
  local sdk_tag="${1:-}" sdk_commit producer_c_tag producer_c_commit pic_tag pic_commit
  if [[ ! "$sdk_tag" =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
    log "usage: producer-sdk-pins.sh <Producer SDK release tag, e.g. v3.5.0>"
    exit 2
  fi
  WORK_DIR="$(mktemp -d)"
  trap clean_up EXIT
  sdk_commit="$(tag_commit "$AWSLABS/amazon-kinesis-video-streams-producer-sdk-cpp.git" "$sdk_tag")"
  producer_c_tag="$(named_tag "$AWSLABS/amazon-kinesis-video-streams-producer-sdk-cpp.git" "$sdk_commit" \
    CMake/Dependencies/libkvscproducer-CMakeLists.txt)"
  producer_c_commit="$(tag_commit "$AWSLABS/amazon-kinesis-video-streams-producer-c.git" "$producer_c_tag")"
  pic_tag="$(named_tag "$AWSLABS/amazon-kinesis-video-streams-producer-c.git" "$producer_c_commit" \
    CMake/Dependencies/libkvspic-CMakeLists.txt)"
  pic_commit="$(tag_commit "$AWSLABS/amazon-kinesis-video-streams-pic.git" "$pic_tag")"
  printf '"pins": {\n'
  printf '  "producerSdk": { "tag": "%s", "commit": "%s" },\n' "$sdk_tag" "$sdk_commit"
  printf '  "producerC": { "tag": "%s", "commit": "%s" },\n' "$producer_c_tag" "$producer_c_commit"
  printf '  "pic": { "tag": "%s", "commit": "%s" }\n' "$pic_tag" "$pic_commit"
  printf '}\n'
}

main "$@"
