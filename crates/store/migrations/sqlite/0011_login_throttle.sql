-- Login throttle state shared by every server on this database (issue 11). One row per key:
-- `officer:<username>`, `citizen:<personal ID>`, `reset:…`, `register:…` (locks with back-off:
-- `failures`, `locked_until`) and `ip:<address>`, `global` (fixed windows: `failures` counted
-- since `window_start`). Times are Unix milliseconds. Rows idle for an hour and not locked
-- are swept (`last_at`).
CREATE TABLE login_throttle (
    key TEXT PRIMARY KEY,
    failures INTEGER NOT NULL DEFAULT 0,
    locked_until INTEGER NOT NULL DEFAULT 0,
    window_start INTEGER NOT NULL DEFAULT 0,
    last_at INTEGER NOT NULL
);
CREATE INDEX login_throttle_last_at ON login_throttle (last_at);
