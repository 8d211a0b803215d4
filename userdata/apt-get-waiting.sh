#!/usr/bin/env bash
# apt-get-waiting.sh ARGUMENTS...: apt-get (quiet, yes, non-interactive) that waits for every apt lock
# and retries. install-gateway.sh and build-kvssink.sh run every apt step through it.
#
# apt-get waits for the dpkg lock when told to (DPkg::Lock::Timeout), but `apt-get update` never waits
# for the lists lock (/var/lib/apt/lists/lock): it fails at once, exit 100, while another apt holds it,
# as Ubuntu's first-boot unattended-upgrades and apt-daily do. So a run that fails on any apt lock is
# tried again every KVS_APT_RETRY_SECONDS (10) until KVS_APT_LOCK_WAIT_SECONDS (900) have passed, and
# any other failure (a mirror's hiccup) is tried twice more before giving up.
set -euo pipefail

readonly LOCK_WAIT_SECONDS="${KVS_APT_LOCK_WAIT_SECONDS:-900}"
readonly RETRY_SECONDS="${KVS_APT_RETRY_SECONDS:-10}"
readonly OTHER_FAILURES_ALLOWED=2
readonly LOCK_ERROR='Could not get lock|Unable to lock|Unable to acquire the dpkg frontend lock'

log() { printf 'apt-get-waiting: %s\n' "$*" >&2; }

main() {
  local status started other_failures=0 errors
  errors="$(mktemp)"
  # shellcheck disable=SC2064 # the file's name now: the trap runs after main has returned
  trap "rm -f '$errors'" EXIT
  started="$(date +%s)"
  export DEBIAN_FRONTEND=noninteractive
  while true; do
    # apt-get's errors go to stderr as usual and to a file, read to tell a lock conflict apart.
    status=0
    { apt-get -q -y -o DPkg::Lock::Timeout="$LOCK_WAIT_SECONDS" "$@" 2>&1 1>&3 3>&- | tee "$errors" >&2; } 3>&1 ||
      status=$?
    if ((status == 0)); then return 0; fi
    if grep -Eq "$LOCK_ERROR" "$errors"; then
      if (($(date +%s) - started >= LOCK_WAIT_SECONDS)); then
        log "apt-get $1: another apt process still holds an apt lock after ${LOCK_WAIT_SECONDS}s; giving up"
        return "$status"
      fi
      log "apt-get $1: another apt process holds an apt lock (unattended upgrades at first boot?); trying again in ${RETRY_SECONDS}s"
    elif ((other_failures < OTHER_FAILURES_ALLOWED)); then
      other_failures=$((other_failures + 1))
      log "apt-get $1 failed (exit $status); trying again in ${RETRY_SECONDS}s ($other_failures of $OTHER_FAILURES_ALLOWED retries)"
    else
      log "apt-get $1 failed (exit $status) $((OTHER_FAILURES_ALLOWED + 1)) times; giving up"
      return "$status"
    fi
    sleep "$RETRY_SECONDS"
  done
}

main "$@"
