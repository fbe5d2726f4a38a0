-- Partner access (issue 13, part 2): agency systems that call the verification and card
-- look-up APIs with OAuth client credentials. One row per OAuth client_id: what it may do
-- (operations), what a card look-up returns to it (fields), which residents it may ask
-- about (units: `nation`, `province:NN` or `commune:NNNNN`, 2025 codes), its rate limit and
-- whether it is suspended. Lists are JSON arrays of codes.

CREATE TABLE partners (
    client_id    text COLLATE "C" NOT NULL PRIMARY KEY,
    name         text    NOT NULL,
    state        text    NOT NULL CHECK (state IN ('active', 'suspended')),
    rate_per_sec bigint  NOT NULL CHECK (rate_per_sec > 0),
    burst        bigint  NOT NULL CHECK (burst > 0),
    operations   text    NOT NULL,
    fields       text    NOT NULL,
    units        text    NOT NULL,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    updated_by   text    NOT NULL
);

-- Calls per partner, operation, purpose and outcome per Vietnam day (the reports' success
-- rate of hospital look-ups). Counted in memory on the hot path and added here periodically.
CREATE TABLE partner_counts (
    day       text    NOT NULL,
    client_id text    NOT NULL,
    operation text    NOT NULL,
    purpose   text    NOT NULL,
    outcome   text    NOT NULL,
    count     bigint  NOT NULL,
    PRIMARY KEY (day, client_id, operation, purpose, outcome)
);

-- The verification read: everything a verification compares, in one index probe without
-- touching the table (a covering index kept in sync by the database itself).
CREATE INDEX citizens_verify ON citizens (personal_id) INCLUDE (
    full_name, birth_date, sex, status, scope_province, scope_commune,
    permanent_unit, temporary_unit, current_unit
);
