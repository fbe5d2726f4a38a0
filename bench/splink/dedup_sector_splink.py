#!/usr/bin/env python3
"""Deduplicates the sector list of `dancu gen --errors independent-…` (docs/ERROR_MODEL.md)
with Splink (DuckDB backend), untuned, from the same columns dancu's mapping
(crates/matching/configs/sector.toml) reads: name, birth date, sex, personal ID, phone,
street address, commune and province text, and the commune code with legacy codes already
mapped to 2025 (data/admin-units/ward_old_to_new.csv; a split commune takes its first
2025 candidate). Writes `record_id,cluster_id`.

    ~/.cache/dancu-splink/bin/python bench/splink/dedup_sector_splink.py list.csv clusters.csv

The cleaning is what a Splink user does to any list: lower case, accents stripped, the full
name split into first word / last word / the rest, dates parsed with the list's format
(year-only dates are NULL), phone reduced to its last 9 digits, empty strings as NULL. The
recipe is Splink's documented one (the same as dedup_splink.py), with the prediction
blocking rules given no shared province or commune except where a Splink user would.
"""

import argparse
import csv
import os
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
    ap.add_argument("input")
    ap.add_argument("out")
    ap.add_argument("--predict-threshold", type=float, default=0.5)
    ap.add_argument("--cluster-threshold", type=float, default=0.95)
    ap.add_argument("--u-max-pairs", type=float, default=1e7)
    args = ap.parse_args()

    t0 = time.monotonic()
    log(t0, f"splink {splink.__version__}, duckdb {duckdb.__version__}")
    con = duckdb.connect()
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    wards = os.path.join(root, "data", "admin-units", "ward_old_to_new.csv").replace("'", "''")
    con.execute(f"""
        CREATE TABLE old_to_new AS
        SELECT old_ward_code, min(new_ward_code) AS new_ward_code
        FROM read_csv('{wards}', header = true, all_varchar = true)
        GROUP BY old_ward_code
    """).fetchall()
    src = args.input.replace("'", "''")
    con.execute(f"""
        CREATE TABLE raw AS
        SELECT * FROM read_csv('{src}', header = true, all_varchar = true, quote = '"', escape = '"')
    """).fetchall()
    con.execute("""
        CREATE TABLE people AS
        WITH n AS (
            SELECT *, string_split(trim(regexp_replace(lower(strip_accents(replace(replace(coalesce(ho_ten, ''), 'đ', 'd'), 'Đ', 'D'))), '\\s+', ' ', 'g')), ' ') AS w
            FROM raw
        )
        SELECT
            stt AS record_id,
            NULLIF(w[1], '') AS first_word,
            NULLIF(CASE WHEN len(w) > 1 THEN w[len(w)] END, '') AS last_word,
            NULLIF(array_to_string(w[2:len(w) - 1], ' '), '') AS middle_words,
            NULLIF(array_to_string(w, ' '), '') AS full_name,
            CAST(try_strptime(ngay_sinh, '%d/%m/%Y') AS DATE) AS dob,
            NULLIF(lower(strip_accents(gioi_tinh)), '') AS sex,
            NULLIF(so_dinh_danh, '') AS personal_id,
            NULLIF(right(regexp_replace(coalesce(dien_thoai, ''), '[^0-9]', '', 'g'), 9), '') AS phone,
            NULLIF(lower(strip_accents(dia_chi)), '') AS address,
            NULLIF(lower(strip_accents(xa)), '') AS commune_name,
            NULLIF(lower(strip_accents(tinh)), '') AS province_name,
            CASE
                WHEN ma_xa LIKE '2025:%' THEN substr(ma_xa, 6)
                WHEN ma_xa LIKE 'legacy:%' THEN (SELECT new_ward_code FROM old_to_new o WHERE o.old_ward_code = substr(ma_xa, 8))
            END AS unit
        FROM n
    """).fetchall()
    n = con.execute("SELECT count(*) FROM people").fetchall()[0][0]
    log(t0, f"read {n} records")

    db_api = DuckDBAPI(connection=con)
    df = db_api.register("people")
    settings = SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="record_id",
        comparisons=[
            cl.JaroWinklerAtThresholds("first_word", [0.9, 0.7]).configure(term_frequency_adjustments=True),
            cl.JaroWinklerAtThresholds("middle_words", [0.9, 0.7]),
            cl.JaroWinklerAtThresholds("last_word", [0.9, 0.7]).configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("dob", input_is_string=False),
            cl.ExactMatch("sex"),
            cl.LevenshteinAtThresholds("personal_id", 1),
            cl.ExactMatch("phone"),
            cl.JaroWinklerAtThresholds("address", [0.9, 0.7]),
            cl.ExactMatch("unit").configure(term_frequency_adjustments=True),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("personal_id"),
            block_on("last_word", "dob"),
            block_on("first_word", "last_word", "unit"),
            block_on("dob", "unit"),
            block_on("full_name", "substr(CAST(dob AS VARCHAR), 1, 4)"),
            block_on("phone"),
        ],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )
    linker = Linker(df, settings, log_level=None)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("personal_id", "dob"), block_on("first_word", "last_word", "dob", "unit")],
        recall=0.7,
    )
    log(t0, "estimated the probability that two random records match")
    linker.training.estimate_u_using_random_sampling(max_pairs=args.u_max_pairs, seed=1)
    log(t0, "estimated u by random sampling")
    for cols in (("first_word", "dob"), ("last_word", "unit")):
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
