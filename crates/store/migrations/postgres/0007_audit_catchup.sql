-- The audit log's look-up indexes (by subject, by actor) are kept in side tables that
-- catch up in sorted batches, instead of as indexes of audit_log updated on every append:
-- a look-up appends one entry per request, and the subject index took one random page
-- write per entry. Entries after audit_indexed.upto (at most rows::AUDIT_INDEX_LAG plus a
-- batch) are found by scanning the tail of the log; see rows::audit_sql.
CREATE TABLE audit_by_subject (
    epoch   bigint NOT NULL,
    subject text COLLATE "C" NOT NULL,
    seq     bigint NOT NULL,
    PRIMARY KEY (epoch, subject, seq)
);

CREATE TABLE audit_by_actor (
    epoch bigint NOT NULL,
    actor text COLLATE "C" NOT NULL,
    seq   bigint NOT NULL,
    PRIMARY KEY (epoch, actor, seq)
);

-- Keys lead with the epoch (seq / 65536, rows::AUDIT_EPOCH): new entries then go into
-- the small, cached part of each table that holds the current epoch, instead of all over
-- it; a look-up probes each epoch in turn.

-- Entries up to `upto` are in both side tables.
CREATE TABLE audit_indexed (
    id   integer PRIMARY KEY CHECK (id = 1),
    upto bigint  NOT NULL
);

INSERT INTO audit_by_subject (epoch, subject, seq)
    SELECT seq / 65536, subject, seq FROM audit_log ORDER BY 1, 2, 3;
INSERT INTO audit_by_actor (epoch, actor, seq)
    SELECT seq / 65536, actor, seq FROM audit_log ORDER BY 1, 2, 3;
INSERT INTO audit_indexed (id, upto) SELECT 1, coalesce(max(seq), 0) FROM audit_log;
DROP INDEX audit_log_subject;
DROP INDEX audit_log_actor;
