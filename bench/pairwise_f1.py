#!/usr/bin/env python3
"""Pairwise precision, recall and F1 of a clustering against a truth file.

    python3 bench/pairwise_f1.py clusters.csv truth.csv

clusters.csv: `record_id,cluster_id` (what `dancu dedup` and bench/splink/dedup_splink.py
write); truth.csv: `record_id,person_id` (what `dancu gen --duplicates --truth` writes).
Columns are found by name; extra columns are ignored. A record of the truth file missing
from the clusters file counts as a cluster of its own (and is reported); a record of the
clusters file missing from the truth file is an error.

A pair of records is predicted when both are in one cluster, true when both are of one
person. The counts come from group sizes, never from listing pairs:
    predicted = sum over clusters of C(n, 2)
    true      = sum over persons of C(n, 2)
    both      = sum over (cluster, person) of C(n, 2)
so it runs in linear time and memory for millions of rows. Standard library only.
Prints one line `precision P recall R f1 F ...`; with --json a JSON object, with --short
only `P R F`.
"""

import argparse
import csv
import json
import sys
from collections import Counter


def pairs(n):
    return n * (n - 1) // 2


def read_map(path, key, value):
    with open(path, newline="", encoding="utf-8") as f:
        r = csv.reader(f)
        header = next(r)
        try:
            ki, vi = header.index(key), header.index(value)
        except ValueError:
            sys.exit(f"{path}: needs columns {key!r} and {value!r}, has {header}")
        m = {}
        for line, row in enumerate(r, start=2):
            if not row:
                continue
            k = row[ki]
            if k in m:
                sys.exit(f"{path}:{line}: {key} {k!r} appears twice")
            m[k] = row[vi]
        return m


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("clusters")
    ap.add_argument("truth")
    ap.add_argument("--json", action="store_true", help="print a JSON object")
    ap.add_argument("--short", action="store_true", help="print only `precision recall f1`")
    args = ap.parse_args()

    truth = read_map(args.truth, "record_id", "person_id")
    clusters = read_map(args.clusters, "record_id", "cluster_id")
    unknown = [r for r in clusters if r not in truth]
    if unknown:
        sys.exit(f"{args.clusters}: {len(unknown)} record ids not in the truth file, e.g. {unknown[0]!r}")

    missing = 0
    cluster_sizes, person_sizes, joint = Counter(), Counter(), Counter()
    for rid, person in truth.items():
        c = clusters.get(rid)
        if c is None:
            missing += 1
            c = ("singleton", rid)
        cluster_sizes[c] += 1
        person_sizes[person] += 1
        joint[(c, person)] += 1

    predicted = sum(pairs(n) for n in cluster_sizes.values())
    true = sum(pairs(n) for n in person_sizes.values())
    both = sum(pairs(n) for n in joint.values())
    precision = both / predicted if predicted else 1.0
    recall = both / true if true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    result = {
        "records": len(truth),
        "persons": len(person_sizes),
        "clusters": len(cluster_sizes),
        "true_pairs": true,
        "predicted_pairs": predicted,
        "correct_pairs": both,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "missing_from_clusters": missing,
    }
    if args.json:
        print(json.dumps(result))
    elif args.short:
        print(f"{precision:.4f} {recall:.4f} {f1:.4f}")
    else:
        print(
            f"precision {precision:.4f} recall {recall:.4f} f1 {f1:.4f} "
            f"(records {len(truth)}, persons {len(person_sizes)}, clusters {len(cluster_sizes)}, "
            f"true pairs {true}, predicted {predicted}, correct {both})"
        )
    if missing:
        print(f"warning: {missing} records of the truth file are not in {args.clusters}", file=sys.stderr)


if __name__ == "__main__":
    main()
