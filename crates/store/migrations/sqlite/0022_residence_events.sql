-- Residence records in the change feed (issues 14 and 15): a record a procedure made
-- (`source` application: an absence, a stay, a temporary registration with its period, an
-- extension, a permanent registration) is `residence.registered` when it starts and
-- `residence.ended` when it ends. Records that only mirror the address fields (`record`,
-- `migration`) are already in `citizen.created` / `citizen.updated`. The unit is the
-- record's commune: the destination of an arrival, the commune of a stay.

CREATE TRIGGER outbox_residence_insert AFTER INSERT ON residences
WHEN NEW.source = 'application' BEGIN
    INSERT INTO outbox (kind, personal_id, province, commune, occurred_at, payload)
    VALUES ('residence.registered', NEW.personal_id, NEW.province, NEW.commune, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
            json_object('residence_kind', NEW.kind, 'residence_unit', NEW.unit, 'residence_detail', NEW.detail,
                        'valid_from', NEW.valid_from, 'valid_until', NEW.valid_until,
                        'application_id', NEW.application_id));
END;

CREATE TRIGGER outbox_residence_tagged AFTER UPDATE OF source ON residences
WHEN NEW.source = 'application' AND OLD.source <> 'application' BEGIN
    INSERT INTO outbox (kind, personal_id, province, commune, occurred_at, payload)
    VALUES ('residence.registered', NEW.personal_id, NEW.province, NEW.commune, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
            json_object('residence_kind', NEW.kind, 'residence_unit', NEW.unit, 'residence_detail', NEW.detail,
                        'valid_from', NEW.valid_from, 'valid_until', NEW.valid_until,
                        'application_id', NEW.application_id));
END;

CREATE TRIGGER outbox_residence_ended AFTER UPDATE OF ended_on ON residences
WHEN OLD.ended_on IS NULL AND NEW.ended_on IS NOT NULL AND NEW.source = 'application' BEGIN
    INSERT INTO outbox (kind, personal_id, province, commune, occurred_at, payload)
    VALUES ('residence.ended', NEW.personal_id, NEW.province, NEW.commune, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
            json_object('residence_kind', NEW.kind, 'ended_on', NEW.ended_on, 'end_reason', NEW.end_reason,
                        'application_id', NEW.application_id));
END;
