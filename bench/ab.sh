#!/bin/bash
# Side by side, alternating rounds: the previous commit (OLD, a `git archive` of it), this tree
# (NEW) and the raw floor (bench/baseline_app.py), one worker each, started with the same uvicorn
# settings (one process, info log level with the access log on, proxy headers, output to
# /dev/null: bench/baseline_app.py runs uvicorn as `maillage serve` does). The load comes from
# wrk in its own process (-t1 -c16), stopped after a fixed number of answers (WRK_N, default
# 2000, bench/fixed_n.lua); the server's CPU per request is the utime+stime of its process (all
# its threads) over those requests, from /proc/<pid>/stat. Prints req/s, CPU ms per request,
# the statuses other than 2xx/304 and the load average (wrk's own summary is not
# printed: the script leaves it at the N-th answer). ROUNDS (default 2) alternations; SIDES to run some sides only.
# Needs MAILLAGE_DATA_DIR, MAILLAGE_DATABASE_URL (departement demo), TOKEN (an API token) and
# OLD (a directory holding the previous commit's tree).
set -u
# -P: without it « python -m » puts the working directory first on sys.path, and a run from the
# repository root served the work tree as « old » and « new » alike (#16, 2026-12-06).
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${PY:-$ROOT/.venv/bin/python}
NEW=${NEW:-$ROOT}  # the tree measured as « new » (a copy lets the work tree change meanwhile)
PORT=${PORT:-8791}
export WRK_N=${WRK_N:-2000}
TICK=$(getconf CLK_TCK)
PATHS=(${ABPATHS:-"/api/v1/organisations?q=centre&axis=4" "/api/v1/contacts?offset=5000&limit=50"})
# Which tree each side imports (PYTHONPATH wins over the editable install's finder; checked).
for tree in "$OLD" "$NEW"; do
  echo "tree $tree -> $(cd / && PYTHONPATH=$tree $PY -P -c 'import maillage; print(maillage.__file__)')"
done
declare -A DIGEST
for round in $(seq ${ROUNDS:-2}); do
  for side in old new floor; do
    [ -n "${SIDES:-}" ] && [[ " $SIDES " != *" $side "* ]] && continue
    case $side in
      old) PYTHONPATH=$OLD $PY -P -m maillage serve --port $PORT >/dev/null 2>&1 & ;;
      new) PYTHONPATH=$NEW $PY -P -m maillage serve --port $PORT >/dev/null 2>&1 & ;;
      floor) PYTHONPATH=$NEW $PY -P $ROOT/bench/baseline_app.py $PORT >/dev/null 2>&1 & ;;
    esac
    PID=$!
    for _ in $(seq 600); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
    # maillage's outbox sender makes its first pass (due reminders, notices, the outbox) right
    # after the start: 0.3-0.5 s of CPU in the server process that landed in the first measured
    # request's figures, on maillage's sides only. Let it finish first (#16).
    sleep ${SETTLE:-5}
    for path in "${PATHS[@]}"; do
      # The body's digest: the floor must answer what maillage answers, byte for byte (#16).
      DIGEST[$side$path]=$(curl -sf -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT$path" | md5sum | cut -c1-12) || echo "FAIL $side $path"
      WRK_N=100 wrk -t1 -c16 -d60s -s "$ROOT/bench/fixed_n.lua" -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT$path" >/dev/null 2>&1  # warm-up
      CPU0=$(awk '{print $14+$15}' /proc/$PID/stat)
      T0=$(date +%s.%N)
      ERR=$(wrk -t1 -c16 -d300s -s "$ROOT/bench/fixed_n.lua" -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT$path" 2>&1 >/dev/null | sort | uniq -c | tr '\n' ' ')
      T1=$(date +%s.%N)
      CPU1=$(awk '{print $14+$15}' /proc/$PID/stat)
      N=$WRK_N
      RPS=$(echo "scale=1; $N/($T1-$T0)" | bc)
      echo "round=$round side=$side path=$path n=$N req/s=$RPS cpu_ms/req=$(echo "scale=2; ($CPU1-$CPU0)*1000/$TICK/$N" | bc) errors=${ERR:-0} load=$(cut -d' ' -f1 /proc/loadavg)"
    done
    kill $PID; wait $PID 2>/dev/null
  done
  for path in "${PATHS[@]}"; do
    for side in old new; do
      [ -n "${DIGEST[$side$path]:-}" ] && [ -n "${DIGEST[floor$path]:-}" ] || continue
      if [ "${DIGEST[$side$path]}" = "${DIGEST[floor$path]}" ]; then SAME=same; else SAME=DIFFERENT; fi
      echo "round=$round body $side/floor $path: $SAME (${DIGEST[$side$path]} ${DIGEST[floor$path]})"
    done
  done
done
