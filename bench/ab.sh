#!/bin/bash
# Side by side, alternating rounds: the previous commit (OLD, a `git archive` of it), this tree
# (NEW) and the raw floor (bench/baseline_app.py), one worker each, load from wrk in its own
# process (-t1 -c16 -d6s). Prints req/s and the server's CPU per request (utime+stime of all its
# threads over the run, from /proc) and wrk's p99 latency. ROUNDS (default 2) alternations. Needs MAILLAGE_DATA_DIR, MAILLAGE_DATABASE_URL (departement
# demo), TOKEN (an API token) and OLD (a directory holding the previous commit's tree).
set -u
# -P: without it « python -m » puts the working directory first on sys.path, and a run from the
# repository root served the work tree as « old » and « new » alike (#16, 2026-12-06).
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${PY:-$ROOT/.venv/bin/python}
NEW=${NEW:-$ROOT}  # the tree measured as « new » (a copy lets the work tree change meanwhile)
PORT=${PORT:-8791}
PATHS=("/api/v1/organisations?q=centre&axis=4" "/api/v1/contacts?offset=5000&limit=50")
for round in $(seq ${ROUNDS:-2}); do
  for side in old new floor; do
    [ -n "${SIDES:-}" ] && [[ " $SIDES " != *" $side "* ]] && continue
    case $side in
      old) PYTHONPATH=$OLD $PY -P -m maillage serve --port $PORT >/dev/null 2>&1 & ;;
      new) PYTHONPATH=$NEW $PY -P -m maillage serve --port $PORT >/dev/null 2>&1 & ;;
      floor) PYTHONPATH=$ROOT $PY $ROOT/bench/baseline_app.py $PORT >/dev/null 2>&1 & ;;
    esac
    PID=$!
    for _ in $(seq 600); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
    for path in "${PATHS[@]}"; do
      curl -sf -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT$path" >/dev/null || echo "FAIL $side $path"
      CPU0=$(awk '{print $14+$15}' /proc/$PID/stat)
      OUT=$(wrk -t1 -c16 -d6s --latency -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT$path")
      CPU1=$(awk '{print $14+$15}' /proc/$PID/stat)
      N=$(echo "$OUT" | awk '/requests in/{print $1}')
      RPS=$(echo "$OUT" | awk '/Requests\/sec/{print $2}')
      NON2XX=$(echo "$OUT" | awk '/Non-2xx/{print $NF}')
      P99=$(echo "$OUT" | awk '$1=="99%"{print $2}')
      TICK=$(getconf CLK_TCK)
      echo "round=$round side=$side path=$path req/s=$RPS cpu_ms/req=$(echo "scale=2; ($CPU1-$CPU0)*1000/$TICK/$N" | bc) non2xx=${NON2XX:-0} p99=$P99"
    done
    kill $PID; wait $PID 2>/dev/null
  done
done
