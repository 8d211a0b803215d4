#!/usr/bin/env bash
# A stand-in for the AWS CLI at the process boundary, for `aws ssm get-parameter` only: what
# run-camera.sh calls on EC2. It answers from files and fails the way the real CLI does.
#   STAND_IN_SSM_DIR/<parameter name>   the parameter's value (missing file: ParameterNotFound, exit 254)
#   STAND_IN_SSM_FAILURES               a file holding how many calls still fail with a network error (255)
#   STAND_IN_SSM_CALLS                  a file that gets one line per call with its arguments
set -euo pipefail

name=""
decrypt=false
arguments=("$@")
if [[ "${1:-} ${2:-}" != "ssm get-parameter" ]]; then
  echo "aws-cli-stand-in: only 'ssm get-parameter' is supported, got: $*" >&2
  exit 252
fi
shift 2
while [[ $# -gt 0 ]]; do
  case "$1" in
    --name) name="$2" && shift ;;
    --with-decryption) decrypt=true ;;
    --region | --query | --output) shift ;;
  esac
  shift
done
if [[ -n "${STAND_IN_SSM_CALLS:-}" ]]; then
  printf '%s\n' "${arguments[*]}" >>"$STAND_IN_SSM_CALLS"
fi
if [[ -n "${STAND_IN_SSM_FAILURES:-}" && -f "$STAND_IN_SSM_FAILURES" ]]; then
  left="$(cat "$STAND_IN_SSM_FAILURES")"
  if ((left > 0)); then
    printf '%s\n' "$((left - 1))" >"$STAND_IN_SSM_FAILURES"
    printf '\nCould not connect to the endpoint URL: "https://ssm.eu-west-1.amazonaws.com/"\n' >&2
    exit 255
  fi
fi
file="${STAND_IN_SSM_DIR:?}/${name#/}"
if [[ ! -f "$file" ]]; then
  printf '\nAn error occurred (ParameterNotFound) when calling the GetParameter operation: \n' >&2
  exit 254
fi
if [[ "$decrypt" != true ]]; then
  # As the real CLI: a SecureString read without --with-decryption returns its ciphertext.
  echo "AQICAHhStandInCiphertextNotAUrl=="
  exit 0
fi
cat "$file"
