#!/bin/sh
# One round of bench/stall.py against the tree TREE (a `git archive` of a commit, run through
# PYTHONPATH with this checkout's .venv), on a fresh copy of the demo database (#16).
#
#   bench/stall_ab.sh sqlite /tmp/old 8861 [scenarios]     # SRC=/tmp/bench/bench.db
#   bench/stall_ab.sh postgres /tmp/new 8862 [scenarios]   # SRC=bench_demo (a database name)
#
# SQLite: SRC is the demo's file, copied to $WORK/<port>.db; PostgreSQL: SRC is the demo's
# database, copied with CREATE DATABASE … TEMPLATE to <DB_PREFIX><port> (DB_PREFIX: bench_stall_
# unless set, e.g. to a name of yours on a shared server). One `maillage serve`
# process, MAILLAGE_HEAVY_PROCESSES=1, MAILLAGE_SMTP_RATE=1 (the sender's deliveries stay out
# of the measure). The load average is printed before and after. STALL_ARGS are added to
# bench/stall.py's arguments (e.g. STALL_ARGS="--slow 100": the slow probes, with their times).
set -eu
ENGINE=$1 TREE=$2 PORT=$3 ONLY=${4:-}
HERE=$(cd "$(dirname "$0")/.." && pwd)
WORK=${WORK:-/tmp/stall-ab}
mkdir -p "$WORK/data-$PORT"
if [ "$ENGINE" = sqlite ]; then
    rm -f "$WORK/$PORT.db" "$WORK/$PORT.db-wal" "$WORK/$PORT.db-shm"
    cp "$SRC" "$WORK/$PORT.db"
    URL="sqlite:///$WORK/$PORT.db"
else
    DB=${DB_PREFIX:-bench_stall_}$PORT
    psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $DB" \
        -c "CREATE DATABASE $DB TEMPLATE $SRC"
    URL="postgresql://postgres@127.0.0.1:5432/$DB"
fi
export MAILLAGE_DATA_DIR="$WORK/data-$PORT" MAILLAGE_DATABASE_URL="$URL"
export MAILLAGE_HEAVY_PROCESSES=1 MAILLAGE_SMTP_RATE=1
echo "== $ENGINE $TREE ($(cd "$TREE" && ls -d .git 2>/dev/null || true)) port $PORT, $(date -u +%H:%M:%S) UTC, load $(cut -d' ' -f1-3 /proc/loadavg)"
(cd "$TREE" && exec env PYTHONPATH="$TREE" "$HERE/.venv/bin/python" -m maillage serve --port "$PORT") \
    >"$WORK/server-$PORT.log" 2>&1 &
SERVER=$!
until curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null; do sleep 1; done
"$HERE/.venv/bin/python" "$HERE/bench/stall.py" "http://127.0.0.1:$PORT" --pid "$SERVER" \
    ${ONLY:+--only "$ONLY"} ${STALL_ARGS:-} || true
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
echo "== end $(date -u +%H:%M:%S) UTC, load $(cut -d' ' -f1-3 /proc/loadavg)"
