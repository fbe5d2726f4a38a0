-- Applications per 2025 province, Vietnam month, service and channel (issue 16): the
-- dashboard's 12-month trend of a province or of the nation reads these few rows instead of
-- every application of the year (bench/report.sh: 10,000,000 applications). Kept by the
-- statement triggers below in the transaction of every write to `applications` (one
-- aggregated upsert per statement, so a bulk COPY costs one per batch), so each row always
-- equals `COUNT(*)` over the applications it stands for (`report_counts::month_counts` reads
-- it only for month-aligned windows of a province or the nation; a commune or a unit of the
-- legacy list is counted directly). The month is the Vietnam month, as `month_counts`
-- computes it from `submitted_at`. Upserts take the keys in order, so two writers never
-- wait on each other in a cycle.
CREATE TABLE application_month_counts (
    scope_province text NOT NULL,
    month          text COLLATE "C" NOT NULL,
    service_code   text NOT NULL,
    channel        text NOT NULL,
    received       bigint NOT NULL,
    PRIMARY KEY (scope_province, month, service_code, channel)
);

INSERT INTO application_month_counts (scope_province, month, service_code, channel, received)
SELECT scope_province, to_char(submitted_at AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYYY-MM'), service_code, channel, COUNT(*)
  FROM applications GROUP BY 1, 2, 3, 4;


-- The month of a timestamp, as the trend groups it.
CREATE FUNCTION vietnam_month(t timestamptz) RETURNS text LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT to_char(t AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYYY-MM') $$;

CREATE FUNCTION application_month_counts_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO application_month_counts AS t (scope_province, month, service_code, channel, received)
    SELECT scope_province, vietnam_month(submitted_at), service_code, channel, COUNT(*)
      FROM new_rows GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT (scope_province, month, service_code, channel)
    DO UPDATE SET received = t.received + EXCLUDED.received;
    RETURN NULL;
END
$$;

CREATE FUNCTION application_month_counts_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE application_month_counts t SET received = t.received - d.n
      FROM (SELECT scope_province, vietnam_month(submitted_at) AS month, service_code, channel, COUNT(*) AS n
              FROM old_rows GROUP BY 1, 2, 3, 4) d
     WHERE t.scope_province = d.scope_province AND t.month = d.month
       AND t.service_code = d.service_code AND t.channel = d.channel;
    RETURN NULL;
END
$$;

-- The engine never changes these columns (state updates find no moved row and write
-- nothing here); should anything do so, the count moves with them.
CREATE FUNCTION application_month_counts_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE application_month_counts t SET received = t.received - d.n
      FROM (SELECT o.scope_province, vietnam_month(o.submitted_at) AS month, o.service_code, o.channel,
                   COUNT(*) AS n
              FROM old_rows o JOIN new_rows n ON n.id = o.id
             WHERE (o.scope_province, o.submitted_at, o.service_code, o.channel)
                   IS DISTINCT FROM (n.scope_province, n.submitted_at, n.service_code, n.channel)
             GROUP BY 1, 2, 3, 4) d
     WHERE t.scope_province = d.scope_province AND t.month = d.month
       AND t.service_code = d.service_code AND t.channel = d.channel;
    INSERT INTO application_month_counts AS t (scope_province, month, service_code, channel, received)
    SELECT n.scope_province, vietnam_month(n.submitted_at), n.service_code, n.channel, COUNT(*)
      FROM old_rows o JOIN new_rows n ON n.id = o.id
     WHERE (o.scope_province, o.submitted_at, o.service_code, o.channel)
           IS DISTINCT FROM (n.scope_province, n.submitted_at, n.service_code, n.channel)
     GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT (scope_province, month, service_code, channel)
    DO UPDATE SET received = t.received + EXCLUDED.received;
    RETURN NULL;
END
$$;

CREATE TRIGGER application_month_counts_insert AFTER INSERT ON applications
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION application_month_counts_insert();
CREATE TRIGGER application_month_counts_delete AFTER DELETE ON applications
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION application_month_counts_delete();
CREATE TRIGGER application_month_counts_update AFTER UPDATE ON applications
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION application_month_counts_update();
