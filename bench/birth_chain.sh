#!/usr/bin/env bash
# Birth chains end to end (issue 15: p99 < 1 s at 200 births per second): a release
# `dancu demo` (SQLite, PEOPLE people) serves; bench/birth_chain.py POSTs births as the demo
# civil-status partner at RATE per second for SECONDS (open loop) into households of the
# demo's heads of household, and reads the demo social-insurance partner's feed for each
# child's `birth.registered`. Prints the answer's latency (the child's personal ID) and
# the end-to-end latency (registration sent → event read from the feed), from each birth's
# scheduled moment.
#
#   bench/birth_chain.sh [PEOPLE=20000] [RATE=200] [SECONDS=30]
#   DATABASE_URL=postgres://… bench/birth_chain.sh …   # the demo on PostgreSQL (a fresh database)
# Needs: curl, python3. DANCU_BIN: a binary already built (figures need release).
set -euo pipefail
cd "$(dirname "$0")/.."
PEOPLE=${1:-20000}; RATE=${2:-200}; SECONDS_=${3:-30}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dancu-target}"
if [ -z "${DANCU_BIN:-}" ]; then cargo build --release -q -p dancu; fi
BIN=${DANCU_BIN:-"$CARGO_TARGET_DIR/release/dancu"}
WORK=${WORK:-/tmp/dancu-bench-chain}; rm -rf "$WORK"; mkdir -p "$WORK"
PORT=${PORT:-18492}
DB_ARGS=(); [ -n "${DATABASE_URL:-}" ] && DB_ARGS=(--database-url "$DATABASE_URL")
. bench/pg_production.sh
[ -n "${DATABASE_URL:-}" ] && pg_production_on "$DATABASE_URL"
# Run inside $WORK: a PostgreSQL demo keeps its key and checkpoint files in the working directory.
(cd "$WORK" && RUST_LOG=${RUST_LOG:-warn} exec "$BIN" demo --data-dir "$WORK/demo" "${DB_ARGS[@]}" \
  --people "$PEOPLE" --listen "127.0.0.1:$PORT" --demo-rp-listen off > "$WORK/demo.log" 2>&1) &
PID=$!
trap 'kill $PID 2>/dev/null || true; pg_production_off' EXIT
for _ in $(seq 600); do grep -q "dancu demo is running" "$WORK/demo.log" && break; sleep 1; done
secret() { grep -o "client_id $1 / client_secret [^ ]*" "$WORK/demo.log" | awk '{print $5}'; }
token() {
  curl -sf -u "$1:$(secret "$1")" -d grant_type=client_credentials -d "scope=$2" \
    "http://127.0.0.1:$PORT/oauth/token" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}
TJ=$(token demo-justice partner:civil); TI=$(token demo-insurance partner:feed)
# Heads of household in the demo province with a current permanent residence: the parents.
PARENTS_SQL="SELECT c.personal_id || ',' || c.sex || ',' || c.scope_commune FROM citizens c \
WHERE c.relation = 'head' AND c.status = 'alive' AND EXISTS (SELECT 1 FROM residences r \
WHERE r.personal_id = c.personal_id AND r.kind = 'permanent' AND r.ended_on IS NULL)"
if [ -n "${DATABASE_URL:-}" ]; then
  psql "$DATABASE_URL" -tAc "$PARENTS_SQL" > "$WORK/parents.txt"
else
  python3 - "$WORK/demo/dancu.db" "$PARENTS_SQL" > "$WORK/parents.txt" <<'PY'
import sqlite3, sys
for (line,) in sqlite3.connect(sys.argv[1]).execute(sys.argv[2]):
    print(line)
PY
fi
echo "parents: $(wc -l < "$WORK/parents.txt"); $(nproc) cores; $(git rev-parse --short HEAD)"
python3 bench/birth_chain.py "http://127.0.0.1:$PORT" "$TJ" "$TI" "$WORK/parents.txt" "$RATE" "$SECONDS_" "$(date +%s)"
