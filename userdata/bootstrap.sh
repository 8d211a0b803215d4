#!/usr/bin/env bash
# The gateway instance's user-data. The stack (lib/ec2-stack.ts) puts the deployment's settings
# above this text as shell assignments; the camera list is never among them, so adding a camera
# does not touch the user-data or the instance.
#
# It installs the AWS CLI (verified against the AWS CLI Team's signing key), downloads the gateway
# files (the userdata/ folder, an S3 asset), runs install-gateway.sh and signals CloudFormation:
# SUCCESS at the end, FAILURE from the error trap with the failing step in the signal's UniqueId,
# which the stack events show ("Received FAILURE signal with UniqueId i-0123…-build-kvssink…").
# Everything is logged to /var/log/cloud-init-output.log, the console and the journal
# (identifier kvs-gateway-install, shipped to CloudWatch Logs once the shipper runs).
set -Eeuo pipefail

: "${AWS_REGION:?}" "${KVS_STACK_NAME:?}" "${KVS_SIGNAL_RESOURCE:?}" "${KVS_GATEWAY_FILES_URL:?}"
: "${KVS_PRODUCER_SDK_TAG:?}" "${KVS_CAMERA_LIST_PARAMETER:?}" "${KVS_LOG_GROUP:?}"
export AWS_REGION KVS_PRODUCER_SDK_TAG KVS_CAMERA_LIST_PARAMETER KVS_LOG_GROUP

readonly FILES_DIR=/opt/kvs-gateway/install
readonly AWS_CLI_FINGERPRINT=FB5DB77FD5C118B80511ADA8A6310ACC4672475C
export KVS_INSTALL_STEP_FILE=/run/kvs-gateway-install.step

exec > >(tee >(systemd-cat --identifier=kvs-gateway-install)) 2>&1

log() { printf 'kvs-gateway bootstrap: %s\n' "$*" >&2; }

step() {
  log "step: $1"
  printf '%s\n' "$1" >"$KVS_INSTALL_STEP_FILE"
}

instance_id() {
  local token
  token="$(curl -fsS -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' http://169.254.169.254/latest/api/token)"
  curl -fsS -H "X-aws-ec2-metadata-token: $token" http://169.254.169.254/latest/meta-data/instance-id
}

signal_cloudformation() {
  local status="$1" unique_id="$2"
  aws cloudformation signal-resource --region "$AWS_REGION" --stack-name "$KVS_STACK_NAME" \
    --logical-resource-id "$KVS_SIGNAL_RESOURCE" --unique-id "$unique_id" --status "$status"
}

on_error() {
  local status=$? failed_step reason id
  trap - ERR
  failed_step="$(cat "$KVS_INSTALL_STEP_FILE" 2>/dev/null || printf 'start')"
  log "FAILED at step \"$failed_step\" (exit $status); details above and in /var/log/cloud-init-output.log"
  if command -v aws >/dev/null && id="$(instance_id)"; then
    # A UniqueId has at most 64 characters; the step, shortened, fits after the instance id.
    reason="$(tr -cs 'A-Za-z0-9.' '-' <<<"$failed_step")"
    signal_cloudformation FAILURE "${id}-${reason:0:$((63 - ${#id}))}" ||
      signal_cloudformation FAILURE "$id" || log "could not send the FAILURE signal"
  fi
  exit "$status"
}
trap on_error ERR

# The AWS CLI v2 from AWS's signed installer: the snap cannot run under the units' NoNewPrivileges
# (snap-confine needs elevated privileges), and Ubuntu 24.04 packages no AWS CLI v2.
install_aws_cli() {
  local work architecture
  work="$(mktemp -d)"
  architecture="$(uname -m)"
  apt-get -q -y -o DPkg::Lock::Timeout=600 update
  DEBIAN_FRONTEND=noninteractive apt-get -q -y -o DPkg::Lock::Timeout=600 install --no-install-recommends \
    unzip gnupg curl ca-certificates
  curl -fsSL -o "$work/awscliv2.zip" "https://awscli.amazonaws.com/awscli-exe-linux-$architecture.zip"
  curl -fsSL -o "$work/awscliv2.zip.sig" "https://awscli.amazonaws.com/awscli-exe-linux-$architecture.zip.sig"
  aws_cli_team_key | gpg --batch --homedir "$work" --import 2>/dev/null
  if ! gpg --batch --homedir "$work" --status-fd 1 --verify "$work/awscliv2.zip.sig" "$work/awscliv2.zip" 2>/dev/null |
    grep -q "^\[GNUPG:\] VALIDSIG $AWS_CLI_FINGERPRINT "; then
    log "the AWS CLI installer's signature does not verify against key $AWS_CLI_FINGERPRINT"
    return 1
  fi
  unzip -q "$work/awscliv2.zip" -d "$work"
  "$work/aws/install" --update
  rm -rf "$work"
  aws --version
}

