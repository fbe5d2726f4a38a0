-- The open-work partial indexes of 0034 with their condition written as equalities joined by
-- OR instead of `state IN (…)`. SQLite evaluates an IN list of more than two constants
-- through a temporary b-tree, and it evaluates a partial index's condition for the old and
-- the new row of every UPDATE: each state move built and dropped eight of them (issue 14:
-- applications per second). The queues write the same condition
-- (`applications::open_condition`), so that the planner still sees it implied.
DROP INDEX applications_open_due;
DROP INDEX applications_open_province;
DROP INDEX applications_open_commune;
DROP INDEX applications_open_service;
CREATE INDEX applications_open_due ON applications (due_date, id, state)
    WHERE (state = 'submitted' OR state = 'accepted' OR state = 'in_process' OR state = 'info_requested');
CREATE INDEX applications_open_province ON applications (scope_province, due_date, id, state)
    WHERE (state = 'submitted' OR state = 'accepted' OR state = 'in_process' OR state = 'info_requested');
CREATE INDEX applications_open_commune ON applications (scope_commune, due_date, id, state)
    WHERE (state = 'submitted' OR state = 'accepted' OR state = 'in_process' OR state = 'info_requested');
CREATE INDEX applications_open_service ON applications (service_code, scope_province, due_date, id, state)
    WHERE (state = 'submitted' OR state = 'accepted' OR state = 'in_process' OR state = 'info_requested');
