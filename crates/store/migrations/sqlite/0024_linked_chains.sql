-- Linked procedures across agencies (issue 15, parts 1 and 2; docs/CHAINS.md), SQLite. See
-- the PostgreSQL file for the design. One writer at a time: the worker's claim needs no
-- row locks.

CREATE TABLE linked_chains (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT    NOT NULL CHECK (kind IN ('birth', 'death')),
    registration_no TEXT    NOT NULL,
    client_id       TEXT    NOT NULL,
    personal_id     TEXT,
    request         TEXT    NOT NULL,
    step            TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('running', 'done', 'resolved')),
    error_step      TEXT    NOT NULL DEFAULT '',
    error_field     TEXT    NOT NULL DEFAULT '',
    error_rule      TEXT    NOT NULL DEFAULT '',
    error_message   TEXT    NOT NULL DEFAULT '',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_at         TEXT    NOT NULL,
    lease_token     TEXT,
    lease_until     TEXT,
    scope_province  TEXT    NOT NULL,
    scope_commune   TEXT    NOT NULL,
    received_at     TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL,
    finished_at     TEXT,
    note            TEXT    NOT NULL DEFAULT '',
    UNIQUE (kind, registration_no)
);

CREATE INDEX linked_chains_due ON linked_chains (next_at) WHERE status = 'running';
CREATE INDEX linked_chains_commune ON linked_chains (scope_commune, status, id);
CREATE INDEX linked_chains_province ON linked_chains (scope_province, status, id);
CREATE INDEX linked_chains_exceptions ON linked_chains (scope_province, scope_commune, id)
    WHERE status = 'running' AND error_rule <> '';

CREATE TABLE linked_chain_steps (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    chain_id INTEGER NOT NULL REFERENCES linked_chains (id),
    at       TEXT    NOT NULL,
    step     TEXT    NOT NULL,
    outcome  TEXT    NOT NULL CHECK (outcome IN ('done', 'failed', 'retry', 'resolved', 'corrected')),
    detail   TEXT    NOT NULL,
    actor    TEXT    NOT NULL
);

CREATE INDEX linked_chain_steps_chain ON linked_chain_steps (chain_id, id);
