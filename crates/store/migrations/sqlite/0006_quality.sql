-- Data-quality rules and worklists (issue 4, part 6). A run evaluates every rule over the
-- whole registry and keeps its findings; only the latest run's findings are kept (the next
-- run compares against them), while the counts per run, rule and unit are kept for ever.
-- A finding's subject is a personal ID, or a household number for household rules.

CREATE TABLE quality_runs (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    by TEXT NOT NULL
);

CREATE TABLE quality_findings (
    run_id         INTEGER NOT NULL REFERENCES quality_runs (id),
    rule           TEXT NOT NULL,
    subject        TEXT NOT NULL,
    scope_province TEXT NOT NULL,
    scope_commune  TEXT NOT NULL,
    detail         TEXT NOT NULL,
    PRIMARY KEY (run_id, rule, subject)
) WITHOUT ROWID;

CREATE INDEX quality_findings_commune ON quality_findings (scope_commune, rule, subject);
CREATE INDEX quality_findings_province ON quality_findings (scope_province, rule, subject);

-- Findings an officer marked as impossible to fix, with why ("failed" in the counts).
CREATE TABLE quality_marks (
    rule    TEXT NOT NULL,
    subject TEXT NOT NULL,
    reason  TEXT NOT NULL,
    by      TEXT NOT NULL,
    at      TEXT NOT NULL,
    PRIMARY KEY (rule, subject)
) WITHOUT ROWID;

CREATE TABLE quality_counts (
    run_id         INTEGER NOT NULL REFERENCES quality_runs (id),
    rule           TEXT NOT NULL,
    scope_province TEXT NOT NULL,
    scope_commune  TEXT NOT NULL,
    found          INTEGER NOT NULL,
    fixed          INTEGER NOT NULL,
    failed         INTEGER NOT NULL,
    remaining      INTEGER NOT NULL,
    PRIMARY KEY (run_id, rule, scope_province, scope_commune)
) WITHOUT ROWID;
