#!/usr/bin/env bash
# run-camera.sh: pulls one camera's RTSP stream and pushes it to its Kinesis Video stream, for months,
# unattended. The EC2 unit kvs-camera@.service and the Fargate container both run exactly this file.
#
# It probes the camera (RTSP DESCRIBE: codec, audio, auth), builds
#   rtspsrc (TCP; UDP for cameras that refuse TCP) ! depayloader ! parser ! caps kvssink accepts ! kvssink
# with no transcoding, and supervises it: restarts after any error with a growing delay (reset after a
# healthy run), restarts a pipeline through which no video frame has passed for STALL_TIMEOUT_SECONDS
# (a half-open TCP connection never errors by itself), backs off much longer after an authentication
# failure (cameras lock accounts that hammer them) or when the KVS stream does not exist, and exits only
# on permanent errors. What each failure does: docs/run-script.md.
#
# The pipeline is run by a small Python/GObject program, camera-pipeline.py next to this file, rather than
# gst-launch-1.0: the camera password reaches rtspsrc as a property, never through argv (which every user
# of the box can read with ps); errors are classified from GStreamer's error codes, not from text; and
# the health file is written from probes where each track enters the sink and from what KVS answers, so
# it stays fresh only while video (and audio, when sent) flows and KVS accepts it. kvssink's own log is
# filtered there (no request headers; floods summed up once a minute).
# Needs Debian/Ubuntu packages python3-gi and gir1.2-gstreamer-1.0 next to GStreamer.
#
# Inputs (environment):
#   STREAM_NAME           KVS stream to write (required; letters, digits, "_", "." or "-")
#   CAMERA_NAME           name in log lines and the default health file (default: STREAM_NAME)
#   RTSP_URL              camera URL, rtsp://user:password@host[:port]/path, user and password
#                         percent-encoded (encodeURIComponent); ECS injects it from SSM
#   RTSP_URL_PARAMETER    or: the SSM SecureString parameter holding that URL (EC2), read at start (SSM
#                         GetParameter with decryption, signed by curl: aws-request.sh next to this
#                         script) and again after an auth failure; credentials from AWS_ACCESS_KEY_ID/
#                         AWS_SECRET_ACCESS_KEY, else KVS_CREDENTIAL_PATH, else the instance role;
#                         AWS_ENDPOINT_URL_SSM replaces the SSM endpoint
#   AWS_REGION            region of the stream and the parameter (required with kvssink or a parameter)
#   KVS_CREDENTIAL_PATH   kvssink credential-path; when set, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
#                         AWS_SESSION_TOKEN are removed from the pipeline's environment (static keys
#                         would win over the file, and they expire)
#   CODEC                 auto (default) | h264 | h265: h264/h265 refuse a camera that sends the other
#   AUDIO                 false (default) | true: also send the camera's AAC or G.711 audio when it has any
#   GATEWAY_SINK          kvssink (default) | file:<dir> (an MKV file per run, for local runs and tests)
#                         | fake (discard); only what follows the parser differs between them
#   GST_PLUGIN_PATH       honoured as given (the EC2 install puts kvssink under /opt)
#   RECORDING_SCHEDULE_FILE  the camera's recording schedule (JSON the stack compiled from the config, or
#                         null), kept up to date by the reconciler (EC2) or the task's schedule sync (Fargate):
#                         outside its windows the camera is not contacted and nothing goes to KVS; the
#                         pipeline stops cleanly (EOS, the sink sends what it holds) when a window ends.
#                         Unset: records around the clock. The decision is recording_schedule.py's, next to
#                         this script; a schedule it cannot follow records around the clock and says why.
# Tuning (environment, defaults in brackets):
#   KVS_STORAGE_SIZE_MB [128]        kvssink in-memory buffer that rides out network gaps to KVS ...
#   KVS_BUFFER_SECONDS [120]         ... holding up to this much video (sizing: docs/run-script.md)
#   KVS_STOP_TIMEOUT_SECONDS [20]    how long a stopping kvssink may spend uploading what it buffered
#   KVS_LOG_LEVEL [WARN]             Producer SDK log level (log4cplus: ERROR, WARN, INFO; DEBUG logs
#                                    request headers, the session token among them: never in production)
#   CONNECT_TIMEOUT_SECONDS [10]     TCP connect/answer timeout for the probe and rtspsrc
#   RTSP_LATENCY_MS [500]            rtspsrc jitter buffer (TCP delivers in order; small keeps RSS low)
#   STALL_TIMEOUT_SECONDS [10]       no video frame for this long (or before the first) -> restart
#   BACKOFF_INITIAL_SECONDS [1]      first delay after a failure; doubles per consecutive failure ...
#   BACKOFF_MAX_SECONDS [4]          ... up to this: a refused connection costs the camera nothing, and
#                                    a short cap is what brings video back within seconds of its return
#   AUTH_BACKOFF_INITIAL_SECONDS [120]  delay after an authentication failure; doubles up to ...
#   AUTH_BACKOFF_MAX_SECONDS [3600]     ... this (5 failures take 30 min: below common lockout policies)
#   HEALTHY_RUN_SECONDS [30]         video flowing this long resets the backoff
#   STREAM_MISSING_BACKOFF_SECONDS [60]  wait when the KVS stream does not exist; doubles up to ...
#   STREAM_MISSING_BACKOFF_MAX_SECONDS [3600]
#   CREDENTIAL_WAIT_SECONDS [15]     wait when kvssink's credential file is missing or expired
#   SCHEDULE_CHECK_SECONDS [10]      off schedule, how often the schedule file is looked at for a change
#   SCHEDULE_WAIT_SECONDS [15]       at start, how long to wait for a missing schedule file before recording
#   HEALTH_FILE [${TMPDIR:-/tmp}/kvs-gateway/<camera>.health]   fresh only while KVS accepts video
#   HEALTH_MAX_AGE_SECONDS [30]      --check-health fails when the health file is older than this
#   STATE_FILE [$STATE_DIRECTORY/<camera>.state, else $HEALTH_FILE.state]  what worked (RTSP transport)
#   GATEWAY_PYTHON [/usr/bin/python3]  the Python that has python3-gi (the distribution's)
#   PIPELINE_PROGRAM [camera-pipeline.py next to this script]  the pipeline program it runs
#   STATUS_FILE [$HEALTH_FILE.status]  the last "status <state> since <time>: <reason>" line said (camera_status.py,
#                                      next to the pipeline program): what `kvs-gateway status` reads in the logs
#
# Health: `run-camera.sh --check-health` (same environment) exits 0 while video flows and KVS accepts it,
# 1 (saying why) when not for HEALTH_MAX_AGE_SECONDS. Exceptions, which report healthy and say so: off
# schedule ("healthy (no video): off schedule until 07:00 (Europe/Berlin)"), and while the script deliberately
# waits out an authentication backoff, because replacing the container would retry the password at
# once and lock the camera account; the no-frames alarm still fires. Fargate health check:
#   ["CMD", "/opt/kvs-gateway/bin/run-camera.sh", "--check-health"]  (interval 30, retries 3, startPeriod 60)
#
# Exit codes (the script restarts the pipeline itself; a non-zero exit means a person must act):
#   0  stopped by SIGTERM/SIGINT (the pipeline gets EOS first so the sink flushes)
#   2  bad configuration: a missing or invalid variable, a malformed camera URL
#   3  the SSM parameter RTSP_URL_PARAMETER does not exist (run `npx kvs-gateway cameras add <camera>`)
#   4  the camera sends no stream we can pass through (not H.264/H.265, or not the CODEC asked for)
#   5  missing software: python3-gi, a GStreamer element (kvssink: check GST_PLUGIN_PATH), curl
set -euo pipefail

