-- Public-service applications (hồ sơ, issue 14 part 2), PostgreSQL: one row per application
-- with its state, its handling unit and due date, the transitions it went through, and the
-- documents attached to it. A document's bytes are kept once per citizen and hash
-- (`citizen_documents`): the same file attached again is reused, not stored again.
-- Scope columns are the applicant's residence at submission, as for card applications.

CREATE TABLE applications (
    id              bigint PRIMARY KEY,
    service_code    text NOT NULL,
    personal_id     text COLLATE "C" NOT NULL REFERENCES citizens (personal_id),
    channel         text NOT NULL,
    unit            text NOT NULL,
    state           text NOT NULL,
    state_reason    text NOT NULL,
    submitted_at    timestamptz NOT NULL,
    due_date        text COLLATE "C" NOT NULL,
    decided_at      timestamptz,
    on_time         bigint,
    idempotency_key text NOT NULL,
    scope_province  text NOT NULL,
    scope_commune   text NOT NULL,
    created_by      text NOT NULL,
    updated_at      timestamptz NOT NULL,
    updated_by      text NOT NULL,
    version         bigint NOT NULL,
    UNIQUE (personal_id, idempotency_key)
);

CREATE INDEX applications_commune_due ON applications (scope_commune, due_date, id);
CREATE INDEX applications_province_due ON applications (scope_province, due_date, id);
CREATE INDEX applications_due ON applications (due_date, id);

CREATE TABLE application_events (
    application_id bigint NOT NULL REFERENCES applications (id),
    seq            bigint NOT NULL,
    from_state     text NOT NULL,
    to_state       text NOT NULL,
    reason         text NOT NULL,
    at             timestamptz NOT NULL,
    actor          text NOT NULL,
    PRIMARY KEY (application_id, seq)
);

CREATE TABLE citizen_documents (
    personal_id text COLLATE "C" NOT NULL REFERENCES citizens (personal_id),
    sha256      text NOT NULL,
    media_type  text NOT NULL,
    size        bigint NOT NULL,
    bytes_hex   text NOT NULL,
    stored_at   timestamptz NOT NULL,
    PRIMARY KEY (personal_id, sha256)
);

CREATE TABLE application_documents (
    application_id bigint NOT NULL REFERENCES applications (id),
    seq            bigint NOT NULL,
    kind           text NOT NULL,
    personal_id    text COLLATE "C" NOT NULL,
    sha256         text NOT NULL,
    media_type     text NOT NULL,
    size           bigint NOT NULL,
    reused         bigint NOT NULL,
    at             timestamptz NOT NULL,
    actor          text NOT NULL,
    PRIMARY KEY (application_id, seq),
    FOREIGN KEY (personal_id, sha256) REFERENCES citizen_documents (personal_id, sha256)
);
