#!/usr/bin/env python3
"""Deduplicates a citizen CSV written by `dancu gen --duplicates` with Splink (DuckDB
backend), the way Splink's documentation does it: light cleaning, blocking rules,
probability that two random records match from deterministic rules, u from random
sampling, m by expectation maximisation on two blocking rules, Jaro-Winkler name
comparisons, date and exact comparisons, predict, connected-components clustering at a
threshold. Writes `record_id,cluster_id` (the same shape as `dancu dedup --out`).

    ~/.cache/dancu-splink/bin/python bench/splink/dedup_splink.py people.csv clusters.csv

Setup (outside the repository):
    python3 -m venv ~/.cache/dancu-splink
    ~/.cache/dancu-splink/bin/pip install -r bench/splink/requirements.txt

Nothing here is tuned to Vietnamese names: that is the point of the comparison (issue 4).
The cleaning is what a Splink user does to any list: lower case, accents stripped (DuckDB
`strip_accents`), empty strings as NULL.
"""

import argparse
import sys
import time

import duckdb
import splink
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on


def log(t0, msg):
    print(f"[{time.monotonic() - t0:7.1f} s] {msg}", file=sys.stderr, flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input", help="CSV from dancu gen --duplicates (with record_id, phone)")
    ap.add_argument("out", help="clusters CSV to write: record_id,cluster_id")
    ap.add_argument("--predict-threshold", type=float, default=0.5,
                    help="keep scored pairs with at least this match probability (default 0.5)")
    ap.add_argument("--cluster-threshold", type=float, default=0.95,
                    help="link pairs with at least this match probability (default 0.95)")
    ap.add_argument("--u-max-pairs", type=float, default=1e7,
                    help="pairs sampled to estimate u (default 1e7)")
    ap.add_argument("--em", choices=["tight", "dob"], default="tight",
                    help="EM blocking rules: 'tight' (default): family_name+dob, then "
                         "given_name+permanent_unit (about 8 million pairs at 1M records); "
                         "'dob': dob, then given_name+permanent_unit, as in Splink's 50k "
                         "deduplication example (about 38 million pairs at 1M records)")
    ap.add_argument("--threads", type=int, default=None, help="DuckDB threads (default: all cores)")
    args = ap.parse_args()

    t0 = time.monotonic()
    log(t0, f"splink {splink.__version__}, duckdb {duckdb.__version__}")
    con = duckdb.connect()
    if args.threads:
        con.execute(f"SET threads = {int(args.threads)}").fetchall()
    src = args.input.replace("'", "''")
    con.execute(f"""
        CREATE TABLE people AS
        SELECT
            record_id,
            NULLIF(lower(strip_accents(trim(family_name))), '') AS family_name,
            NULLIF(lower(strip_accents(trim(middle_name))), '') AS middle_name,
            NULLIF(lower(strip_accents(trim(given_name))), '') AS given_name,
            NULLIF(trim(birth_date), '') AS dob,
            NULLIF(sex, '') AS sex,
            NULLIF(personal_id, '') AS personal_id,
            NULLIF(phone, '') AS phone,
            NULLIF(permanent_unit, '') AS permanent_unit
        FROM read_csv('{src}', header = true, all_varchar = true, quote = '"', escape = '"')
    """).fetchall()
    n = con.execute("SELECT count(*) FROM people").fetchall()[0][0]
    log(t0, f"read {n} records")

    db_api = DuckDBAPI(connection=con)
    df = db_api.register("people")

    settings = SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="record_id",
        comparisons=[
            cl.JaroWinklerAtThresholds("family_name", [0.9, 0.7]).configure(term_frequency_adjustments=True),
            cl.JaroWinklerAtThresholds("middle_name", [0.9, 0.7]),
            cl.JaroWinklerAtThresholds("given_name", [0.9, 0.7]).configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("dob", input_is_string=True),
            cl.ExactMatch("sex"),
            cl.LevenshteinAtThresholds("personal_id", 1),
            cl.ExactMatch("phone"),
            cl.ExactMatch("permanent_unit").configure(term_frequency_adjustments=True),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("personal_id"),
            block_on("given_name", "dob"),
            block_on("family_name", "given_name", "permanent_unit"),
            block_on("dob", "permanent_unit"),
            block_on("phone"),
        ],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )
    linker = Linker(df, settings, log_level=None)

    linker.training.estimate_probability_two_random_records_match(
        [block_on("personal_id", "dob"), block_on("family_name", "given_name", "dob", "permanent_unit")],
        recall=0.7,
    )
    log(t0, "estimated the probability that two random records match")
    linker.training.estimate_u_using_random_sampling(max_pairs=args.u_max_pairs, seed=1)
    log(t0, "estimated u by random sampling")
    # Two EM passes whose blocking columns differ, so that every comparison is trained once.
    first = ("family_name", "dob") if args.em == "tight" else ("dob",)
    for cols in (first, ("given_name", "permanent_unit")):
        linker.training.estimate_parameters_using_expectation_maximisation(block_on(*cols))
        log(t0, f"EM on block_on({', '.join(cols)})")

    pairs = linker.inference.predict(threshold_match_probability=args.predict_threshold)
    npairs = con.execute(f"SELECT count(*) FROM {pairs.physical_name}").fetchall()[0][0]
    log(t0, f"predicted {npairs} pairs at match probability >= {args.predict_threshold}")
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        pairs, threshold_match_probability=args.cluster_threshold
    )
    out = args.out.replace("'", "''")
    con.execute(f"""
        COPY (SELECT record_id, cluster_id FROM {clusters.physical_name} ORDER BY record_id)
        TO '{out}' (HEADER, DELIMITER ',')
    """).fetchall()
    log(t0, f"clustered at {args.cluster_threshold} and wrote {args.out}")


if __name__ == "__main__":
    main()
