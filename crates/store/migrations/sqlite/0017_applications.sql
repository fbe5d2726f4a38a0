-- Public-service applications (hồ sơ, issue 14 part 2): one row per application with its
-- state, its handling unit and due date, the transitions it went through, and the documents
-- attached to it. A document's bytes are kept once per citizen and hash
-- (`citizen_documents`): the same file attached again is reused, not stored again.
-- Scope columns are the applicant's residence at submission, as for card applications.

CREATE TABLE applications (
    id              INTEGER PRIMARY KEY,
    service_code    TEXT NOT NULL,
    personal_id     TEXT NOT NULL REFERENCES citizens (personal_id),
    channel         TEXT NOT NULL,
    unit            TEXT NOT NULL,
    state           TEXT NOT NULL,
    state_reason    TEXT NOT NULL,
    submitted_at    TEXT NOT NULL,
    due_date        TEXT NOT NULL,
    decided_at      TEXT,
    on_time         INTEGER,
    idempotency_key TEXT NOT NULL,
    scope_province  TEXT NOT NULL,
    scope_commune   TEXT NOT NULL,
    created_by      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    updated_by      TEXT NOT NULL,
    version         INTEGER NOT NULL,
    UNIQUE (personal_id, idempotency_key)
);

CREATE INDEX applications_commune_due ON applications (scope_commune, due_date, id);
CREATE INDEX applications_province_due ON applications (scope_province, due_date, id);
CREATE INDEX applications_due ON applications (due_date, id);

CREATE TABLE application_events (
    application_id INTEGER NOT NULL REFERENCES applications (id),
    seq            INTEGER NOT NULL,
    from_state     TEXT NOT NULL,
    to_state       TEXT NOT NULL,
    reason         TEXT NOT NULL,
    at             TEXT NOT NULL,
    actor          TEXT NOT NULL,
    PRIMARY KEY (application_id, seq)
) WITHOUT ROWID;

CREATE TABLE citizen_documents (
    personal_id TEXT NOT NULL REFERENCES citizens (personal_id),
    sha256      TEXT NOT NULL,
    media_type  TEXT NOT NULL,
    size        INTEGER NOT NULL,
    bytes_hex   TEXT NOT NULL,
    stored_at   TEXT NOT NULL,
    PRIMARY KEY (personal_id, sha256)
) WITHOUT ROWID;

CREATE TABLE application_documents (
    application_id INTEGER NOT NULL REFERENCES applications (id),
    seq            INTEGER NOT NULL,
    kind           TEXT NOT NULL,
    personal_id    TEXT NOT NULL,
    sha256         TEXT NOT NULL,
    media_type     TEXT NOT NULL,
    size           INTEGER NOT NULL,
    reused         INTEGER NOT NULL,
    at             TEXT NOT NULL,
    actor          TEXT NOT NULL,
    PRIMARY KEY (application_id, seq),
    FOREIGN KEY (personal_id, sha256) REFERENCES citizen_documents (personal_id, sha256)
) WITHOUT ROWID;