readonly EXIT_CONFIG=2 EXIT_PARAMETER_MISSING=3 EXIT_UNSUPPORTED_CAMERA=4 EXIT_MISSING_SOFTWARE=5
# How run_pipeline_once ends (camera-pipeline.py's codes); 20 (error), 22 (stall), 23 (stream path not
# found) and anything else restart with the ordinary backoff.
readonly RUN_AUTH=21 RUN_UNSUPPORTED=24 RUN_MISSING_ELEMENT=25 RUN_BAD_URL=26
readonly RUN_STREAM_MISSING=27 RUN_RESTART_NOW=28 RUN_CREDENTIALS=29 RUN_OFF_SCHEDULE=30

CAMERA_NAME="${CAMERA_NAME:-${STREAM_NAME:-}}"
log() { printf 'run-camera[%s]: %s\n' "${CAMERA_NAME:-?}" "$*" >&2; }
fail() {
  local code="$1" state=config-error
  shift
  log "error: $*"
  case "$code" in
    "$EXIT_PARAMETER_MISSING") state=no-camera-url ;;
    "$EXIT_UNSUPPORTED_CAMERA") state=unsupported-camera ;;
    "$EXIT_MISSING_SOFTWARE") state=missing-software ;;
  esac
  report_status "$state" "$*"
  exit "$code"
}

