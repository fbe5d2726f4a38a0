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
source "$(dirname "$0")/store_example.sh" transition_bench

"$BIN" "$SQLITE_URL" "$APPS" --concurrency "$CONC"
"$BIN" "$PG_DB_URL" "$APPS" --concurrency "$CONC"
