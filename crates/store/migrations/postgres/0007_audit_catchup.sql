-- The audit log's look-up indexes (by subject, by actor) are kept in side tables that
-- catch up in sorted batches, instead of as indexes of audit_log updated on every append:
-- a look-up appends one entry per request, and the subject index took one random page
-- write per entry. Entries after audit_indexed.upto (at most rows::AUDIT_INDEX_LAG plus a
-- batch) are found by scanning the tail of the log; see rows::audit_sql.
CREATE TABLE audit_by_subject (
    subject text COLLATE "C" NOT NULL,
    seq     bigint NOT NULL,
    PRIMARY KEY (subject, seq)
);

CREATE TABLE audit_by_actor (
    actor   text COLLATE "C" NOT NULL,
    seq   bigint NOT NULL,
    PRIMARY KEY (actor, seq)
);

-- Entries up to `upto` are in both side tables.
CREATE TABLE audit_indexed (
    id   integer PRIMARY KEY CHECK (id = 1),
    upto bigint  NOT NULL
);

INSERT INTO audit_by_subject (subject, seq) SELECT subject, seq FROM audit_log ORDER BY subject, seq;
INSERT INTO audit_by_actor (actor, seq) SELECT actor, seq FROM audit_log ORDER BY actor, seq;
INSERT INTO audit_indexed (id, upto) SELECT 1, coalesce(max(seq), 0) FROM audit_log;
DROP INDEX audit_log_subject;
DROP INDEX audit_log_actor;