download_gateway_files() {
  local archive
  archive="$(mktemp --suffix=.zip)"
  aws s3 cp --only-show-errors --region "$AWS_REGION" "$KVS_GATEWAY_FILES_URL" "$archive"
  rm -rf "$FILES_DIR"
  install -d -m 0755 "$FILES_DIR"
  unzip -q "$archive" -d "$FILES_DIR"
  rm -f "$archive"
}

main() {
  step "install the AWS CLI"
  install_aws_cli
  step "download the gateway files"
  download_gateway_files
  step "run install-gateway.sh"
  bash "$FILES_DIR/install-gateway.sh"
  step "signal success"
  signal_cloudformation SUCCESS "$(instance_id)"
  log "done"
}

# The AWS CLI Team's public key, from the AWS CLI user guide ("Verifying the integrity of your
# downloaded zip file"), fingerprint FB5D B77F D5C1 18B8 0511 ADA8 A631 0ACC 4672 475C.
aws_cli_team_key() {
  cat <<'KEY'
-----BEGIN PGP PUBLIC KEY BLOCK-----

mQINBF2Cr7UBEADJZHcgusOJl7ENSyumXh85z0TRV0xJorM2B/JL0kHOyigQluUG
ZMLhENaG0bYatdrKP+3H91lvK050pXwnO/R7fB/FSTouki4ciIx5OuLlnJZIxSzx
PqGl0mkxImLNbGWoi6Lto0LYxqHN2iQtzlwTVmq9733zd3XfcXrZ3+LblHAgEt5G
TfNxEKJ8soPLyWmwDH6HWCnjZ/aIQRBTIQ05uVeEoYxSh6wOai7ss/KveoSNBbYz
gbdzoqI2Y8cgH2nbfgp3DSasaLZEdCSsIsK1u05CinE7k2qZ7KgKAUIcT/cR/grk
C6VwsnDU0OUCideXcQ8WeHutqvgZH1JgKDbznoIzeQHJD238GEu+eKhRHcz8/jeG
94zkcgJOz3KbZGYMiTh277Fvj9zzvZsbMBCedV1BTg3TqgvdX4bdkhf5cH+7NtWO
lrFj6UwAsGukBTAOxC0l/dnSmZhJ7Z1KmEWilro/gOrjtOxqRQutlIqG22TaqoPG
fYVN+en3Zwbt97kcgZDwqbuykNt64oZWc4XKCa3mprEGC3IbJTBFqglXmZ7l9ywG
EEUJYOlb2XrSuPWml39beWdKM8kzr1OjnlOm6+lpTRCBfo0wa9F8YZRhHPAkwKkX
XDeOGpWRj4ohOx0d2GWkyV5xyN14p2tQOCdOODmz80yUTgRpPVQUtOEhXQARAQAB
tCFBV1MgQ0xJIFRlYW0gPGF3cy1jbGlAYW1hem9uLmNvbT6JAlQEEwEIAD4CGwMF
CwkIBwIGFQoJCAsCBBYCAwECHgECF4AWIQT7Xbd/1cEYuAURraimMQrMRnJHXAUC
akV0ygUJDqP4lQAKCRCmMQrMRnJHXFHjD/9eyZLYcKuQOlLvtqSDtUBiEZf6ZZjM
i3ygYH8rJNtuToUH+HvSpe819urJCquXhDrlK6N+aqW0hCLtNABJG/vsafIgvIYJ
hSGgpgtNnQyMV1jViRWqPjbouw8OkYKBThUfT1i2Y+wn58ifs6ODBCmTexWtXspA
Si+Gt49xDOW0APmbOPnI+a4HJW6tVEo6MWS0WjzpiBayR3d1A4pt4YrPfSdDgpLo
h2SLQqlRqvvVZJaWBjhkErNFpfsBA06sDcPEOb0G8LBUbR4WOcdvhe5LubJbZuxC
AG9kNPCVeQP1ixwjgjXKysaxeQ6rv0VzIQgRp6tLVLWhy6AKDNvLjFSsmXZ1Wl08
Y/RlOHXlzLuQMRE6sR1wOdRxc9TsrNWTGiBK65cvSWOy03JeBkQQ8pesqltiyxI9
U21kkgiXtTSKNGfKK8pO27D81YANhRqPK7iTp6kuFiY2WtOg90KTMNlIT+Ff85Y2
b1rHj6Z0SrCkJujhWk3IBPic/wJgz01LEc/OAdUPlby90RJZcIBhSlWhT7mXnXIO
c0HWlNQrns2s3CTyYwZSiSlYe9ApeLwhjDo8NhbFuCAy61l6O5UsR4AfZxx/rGKv
2wFb1/RN/P4gNe6vmxZAPjR0AQcwD3tc2McimOLr/22kmPz8IH3I0X7WoSFr0Biz
E91G7bb0hOb/cA==
=knv7
-----END PGP PUBLIC KEY BLOCK-----
KEY
}

main "$@"
