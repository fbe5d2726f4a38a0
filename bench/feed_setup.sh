# Sourced by bench/feed_webhooks.sh and bench/feed_nats.sh: builds (or takes BIN) the
# `dancu` binary, imports PEOPLE `dancu gen` people into a fresh database of BACKEND
# (sqlite: a file in $WORK; postgres: a new database on $PG_ADMIN), and defines helpers.
# Sets BIN, URL (for dancu), DB (for feed_load.py write), IDS (people to change), WORK.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PEOPLE=${PEOPLE:-100000}
BACKEND=${BACKEND:-sqlite}
PG_ADMIN=${PG_ADMIN:-postgres://postgres@127.0.0.1:5432/test}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dancu-target}"
if [ -z "${BIN:-}" ]; then cargo build --release -q -p dancu --locked; BIN="$CARGO_TARGET_DIR/release/dancu"; fi
BIN=$(realpath "$BIN")
WORK=${WORK:-/tmp/dancu-bench}/$1-$BACKEND; rm -rf "$WORK"; mkdir -p "$WORK"; WORK=$(cd "$WORK" && pwd)
# Keys and secrets the commands make for a PostgreSQL database (`dancu-<db>-*`, in the
# working directory) go into $WORK, not the work tree.
LOAD="$PWD/bench/feed_load.py"; REPO=$PWD
cd "$WORK"
CSV="$(dirname "$WORK")/people-$PEOPLE.csv"
[ -f "$CSV" ] || "$BIN" gen --people "$PEOPLE" --seed 42 --out "$CSV"
export DANCU_LOG=${DANCU_LOG:-warn}
# The audit checkpoints of a PostgreSQL database go beside the bench data, not the work tree.
export DANCU_AUDIT_CHECKPOINT_FILE="$WORK/audit.checkpoints"
PGDB="dancu_bench_$1"
if [ "$BACKEND" = postgres ]; then
  export PGOPTIONS="-c client_min_messages=warning"
  psql -qX "$PG_ADMIN" -c "DROP DATABASE IF EXISTS $PGDB WITH (FORCE)" -c "CREATE DATABASE $PGDB" >/dev/null
  URL="${PG_ADMIN%/*}/$PGDB"; DB=$URL
else
  URL="sqlite://$WORK/feed.db"; DB="$WORK/feed.db"
fi
"$BIN" import citizens "$CSV" --database-url "$URL" --rejects "$WORK/rejects.csv" >/dev/null 2>&1
# 20,000 people spread over the file: the writer changes them in turn.
IDS="$WORK/ids.txt"
awk -F, 'NR>1 && NR % int('"$PEOPLE"'/20000+1) == 0 {print $1}' "$CSV" > "$IDS"

# A partner entitled to the feed's citizen events (full names), nation-wide.
partner() {
  "$BIN" client add --database-url "$URL" --id "$1" --name "Feed bench $1" --grant client_credentials \
    --scope partner:feed >/dev/null 2>&1
  "$BIN" partner entitle "$1" --database-url "$URL" --name "Feed bench $1" --operations feed \
    --feed-kinds citizen.updated,citizen.deceased --fields full_name,life_status \
    --rate 100000 --burst 100000 >/dev/null 2>&1
}

# SQL on the bench database (one value printed).
sql() {
  if [ "$BACKEND" = postgres ]; then psql -qXtA "$URL" -c "$1"
  else python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])' "$DB" "$1"
  fi
}

wait_http() { for _ in $(seq 150); do curl -sf "http://127.0.0.1:$1/healthz" >/dev/null && return 0; sleep 0.2; done; return 1; }
echo "backend $BACKEND, $PEOPLE people, $(nproc) cores, commit $(git -C "$REPO" rev-parse --short HEAD), $(uptime | sed 's/.*load/load/')"
