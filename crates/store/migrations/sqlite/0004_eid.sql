-- Electronic identity accounts (issue 3, part 3), citizen portal sessions, and the old-CMND
-- confirmation documents. Passwords are argon2id PHC strings; the TOTP secret is base32.
-- Login failures are throttled in the server, the same way for IDs with and without an
-- account, so they are not counted here.

CREATE TABLE eid_accounts (
    personal_id      TEXT PRIMARY KEY REFERENCES citizens (personal_id),
    level            INTEGER NOT NULL,
    state            TEXT NOT NULL,
    state_json       TEXT NOT NULL,
    phone            TEXT NOT NULL,
    password_hash    TEXT NOT NULL,
    totp_secret      TEXT NOT NULL,
    totp_last_step   INTEGER,
    reset_code_hash  TEXT,
    reset_expires_at TEXT,
    scope_province   TEXT NOT NULL,
    scope_commune    TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    version          INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX eid_accounts_commune ON eid_accounts (scope_commune, state, level);
CREATE INDEX eid_accounts_province ON eid_accounts (scope_province, state, level);

CREATE TABLE eid_events (
    personal_id TEXT NOT NULL REFERENCES eid_accounts (personal_id),
    seq         INTEGER NOT NULL,
    event       TEXT NOT NULL,
    from_state  TEXT NOT NULL,
    to_state    TEXT NOT NULL,
    level       INTEGER NOT NULL,
    reason      TEXT NOT NULL,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    PRIMARY KEY (personal_id, seq)
) WITHOUT ROWID;

CREATE TABLE eid_logins (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    personal_id TEXT NOT NULL REFERENCES eid_accounts (personal_id),
    at          TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    client      TEXT NOT NULL
);

CREATE INDEX eid_logins_person ON eid_logins (personal_id, id);

CREATE TABLE eid_documents (
    personal_id   TEXT NOT NULL REFERENCES eid_accounts (personal_id),
    kind          TEXT NOT NULL,
    number        TEXT NOT NULL,
    source_agency TEXT NOT NULL,
    state_json    TEXT NOT NULL,
    linked_at     TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    updated_by    TEXT NOT NULL,
    PRIMARY KEY (personal_id, kind)
) WITHOUT ROWID;

CREATE TABLE citizen_sessions (
    token_hash  TEXT PRIMARY KEY,
    personal_id TEXT NOT NULL REFERENCES eid_accounts (personal_id),
    csrf_token  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE cmnd_confirmations (
    number         TEXT PRIMARY KEY,
    personal_id    TEXT NOT NULL REFERENCES citizens (personal_id),
    cmnd           TEXT NOT NULL,
    full_name      TEXT NOT NULL,
    birth_date     TEXT NOT NULL,
    card_issue     TEXT NOT NULL,
    issued_at      TEXT NOT NULL,
    issued_by      TEXT NOT NULL,
    scope_province TEXT NOT NULL,
    scope_commune  TEXT NOT NULL
) WITHOUT ROWID;

CREATE INDEX cmnd_confirmations_person ON cmnd_confirmations (personal_id);
