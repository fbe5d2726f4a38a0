#!/usr/bin/env bash
# Per-citizen audit of a 50-row search page against query-only audit (issue 10), on
# SQLite and PostgreSQL, in alternating rounds within one process per backend.
#   bench/search_audit.sh [CITIZENS] [SEARCHES_PER_ROUND]
set -euo pipefail
N=${1:-20000}
S=${2:-2000}
source "$(dirname "$0")/store_example.sh" search_audit_bench
echo "== sqlite"; "$BIN" "$SQLITE_URL" "$N" --searches "$S"
echo "== postgres"; "$BIN" "$PG_DB_URL" "$N" --searches "$S"
