#!/usr/bin/env bash
# The cost of the outbox triggers (migration 0020) on `dancu import citizens`: the same
# file imported into a fresh database with the triggers (as shipped) and with them dropped
# before the import, on SQLite and PostgreSQL. Prints rows/s and the machine's CPU seconds.
#
#   bench/feed_import.sh [PEOPLE=100000] [RUNS=3]     (BIN=path/to/dancu to skip the build)
set -euo pipefail
cd "$(dirname "$0")/.."
PEOPLE=${1:-100000}; RUNS=${2:-3}
PG_ADMIN=${PG_ADMIN:-postgres://postgres@127.0.0.1:5432/postgres}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dancu-target}"
export PGOPTIONS="-c client_min_messages=warning"
if [ -z "${BIN:-}" ]; then cargo build --release -q -p dancu; BIN="$CARGO_TARGET_DIR/release/dancu"; fi
WORK=${WORK:-/tmp/dancu-bench}; mkdir -p "$WORK"
CSV="$WORK/people-$PEOPLE.csv"
[ -f "$CSV" ] || "$BIN" gen --people "$PEOPLE" --seed 42 --out "$CSV"
machine_ticks() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9}' /proc/stat; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for backend in sqlite postgres; do
  for triggers in on off; do
    rates=()
    for r in $(seq "$RUNS"); do
      if [ $backend = sqlite ]; then
        rm -f "$WORK"/fimp.db* "$WORK"/fimp.audit*; url="sqlite://$WORK/fimp.db"
      else
        psql "$PG_ADMIN" -qc "drop database if exists dancu_bench_fimp" -c "create database dancu_bench_fimp"
        url="${PG_ADMIN%/*}/dancu_bench_fimp"
      fi
      # Opening the database runs the migrations.
      DANCU_LOG=warn "$BIN" partner list --database-url "$url" >/dev/null
      if [ $triggers = off ]; then
        if [ $backend = sqlite ]; then
          sqlite3 "$WORK/fimp.db" "DROP TRIGGER outbox_citizen_insert; DROP TRIGGER outbox_citizen_household; DROP TRIGGER outbox_citizen_update;"
        else
          psql "$url" -qc "DROP TRIGGER outbox_citizen_created ON citizens" -c "DROP TRIGGER outbox_citizen ON citizens"
        fi
      fi
      m0=$(machine_ticks)
      line=$(DANCU_LOG=warn "$BIN" import citizens "$CSV" --database-url "$url" --rejects "$WORK/fimp-rejects.csv" 2>&1 | grep -E "rows/s" | tr '\n' ' ')
      m1=$(machine_ticks)
      rate=$(echo "$line" | sed -n 's/.*(\([0-9]*\) rows\/s).*/\1/p')
      echo "$backend triggers=$triggers run $r: $rate rows/s machine_cpu_s=$(awk -v t=$((m1 - m0)) -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.1f", t/hz}')"
      rates+=("$rate")
    done
    echo "$backend triggers=$triggers median rows/s: $(printf '%s\n' "${rates[@]}" | median)"
  done
done
