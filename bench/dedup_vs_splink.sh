#!/usr/bin/env bash
# Deduplication side by side: `dancu dedup` and Splink (DuckDB backend) on the same file.
#
# Builds the release binary, generates N people with 10% duplicates and a truth file
# (`dancu gen --duplicates 0.1 --truth`), runs `dancu dedup` and
# bench/splink/dedup_splink.py, each under /usr/bin/time -v (wall time, peak RSS), scores
# both with bench/pairwise_f1.py and prints a table with the ratios Splink / dancu.
#
#   bench/dedup_vs_splink.sh 100000
#   bench/dedup_vs_splink.sh 1000000
#   SKIP_SPLINK=1 bench/dedup_vs_splink.sh 1000000     # dancu only
#   SKIP_DANCU=1 bench/dedup_vs_splink.sh 1000000      # Splink only
#   DANCU_BIN=/path/to/dancu bench/dedup_vs_splink.sh N # skip the build
#   DEDUP_MAPPING=MAP.toml  (default: dancu's built-in mapping of its own CSV; with ERRORS
#                            independent-*: crates/matching/configs/sector.toml)
#   RATE=0.1 SEED=42 OUT_DIR=/tmp/dancu-dedup-bench
#   ERRORS=independent-heldout  the independent error model (docs/ERROR_MODEL.md): a sector
#                            list, deduplicated by Splink with bench/splink/dedup_sector_splink.py
#                            from the same columns
#   DATA=FILE TRUTH=FILE     an existing list and truth instead of generating one
#   SPLINK_PY=~/.cache/dancu-splink/bin/python  SPLINK_ARGS="--cluster-threshold 0.95"
#
# Splink setup, outside the repository (bench/splink/requirements.txt pins the versions):
#   python3 -m venv ~/.cache/dancu-splink
#   ~/.cache/dancu-splink/bin/pip install -r bench/splink/requirements.txt
#
# Without `dancu dedup` in the binary the dancu side prints "dancu dedup not available"
# and the Splink side still runs.
set -euo pipefail

cd "$(dirname "$0")/.."
N="${1:-100000}"
RATE="${RATE:-0.1}"
SEED="${SEED:-42}"
ERRORS="${ERRORS:-standard}"
OUT_DIR="${OUT_DIR:-/tmp/dancu-dedup-bench}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dancu-target}"
SPLINK_PY="${SPLINK_PY:-$HOME/.cache/dancu-splink/bin/python}"
mkdir -p "$OUT_DIR"

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

# "h:mm:ss" or "m:ss.ss" -> seconds
to_seconds() {
    awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; printf "%.2f", s }' <<<"$1"
}

# timed NAME CMD...: runs CMD under /usr/bin/time -v, its output in $OUT_DIR/NAME.log;
# sets WALL (s) and RSS_MB.
timed() {
    local name=$1
    shift
    local log="$OUT_DIR/$name.log" tlog="$OUT_DIR/$name.time"
    if ! /usr/bin/time -v -o "$tlog" "$@" >"$log" 2>&1; then
        echo "$name failed; last lines of $log:" >&2
        tail -20 "$log" >&2
        return 1
    fi
    WALL=$(to_seconds "$(grep 'Elapsed (wall clock)' "$tlog" | awk '{print $NF}')")
    RSS_MB=$(($(grep 'Maximum resident set size' "$tlog" | awk '{print $NF}') / 1024))
}

people="${DATA:-$OUT_DIR/people_${ERRORS}_${N}_${RATE}_${SEED}.csv}"
truth="${TRUTH:-$OUT_DIR/truth_${ERRORS}_${N}_${RATE}_${SEED}.csv}"
splink_script=bench/splink/dedup_splink.py
if [[ $ERRORS != standard ]]; then
    DEDUP_MAPPING="${DEDUP_MAPPING:-crates/matching/configs/sector.toml}"
    splink_script=bench/splink/dedup_sector_splink.py
fi
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GB, $(uname -sr), load $(cut -d' ' -f1-3 /proc/loadavg)"
if [[ -z "${DATA:-}" ]]; then
    timed gen "$bin" gen --people "$N" --seed "$SEED" --out "$people" --duplicates "$RATE" --truth "$truth" --errors "$ERRORS"
    echo "gen: $N people (errors $ERRORS, rate $RATE, seed $SEED) in ${WALL} s, peak ${RSS_MB} MB: $people"
    tail -1 "$OUT_DIR/gen.log"
fi
records=$(($(wc -l <"$truth") - 1))
echo "data: $people, $records records"
echo

# f1 CLUSTERS: "precision recall f1" from bench/pairwise_f1.py
f1() {
    python3 bench/pairwise_f1.py --short "$1" "$truth"
}

d_wall="" d_rss="" d_f1="- - -"
if [[ -n "${SKIP_DANCU:-}" ]]; then
    echo "dancu dedup: skipped (SKIP_DANCU)"
elif ! "$bin" dedup --help >/dev/null 2>&1; then
    echo "dancu dedup not available (this binary has no dedup command)"
else
    cfg=()
    [[ -n "${DEDUP_MAPPING:-}" ]] && cfg=(--mapping "$DEDUP_MAPPING")
    out="$OUT_DIR/dancu_clusters_$N.csv"
    if timed dancu "$bin" dedup "${cfg[@]}" --input "$people" --out "$out"; then
        d_wall=$WALL d_rss=$RSS_MB d_f1=$(f1 "$out")
        echo "dancu dedup: ${d_wall} s, peak ${d_rss} MB, precision/recall/F1 $d_f1"
    fi
fi

s_wall="" s_rss="" s_f1="- - -"
if [[ -n "${SKIP_SPLINK:-}" ]]; then
    echo "splink: skipped (SKIP_SPLINK)"
elif [[ ! -x "$SPLINK_PY" ]]; then
    echo "splink not available: no $SPLINK_PY (see the setup at the top of this script)"
else
    out="$OUT_DIR/splink_clusters_$N.csv"
    # shellcheck disable=SC2086
    if timed splink "$SPLINK_PY" "$splink_script" "$people" "$out" ${SPLINK_ARGS:-}; then
        s_wall=$WALL s_rss=$RSS_MB s_f1=$(f1 "$out")
        echo "splink $("$SPLINK_PY" -c 'import splink, duckdb; print(splink.__version__, "duckdb", duckdb.__version__)'): ${s_wall} s, peak ${s_rss} MB, precision/recall/F1 $s_f1"
        grep -E '^\[' "$OUT_DIR/splink.log" | sed 's/^/    /'
    fi
fi

echo
printf '%-8s %10s %12s %10s %10s %8s\n' tool wall_s peak_RSS_MB precision recall F1
read -r dp dr df <<<"$d_f1"
read -r sp sr sf <<<"$s_f1"
printf '%-8s %10s %12s %10s %10s %8s\n' dancu "${d_wall:--}" "${d_rss:--}" "$dp" "$dr" "$df"
printf '%-8s %10s %12s %10s %10s %8s\n' splink "${s_wall:--}" "${s_rss:--}" "$sp" "$sr" "$sf"
if [[ -n $d_wall && -n $s_wall ]]; then
    awk -v dw="$d_wall" -v sw="$s_wall" -v dm="$d_rss" -v sm="$s_rss" 'BEGIN {
        printf "ratios: Splink time / dancu time = %.1f, Splink memory / dancu memory = %.1f\n",
            (dw > 0 ? sw / dw : 0), (dm > 0 ? sm / dm : 0) }'
fi
echo "records: $records ($N people), files in $OUT_DIR"
