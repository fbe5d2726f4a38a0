-- Registry deduplication (issue 4): candidate pairs with their evidence, the officers'
-- decisions, and merges with everything they moved (so an administrator can undo one).
-- A pair is stored once (left_id < right_id); a rejected pair is never proposed again.

ALTER TABLE citizens ADD COLUMN merged_into TEXT;

CREATE TABLE dedup_candidates (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    left_id        TEXT NOT NULL REFERENCES citizens (personal_id),
    right_id       TEXT NOT NULL REFERENCES citizens (personal_id),
    weight_milli   INTEGER NOT NULL,
    probability    TEXT NOT NULL,
    evidence       TEXT NOT NULL,
    left_province  TEXT NOT NULL,
    left_commune   TEXT NOT NULL,
    right_province TEXT NOT NULL,
    right_commune  TEXT NOT NULL,
    status         TEXT NOT NULL,
    found_at       TEXT NOT NULL,
    decided_at     TEXT,
    decided_by     TEXT,
    reason         TEXT NOT NULL DEFAULT '',
    UNIQUE (left_id, right_id)
);

CREATE INDEX dedup_candidates_left ON dedup_candidates (left_commune, status);
CREATE INDEX dedup_candidates_right ON dedup_candidates (right_commune, status);

CREATE TABLE dedup_merges (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    candidate_id INTEGER NOT NULL REFERENCES dedup_candidates (id),
    kept_id      TEXT NOT NULL,
    merged_id    TEXT NOT NULL,
    moved        TEXT NOT NULL,
    at           TEXT NOT NULL,
    by_actor     TEXT NOT NULL,
    undone_at    TEXT,
    undone_by    TEXT
);
