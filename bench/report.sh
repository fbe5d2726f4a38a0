#!/usr/bin/env bash
# A province's monthly Project 06 report (issue 16: ≤ 2 s to compute and render all
# formats over 10,000,000 applications and 1,000,000 citizens; the dashboard ≤ 200 ms p95).
# PEOPLE citizens (`dancu gen`, imported) and APPS applications over the last two years
# (crates/store/examples/seed_applications.rs), then crates/report/examples/report_bench.rs
# on the busiest province for the last full month: the report computed and rendered as
# DOCX, PDF, XLSX and HTML, and the dashboard's work (figures and 12-month trend) RUNS
# times. The dashboard is timed without HTTP (the page adds rendering of a few kB).
#
#   bench/report.sh [APPS=1000000] [PEOPLE=100000] [RUNS=20]   (BACKENDS="sqlite postgres")
# PROFILE=release (default) or dev. REPEAT=3 (default) runs of the timing program per backend
# (the report's median is over them). Data is kept in $WORK (default /tmp/dancu-report-bench);
# the seed (a bulk load: see seed_applications.rs) runs once per backend and data size.
set -euo pipefail
cd "$(dirname "$0")/.."
APPS=${1:-1000000}; PEOPLE=${2:-100000}; RUNS=${3:-20}
PG_ADMIN=${PG_ADMIN:-postgres://postgres@127.0.0.1:5432/test}
PROFILE=${PROFILE:-release}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dancu-target}"
FLAG=$([ "$PROFILE" = release ] && echo --release || echo "")
DIR=$([ "$PROFILE" = release ] && echo release || echo debug)
cargo build $FLAG -q -p dancu
cargo build $FLAG -q -p dancu-store --example seed_applications
cargo build $FLAG -q -p dancu-report --example report_bench
BIN=$CARGO_TARGET_DIR/$DIR/dancu
SEED=$CARGO_TARGET_DIR/$DIR/examples/seed_applications
BENCH=$CARGO_TARGET_DIR/$DIR/examples/report_bench
WORK=${WORK:-/tmp/dancu-report-bench}; mkdir -p "$WORK"
CSV="$WORK/people-$PEOPLE.csv"
[ -f "$CSV" ] || "$BIN" gen --people "$PEOPLE" --seed 16 --out "$CSV" >/dev/null
export DANCU_LOG=${DANCU_LOG:-warn}
export DANCU_AUDIT_KEY_FILE="$WORK/audit.key"
PERIOD=$(date -u -d "$(date -u +%Y-%m-01) -1 day" +%Y-%m)

for name in ${BACKENDS:-sqlite postgres}; do
  case $name in
    sqlite) url="sqlite://$WORK/report.db" ;;
    postgres) url="${PG_ADMIN%/*}/dancu_report_bench" ;;
  esac
  export DANCU_AUDIT_CHECKPOINT_FILE="$WORK/$name.audit.checkpoints"
  if [ ! -f "$WORK/$name.ready" ]; then
    if [ "$name" = postgres ]; then
      psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS dancu_report_bench" -c "CREATE DATABASE dancu_report_bench"
    fi
    t0=$SECONDS
    "$BIN" import citizens "$CSV" --database-url "$url" --rejects "$WORK/rejects-$name.csv" >/dev/null
    echo "$name: imported $PEOPLE people in $((SECONDS - t0)) s"
    "$SEED" "$url" "$APPS" 2> >(tee "$WORK/$name.seed.log" >&2) | tee "$WORK/$name.seed"
    touch "$WORK/$name.ready"
  fi
  province=$(sed -n 's/^BUSIEST_PROVINCE=\([0-9]*\).*/\1/p' "$WORK/$name.seed")
  echo "== $name, $APPS applications, $PEOPLE people, province $province, period $PERIOD ($PROFILE)"
  for _ in $(seq "${REPEAT:-3}"); do
    "$BENCH" "$url" "$province" "$PERIOD" "$RUNS"
  done
done
