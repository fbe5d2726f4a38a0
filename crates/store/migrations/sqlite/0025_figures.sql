-- Submitted figures (issue 16, part 3): agencies that run services outside dancu submit
-- their monthly figures on fixed forms (dancu_tables::forms: `services`, `outreach`), by
-- unit (a 2025 commune or province) and month; a commune submits, the province approves or
-- returns with a reason; every transition is kept. Values are whole numbers ≥ 0, zeros not
-- stored. A fifth officer role, `agency` (cán bộ ngành), enters figures and reads no
-- personal record. SQLite cannot change a CHECK constraint in place, so `officers` is
-- rebuilt as in 0012 (web sessions end).

DELETE FROM sessions;
CREATE TABLE officers_new (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT    NOT NULL UNIQUE,
    display_name  TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('admin', 'leader', 'officer', 'auditor', 'agency')),
    scope         TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    active        INTEGER NOT NULL DEFAULT 1,
    created_at    TEXT    NOT NULL,
    token_epoch   INTEGER NOT NULL DEFAULT 0
);
INSERT INTO officers_new (id, username, display_name, role, scope, password_hash, active, created_at, token_epoch)
    SELECT id, username, display_name, role, scope, password_hash, active, created_at, token_epoch FROM officers;
DROP TABLE officers;
ALTER TABLE officers_new RENAME TO officers;

CREATE TABLE figure_submissions (
    id            INTEGER PRIMARY KEY,
    unit          TEXT    NOT NULL,
    province      TEXT    NOT NULL,
    commune       TEXT    NOT NULL,
    month         TEXT    NOT NULL,
    form          TEXT    NOT NULL,
    state         TEXT    NOT NULL CHECK (state IN ('draft', 'submitted', 'approved', 'returned')),
    version       INTEGER NOT NULL,
    created_at    TEXT    NOT NULL,
    created_by    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL,
    updated_by    TEXT    NOT NULL,
    submitted_by  TEXT,
    UNIQUE (unit, month, form)
);
CREATE INDEX figure_submissions_province ON figure_submissions (province, month, state);
CREATE INDEX figure_submissions_commune ON figure_submissions (commune, month);

CREATE TABLE figure_values (
    submission_id INTEGER NOT NULL REFERENCES figure_submissions (id),
    row_code      TEXT    NOT NULL,
    col_code      TEXT    NOT NULL,
    value         INTEGER NOT NULL CHECK (value >= 0),
    PRIMARY KEY (submission_id, row_code, col_code)
);

CREATE TABLE figure_events (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    submission_id INTEGER NOT NULL REFERENCES figure_submissions (id),
    at            TEXT    NOT NULL,
    actor         TEXT    NOT NULL,
    action        TEXT    NOT NULL,
    from_state    TEXT,
    to_state      TEXT    NOT NULL,
    reason        TEXT    NOT NULL DEFAULT '',
    source        TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX figure_events_submission ON figure_events (submission_id, id);
