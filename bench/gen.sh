#!/usr/bin/env bash
# Benchmark of the synthetic population generator (crates/gen).
#
# Builds the release binary, then times `dancu gen --people N --seed 42 --out FILE` RUNS
# times for 1,000,000 people and for 100,000 people (to show that memory does not grow
# with N), and prints the median wall time and the peak RSS of each size. It also checks
# that every run wrote N rows and byte-identical files.
#
# Uses target/release/dancu if it builds and has the `gen` subcommand; otherwise the
# example binary of crates/gen (same code path: dancu_gen::generate_to_path).
#
#   bench/gen.sh                 # 5 runs each
#   RUNS=9 bench/gen.sh
#   GEN_BIN=/path/to/dancu bench/gen.sh     # skip the build, use this binary
#   USE_EXAMPLE=1 bench/gen.sh              # do not build the whole dancu binary
#
# Notes and measured figures: bench/README-gen.md.
set -euo pipefail

cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dancu-target}"
RUNS="${RUNS:-5}"
OUT_DIR="${OUT_DIR:-/tmp}"
SIZES="${SIZES:-1000000 100000}"

if [[ ! -x /usr/bin/time ]]; then
    echo "needs GNU time (/usr/bin/time): apt-get install time" >&2
    exit 1
fi

bin=()
if [[ -n "${GEN_BIN:-}" ]]; then
    bin=("$GEN_BIN" gen)
elif [[ -z "${USE_EXAMPLE:-}" ]] && cargo build --release -q -p dancu 2>/dev/null \
    && "$CARGO_TARGET_DIR/release/dancu" gen --help >/dev/null 2>&1; then
    bin=("$CARGO_TARGET_DIR/release/dancu" gen)
else
    echo "(dancu gen not available: using the example binary of crates/gen)" >&2
    cargo build --release -q -p dancu-gen --example gen
    bin=("$CARGO_TARGET_DIR/release/examples/gen")
fi
echo "binary: ${bin[*]}"
echo "machine: $(nproc) cores, $(uname -sr), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo

# "h:mm:ss" or "m:ss.ss" -> seconds
to_seconds() {
    awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; printf "%.2f", s }' <<<"$1"
}

median() {
    sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.2f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

printf '%-10s %-6s %-10s %-12s %-10s\n' people run wall_s peak_rss_MB file_MB
for n in $SIZES; do
    out="$OUT_DIR/gen$((n / 1000))k.csv"
    [[ $n -eq 1000000 ]] && out="$OUT_DIR/gen1m.csv"
    walls=()
    rss_max=0
    first_sum=""
    for run in $(seq 1 "$RUNS"); do
        log=$(mktemp)
        /usr/bin/time -v "${bin[@]}" --people "$n" --seed 42 --out "$out" 2>"$log" >/dev/null
        wall=$(to_seconds "$(grep 'Elapsed (wall clock)' "$log" | awk '{print $NF}')")
        rss_kb=$(grep 'Maximum resident set size' "$log" | awk '{print $NF}')
        rm -f "$log"
        rows=$(($(wc -l <"$out") - 1))
        if [[ $rows -ne $n ]]; then
            echo "expected $n rows, got $rows" >&2
            exit 1
        fi
        sum=$(sha256sum "$out" | cut -c1-16)
        if [[ -z $first_sum ]]; then
            first_sum=$sum
        elif [[ $sum != "$first_sum" ]]; then
            echo "run $run wrote a different file ($sum vs $first_sum): output is not deterministic" >&2
            exit 1
        fi
        walls+=("$wall")
        ((rss_kb > rss_max)) && rss_max=$rss_kb
        printf '%-10s %-6s %-10s %-12s %-10s\n' "$n" "$run" "$wall" "$((rss_kb / 1024))" "$(($(stat -c %s "$out") / 1048576))"
    done
    med=$(printf '%s\n' "${walls[@]}" | median)
    echo "== $n people: median wall ${med} s over $RUNS runs, peak RSS $((rss_max / 1024)) MB, sha256 ${first_sum}…"
    echo
done