# The camera's status line for `kvs-gateway status`, when one is due (camera_status.py says when and keeps
# what was said in STATUS_FILE, shared with the pipeline runs). "--repeat" says the last one again during a
# long wait. Nothing before the defaults are known, nor without a Python.
report_status() {
  local said
  if [[ -n "${STATUS_FILE:-}" && -n "${STATUS_PROGRAM:-}" ]] &&
    said="$("${GATEWAY_PYTHON:-/usr/bin/python3}" "$STATUS_PROGRAM" "$STATUS_FILE" "$@" 2>/dev/null)" &&
    [[ -n "$said" ]]; then
    log "$said"
  fi
}

# A whole number from the environment, or its default; anything else is a configuration error.
whole_number() {
  local name="$1" default="$2" value
  value="${!name:-$default}"
  if ! [[ "$value" =~ ^[0-9]+$ ]]; then
    fail "$EXIT_CONFIG" "$name=\"$value\": must be a whole number (default $default)"
  fi
  export "$name=$value"
}

apply_defaults() {
  whole_number KVS_STORAGE_SIZE_MB 128
  whole_number KVS_BUFFER_SECONDS 120
  whole_number KVS_STOP_TIMEOUT_SECONDS 20
  whole_number CONNECT_TIMEOUT_SECONDS 10
  whole_number RTSP_LATENCY_MS 500
  whole_number STALL_TIMEOUT_SECONDS 10
  whole_number BACKOFF_INITIAL_SECONDS 1
  whole_number BACKOFF_MAX_SECONDS 4
  whole_number AUTH_BACKOFF_INITIAL_SECONDS 120
  whole_number AUTH_BACKOFF_MAX_SECONDS 3600
  whole_number HEALTHY_RUN_SECONDS 30
  whole_number HEALTH_MAX_AGE_SECONDS 30
  whole_number STREAM_MISSING_BACKOFF_SECONDS 60
  whole_number STREAM_MISSING_BACKOFF_MAX_SECONDS 3600
  whole_number CREDENTIAL_WAIT_SECONDS 15
  whole_number SCHEDULE_CHECK_SECONDS 10
  whole_number SCHEDULE_WAIT_SECONDS 15
  export KVS_LOG_LEVEL="${KVS_LOG_LEVEL:-WARN}"
  export HEALTH_FILE="${HEALTH_FILE:-${TMPDIR:-/tmp}/kvs-gateway/${CAMERA_NAME}.health}"
  # systemd's StateDirectory= survives restarts of the unit; a container's /tmp volume those of the container.
  export STATE_FILE="${STATE_FILE:-${STATE_DIRECTORY:+${STATE_DIRECTORY%%:*}/${CAMERA_NAME}.state}}"
  STATE_FILE="${STATE_FILE:-$HEALTH_FILE.state}"
  export GATEWAY_PYTHON="${GATEWAY_PYTHON:-/usr/bin/python3}"
  PIPELINE_PROGRAM="${PIPELINE_PROGRAM:-$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/camera-pipeline.py}"
  STATUS_PROGRAM="$(dirname "$PIPELINE_PROGRAM")/camera_status.py"
  export STATUS_FILE="${STATUS_FILE:-$HEALTH_FILE.status}"
  SCHEDULE_PROGRAM="$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/recording_schedule.py"
  export CODEC="${CODEC:-auto}" AUDIO="${AUDIO:-false}" GATEWAY_SINK="${GATEWAY_SINK:-kvssink}"
  export CAMERA_NAME
}

