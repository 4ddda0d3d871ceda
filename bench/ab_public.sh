#!/bin/bash
# Side by side like bench/ab.sh, for the two public hot paths (#16): a subscribed calendar feed
# revalidated with If-None-Match (answered 304) and an answer link's GET. Each server's ETag is
# read first, then sent by wrk. Needs MAILLAGE_DATA_DIR, MAILLAGE_DATABASE_URL, OLD (a tree),
# FEED (a feed link's token, mlf_…) and ANSWER (an answer link's token); see bench/README.md.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=$ROOT/.venv/bin/python
PORT=${PORT:-8792}
TICK=$(getconf CLK_TCK)
for round in 1 2; do
  for side in old new floor; do
    case $side in
      old) PYTHONPATH=$OLD $PY -m maillage serve --port $PORT >/dev/null 2>&1 & ;;
      new) PYTHONPATH=$ROOT $PY -m maillage serve --port $PORT >/dev/null 2>&1 & ;;
      floor) PYTHONPATH=$ROOT $PY $ROOT/bench/baseline_app.py $PORT >/dev/null 2>&1 & ;;
    esac
    PID=$!
    for _ in $(seq 600); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
    ETAG=$(curl -s -D - -o /dev/null "http://127.0.0.1:$PORT/calendar/feeds/$FEED.ics" | awk 'tolower($1)=="etag:"{print $2}' | tr -d '\r')
    for what in feed answer; do
      if [ $what = feed ]; then
        URL="http://127.0.0.1:$PORT/calendar/feeds/$FEED.ics"; HEADER="If-None-Match: $ETAG"
        WANT=304
      else
        URL="http://127.0.0.1:$PORT/r/$ANSWER"; HEADER="Accept: text/html"; WANT=200
      fi
      GOT=$(curl -s -o /dev/null -w '%{http_code}' -H "$HEADER" "$URL")
      [ "$GOT" = "$WANT" ] || echo "FAIL $side $what: $GOT"
      CPU0=$(awk '{print $14+$15}' /proc/$PID/stat)
      OUT=$(wrk -t1 -c16 -d6s -H "$HEADER" "$URL")
      CPU1=$(awk '{print $14+$15}' /proc/$PID/stat)
      N=$(echo "$OUT" | awk '/requests in/{print $1}')
      RPS=$(echo "$OUT" | awk '/Requests\/sec/{print $2}')
      echo "round=$round side=$side what=$what status=$GOT req/s=$RPS cpu_ms/req=$(echo "scale=2; ($CPU1-$CPU0)*1000/$TICK/$N" | bc)"
    done
    kill $PID; wait $PID 2>/dev/null
  done
done
