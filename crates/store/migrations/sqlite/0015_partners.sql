-- Partner access (issue 13, part 2): agency systems that call the verification and card
-- look-up APIs with OAuth client credentials. One row per OAuth client_id: what it may do
-- (operations), what a card look-up returns to it (fields), which residents it may ask
-- about (units: `nation`, `province:NN` or `commune:NNNNN`, 2025 codes), its rate limit and
-- whether it is suspended. Lists are JSON arrays of codes.

CREATE TABLE partners (
    client_id    TEXT    NOT NULL PRIMARY KEY,
    name         TEXT    NOT NULL,
    state        TEXT    NOT NULL CHECK (state IN ('active', 'suspended')),
    rate_per_sec INTEGER NOT NULL CHECK (rate_per_sec > 0),
    burst        INTEGER NOT NULL CHECK (burst > 0),
    operations   TEXT    NOT NULL,
    fields       TEXT    NOT NULL,
    units        TEXT    NOT NULL,
    created_at   TEXT    NOT NULL,
    updated_at   TEXT    NOT NULL,
    updated_by   TEXT    NOT NULL
) WITHOUT ROWID;

-- Calls per partner, operation, purpose and outcome per Vietnam day (the reports' success
-- rate of hospital look-ups). Counted in memory on the hot path and added here periodically.
CREATE TABLE partner_counts (
    day       TEXT    NOT NULL,
    client_id TEXT    NOT NULL,
    operation TEXT    NOT NULL,
    purpose   TEXT    NOT NULL,
    outcome   TEXT    NOT NULL,
    count     INTEGER NOT NULL,
    PRIMARY KEY (day, client_id, operation, purpose, outcome)
) WITHOUT ROWID;

-- The verification read: everything a verification compares, in one index probe without
-- touching the table (a covering index kept in sync by the database itself).
CREATE INDEX citizens_verify ON citizens (
    personal_id, full_name, birth_date, sex, status, scope_province, scope_commune,
    permanent_unit, temporary_unit, current_unit
);