validate_inputs() {
  if [[ -z "${STREAM_NAME:-}" ]]; then
    fail "$EXIT_CONFIG" "STREAM_NAME is not set: give the KVS stream this camera writes to"
  fi
  if ! [[ "$STREAM_NAME" =~ ^[a-zA-Z0-9_.-]{1,256}$ ]]; then
    fail "$EXIT_CONFIG" "STREAM_NAME=\"$STREAM_NAME\": use letters, digits, \"_\", \".\" or \"-\" (KVS stream names)"
  fi
  if ! [[ "$CAMERA_NAME" =~ ^[a-zA-Z0-9_.-]{1,256}$ ]]; then
    fail "$EXIT_CONFIG" "CAMERA_NAME=\"$CAMERA_NAME\": use letters, digits, \"_\", \".\" or \"-\""
  fi
  case "$CODEC" in auto | h264 | h265) ;; *) fail "$EXIT_CONFIG" "CODEC=\"$CODEC\": use auto, h264 or h265" ;; esac
  case "$AUDIO" in true | false) ;; *) fail "$EXIT_CONFIG" "AUDIO=\"$AUDIO\": use true or false" ;; esac
  case "$KVS_LOG_LEVEL" in
    FATAL | ERROR | WARN | INFO | DEBUG | TRACE) ;;
    *) fail "$EXIT_CONFIG" "KVS_LOG_LEVEL=\"$KVS_LOG_LEVEL\": use ERROR, WARN, INFO or DEBUG" ;;
  esac
  case "$GATEWAY_SINK" in
    kvssink)
      if [[ -z "${AWS_REGION:-}" ]]; then
        fail "$EXIT_CONFIG" "AWS_REGION is not set: kvssink needs the stream's region"
      fi
      ;;
    fake) ;;
    file:?*)
      if ! mkdir -p "${GATEWAY_SINK#file:}"; then
        fail "$EXIT_CONFIG" "GATEWAY_SINK=\"$GATEWAY_SINK\": cannot create the folder ${GATEWAY_SINK#file:}"
      fi
      ;;
    *) fail "$EXIT_CONFIG" "GATEWAY_SINK=\"$GATEWAY_SINK\": use kvssink, file:<folder> or fake" ;;
  esac
  if [[ -n "${RTSP_URL:-}" && -n "${RTSP_URL_PARAMETER:-}" ]]; then
    fail "$EXIT_CONFIG" "both RTSP_URL and RTSP_URL_PARAMETER are set: give one"
  fi
  if [[ -z "${RTSP_URL:-}" && -z "${RTSP_URL_PARAMETER:-}" ]]; then
    fail "$EXIT_CONFIG" "neither RTSP_URL nor RTSP_URL_PARAMETER is set: give the camera URL or its SSM parameter"
  fi
  if [[ -n "${RTSP_URL_PARAMETER:-}" && -z "${AWS_REGION:-}" ]]; then
    fail "$EXIT_CONFIG" "AWS_REGION is not set: it is needed to read $RTSP_URL_PARAMETER"
  fi
  if ! mkdir -p "$(dirname "$HEALTH_FILE")"; then
    fail "$EXIT_CONFIG" "HEALTH_FILE=\"$HEALTH_FILE\": cannot create its folder"
  fi
  if [[ ! -r "$PIPELINE_PROGRAM" ]]; then
    fail "$EXIT_MISSING_SOFTWARE" "the pipeline program $PIPELINE_PROGRAM is missing: install it next to run-camera.sh"
  fi
  if [[ -n "${RECORDING_SCHEDULE_FILE:-}" && ! -r "$SCHEDULE_PROGRAM" ]]; then
    fail "$EXIT_MISSING_SOFTWARE" "the schedule program $SCHEDULE_PROGRAM is missing: install it next to run-camera.sh"
  fi
  if ! "$GATEWAY_PYTHON" -c 'import gi; gi.require_version("Gst", "1.0")' 2>/dev/null; then
    fail "$EXIT_MISSING_SOFTWARE" "$GATEWAY_PYTHON cannot load GStreamer's GObject bindings: install python3-gi and gir1.2-gstreamer-1.0"
  fi
}

