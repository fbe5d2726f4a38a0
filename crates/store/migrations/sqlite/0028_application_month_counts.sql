-- Applications per 2025 province, Vietnam month, service and channel (issue 16): the
-- dashboard's 12-month trend of a province or of the nation reads these few rows instead of
-- every application of the year (bench/report.sh: 10,000,000 applications). Kept by the
-- triggers below in the transaction of every write to `applications`, so each row always
-- equals `COUNT(*)` over the applications it stands for (`report_counts::month_counts` reads
-- it only for month-aligned windows of a province or the nation; a commune or a unit of the
-- legacy list is counted directly). The month is the Vietnam month (UTC+7, no daylight
-- saving), as `month_counts` computes it from `submitted_at`.
CREATE TABLE application_month_counts (
    scope_province TEXT NOT NULL,
    month          TEXT NOT NULL,
    service_code   TEXT NOT NULL,
    channel        TEXT NOT NULL,
    received       INTEGER NOT NULL,
    PRIMARY KEY (scope_province, month, service_code, channel)
) WITHOUT ROWID;

INSERT INTO application_month_counts (scope_province, month, service_code, channel, received)
SELECT scope_province, strftime('%Y-%m', submitted_at, '+7 hours'), service_code, channel, COUNT(*)
  FROM applications GROUP BY 1, 2, 3, 4;

CREATE TRIGGER application_month_counts_insert AFTER INSERT ON applications BEGIN
    INSERT INTO application_month_counts (scope_province, month, service_code, channel, received)
    VALUES (NEW.scope_province, strftime('%Y-%m', NEW.submitted_at, '+7 hours'), NEW.service_code, NEW.channel, 1)
    ON CONFLICT (scope_province, month, service_code, channel) DO UPDATE SET received = received + 1;
END;

CREATE TRIGGER application_month_counts_delete AFTER DELETE ON applications BEGIN
    UPDATE application_month_counts SET received = received - 1
     WHERE scope_province = OLD.scope_province AND month = strftime('%Y-%m', OLD.submitted_at, '+7 hours')
       AND service_code = OLD.service_code AND channel = OLD.channel;
END;

-- The engine never changes these columns; should anything do so, the count moves with them.
CREATE TRIGGER application_month_counts_update
AFTER UPDATE OF scope_province, submitted_at, service_code, channel ON applications
WHEN NEW.scope_province IS NOT OLD.scope_province OR NEW.submitted_at IS NOT OLD.submitted_at
  OR NEW.service_code IS NOT OLD.service_code OR NEW.channel IS NOT OLD.channel BEGIN
    UPDATE application_month_counts SET received = received - 1
     WHERE scope_province = OLD.scope_province AND month = strftime('%Y-%m', OLD.submitted_at, '+7 hours')
       AND service_code = OLD.service_code AND channel = OLD.channel;
    INSERT INTO application_month_counts (scope_province, month, service_code, channel, received)
    VALUES (NEW.scope_province, strftime('%Y-%m', NEW.submitted_at, '+7 hours'), NEW.service_code, NEW.channel, 1)
    ON CONFLICT (scope_province, month, service_code, channel) DO UPDATE SET received = received + 1;
END;
