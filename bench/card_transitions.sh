#!/usr/bin/env bash
# Card stage transitions through the audited registry, on both backends.
#
#   bench/card_transitions.sh [APPLICATIONS] [CONCURRENCY]
#
# Each backend gets a fresh database (a new SQLite file; a new PostgreSQL database on the
# server of DANCU_BENCH_PG_URL, default postgres://postgres@127.0.0.1:5432/test, created and
# dropped) with APPLICATIONS (default 20000) citizens and one application each at intake;
# every application is then moved through its three transitions, CONCURRENCY (default 32)
# at a time. Target: ≥ 5,000 transitions per second.
set -euo pipefail

APPS=${1:-20000}
CONC=${2:-32}
PG_URL=${DANCU_BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/test}
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/dancu-target}

cd "$(dirname "$0")/.."
cargo build --quiet --release -p dancu-store --example transition_bench
BIN=$CARGO_TARGET_DIR/release/examples/transition_bench

pg_db_url() {
    local base=${PG_URL%%\?*} query=""
    [[ $PG_URL == *\?* ]] && query="?${PG_URL#*\?}"
    local scheme=${base%%://*} rest=${base#*://}
    echo "$scheme://${rest%%/*}/$1$query"
}

TMP=$(mktemp -d)
db="dancu_transition_bench_$$"
cleanup() {
    rm -rf "$TMP"
    psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT

"$BIN" "sqlite://$TMP/transition.db" "$APPS" --concurrency "$CONC"
psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
"$BIN" "$(pg_db_url "$db")" "$APPS" --concurrency "$CONC"