# Sleeps in the background so that SIGTERM ends the wait at once.
pause() {
  local sleeper
  sleep "$1" &
  sleeper=$!
  wait "$sleeper" || true
  kill "$sleeper" 2>/dev/null || true
}

# Waits like pause, and says the camera's status again when one is due: a long wait (an authentication backoff
# of up to an hour) must not look like a camera no gateway runs.
pause_reporting() {
  local left="$1" step
  while ((left > 0)) && [[ -z "$stopping" ]]; do
    step=$((left < 300 ? left : 300))
    pause "$step"
    left=$((left - step))
    report_status --repeat
  done
}

# Reads the camera URL from SSM into CAMERA_URL. Retries anything but a missing parameter: throttling,
# network errors, and AccessDenied while a fresh instance role propagates.
read_url_parameter() {
  local delay=2 answer reason request
  if ! command -v curl >/dev/null || ! declare -F ssm_request >/dev/null; then
    fail "$EXIT_MISSING_SOFTWARE" "reading $RTSP_URL_PARAMETER needs curl and aws-request.sh next to run-camera.sh"
  fi
  request="$(jq -cn --arg name "$RTSP_URL_PARAMETER" '{Name: $name, WithDecryption: true}')"
  while true; do
    # The credentials are loaded again at each try: the credential file is refreshed under us.
    if answer="$(aws_use_default_credentials && ssm_request GetParameter "$request")" &&
      CAMERA_URL="$(jq -er '.Parameter.Value' <<<"$answer")"; then
      return
    fi
    reason="$(aws_error_code "$answer")"
    if [[ "$reason" == ParameterNotFound ]]; then
      fail "$EXIT_PARAMETER_MISSING" "SSM parameter $RTSP_URL_PARAMETER does not exist in $AWS_REGION: store the camera URL with \`npx kvs-gateway cameras add $CAMERA_NAME\`, then restart this camera"
    fi
    log "cannot read SSM parameter $RTSP_URL_PARAMETER yet, retrying in ${delay}s: $reason"
    pause "$delay"
    if ((delay < 60)); then delay=$((delay * 2)); fi
    if [[ -n "$stopping" ]]; then exit 0; fi
  done
}

# Prints the delay (whole seconds) before attempt number $2 after consecutive failures: $1 doubled per
# failure up to $3, with jitter (50-100 %) so that cameras behind one NVR do not retry in lockstep.
backoff_delay() {
  local initial="$1" failures="$2" max="$3" delay
  delay="$initial"
  while ((failures > 1 && delay < max)); do
    delay=$((delay * 2))
    failures=$((failures - 1))
  done
  if ((delay > max)); then delay="$max"; fi
  if ((delay > 1)); then delay=$((delay / 2 + RANDOM % (delay / 2 + 1))); fi
  printf '%s\n' "$delay"
}

# Seconds of healthy video in the last run, from the health file it wrote.
video_seconds_since() {
  local started="$1" first last
  if [[ -f "$HEALTH_FILE" ]] && read -r first last _ <"$HEALTH_FILE" 2>/dev/null &&
    [[ "$first" =~ ^[0-9]+$ && "$last" =~ ^[0-9]+$ ]] && ((first >= started && last >= first)); then
    printf '%s\n' $((last - first))
  else
    printf '0\n'
  fi
}

