-- The officer's queue is the open work (`open_only`, the page's default): partial indexes
-- over the open applications only (submitted, accepted, in process, information requested,
-- a few percent of all once files are decided), in due-date order, by scope and by
-- service. A province's or the nation's queue, its count and its overdue list read these
-- short indexes instead of sorting every open row of the scope. The condition must be
-- written exactly as `applications::open_list` writes it, or the planners will not use them.
CREATE INDEX applications_open_due ON applications (due_date, id)
    WHERE state IN ('submitted', 'accepted', 'in_process', 'info_requested');
CREATE INDEX applications_open_province ON applications (scope_province, due_date, id)
    WHERE state IN ('submitted', 'accepted', 'in_process', 'info_requested');
CREATE INDEX applications_open_commune ON applications (scope_commune, due_date, id)
    WHERE state IN ('submitted', 'accepted', 'in_process', 'info_requested');
CREATE INDEX applications_open_service ON applications (service_code, scope_province, due_date, id)
    WHERE state IN ('submitted', 'accepted', 'in_process', 'info_requested');
