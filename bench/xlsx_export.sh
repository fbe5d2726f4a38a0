#!/usr/bin/env bash
# XLSX export of search results: ROWS (default 100,000) generated rows through the same sheet
# builder and writer as `GET /search?format=xlsx` (crates/server/src/web/export.rs), timed RUNS
# (default 5) times in one process; prints the median. Target (issue 12): ≤ 3 s for 100,000.
#
#   bench/xlsx_export.sh [ROWS] [RUNS]
#   CARGO_TARGET_DIR=... bench/xlsx_export.sh   # a release target dir of your own
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-100000}
RUNS=${2:-5}
cargo build --release --locked --workspace --example xlsx_export
BIN="${CARGO_TARGET_DIR:-target}/release/examples/xlsx_export"
OUT=$(mktemp --suffix=.xlsx)
trap 'rm -f "$OUT"' EXIT
"$BIN" "$ROWS" "$RUNS" "$OUT"