# The health file holds "<epoch of the run's first frame> <epoch of the latest frame KVS was accepting>
# [why KVS is not accepting video]".
check_health() {
  local now first last reason="" age until off_schedule
  now="$(date +%s)"
  # "<until epoch> <what>" while off schedule (run-camera.sh writes it), then for HEALTH_MAX_AGE_SECONDS after
  # the window opened, while the first video comes.
  if [[ -f "$HEALTH_FILE.off-schedule" ]] && read -r until off_schedule <"$HEALTH_FILE.off-schedule" &&
    [[ "$until" =~ ^[0-9]+$ ]] && ((until > now)); then
    echo "healthy (no video): $off_schedule ($CAMERA_NAME)"
    return 0
  fi
  if [[ -f "$HEALTH_FILE" ]] && read -r first last reason <"$HEALTH_FILE" && [[ "$last" =~ ^[0-9]+$ ]]; then
    age=$((now - last))
    if ((age <= HEALTH_MAX_AGE_SECONDS)) && [[ -z "$reason" ]]; then
      echo "healthy: video flowed ${age}s ago ($CAMERA_NAME)"
      return 0
    fi
  fi
  if [[ "${until:-}" =~ ^[0-9]+$ ]] && ((until + HEALTH_MAX_AGE_SECONDS >= now)); then
    echo "healthy (no video): $off_schedule ($CAMERA_NAME)"
    return 0
  fi
  if [[ -f "$HEALTH_FILE.auth-backoff" ]] && read -r until <"$HEALTH_FILE.auth-backoff" &&
    [[ "$until" =~ ^[0-9]+$ ]] && ((until + HEALTH_MAX_AGE_SECONDS >= now)); then
    echo "healthy (no video): waiting out an authentication backoff until $(date -u -d "@$until" +%FT%TZ); a restart would retry the password and may lock the camera account ($CAMERA_NAME)"
    return 0
  fi
  if [[ -n "$reason" ]]; then
    echo "unhealthy: $reason ($CAMERA_NAME)"
    return 1
  fi
  if [[ -n "${age:-}" ]]; then
    echo "unhealthy: no video for ${age}s (more than ${HEALTH_MAX_AGE_SECONDS}s) ($CAMERA_NAME)"
  else
    echo "unhealthy: no video yet ($CAMERA_NAME, $HEALTH_FILE)"
  fi
  return 1
}

# The schedule file's content ("" when there is none): a change means the schedule changed.
schedule_file_content() {
  local content=""
  { content="$(<"$RECORDING_SCHEDULE_FILE")"; } 2>/dev/null || true
  printf '%s' "$content"
}

# Asks recording_schedule.py about now: sets schedule_state (on|off), schedule_seconds (until the next
# change, or -), schedule_text ("off schedule until 07:00 (Europe/Berlin)") and schedule_content.
read_schedule() {
  local line
  schedule_content="$(schedule_file_content)"
  line="$("$GATEWAY_PYTHON" "$SCHEDULE_PROGRAM" "$RECORDING_SCHEDULE_FILE")" || line="on - recording around the clock (the schedule program failed)"
  read -r schedule_state schedule_seconds schedule_text <<<"$line"
}

