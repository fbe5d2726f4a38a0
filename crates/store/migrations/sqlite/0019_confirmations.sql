-- Residence confirmations (giấy xác nhận thông tin về cư trú, issue 14 part 5): what each
-- confirmation certified (a snapshot of the registry record as JSON, so the document and its
-- verification never change when the record does), who issued it and for which unit, when,
-- until when it is valid (one year), and its revocation. The signed QR code carries the id;
-- verification reads this row. Scope columns are the holder's residence at issue.

CREATE TABLE residence_confirmations (
    id              INTEGER PRIMARY KEY,
    personal_id     TEXT NOT NULL REFERENCES citizens (personal_id),
    content         TEXT NOT NULL,
    holder_name     TEXT NOT NULL,
    issuing_unit    TEXT NOT NULL,
    channel         TEXT NOT NULL,
    issued_at       TEXT NOT NULL,
    issued_by       TEXT NOT NULL,
    valid_until     TEXT NOT NULL,
    key_id          TEXT NOT NULL,
    revoked_at      TEXT,
    revoked_by      TEXT,
    revoked_reason  TEXT,
    scope_province  TEXT NOT NULL,
    scope_commune   TEXT NOT NULL
);

CREATE INDEX residence_confirmations_holder ON residence_confirmations (personal_id, issued_at);
