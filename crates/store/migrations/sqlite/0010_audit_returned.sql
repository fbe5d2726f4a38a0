-- One entry per listing: the personal IDs a search, list or household page returned, as a
-- JSON array (NULL when the entry is about its subject alone). The side-table catch-up
-- files the entry under each of them, so it shows in every returned citizen's access log.
ALTER TABLE audit.audit_log ADD COLUMN returned TEXT;
