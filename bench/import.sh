#!/usr/bin/env bash
# Bulk-import throughput of both store backends, each into a fresh database.
#
#   bench/import.sh [ROWS] [RUNS] [CSV]
#
# ROWS (default 1000000) synthetic rows, or the rows of CSV (a file written by `dancu gen`)
# when given. Each run imports into a new SQLite file and a new PostgreSQL database
# (DANCU_BENCH_PG_URL, default postgres://postgres@127.0.0.1:5432/test names the server;
# the database is created and dropped). Prints every run and the median rows/s per backend.
# Timed: begin_import, every import_batch (batches of 20,000 rows) and finish_import (the
# index rebuild); building the rows is not.
set -euo pipefail

ROWS=${1:-1000000}
RUNS=${2:-3}
CSV=${3:-}
PG_URL=${DANCU_BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/test}
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/dancu-target}

cd "$(dirname "$0")/.."
cargo build --quiet --release -p dancu-store --example import_bench
BIN=$CARGO_TARGET_DIR/release/examples/import_bench
EXTRA=()
if [[ -n $CSV ]]; then
    EXTRA=(--csv "$CSV")
fi

# The server part of the URL with another database name.
pg_db_url() {
    local base=${PG_URL%%\?*} query=""
    [[ $PG_URL == *\?* ]] && query="?${PG_URL#*\?}"
    local scheme=${base%%://*} rest=${base#*://}
    echo "$scheme://${rest%%/*}/$1$query"
}

median() {
    sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

for backend in sqlite postgres; do
    : >"$TMP/rates"
    for run in $(seq "$RUNS"); do
        if [[ $backend == sqlite ]]; then
            url="sqlite://$TMP/bench-$run.db"
        else
            db="dancu_bench_$$_$run"
            psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
            url=$(pg_db_url "$db")
        fi
        line=$("$BIN" "$url" "$ROWS" "${EXTRA[@]}")
        echo "run $run: $line"
        sed -n 's/.*rows_per_s=\([0-9]*\).*/\1/p' <<<"$line" >>"$TMP/rates"
        if [[ $backend == sqlite ]]; then
            rm -f "$TMP/bench-$run.db"*
        else
            psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
        fi
    done
    echo "$backend: median $(median <"$TMP/rates") rows/s over $RUNS runs"
done
