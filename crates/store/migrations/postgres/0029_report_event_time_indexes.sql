-- Report figures (issue 16): card stages, eID events, portal logins and attached documents
-- are counted for a window of their event time, joined to the table that holds the scope.
-- Without an index on that time every report read each of these tables whole (they grow
-- with every login and every step); with it the window's rows are found by range and joined
-- to their application or account by its key.
CREATE INDEX card_application_events_at ON card_application_events (at);
CREATE INDEX eid_events_at ON eid_events (at);
CREATE INDEX eid_logins_at ON eid_logins (at);
CREATE INDEX application_documents_at ON application_documents (at);
