-- What a citizen typed when registering a level-1 electronic identity account (issue 12):
-- kept beside the account so that the officer who approves it sees the claim next to the
-- registry record. Only registrations that passed the registry check are stored, so the
-- claim matches the record by the registration rules; it may still differ in spelling
-- (marks, tone placement, `y`/`i`) or in how precise the date of birth is.

CREATE TABLE eid_claims (
    personal_id       text COLLATE "C" PRIMARY KEY REFERENCES eid_accounts (personal_id),
    full_name         text NOT NULL,
    birth_date        text NOT NULL,
    sex               text NOT NULL,
    phone             text NOT NULL,
    portrait_captured bigint NOT NULL,
    claimed_at        timestamptz NOT NULL
);
