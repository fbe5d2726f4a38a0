-- Work queues filtered by state (issue 14: an officer's queue over 1,000,000 applications
-- in ≤ 50 ms p95). With the scope and the state both equal, these give the rows in due-date
-- order and their count without reading the rows of other states: the "submitted" queue
-- of a province no longer walks every application of the province (most of them long
-- completed), and the overdue filter (open states, due before today) reads four short
-- ranges. The (scope, due_date, id) indexes of 0017 stay for the queue of every state.
CREATE INDEX applications_commune_state_due ON applications (scope_commune, state, due_date, id);
CREATE INDEX applications_province_state_due ON applications (scope_province, state, due_date, id);
CREATE INDEX applications_state_due ON applications (state, due_date, id);
