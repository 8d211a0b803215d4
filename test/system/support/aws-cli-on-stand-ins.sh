#!/usr/bin/env bash
# aws, for the image build's buildspec run here (support/codebuild-buildspec.ts): the real AWS CLI
# (Debian's awscli), each command sent to its service's stand-in with --endpoint-url, since this CLI
# (2.9) does not read the AWS_ENDPOINT_URL_<SERVICE> variables yet (2.13 does). The variables name them:
# AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL_ECR, AWS_ENDPOINT_URL_ECR_PUBLIC.
set -euo pipefail

service="${1:-}"
variable="AWS_ENDPOINT_URL_$(tr 'a-z-' 'A-Z_' <<<"$service")"
if [[ -z "${!variable:-}" ]]; then
  printf 'aws (stand-ins): no %s for "aws %s"\n' "$variable" "$*" >&2
  exit 2
fi
exec /usr/bin/aws --endpoint-url "${!variable}" "$@"
