-- From this migration on, audit entries are chained with a keyed hash (HMAC-SHA256 under
-- the audit key file; see audit_chain.rs). Entries already in the log keep the unkeyed
-- form they were written with; keyed_from is the first keyed entry, and every signed
-- checkpoint repeats it, so moving it is detected.
CREATE TABLE audit.audit_chain (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    keyed_from INTEGER NOT NULL
);

INSERT INTO audit_chain (id, keyed_from) SELECT 1, coalesce(max(seq), 0) + 1 FROM audit_log;
