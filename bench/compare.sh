#!/usr/bin/env bash
# Before and after in one run: the same bench scripts (this checkout's) on the code of REV
# (a temporary worktree) and then on this checkout, back to back. Run it on a quiet machine.
#
#     bash bench/compare.sh REV [--quick]
set -euo pipefail
cd "$(dirname "$0")/.."
rev=${1:?usage: bash bench/compare.sh REV [--quick]}
py=${PYTHON:-.venv/bin/python}
old=$(mktemp -d)
trap 'git worktree remove --force "$old" >/dev/null 2>&1 || rm -rf "$old"' EXIT
git worktree add --quiet --detach "$old" "$rev"
if [ "${2:-}" = "--quick" ]; then
  sizes=(--sizes 10000); events=(--items 20000 --users 2000 --single 1000 --queries 300)
  http=(--items 20000 --users 2000 --seconds 5)
else
  sizes=(--sizes 100000); events=(); http=()
fi
for side in "before:$old/src" "after:$PWD/src"; do
  echo "=================== ${side%%:*} ($(git -C "${side#*:}/.." rev-parse --short HEAD)) ==================="
  export PYTHONPATH=${side#*:}
  "$py" bench/search.py "${sizes[@]}" 2>/dev/null
  "$py" bench/events.py "${events[@]}" 2>/dev/null
  "$py" bench/http.py "${http[@]}" 2>/dev/null
done
