-- dancu schema, SQLite. Timestamps are RFC 3339 text with microseconds and a Z suffix
-- (fixed width, so text order is time order). Keys are compared with BINARY collation.

CREATE TABLE households (
    number        TEXT    NOT NULL PRIMARY KEY,
    version       INTEGER NOT NULL,
    updated_at    TEXT    NOT NULL,
    updated_by    TEXT    NOT NULL,
    change_reason TEXT    NOT NULL
) WITHOUT ROWID;

CREATE TABLE citizens (
    personal_id      TEXT    NOT NULL PRIMARY KEY CHECK (length(personal_id) = 12),
    family_name      TEXT    NOT NULL,
    middle_name      TEXT    NOT NULL,
    given_name       TEXT    NOT NULL,
    full_name        TEXT    NOT NULL,
    name_key         TEXT    NOT NULL,
    other_names      TEXT    NOT NULL,
    birth_date       TEXT    NOT NULL,
    birth_year       INTEGER NOT NULL,
    sex              TEXT    NOT NULL CHECK (sex IN ('M', 'F')),
    birth_place      TEXT,
    hometown         TEXT,
    ethnicity        TEXT    NOT NULL,
    religion         TEXT    NOT NULL,
    nationality      TEXT    NOT NULL,
    permanent_unit   TEXT,
    permanent_detail TEXT    NOT NULL,
    temporary_unit   TEXT,
    temporary_detail TEXT    NOT NULL,
    current_unit     TEXT,
    current_detail   TEXT    NOT NULL,
    father_id        TEXT,
    father_name      TEXT    NOT NULL,
    mother_id        TEXT,
    mother_name      TEXT    NOT NULL,
    spouse_id        TEXT,
    cmnd             TEXT,
    status           TEXT    NOT NULL CHECK (status IN ('alive', 'deceased', 'missing')),
    death_date       TEXT,
    scope_province   TEXT    NOT NULL,
    scope_commune    TEXT    NOT NULL,
    version          INTEGER NOT NULL,
    created_at       TEXT    NOT NULL,
    updated_at       TEXT    NOT NULL,
    updated_by       TEXT    NOT NULL,
    change_reason    TEXT    NOT NULL,
    -- The household the person belongs to (at most one) and their relation to its head.
    household_no     TEXT REFERENCES households (number),
    relation         TEXT,
    CHECK ((household_no IS NULL) = (relation IS NULL))
);

-- Search indexes: by name nationwide, and by name within a commune or province (a commune
-- scope gives both codes, so the order is that of the results). With the household index
-- they are the "deferrable" indexes a bulk import may drop and rebuild (see
-- rows::DEFERRABLE_INDEXES, which must match).
CREATE INDEX citizens_name ON citizens (name_key, personal_id);
CREATE INDEX citizens_scope_name ON citizens (scope_province, scope_commune, name_key, personal_id);
CREATE INDEX citizens_household ON citizens (household_no) WHERE household_no IS NOT NULL;
-- At most one head per household.
CREATE UNIQUE INDEX citizens_household_head ON citizens (household_no) WHERE relation = 'head';

CREATE TABLE citizen_history (
    personal_id TEXT    NOT NULL REFERENCES citizens (personal_id),
    version     INTEGER NOT NULL,
    data        TEXT    NOT NULL,
    changed_at  TEXT    NOT NULL,
    changed_by  TEXT    NOT NULL,
    reason      TEXT    NOT NULL,
    PRIMARY KEY (personal_id, version)
) WITHOUT ROWID;

CREATE TABLE household_history (
    number     TEXT    NOT NULL REFERENCES households (number),
    version    INTEGER NOT NULL,
    members    TEXT    NOT NULL,
    changed_at TEXT    NOT NULL,
    changed_by TEXT    NOT NULL,
    reason     TEXT    NOT NULL,
    PRIMARY KEY (number, version)
) WITHOUT ROWID;

-- Next counter per personal-ID prefix (0 + province + century/sex digit + yy).
CREATE TABLE id_allocations (
    prefix       TEXT    NOT NULL PRIMARY KEY,
    next_counter INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE officers (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT    NOT NULL UNIQUE,
    display_name  TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('admin', 'officer')),
    scope         TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    active        INTEGER NOT NULL DEFAULT 1,
    created_at    TEXT    NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT    NOT NULL PRIMARY KEY,
    officer_id INTEGER NOT NULL REFERENCES officers (id),
    csrf_token TEXT    NOT NULL,
    created_at TEXT    NOT NULL,
    expires_at TEXT    NOT NULL
) WITHOUT ROWID;

CREATE INDEX sessions_officer ON sessions (officer_id);

-- In its own file, attached as `audit` (see sqlite::audit_path).
CREATE TABLE audit.audit_log (
    seq       INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    subject   TEXT NOT NULL,
    purpose   TEXT NOT NULL,
    outcome   TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);

CREATE INDEX audit.audit_log_subject ON audit_log (subject, seq);
CREATE INDEX audit.audit_log_actor ON audit_log (actor, seq);
