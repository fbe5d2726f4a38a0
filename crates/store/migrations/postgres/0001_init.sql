-- dancu schema, PostgreSQL. Keys and the name key use the "C" collation so that prefix
-- ranges and ordering are byte order whatever the database's default collation is.

CREATE TABLE households (
    number        text COLLATE "C" NOT NULL PRIMARY KEY,
    version       bigint      NOT NULL,
    updated_at    timestamptz NOT NULL,
    updated_by    text        NOT NULL,
    change_reason text        NOT NULL
);

CREATE TABLE citizens (
    personal_id      text COLLATE "C" NOT NULL PRIMARY KEY CHECK (length(personal_id) = 12),
    family_name      text   NOT NULL,
    middle_name      text   NOT NULL,
    given_name       text   NOT NULL,
    full_name        text   NOT NULL,
    name_key         text COLLATE "C" NOT NULL,
    other_names      text   NOT NULL,
    birth_date       text COLLATE "C" NOT NULL,
    birth_year       bigint NOT NULL,
    sex              text   NOT NULL CHECK (sex IN ('M', 'F')),
    birth_place      text,
    hometown         text,
    ethnicity        text   NOT NULL,
    religion         text   NOT NULL,
    nationality      text   NOT NULL,
    permanent_unit   text,
    permanent_detail text   NOT NULL,
    temporary_unit   text,
    temporary_detail text   NOT NULL,
    current_unit     text,
    current_detail   text   NOT NULL,
    father_id        text,
    father_name      text   NOT NULL,
    mother_id        text,
    mother_name      text   NOT NULL,
    spouse_id        text,
    cmnd             text,
    status           text   NOT NULL CHECK (status IN ('alive', 'deceased', 'missing')),
    death_date       text,
    scope_province   text COLLATE "C" NOT NULL,
    scope_commune    text COLLATE "C" NOT NULL,
    version          bigint NOT NULL,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    updated_by       text   NOT NULL,
    change_reason    text   NOT NULL,
    -- The household the person belongs to (at most one) and their relation to its head.
    household_no     text COLLATE "C" CONSTRAINT citizens_household_fk REFERENCES households (number),
    relation         text,
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
    personal_id text COLLATE "C" NOT NULL REFERENCES citizens (personal_id),
    version     bigint      NOT NULL,
    data        jsonb       NOT NULL,
    changed_at  timestamptz NOT NULL,
    changed_by  text        NOT NULL,
    reason      text        NOT NULL,
    PRIMARY KEY (personal_id, version)
);

CREATE TABLE household_history (
    number     text COLLATE "C" NOT NULL REFERENCES households (number),
    version    bigint      NOT NULL,
    members    jsonb       NOT NULL,
    changed_at timestamptz NOT NULL,
    changed_by text        NOT NULL,
    reason     text        NOT NULL,
    PRIMARY KEY (number, version)
);

-- Next counter per personal-ID prefix (0 + province + century/sex digit + yy).
CREATE TABLE id_allocations (
    prefix       text COLLATE "C" NOT NULL PRIMARY KEY,
    next_counter bigint NOT NULL
);

CREATE TABLE officers (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username      text        NOT NULL UNIQUE,
    display_name  text        NOT NULL,
    role          text        NOT NULL CHECK (role IN ('admin', 'officer')),
    scope         text        NOT NULL,
    password_hash text        NOT NULL,
    active        boolean     NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL
);

CREATE TABLE sessions (
    token_hash text COLLATE "C" NOT NULL PRIMARY KEY,
    officer_id bigint      NOT NULL REFERENCES officers (id),
    csrf_token text        NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);

CREATE INDEX sessions_officer ON sessions (officer_id);

CREATE TABLE audit_log (
    seq       bigint PRIMARY KEY,
    at        timestamptz NOT NULL,
    actor     text NOT NULL,
    action    text NOT NULL,
    subject   text NOT NULL,
    purpose   text NOT NULL,
    outcome   text NOT NULL,
    prev_hash text NOT NULL,
    hash      text NOT NULL
);

CREATE INDEX audit_log_subject ON audit_log (subject, seq);
CREATE INDEX audit_log_actor ON audit_log (actor, seq);

-- The end of the chain: appenders lock this row, so entries are chained one writer at a
-- time, and a truncated log is detected by comparing with it.
CREATE TABLE audit_head (
    id   integer PRIMARY KEY CHECK (id = 1),
    seq  bigint NOT NULL,
    hash text   NOT NULL
);

INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
