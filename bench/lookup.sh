#!/usr/bin/env bash
# Look-up of a citizen by personal ID over HTTP vs a constant-answer handler in the same
# server, with N people stored, 64 keep-alive connections, load from wrk on the same
# machine. Also reports the server's peak memory (VmHWM).
#
#   bench/lookup.sh [PEOPLE=1000000] [RUNS=3] [DURATION=15s]   (BACKENDS="sqlite postgres")
# Data is kept in $WORK (default /tmp/dancu-bench) between runs; delete it after a schema change.
# Needs: wrk (apt-get install wrk), PostgreSQL at $PG_URL for the PostgreSQL half.
set -euo pipefail
cd "$(dirname "$0")/.."
PEOPLE=${1:-1000000}; RUNS=${2:-3}; DURATION=${3:-15s}
PG_ADMIN=${PG_ADMIN:-postgres://postgres@127.0.0.1:5432/test}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dancu-target}"
# DANCU_BIN: a dancu binary already built (no build then).
[ -n "${DANCU_BIN:-}" ] || cargo build --release -q -p dancu
BIN=${DANCU_BIN:-$CARGO_TARGET_DIR/release/dancu}
WORK=${WORK:-/tmp/dancu-bench}; mkdir -p "$WORK"
CSV="$WORK/people-$PEOPLE.csv"
[ -f "$CSV" ] || "$BIN" gen --people "$PEOPLE" --seed 42 --out "$CSV"
# 20,000 stored IDs spread over the file.
awk -F, 'NR>1 && NR % int('"$PEOPLE"'/20000+1) == 0 {print $1}' "$CSV" > "$WORK/ids.txt"
export IDS_FILE="$WORK/ids.txt"
PW="bench-password-123"

# CPU time in clock ticks: of one process, and of the whole machine (idle and I/O wait excluded).
proc_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
machine_ticks() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9}' /proc/stat; }
# One wrk run (CONSTANT=$1) against port $2, served by process $3. Besides wrk's figures it
# prints the CPU time per request of the server process and of the whole machine (wrk and,
# for PostgreSQL, the database's processes included): steadier than req/s on a noisy machine.
load() {
  local hz s0 m0 out; hz=$(getconf CLK_TCK); s0=$(proc_ticks "$3"); m0=$(machine_ticks)
  out=$(CONSTANT=$1 wrk -t2 -c64 -d"$DURATION" --latency -s bench/lookup.lua "http://127.0.0.1:$2" | grep RESULT)
  local s1 m1 n; s1=$(proc_ticks "$3"); m1=$(machine_ticks); n=$(echo "$out" | sed 's/.*requests=\([0-9]*\).*/\1/')
  echo "$out $(awk -v s=$((s1 - s0)) -v m=$((m1 - m0)) -v n="$n" -v hz="$hz" 'BEGIN{printf "server_us_per_req=%.1f machine_us_per_req=%.1f", s*1e6/hz/n, m*1e6/hz/n}')"
}

run_backend() {
  local name=$1 url=$2 port=$3
  DANCU_OFFICER_PASSWORD=$PW "$BIN" officer add --database-url "$url" --username bench --display-name Bench --role admin --scope nation >/dev/null 2>&1 || true
  DANCU_LOG=warn DANCU_BENCH_ENDPOINT=true "$BIN" serve --database-url "$url" --listen 127.0.0.1:$port --token-secret-file "$WORK/secret" &
  local pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
  export TOKEN=$(curl -sf -X POST -H 'content-type: application/json' -d "{\"username\":\"bench\",\"password\":\"$PW\"}" "http://127.0.0.1:$port/api/v1/auth/token" | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
  # Warm-up.
  CONSTANT=0 wrk -t2 -c64 -d3s -s bench/lookup.lua "http://127.0.0.1:$port" >/dev/null
  for r in $(seq "$RUNS"); do
    c=$(load 1 "$port" "$pid"); l=$(load 0 "$port" "$pid")
    crps=$(echo "$c" | sed 's/.* rps=\([0-9]*\).*/\1/'); lrps=$(echo "$l" | sed 's/.* rps=\([0-9]*\).*/\1/')
    echo "$name run $r: constant [$c] lookup [$l] ratio=$(awk "BEGIN{printf \"%.2f\", $lrps/$crps}")"
  done
  echo "$name serve peak RSS: $(grep VmHWM /proc/$pid/status)"
  kill -TERM $pid; wait $pid || true
}

BACKENDS=${BACKENDS:-sqlite postgres}
SQLITE_DB="$WORK/lookup-$PEOPLE.db"
if [[ " $BACKENDS " == *" sqlite "* ]]; then
if [ ! -f "$SQLITE_DB" ]; then "$BIN" import citizens "$CSV" --database-url "sqlite://$SQLITE_DB" --rejects "$WORK/rejects.csv"; fi
run_backend sqlite "sqlite://$SQLITE_DB" 18081
fi
[[ " $BACKENDS " == *" postgres "* ]] || exit 0

PGDB="dancu_bench_lookup_$PEOPLE"
if ! psql "$PG_ADMIN" -tAc "select 1 from pg_database where datname='$PGDB'" | grep -q 1; then
  psql "$PG_ADMIN" -qc "create database $PGDB"
  "$BIN" import citizens "$CSV" --database-url "${PG_ADMIN%/*}/$PGDB" --rejects "$WORK/rejects-pg.csv"
fi
run_backend postgres "${PG_ADMIN%/*}/$PGDB" 18082
