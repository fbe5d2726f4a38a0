#!/usr/bin/env bash
# The due-for-renewal list at 1,000,000 people with 1,000,000 cards, on both backends.
#
#   bench/due_list.sh [PEOPLE] [RUNS] [WITHIN_DAYS]
#
# Each backend gets a fresh database (a new SQLite file; a new PostgreSQL database on the
# server of DANCU_BENCH_PG_URL, default postgres://postgres@127.0.0.1:5432/test, created and
# dropped), filled with PEOPLE (default 1000000) synthetic citizens through import_batch
# and one card each through import_cards. Then `cards_due_for_renewal` is timed for one
# province and one commune: a page of 50 with its total count, today, looking WITHIN_DAYS
# (default 60) ahead; median of RUNS (default 5) after a warm-up. Target: ≤ 200 ms.
set -euo pipefail

PEOPLE=${1:-1000000}
RUNS=${2:-5}
WITHIN=${3:-60}
PG_URL=${DANCU_BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/test}
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/dancu-target}

cd "$(dirname "$0")/.."
cargo build --quiet --release -p dancu-store --example due_bench
BIN=$CARGO_TARGET_DIR/release/examples/due_bench

pg_db_url() {
    local base=${PG_URL%%\?*} query=""
    [[ $PG_URL == *\?* ]] && query="?${PG_URL#*\?}"
    local scheme=${base%%://*} rest=${base#*://}
    echo "$scheme://${rest%%/*}/$1$query"
}

TMP=$(mktemp -d)
db="dancu_due_bench_$$"
cleanup() {
    rm -rf "$TMP"
    psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT

"$BIN" "sqlite://$TMP/due.db" "$PEOPLE" --runs "$RUNS" --within "$WITHIN"
psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
"$BIN" "$(pg_db_url "$db")" "$PEOPLE" --runs "$RUNS" --within "$WITHIN"
