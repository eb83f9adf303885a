#!/usr/bin/env bash
# Load benchmark of the moderation daemon: durable submissions per second and
# latency percentiles at 1, 16 and 64 concurrent clients, loopback only.
#
# Each request is a real POST /api/submissions (JSON, schema-validated, unique
# Idempotency-Key) answered 201 only after its SQLite transaction is committed
# with synchronous=FULL; the count of rows in the queue after each run is the
# number of durable submissions. Uses wrk (Debian package `wrk`).
#
# Usage: bench/daemon_load.sh [seconds per run, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-10}"
PORT="${PORT:-18080}"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }

[ -n "${SKIP_BUILD:-}" ] || cargo build --release -q --bin vitrine
BIN="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release/vitrine"

SITE="$(mktemp -d)"
trap 'kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; rm -rf "$SITE"' EXIT
cp -r vitrine.yaml data content themes "$SITE"/

"$BIN" daemon --site "$SITE" --listen "127.0.0.1:$PORT" --rate-limit 0 >"$SITE/daemon.log" 2>&1 &
PID=$!
for _ in $(seq 600); do
    curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
    sleep 0.1
done

cat >"$SITE/submit.lua" <<'LUA'
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
function init(args)
  n = 0
  run = args[1] or "0"
end
request = function()
  n = n + 1
  local key = string.format("bench-%s-%d-%d", run, tid, n)
  local body = '{"collection":"labels","submitter":{"name":"Banc d\'essai","email":"bench@example.org"},'
    .. '"fields":{"title":"Demande ' .. key .. '","kind":"Label École eTwinning","year":2026,"school":"Collège du banc d\'essai"}}'
  return wrk.format("POST", "/api/submissions",
    {["Content-Type"] = "application/json", ["Idempotency-Key"] = key}, body)
end
LUA

count() {
    python3 - "$SITE/.vitrine/queue.sqlite3" <<'PY'
import sqlite3, sys
c = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
print(c.execute("SELECT COUNT(*) FROM submissions").fetchone()[0])
PY
}

echo "| clients | requests/s (wrk) | durable submissions/s (rows) | p50 | p90 | p99 | non-2xx |"
echo "|--------:|-----------------:|-----------------------------:|----:|----:|----:|--------:|"
for C in 1 16 64; do
    T=$(( C < 2 ? 1 : 2 ))
    BEFORE=$(count)
    OUT="$(wrk -t"$T" -c"$C" -d"${DURATION}s" --latency -s "$SITE/submit.lua" "http://127.0.0.1:$PORT" -- "c$C")"
    AFTER=$(count)
    P50=$(awk '$1=="50%"{print $2}' <<<"$OUT")
    P90=$(awk '$1=="90%"{print $2}' <<<"$OUT")
    P99=$(awk '$1=="99%"{print $2}' <<<"$OUT")
    NON2XX=$(awk -F': ' '/Non-2xx/{print $2}' <<<"$OUT")
    RPS=$(awk '/Requests\/sec/{print $2}' <<<"$OUT")
    RATE=$(python3 -c "print(round(($AFTER - $BEFORE) / $DURATION))")
    echo "| $C | $RPS | $RATE | $P50 | $P90 | $P99 | ${NON2XX:-0} |"
done
echo
echo "queue integrity: $(python3 -c "import sqlite3; print(sqlite3.connect('file:$SITE/.vitrine/queue.sqlite3?mode=ro', uri=True).execute('PRAGMA integrity_check').fetchone()[0])")"
