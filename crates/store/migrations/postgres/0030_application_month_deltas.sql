-- The month rollup on PostgreSQL holds signed deltas instead of one row per key (issue 14's
-- submissions deadlocked on it: a transaction of several submissions upserted rollup rows
-- statement by statement, so two such transactions could take the same rows in opposite
-- orders). The triggers now only insert (no unique key: no row any writer waits for); the
-- readers already sum over a key's rows; `report_counts::compact_month_counts`, run by each
-- server every minute, folds a key's deltas into one row without blocking a writer.
ALTER TABLE application_month_counts DROP CONSTRAINT application_month_counts_pkey;
CREATE INDEX application_month_counts_key
    ON application_month_counts (scope_province, month, service_code, channel);

CREATE OR REPLACE FUNCTION application_month_counts_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO application_month_counts (scope_province, month, service_code, channel, received)
    SELECT scope_province, vietnam_month(submitted_at), service_code, channel, COUNT(*)
      FROM new_rows GROUP BY 1, 2, 3, 4;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION application_month_counts_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO application_month_counts (scope_province, month, service_code, channel, received)
    SELECT scope_province, vietnam_month(submitted_at), service_code, channel, -COUNT(*)
      FROM old_rows GROUP BY 1, 2, 3, 4;
    RETURN NULL;
END
$$;

-- The engine never changes these columns (state updates find no moved row and write
-- nothing here); should anything do so, the count moves with them.
CREATE OR REPLACE FUNCTION application_month_counts_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO application_month_counts (scope_province, month, service_code, channel, received)
    SELECT k.scope_province, k.month, k.service_code, k.channel, SUM(k.n)
      FROM (SELECT o.scope_province, vietnam_month(o.submitted_at) AS month, o.service_code, o.channel, -1 AS n
              FROM old_rows o JOIN new_rows n ON n.id = o.id
             WHERE (o.scope_province, o.submitted_at, o.service_code, o.channel)
                   IS DISTINCT FROM (n.scope_province, n.submitted_at, n.service_code, n.channel)
            UNION ALL
            SELECT n.scope_province, vietnam_month(n.submitted_at), n.service_code, n.channel, 1
              FROM old_rows o JOIN new_rows n ON n.id = o.id
             WHERE (o.scope_province, o.submitted_at, o.service_code, o.channel)
                   IS DISTINCT FROM (n.scope_province, n.submitted_at, n.service_code, n.channel)) k
     GROUP BY 1, 2, 3, 4 HAVING SUM(k.n) <> 0;
    RETURN NULL;
END
$$;
