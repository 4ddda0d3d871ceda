#!/bin/bash
# One EPCI's first load, a baseline tree and this one alternated (#18): the machine is shared,
# so the two are measured side by side, three rounds each, on a fresh database every time.
#   git archive main | tar -x -C /tmp/baseline
#   bench/territory_ab.sh /tmp/baseline [SIREN] [sqlite|postgresql://…/bench]
# Run from this tree, with its .venv (the baseline's code is put first on PYTHONPATH).
set -eu
BASELINE=$1
SIREN=${2:-247300015}
TARGET=${3:-sqlite}
HERE=$(cd "$(dirname "$0")/.." && pwd)
for round in 1 2 3; do
  for tree in "$BASELINE" "$HERE"; do
    if [ "$TARGET" = sqlite ]; then
      rm -f /tmp/territory-ab.db
      URL=sqlite:////tmp/territory-ab.db
    else
      URL=$TARGET
    fi
    echo "== $tree, round $round, load average $(cut -d' ' -f1 /proc/loadavg)"
    (cd "$tree" && PYTHONPATH="$tree" "$HERE/.venv/bin/python" bench/territory_load.py epci "$SIREN" --url "$URL" | grep -E "first load|refresh, nothing")
  done
done
