-- Revocation epoch of an officer's bearer tokens: raised whenever the officer is
-- deactivated, reactivated, re-scoped or given another role. A token carries the epoch it
-- was issued under and stops working once the stored epoch differs.
ALTER TABLE officers ADD COLUMN token_epoch bigint NOT NULL DEFAULT 0;
