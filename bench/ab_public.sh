#!/bin/bash
# Side by side like bench/ab.sh, for the two public hot paths (#16): a subscribed calendar feed
# revalidated with If-None-Match (answered 304) and an answer link's GET; also, old and new
# only, the feed fetched whole (200) and the answer link's POST (bench/answer_post.lua). Each server's ETag is
# read first, then sent by wrk. Needs MAILLAGE_DATA_DIR, MAILLAGE_DATABASE_URL, OLD (a tree),
# FEED (a feed link's token, mlf_…) and ANSWER (an answer link's token); see bench/README.md.
set -u
# -P: without it « python -m » puts the working directory first on sys.path, and a run from the
# repository root served the work tree as « old » and « new » alike (#16, 2026-12-06).
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${PY:-$ROOT/.venv/bin/python}
NEW=${NEW:-$ROOT}  # the tree measured as « new » (a copy lets the work tree change meanwhile)
PORT=${PORT:-8792}
TICK=$(getconf CLK_TCK)
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
    ETAG=$(curl -s -D - -o /dev/null "http://127.0.0.1:$PORT/calendar/feeds/$FEED.ics" | awk 'tolower($1)=="etag:"{print $2}' | tr -d '\r')
    for what in feed feed200 answer answerpost; do
      SCRIPT=()
      case $what in
        feed) URL="http://127.0.0.1:$PORT/calendar/feeds/$FEED.ics"; HEADER="If-None-Match: $ETAG"
          WANT=304 ;;
        feed200) URL="http://127.0.0.1:$PORT/calendar/feeds/$FEED.ics"; HEADER="Accept: */*"
          WANT=200 ;;
        answer) URL="http://127.0.0.1:$PORT/r/$ANSWER"; HEADER="Accept: text/html"; WANT=200 ;;
        answerpost) URL="http://127.0.0.1:$PORT/r/$ANSWER"; HEADER="Accept: text/html"; WANT=200
          SCRIPT=(-s "$ROOT/bench/answer_post.lua") ;;
      esac
      # The floor's feed body is an empty calendar and it has no answer form: not compared.
      if [ $side = floor ] && [ $what != feed ] && [ $what != answer ]; then continue; fi
      if [ $what = answerpost ]; then
        GOT=$(curl -s -o /dev/null -w '%{http_code}' -H "$HEADER" --data "reponse=oui" "$URL")
      else
        GOT=$(curl -s -o /dev/null -w '%{http_code}' -H "$HEADER" "$URL")
      fi
      [ "$GOT" = "$WANT" ] || echo "FAIL $side $what: $GOT"
      CPU0=$(awk '{print $14+$15}' /proc/$PID/stat)
      OUT=$(wrk -t1 -c16 -d6s --latency "${SCRIPT[@]}" -H "$HEADER" "$URL")
      CPU1=$(awk '{print $14+$15}' /proc/$PID/stat)
      N=$(echo "$OUT" | awk '/requests in/{print $1}')
      RPS=$(echo "$OUT" | awk '/Requests\/sec/{print $2}')
      P99=$(echo "$OUT" | awk '$1=="99%"{print $2}')
      echo "round=$round side=$side what=$what status=$GOT req/s=$RPS cpu_ms/req=$(echo "scale=2; ($CPU1-$CPU0)*1000/$TICK/$N" | bc) p99=$P99"
    done
    kill $PID; wait $PID 2>/dev/null
  done
done
