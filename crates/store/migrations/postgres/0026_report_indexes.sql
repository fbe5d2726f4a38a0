-- Report figures (issue 16): applications submitted in a window of a province or commune,
-- counted by commune, service, channel, state, timeliness and due date. The included
-- columns make the aggregate an index-only scan of the month's range (after VACUUM has set
-- the visibility map), so a monthly report never reads the table.
CREATE INDEX applications_report_province
    ON applications (scope_province, submitted_at) INCLUDE (scope_commune, service_code, channel, state, on_time, due_date);
CREATE INDEX applications_report_commune
    ON applications (scope_commune, submitted_at) INCLUDE (service_code, channel, state, on_time, due_date);
