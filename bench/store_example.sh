# Sourced by the store-level benchmark scripts with the name of a `dancu-store` example:
# builds it (BIN), and gives each backend a fresh database: SQLITE_URL (a file in a temporary
# folder) and PG_DB_URL (a new database on the server of DANCU_BENCH_PG_URL, default
# postgres://postgres@127.0.0.1:5432/test). Both are removed on exit.
PG_URL=${DANCU_BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/test}
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/dancu-target}

cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo build --quiet --release -p dancu-store --example "$1"
BIN=$CARGO_TARGET_DIR/release/examples/$1

pg_db_url() {
    local base=${PG_URL%%\?*} query=""
    [[ $PG_URL == *\?* ]] && query="?${PG_URL#*\?}"
    local scheme=${base%%://*} rest=${base#*://}
    echo "$scheme://${rest%%/*}/$1$query"
}

TMP=$(mktemp -d)
db="dancu_$1_$$"
cleanup() {
    rm -rf "$TMP"
    psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT

SQLITE_URL="sqlite://$TMP/$1.db"
psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
PG_DB_URL=$(pg_db_url "$db")
