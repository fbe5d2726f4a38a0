-- What a citizen typed when registering a level-1 electronic identity account (issue 12):
-- kept beside the account so that the officer who approves it sees the claim next to the
-- registry record. Only registrations that passed the registry check are stored, so the
-- claim matches the record by the registration rules; it may still differ in spelling
-- (marks, tone placement, `y`/`i`) or in how precise the date of birth is.

CREATE TABLE eid_claims (
    personal_id       TEXT PRIMARY KEY REFERENCES eid_accounts (personal_id),
    full_name         TEXT NOT NULL,
    birth_date        TEXT NOT NULL,
    sex               TEXT NOT NULL,
    phone             TEXT NOT NULL,
    portrait_captured INTEGER NOT NULL,
    claimed_at        TEXT NOT NULL
) WITHOUT ROWID;