# Returns once the schedule says record (at once when it does). Off schedule it does not touch the camera:
# it waits for the window to open, or for the schedule file to change, and says so once.
wait_for_recording_window() {
  local now deadline step announced="" waited=0
  # The reconciler or the schedule sync writes the file; a camera started just before it waits a little.
  while [[ -z "$stopping" && ! -e "$RECORDING_SCHEDULE_FILE" ]] && ((waited < SCHEDULE_WAIT_SECONDS)); do
    if ((waited == 0)); then log "waiting up to ${SCHEDULE_WAIT_SECONDS}s for the recording schedule $RECORDING_SCHEDULE_FILE"; fi
    pause 1
    waited=$((waited + 1))
  done
  while [[ -z "$stopping" ]]; do
    read_schedule
    printf -v now '%(%s)T' -1
    if [[ "$schedule_state" == on ]]; then
      if [[ -n "$announced" ]]; then
        # Healthy while the first video comes (check_health allows HEALTH_MAX_AGE_SECONDS after this).
        printf '%s %s\n' "$now" "the recording window opens" >"$HEALTH_FILE.off-schedule"
      fi
      if [[ "$schedule_text" != "$last_schedule_text" ]]; then log "$schedule_text"; fi
      last_schedule_text="$schedule_text"
      return 0
    fi
    deadline=$((now + schedule_seconds))
    printf '%s %s\n' "$deadline" "$schedule_text" >"$HEALTH_FILE.off-schedule"
    if [[ "$schedule_text" != "$last_schedule_text" ]]; then log "$schedule_text: not connecting to the camera"; fi
    report_status off-schedule "$schedule_text"
    last_schedule_text="$schedule_text"
    announced=1
    # Until the window opens, looking at the schedule file every SCHEDULE_CHECK_SECONDS.
    while [[ -z "$stopping" ]] && ((now < deadline)); do
      step=$((deadline - now < SCHEDULE_CHECK_SECONDS ? deadline - now : SCHEDULE_CHECK_SECONDS))
      pause "$step"
      report_status --repeat
      if [[ "$(schedule_file_content)" != "$schedule_content" ]]; then break; fi
      printf -v now '%(%s)T' -1
    done
  done
  return 1
}

# Runs one probe + pipeline; its exit status says how it ended (RUN_*). QUIET_FAILURE=1 keeps a repeated
# failure out of the log. The camera URL reaches it through the environment only.
run_pipeline_once() {
  local quiet="$1" sink_env=()
  if [[ -n "${KVS_CREDENTIAL_PATH:-}" ]]; then
    sink_env=(-u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN)
  fi
  # AWS_DEFAULT_REGION would override kvssink's aws-region property: keep them equal.
  env "${sink_env[@]}" RTSP_URL="$CAMERA_URL" QUIET_FAILURE="$quiet" \
    AWS_DEFAULT_REGION="${AWS_REGION:-${AWS_DEFAULT_REGION:-}}" \
    "$GATEWAY_PYTHON" "$PIPELINE_PROGRAM" &
  pipeline_pid=$!
  local status=0
  while true; do
    wait "$pipeline_pid" && status=0 || status=$?
    # wait returns > 128 when a trapped signal interrupts it; the pipeline is still stopping.
    if kill -0 "$pipeline_pid" 2>/dev/null; then continue; fi
    break
  done
  pipeline_pid=""
  return "$status"
}

stopping=""
pipeline_pid=""
last_schedule_text=""
on_stop_signal() {
  stopping=1
  if [[ -n "$pipeline_pid" ]]; then
    kill -TERM "$pipeline_pid" 2>/dev/null || true
  fi
}

