#!/usr/bin/env bash
# Ends processes: SIGTERM, then SIGKILL for any still alive 5 s later. Pids that are gone are fine.
#   end-processes.sh PID...
set -euo pipefail

end_processes() {
  local pids=("$@") pid alive
  if ((${#pids[@]} == 0)); then return 0; fi
  kill -TERM "${pids[@]}" 2>/dev/null || true
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    alive=0
    for pid in "${pids[@]}"; do
      if kill -0 "$pid" 2>/dev/null; then alive=1; fi
    done
    if ((alive == 0)); then return 0; fi
    sleep 0.5
  done
  kill -KILL "${pids[@]}" 2>/dev/null || true
}

end_processes "$@"
