#!/usr/bin/env bash
# aws-request.sh: the gateway instance's few AWS requests, signed by curl (--aws-sigv4). A library:
# bootstrap.sh (the user-data, which carries this file's text above its own), install-gateway.sh,
# reconcile-cameras.sh and run-camera.sh source it.
#
# Why curl and not the AWS CLI: the CLI costs ~0.5 s of CPU per call to start (the reconciler ran it
# several times every 30 s: ~7 % of a core on a burstable instance), it must be downloaded and
# verified before the first request (so a failure before then could not be signalled), and the
# gateway makes only a few kinds of request: S3 GetObject, CloudFormation SignalResource, SSM
# GetParameter and GetParameters here, S3 HeadObject and PutObject in kvssink-cache.sh (not in the
# user-data, which holds this file and must stay under 16 KB). Ubuntu's curl (8.5 on 24.04) signs SigV4.
#
# Credentials: aws_use_instance_role (IMDSv2, for root at boot), aws_use_credential_file (kvssink's
# file, which kvs-credentials.service keeps fresh) or aws_use_default_credentials. They stay in this shell's variables and reach curl
# through its config on stdin (curl -K -), never on a command line that ps shows.
# Endpoints, as the AWS SDKs and CLI read them: AWS_ENDPOINT_URL_<SERVICE> (AWS_ENDPOINT_URL_SSM,
# AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL_CLOUDFORMATION), then AWS_ENDPOINT_URL, else the region's
# public endpoint. S3 is addressed virtual-hosted on AWS and path-style on an endpoint override.
# Needs AWS_REGION. KVS_IMDS_ENDPOINT replaces http://169.254.169.254 (as for the credential refresher).

AWS_REQUEST_KEY_ID=""
AWS_REQUEST_SECRET=""
AWS_REQUEST_TOKEN=""
# The HTTP status of the last aws_request in this shell (not in a $(...)), "" when none came.
AWS_REQUEST_STATUS=""

# GET a path of the instance metadata service with an IMDSv2 session token; prints the answer.
aws_imds_get() {
  local endpoint="${KVS_IMDS_ENDPOINT:-http://169.254.169.254}" token
  token="$(curl -fsS --max-time 5 --retry 3 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' \
    "$endpoint/latest/api/token")" || return 1
  # The token goes through stdin too: it grants the instance role's credentials for a minute.
  printf 'X-aws-ec2-metadata-token: %s\n' "$token" |
    curl -fsS --max-time 5 --retry 3 -H @- "$endpoint/latest/meta-data/$1"
}

# The value of a top-level string field of a flat JSON object whose strings hold no quotes or escapes
# (IMDS's credential document); no jq needed at boot.
json_string_field() {
  local pattern="\"$2\"[[:space:]]*:[[:space:]]*\"([^\"\\\\]*)\""
  [[ "$1" =~ $pattern ]] && printf '%s' "${BASH_REMATCH[1]}"
}

# Loads the instance role's credentials from IMDSv2.
aws_use_instance_role() {
  local role document
  role="$(aws_imds_get iam/security-credentials/)" || {
    printf 'aws-request: IMDS lists no instance role\n' >&2
    return 1
  }
  document="$(aws_imds_get "iam/security-credentials/${role%%$'\n'*}")" || return 1
  if ! { AWS_REQUEST_KEY_ID="$(json_string_field "$document" AccessKeyId)" &&
    AWS_REQUEST_SECRET="$(json_string_field "$document" SecretAccessKey)" &&
    AWS_REQUEST_TOKEN="$(json_string_field "$document" Token)"; }; then
    printf 'aws-request: the instance role credentials from IMDS are incomplete\n' >&2
    return 1
  fi
}

# Loads credentials from kvssink's file: "CREDENTIALS <key id> <expiration> <secret> <token>".
aws_use_credential_file() {
  local file="$1" word _expiration
  if ! read -r word AWS_REQUEST_KEY_ID _expiration AWS_REQUEST_SECRET AWS_REQUEST_TOKEN <"$file" 2>/dev/null ||
    [[ "$word" != CREDENTIALS || -z "$AWS_REQUEST_SECRET" ]]; then
    printf 'aws-request: no credentials in %s (written by kvs-credentials.service)\n' "$file" >&2
    return 1
  fi
}

# Loads credentials as the AWS SDKs look for them, minus profiles: AWS_ACCESS_KEY_ID and
# AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) from the environment, else kvssink's credential file
# KVS_CREDENTIAL_PATH when set (the gateway's units), else the instance role.
aws_use_default_credentials() {
  if [[ -n "${AWS_ACCESS_KEY_ID:-}" && -n "${AWS_SECRET_ACCESS_KEY:-}" ]]; then
    AWS_REQUEST_KEY_ID="$AWS_ACCESS_KEY_ID"
    AWS_REQUEST_SECRET="$AWS_SECRET_ACCESS_KEY"
    AWS_REQUEST_TOKEN="${AWS_SESSION_TOKEN:-}"
  elif [[ -n "${KVS_CREDENTIAL_PATH:-}" ]]; then
    aws_use_credential_file "$KVS_CREDENTIAL_PATH"
  else
    aws_use_instance_role
  fi
}