supervise() {
  local failures=0 auth_failures=0 missing_failures=0 status started seconds delay quiet last_logged=0
  while [[ -z "$stopping" ]]; do
    started="$(date +%s)"
    # After 3 failures in a row, failures are logged once a minute: a camera that is down for a day
    # would otherwise write some 20,000 lines.
    quiet=0
    if ((failures >= 3 && started - last_logged < 60)); then quiet=1; fi
    # A missing stream was explained at the first attempt; the next ones only say when they look again.
    if ((missing_failures >= 1)); then quiet=1; fi
    if ((quiet == 0)); then last_logged="$started"; fi
    if [[ -n "${RECORDING_SCHEDULE_FILE:-}" ]]; then
      wait_for_recording_window || break
      started="$(date +%s)"
    fi
    status=0
    run_pipeline_once "$quiet" || status=$?
    if [[ -n "$stopping" ]]; then break; fi
    seconds="$(video_seconds_since "$started")"
    if ((seconds >= HEALTHY_RUN_SECONDS)); then
      failures=0
      auth_failures=0
    fi
    if ((status != RUN_STREAM_MISSING)); then missing_failures=0; fi
    case "$status" in
      "$RUN_BAD_URL") fail "$EXIT_CONFIG" "fix the camera URL (${RTSP_URL_PARAMETER:-RTSP_URL})" ;;
      "$RUN_UNSUPPORTED") fail "$EXIT_UNSUPPORTED_CAMERA" "no stream of this camera can be passed through; see the message above" ;;
      "$RUN_MISSING_ELEMENT") fail "$EXIT_MISSING_SOFTWARE" "a GStreamer element is missing; see the message above" ;;
      "$RUN_RESTART_NOW")
        # A fresh KVS session, a refreshed credential file, another RTSP transport: at once, not a failure.
        pause 1
        continue
        ;;
      "$RUN_OFF_SCHEDULE")
        # The window ended (the pipeline stopped cleanly) or the schedule changed: not a failure.
        failures=0
        continue
        ;;
      "$RUN_STREAM_MISSING")
        missing_failures=$((missing_failures + 1))
        delay="$(backoff_delay "$STREAM_MISSING_BACKOFF_SECONDS" "$missing_failures" "$STREAM_MISSING_BACKOFF_MAX_SECONDS")"
        log "KVS stream $STREAM_NAME does not exist in $AWS_REGION (attempt $missing_failures): looking again in ${delay}s"
        pause_reporting "$delay"
        continue
        ;;
      "$RUN_AUTH")
        auth_failures=$((auth_failures + 1))
        delay="$(backoff_delay "$AUTH_BACKOFF_INITIAL_SECONDS" "$auth_failures" "$AUTH_BACKOFF_MAX_SECONDS")"
        log "authentication failed ($auth_failures in a row): waiting ${delay}s before trying again so the camera does not lock the account; check the user and password in ${RTSP_URL_PARAMETER:-RTSP_URL}"
        printf '%s\n' "$(($(date +%s) + delay))" >"$HEALTH_FILE.auth-backoff"
        pause_reporting "$delay"
        rm -f "$HEALTH_FILE.auth-backoff"
        # The user may have fixed the password in SSM meanwhile.
        if [[ -n "${RTSP_URL_PARAMETER:-}" && -z "$stopping" ]]; then read_url_parameter; fi
        continue
        ;;
    esac
    failures=$((failures + 1))
    delay="$(backoff_delay "$BACKOFF_INITIAL_SECONDS" "$failures" "$BACKOFF_MAX_SECONDS")"
    # The credential refresher rewrites the file every few minutes: no need to look more often than this.
    if ((status == RUN_CREDENTIALS)); then delay="$CREDENTIAL_WAIT_SECONDS"; fi
    if ((status == RUN_CREDENTIALS)); then
      if ((quiet == 0)); then log "looking at the credential file again in ${delay}s (attempt $((failures + 1)))"; fi
    elif ((quiet == 0 || seconds > 0)); then
      log "pipeline ended after $(($(date +%s) - started))s (${seconds}s of video); restarting in ${delay}s (attempt $((failures + 1)))"
    fi
    pause "$delay"
  done
  rm -f "$HEALTH_FILE.auth-backoff"
  report_status stopped "the camera's service was stopped"
  log "stopped"
  exit 0
}

main() {
  apply_defaults
  if [[ -n "${RTSP_URL_PARAMETER:-}" && -r "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/aws-request.sh" ]]; then
    # shellcheck source=userdata/aws-request.sh
    source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/aws-request.sh"
  fi
  if [[ "${1:-}" == "--check-health" ]]; then
    check_health
    return
  fi
  validate_inputs
  trap on_stop_signal TERM INT
  CAMERA_URL="${RTSP_URL:-}"
  if [[ -n "${RTSP_URL_PARAMETER:-}" ]]; then read_url_parameter; fi
  log "starting: stream $STREAM_NAME, sink $GATEWAY_SINK, codec $CODEC, audio $AUDIO"
  supervise
}

main "$@"
