-- Data-quality rules and worklists (issue 4, part 6), PostgreSQL. A run evaluates every
-- rule over the whole registry and keeps its findings; only the latest run's findings are
-- kept (the next run compares against them), while the counts per run, rule and unit are
-- kept for ever. A finding's subject is a personal ID, or a household number for household
-- rules.

CREATE TABLE quality_runs (
    id bigint PRIMARY KEY,
    at timestamptz NOT NULL,
    by text NOT NULL
);

CREATE TABLE quality_findings (
    run_id         bigint NOT NULL REFERENCES quality_runs (id),
    rule           text COLLATE "C" NOT NULL,
    subject        text COLLATE "C" NOT NULL,
    scope_province text NOT NULL,
    scope_commune  text NOT NULL,
    detail         text NOT NULL,
    PRIMARY KEY (run_id, rule, subject)
);

CREATE INDEX quality_findings_commune ON quality_findings (scope_commune, rule, subject);
CREATE INDEX quality_findings_province ON quality_findings (scope_province, rule, subject);

-- Findings an officer marked as impossible to fix, with why ("failed" in the counts).
CREATE TABLE quality_marks (
    rule    text COLLATE "C" NOT NULL,
    subject text COLLATE "C" NOT NULL,
    reason  text NOT NULL,
    by      text NOT NULL,
    at      timestamptz NOT NULL,
    PRIMARY KEY (rule, subject)
);

CREATE TABLE quality_counts (
    run_id         bigint NOT NULL REFERENCES quality_runs (id),
    rule           text COLLATE "C" NOT NULL,
    scope_province text NOT NULL,
    scope_commune  text NOT NULL,
    found          bigint NOT NULL,
    fixed          bigint NOT NULL,
    failed         bigint NOT NULL,
    remaining      bigint NOT NULL,
    PRIMARY KEY (run_id, rule, scope_province, scope_commune)
);
