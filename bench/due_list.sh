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
source "$(dirname "$0")/store_example.sh" due_bench

"$BIN" "$SQLITE_URL" "$PEOPLE" --runs "$RUNS" --within "$WITHIN"
"$BIN" "$PG_DB_URL" "$PEOPLE" --runs "$RUNS" --within "$WITHIN"
