#!/usr/bin/env bash
# Runs ShellCheck over every shell script in the project (any file with a sh or bash shebang).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts=()
while IFS= read -r file; do
  if [[ -f "$file" ]] && head -n 1 "$file" | grep -Eq '^#!.*\b(ba)?sh\b'; then
    scripts+=("$file")
  fi
done < <(git ls-files --cached --others --exclude-standard | grep -v '^node_modules/')
shellcheck --severity=style --external-sources "${scripts[@]}"
echo "shellcheck: ${#scripts[@]} scripts clean" >&2
