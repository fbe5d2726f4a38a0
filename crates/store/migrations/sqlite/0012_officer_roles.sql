-- Four roles (issue 12): administrator, leader (aggregate figures only), officer, and
-- read-only auditor. SQLite cannot change a CHECK constraint in place, so the table is
-- rebuilt with the same rows and ids; web sessions end (officers log in again), since the
-- sessions table refers to it.
DELETE FROM sessions;
CREATE TABLE officers_new (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT    NOT NULL UNIQUE,
    display_name  TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('admin', 'leader', 'officer', 'auditor')),
    scope         TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    active        INTEGER NOT NULL DEFAULT 1,
    created_at    TEXT    NOT NULL,
    token_epoch   INTEGER NOT NULL DEFAULT 0
);
INSERT INTO officers_new (id, username, display_name, role, scope, password_hash, active, created_at, token_epoch)
    SELECT id, username, display_name, role, scope, password_hash, active, created_at, token_epoch FROM officers;
DROP TABLE officers;
ALTER TABLE officers_new RENAME TO officers;