# Prints the endpoint URL of a service: ssm, s3 or cloudformation.
aws_endpoint() {
  local service="$1" override domain=amazonaws.com
  override="AWS_ENDPOINT_URL_${service^^}"
  if [[ -n "${!override:-}" ]]; then
    printf '%s' "${!override%/}"
  elif [[ -n "${AWS_ENDPOINT_URL:-}" ]]; then
    printf '%s' "${AWS_ENDPOINT_URL%/}"
  else
    if [[ "$AWS_REGION" == cn-* ]]; then domain=amazonaws.com.cn; fi
    printf 'https://%s.%s.%s' "$service" "$AWS_REGION" "$domain"
  fi
}

# curl's config (read from stdin): the signing key pair and the session token header.
aws_curl_config() {
  if [[ -z "$AWS_REQUEST_KEY_ID" || "$AWS_REQUEST_SECRET$AWS_REQUEST_TOKEN" == *[\"\\[:space:]]* ]]; then
    printf 'aws-request: no usable credentials loaded\n' >&2
    return 1
  fi
  printf 'user = "%s:%s"\n' "$AWS_REQUEST_KEY_ID" "$AWS_REQUEST_SECRET"
  if [[ -n "$AWS_REQUEST_TOKEN" ]]; then
    printf 'header = "x-amz-security-token: %s"\n' "$AWS_REQUEST_TOKEN"
  fi
}

# aws_request SERVICE URL [curl options...]: one signed request. Prints the response body. Returns 0
# on HTTP 2xx, 2 on another HTTP status (the body, AWS's error document, is printed), 1 when no
# answer came (curl's reason on stderr).
aws_request() {
  local service="$1" url="$2" output
  shift 2
  AWS_REQUEST_STATUS=""
  output="$(aws_curl_config | curl --silent --show-error --connect-timeout 5 --max-time 30 -K - \
    --aws-sigv4 "aws:amz:$AWS_REGION:$service" --write-out '\n%{http_code}' "$@" "$url")" || return 1
  AWS_REQUEST_STATUS="${output##*$'\n'}"
  printf '%s' "${output%$'\n'*}"
  [[ "$AWS_REQUEST_STATUS" == 2?? ]] || return 2
}

# The error code in an AWS error document (JSON "__type" or XML <Code>), or the document's start.
aws_error_code() {
  local document="$1" json_type='"__type"[[:space:]]*:[[:space:]]*"([^"#]*#)?([^"]+)"' xml_code='<Code>([^<]+)</Code>'
  if [[ -z "$document" ]]; then
    printf 'no answer'
  elif [[ "$document" =~ $json_type ]]; then
    printf '%s' "${BASH_REMATCH[2]}"
  elif [[ "$document" =~ $xml_code ]]; then
    printf '%s' "${BASH_REMATCH[1]}"
  else
    printf '%s' "${document:0:120}"
  fi
}

# ssm_request OPERATION JSON: an SSM (JSON 1.1) call; prints the answer.
ssm_request() {
  aws_request ssm "$(aws_endpoint ssm)/" -H 'Content-Type: application/x-amz-json-1.1' \
    -H "X-Amz-Target: AmazonSSM.$1" --data-binary "$2"
}

# The URL of s3://BUCKET/KEY: virtual-hosted on AWS, path-style on an endpoint override.
s3_object_url() {
  local location="${1#s3://}" bucket key
  bucket="${location%%/*}"
  key="${location#*/}"
  if [[ -n "${AWS_ENDPOINT_URL_S3:-}${AWS_ENDPOINT_URL:-}" ]]; then
    printf '%s/%s/%s' "$(aws_endpoint s3)" "$bucket" "$key"
  else
    printf 'https://%s.%s/%s' "$bucket" "$(aws_endpoint s3 | sed 's|^https://||')" "$key"
  fi
}

# S3 requires the payload hash header; this one is the hash of the empty body of a GET or HEAD.
S3_EMPTY_PAYLOAD=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855

# s3_get_object s3://BUCKET/KEY FILE [CURL OPTIONS...]: downloads an object into FILE.
s3_get_object() {
  local object="$1" file="$2"
  shift 2
  if ! aws_request s3 "$(s3_object_url "$object")" --output "$file" "$@" \
    -H "x-amz-content-sha256: $S3_EMPTY_PAYLOAD" >/dev/null; then
    printf 'aws-request: S3 GetObject %s failed: %s\n' "$object" "$(aws_error_code "$(head -c 2000 "$file" 2>/dev/null)")" >&2
    return 1
  fi
}

# cloudformation_signal_resource STACK LOGICAL_ID UNIQUE_ID SUCCESS|FAILURE
cloudformation_signal_resource() {
  local answer
  answer="$(aws_request cloudformation "$(aws_endpoint cloudformation)/" \
    --data-urlencode Action=SignalResource --data-urlencode Version=2010-05-15 \
    --data-urlencode "StackName=$1" --data-urlencode "LogicalResourceId=$2" \
    --data-urlencode "UniqueId=$3" --data-urlencode "Status=$4")" || {
    printf 'aws-request: CloudFormation SignalResource %s failed: %s\n' "$4" "$(aws_error_code "$answer")" >&2
    return 1
  }
}
