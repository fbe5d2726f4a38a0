#!/usr/bin/env bash
# Benchmark of the matching engine (crates/matching): deduplication quality, time and memory.
#
# For each size N: generates N people with 10 % duplicates (`dancu gen --duplicates 0.1
# --truth`), runs `dancu dedup` under GNU time, and prints wall time, peak RSS, blocking
# recall and pairwise precision / recall / F1 against the truth file. With RECONCILE=1 it
# also times `dancu reconcile` of the first N rows of the duplicated file (a sector list
# with planted errors) against a registry of the N original people.
#
#   bench/dedup.sh                        # 100,000 and 1,000,000 people
#   SIZES=10000000 bench/dedup.sh         # 10 M (needs ~3 GB of disk in OUT_DIR)
#   RECONCILE=1 bench/dedup.sh
#   DANCU_BIN=/path/to/dancu bench/dedup.sh   # skip the build
#
# Targets (issue 4): 1 M records, 10 % duplicates: F1 ≥ 0.97, ≤ 15 s, ≤ 2 GB;
# 10 M: ≤ 4 min, ≤ 10 GB; reconcile 1 M against 1 M: ≤ 30 s.
set -euo pipefail

cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dancu-target}"
OUT_DIR="${OUT_DIR:-/tmp/dancu-dedup-bench}"
SIZES="${SIZES:-100000 1000000}"
SEED="${SEED:-42}"
RATE="${RATE:-0.1}"

if [[ ! -x /usr/bin/time ]]; then
    echo "needs GNU time (/usr/bin/time): apt-get install time" >&2
    exit 1
fi
if [[ -n "${DANCU_BIN:-}" ]]; then
    bin="$DANCU_BIN"
else
    cargo build --release -q -p dancu
    bin="$CARGO_TARGET_DIR/release/dancu"
fi
mkdir -p "$OUT_DIR"

# Runs a command under GNU time; prints its output and "wall_s peak_mb" on the last line.
timed() {
    local log="$OUT_DIR/time.log"
    /usr/bin/time -v "$@" 2>"$log.err" >"$log.out" || { cat "$log.err" >&2; exit 1; }
    cat "$log.out"
    grep -v "^\s*\(Command\|User\|System\|Percent\|Elapsed\|Average\|Maximum\|Major\|Minor\|Volun\|Invol\|Swaps\|File\|Socket\|Signals\|Page\|Exit\)" "$log.err" >&2 || true
    local wall rss
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,t,":"); s=0; for(i=1;i<=n;i++) s=s*60+t[i]; print s}' "$log.err")
    rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$log.err")
    echo "wall ${wall} s, peak RSS ${rss} MB"
}

for n in $SIZES; do
    data="$OUT_DIR/people-$n.csv"
    truth="$OUT_DIR/truth-$n.csv"
    if [[ ! -s "$data" || ! -s "$truth" ]]; then
        "$bin" gen --people "$n" --seed "$SEED" --duplicates "$RATE" --truth "$truth" --out "$data"
    fi
    echo "== dedup: $n people + $RATE duplicates ($(($(wc -l <"$data") - 1)) records) on $(nproc) cores"
    echo "   $bin dedup --input $data --out $OUT_DIR/clusters-$n.csv --truth $truth"
    timed "$bin" dedup --input "$data" --out "$OUT_DIR/clusters-$n.csv" --truth "$truth"
    if [[ -n "${RECONCILE:-}" ]]; then
        registry="$OUT_DIR/registry-$n.csv"
        sector="$OUT_DIR/sector-$n.csv"
        [[ -s "$registry" ]] || "$bin" gen --people "$n" --seed "$SEED" --out "$registry"
        [[ -s "$sector" ]] || head -n "$((n + 1))" "$data" >"$sector"
        echo "== reconcile: $n sector rows against a registry of $n"
        echo "   $bin reconcile --input $sector --registry $registry --out $OUT_DIR/result-$n.csv --summary $OUT_DIR/summary-$n.csv"
        timed "$bin" reconcile --input "$sector" --registry "$registry" \
            --out "$OUT_DIR/result-$n.csv" --summary "$OUT_DIR/summary-$n.csv"
    fi
done
