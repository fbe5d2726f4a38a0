-- Residence confirmations (giấy xác nhận thông tin về cư trú, issue 14 part 5), PostgreSQL:
-- what each confirmation certified (a snapshot of the registry record as JSON, so the
-- document and its verification never change when the record does), who issued it and for
-- which unit, when, until when it is valid (one year), and its revocation. The signed QR code
-- carries the id; verification reads this row. Scope columns are the holder's residence at
-- issue.

CREATE TABLE residence_confirmations (
    id              bigint PRIMARY KEY,
    personal_id     text COLLATE "C" NOT NULL REFERENCES citizens (personal_id),
    content         text NOT NULL,
    holder_name     text NOT NULL,
    issuing_unit    text NOT NULL,
    channel         text NOT NULL,
    issued_at       timestamptz NOT NULL,
    issued_by       text NOT NULL,
    valid_until     text COLLATE "C" NOT NULL,
    key_id          text NOT NULL,
    revoked_at      timestamptz,
    revoked_by      text,
    revoked_reason  text,
    scope_province  text NOT NULL,
    scope_commune   text NOT NULL
);

CREATE INDEX residence_confirmations_holder ON residence_confirmations (personal_id, issued_at);
