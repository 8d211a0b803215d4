#!/usr/bin/env bash
# docker, for the image build's buildspec run here (support/codebuild-buildspec.ts): the docker commands
# the CodeBuild project runs, done by buildah, which needs no daemon.
#
#   docker login --username U --password-stdin REGISTRY   reads the password (it must not be empty)
#   docker buildx ls                                       lists the one "builder"
#   docker buildx build [--build-arg K=V]... --file F --platform P --output type=docker,name=N [--provenance=false] CONTEXT
#                                                          buildah bud, tagged N
#   docker images                                          buildah images
#   docker tag SOURCE TARGET                               buildah tag
#   docker push REFERENCE                                  checks the image is there (no registry here)
#
# Settings: BUILDAH_ROOT, BUILDAH_RUNROOT (the test's own storage, vfs); DOCKER_SHIM_BUILD_ARGS (test-only
# build arguments added to every build, one K=V a line); DOCKER_SHIM_LOG (each command is appended here).
set -euo pipefail

BUILDAH=(buildah --root "$BUILDAH_ROOT" --runroot "$BUILDAH_RUNROOT" --storage-driver vfs)

log() { printf 'docker (buildah): %s\n' "$*" >&2; }
record() { printf '%s\n' "$*" >>"${DOCKER_SHIM_LOG:-/dev/null}"; }

login() {
  local password registry="${*: -1}"
  password="$(cat)"
  if [[ -z "$password" || " $* " != *" --password-stdin "* ]]; then
    log "login to $registry: no password on stdin"
    exit 1
  fi
  record "login $registry"
  echo "Login Succeeded"
}

build() {
  local args=(bud --isolation chroot --format docker --layers=false --pull-never) output="" platform="" extra
  while [[ $# -gt 1 ]]; do
    case "$1" in
      --build-arg | --file) args+=("$1" "$2"); shift 2 ;;
      --platform) platform="$2"; args+=("$1" "$2"); shift 2 ;;
      --output) output="$2"; shift 2 ;;
      --provenance=false) shift ;;
      *) log "buildx build: $1 is not an option this stand-in knows"; exit 2 ;;
    esac
  done
  if [[ ! "$output" =~ ^type=docker,name=([^,]+)$ ]]; then
    log "buildx build: --output \"$output\" is not type=docker,name=NAME"
    exit 2
  fi
  while IFS= read -r extra; do
    if [[ -n "$extra" ]]; then args+=(--build-arg "$extra"); fi
  done <<<"${DOCKER_SHIM_BUILD_ARGS:-}"
  record "build ${BASH_REMATCH[1]} $platform"
  "${BUILDAH[@]}" "${args[@]}" --tag "${BASH_REMATCH[1]}" "$1"
}

case "${1:-} ${2:-}" in
  "login "*) shift; login "$@" ;;
  "buildx ls") echo "NAME/NODE DRIVER/ENDPOINT STATUS  PLATFORMS"; echo "buildah   chroot          running" ;;
  "buildx build") shift 2; build "$@" ;;
  "images "*) "${BUILDAH[@]}" images ;;
  "tag "*) record "tag $2 $3"; "${BUILDAH[@]}" tag "$2" "$3" ;;
  "push "*) record "push $2"; "${BUILDAH[@]}" inspect --type image "$2" >/dev/null && echo "pushed $2 (no registry here)" ;;
  *)
    log "docker $*: not a command the buildspec runs"
    exit 2
    ;;
esac
