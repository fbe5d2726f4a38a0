#!/usr/bin/env bash
# Working-day due dates per second (issue 14: ≥ 1,000,000 per second): the application
# engine's computation (`Service::due_date` over the shipped calendar) for receipt days
# spread over 2020–2035 and services of the shipped catalogue, COUNT per run, RUNS runs,
# median printed last. Release build of crates/domain/examples/working_days_bench.rs.
#
#   bench/due_dates.sh [COUNT=10000000] [RUNS=5]
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${1:-10000000}; RUNS=${2:-5}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dancu-target}"
cargo build --release -q -p dancu-domain --example working_days_bench
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$CARGO_TARGET_DIR/release/examples/working_days_bench" "$COUNT" "$RUNS"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
