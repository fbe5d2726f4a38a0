-- ID card applications, their stage history, and the cards issued (issue 3, part 1).
-- No biometric data is stored: only whether it was captured.

CREATE TABLE card_applications (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    personal_id         TEXT NOT NULL REFERENCES citizens (personal_id),
    kind                TEXT NOT NULL,
    stage               TEXT NOT NULL,
    biometrics_captured INTEGER NOT NULL,
    handover_method     TEXT,
    -- The reason a side stage (rejected, error, cancelled) carries.
    stage_reason        TEXT NOT NULL DEFAULT '',
    reason              TEXT NOT NULL,
    scope_province      TEXT NOT NULL,
    scope_commune       TEXT NOT NULL,
    unit                TEXT NOT NULL,
    created_at          TEXT NOT NULL,
    created_by          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    updated_by          TEXT NOT NULL,
    version             INTEGER NOT NULL
);

CREATE INDEX card_applications_commune_stage ON card_applications (scope_commune, stage);
CREATE INDEX card_applications_province_stage ON card_applications (scope_province, stage);
CREATE INDEX card_applications_person ON card_applications (personal_id);

CREATE TABLE card_application_events (
    application_id INTEGER NOT NULL REFERENCES card_applications (id),
    seq            INTEGER NOT NULL,
    from_stage     TEXT NOT NULL,
    to_stage       TEXT NOT NULL,
    reason         TEXT NOT NULL,
    at             TEXT NOT NULL,
    actor          TEXT NOT NULL,
    PRIMARY KEY (application_id, seq)
) WITHOUT ROWID;

CREATE TABLE cards (
    personal_id       TEXT NOT NULL REFERENCES citizens (personal_id),
    number            TEXT NOT NULL,
    issue_date        TEXT NOT NULL,
    expiry            TEXT,
    issuing_authority TEXT NOT NULL,
    status            TEXT NOT NULL,
    application_id    INTEGER NOT NULL UNIQUE REFERENCES card_applications (id)
);

CREATE INDEX cards_person ON cards (personal_id, status);
