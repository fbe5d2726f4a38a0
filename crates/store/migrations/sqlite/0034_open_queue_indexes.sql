-- Every state move rewrote the three (scope, state, due date) indexes of 0021 (issue 14:
-- applications per second), and on PostgreSQL a move that changes an indexed column is
-- never a HOT update, so each move wrote an entry in every index of the table. The queues
-- they served are served without them: a filter on an open state repeats the condition of
-- the open-work partial indexes (`applications::filter_where`), which hold only the open
-- applications in due-date order by scope; a filter on a decided state reads the
-- (scope, due date) indexes of 0017, most of whose rows are decided.
DROP INDEX applications_commune_state_due;
DROP INDEX applications_province_state_due;
DROP INDEX applications_state_due;
-- The open-work indexes of 0023 now carry the state, so that one open state's queue and
-- its count are read from the index alone (without it, SQLite counts a scope's open work
-- from the scope's whole report index of 0026, then the only index holding `state`). A
-- state move already rewrote these entries: their condition names `state`.
DROP INDEX applications_open_due;
DROP INDEX applications_open_province;
DROP INDEX applications_open_commune;
DROP INDEX applications_open_service;
CREATE INDEX applications_open_due ON applications (due_date, id, state)
    WHERE state IN ('submitted', 'accepted', 'in_process', 'info_requested');
CREATE INDEX applications_open_province ON applications (scope_province, due_date, id, state)
    WHERE state IN ('submitted', 'accepted', 'in_process', 'info_requested');
CREATE INDEX applications_open_commune ON applications (scope_commune, due_date, id, state)
    WHERE state IN ('submitted', 'accepted', 'in_process', 'info_requested');
CREATE INDEX applications_open_service ON applications (service_code, scope_province, due_date, id, state)
    WHERE state IN ('submitted', 'accepted', 'in_process', 'info_requested');
