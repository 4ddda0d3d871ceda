#!/bin/bash
# Side by side like bench/ab.sh, for the two public hot paths (#16): a subscribed calendar feed
# revalidated with If-None-Match (answered 304) and an answer link's GET; also, old and new
# only, the feed fetched whole (200) and the answer link's POST (bench/fixed_n.lua with WRK_BODY). Each server's ETag is
# read first, then sent by wrk. Needs MAILLAGE_DATA_DIR, MAILLAGE_DATABASE_URL, OLD (a tree),
# FEED (a feed link's token, mlf_…) and ANSWER (an answer link's token); see bench/README.md.
# Same server settings on every side and a fixed number of requests (WRK_N, default 2000,
# bench/fixed_n.lua) as bench/ab.sh.
set -u
# -P: without it « python -m » puts the working directory first on sys.path, and a run from the
# repository root served the work tree as « old » and « new » alike (#16, 2026-12-06).
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${PY:-$ROOT/.venv/bin/python}
NEW=${NEW:-$ROOT}  # the tree measured as « new » (a copy lets the work tree change meanwhile)
PORT=${PORT:-8792}
TICK=$(getconf CLK_TCK)
export WRK_N=${WRK_N:-2000}
for tree in "$OLD" "$NEW"; do
  echo "tree $tree -> $(cd / && PYTHONPATH=$tree $PY -P -c 'import maillage; print(maillage.__file__)')"
done
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
    ETAG=$(curl -s -D - -o /dev/null "http://127.0.0.1:$PORT/calendar/feeds/$FEED.ics" | awk 'tolower($1)=="etag:"{print $2}' | tr -d '\r')
    for what in ${WHATS:-feed feed200 answer answerpost}; do  # WHATS: some of them only
      WRK_BODY=""
      case $what in
        feed) URL="http://127.0.0.1:$PORT/calendar/feeds/$FEED.ics"; HEADER="If-None-Match: $ETAG"
          WANT=304 ;;
        feed200) URL="http://127.0.0.1:$PORT/calendar/feeds/$FEED.ics"; HEADER="Accept: */*"
          WANT=200 ;;
        answer) URL="http://127.0.0.1:$PORT/r/$ANSWER"; HEADER="Accept: text/html"; WANT=200 ;;
        answerpost) URL="http://127.0.0.1:$PORT/r/$ANSWER"; HEADER="Accept: text/html"; WANT=200
          WRK_BODY="reponse=oui" ;;
      esac
      # The floor's feed body is an empty calendar and it has no answer form: not compared.
      if [ $side = floor ] && [ $what != feed ] && [ $what != answer ]; then continue; fi
      if [ $what = answerpost ]; then
        GOT=$(curl -s -o /dev/null -w '%{http_code}' -H "$HEADER" --data "reponse=oui" "$URL")
      else
        GOT=$(curl -s -o /dev/null -w '%{http_code}' -H "$HEADER" "$URL")
      fi
      [ "$GOT" = "$WANT" ] || echo "FAIL $side $what: $GOT"
      WRK_N=100 WRK_BODY=$WRK_BODY wrk -t1 -c16 -d60s -s "$ROOT/bench/fixed_n.lua" -H "$HEADER" "$URL" >/dev/null 2>&1  # warm-up
      CPU0=$(awk '{print $14+$15}' /proc/$PID/stat)
      T0=$(date +%s.%N)
      ERR=$(WRK_BODY=$WRK_BODY wrk -t1 -c16 -d300s -s "$ROOT/bench/fixed_n.lua" -H "$HEADER" "$URL" 2>&1 >/dev/null | sort | uniq -c | tr '\n' ' ')
      T1=$(date +%s.%N)
      CPU1=$(awk '{print $14+$15}' /proc/$PID/stat)
      N=$WRK_N
      RPS=$(echo "scale=1; $N/($T1-$T0)" | bc)
      echo "round=$round side=$side what=$what status=$GOT n=$N load=$(cut -d' ' -f1 /proc/loadavg) req/s=$RPS cpu_ms/req=$(echo "scale=2; ($CPU1-$CPU0)*1000/$TICK/$N" | bc) errors=${ERR:-0}"
    done
    kill $PID; wait $PID 2>/dev/null
  done
done
