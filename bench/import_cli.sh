#!/usr/bin/env bash
# End-to-end `dancu import citizens` of a `dancu gen` file (CSV parsing, validation,
# storage, index rebuild) into a fresh SQLite file and a fresh PostgreSQL database.
#
#   bench/import_cli.sh [PEOPLE=1000000] [RUNS=3]
set -euo pipefail
cd "$(dirname "$0")/.."
PEOPLE=${1:-1000000}; RUNS=${2:-3}
PG_ADMIN=${PG_ADMIN:-postgres://postgres@127.0.0.1:5432/test}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dancu-target}"
export PGOPTIONS="-c client_min_messages=warning"
cargo build --release -q -p dancu
BIN="$CARGO_TARGET_DIR/release/dancu"
WORK=${WORK:-/tmp/dancu-bench}; mkdir -p "$WORK"
CSV="$WORK/people-$PEOPLE.csv"
[ -f "$CSV" ] || "$BIN" gen --people "$PEOPLE" --seed 42 --out "$CSV"

machine_ticks() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9}' /proc/stat; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
rate() { sed -n 's/.*(\([0-9]*\) rows\/s).*/\1/p'; }
for backend in sqlite postgres; do
  rates=()
  for r in $(seq "$RUNS"); do
    if [ $backend = sqlite ]; then
      rm -f "$WORK"/imp.db*; url="sqlite://$WORK/imp.db"
    else
      psql "$PG_ADMIN" -qc "drop database if exists dancu_bench_imp" -c "create database dancu_bench_imp"
      url="${PG_ADMIN%/*}/dancu_bench_imp"
    fi
    m0=$(machine_ticks)
    line=$(DANCU_LOG=warn /usr/bin/time -f "peak_rss_kb=%M client_cpu_s=%U+%S" "$BIN" import citizens "$CSV" --database-url "$url" --rejects "$WORK/imp-rejects.csv" 2>&1 | grep -E "rows/s|peak_rss" | tr '\n' ' ')
    m1=$(machine_ticks)
    # The machine's CPU time during the run: the importer's plus, for PostgreSQL, the
    # server's (idle and I/O wait excluded). On 2 cores, 1,000,000 rows at 150,000 rows/s
    # leave at most 13.3 CPU seconds for both.
    echo "$backend run $r: $line machine_cpu_s=$(awk -v t=$((m1 - m0)) -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.1f", t/hz}')"
    rates+=("$(echo "$line" | rate)")
  done
  echo "$backend median rows/s: $(printf '%s\n' "${rates[@]}" | median)"
done
