-- Residence records in the change feed (issues 14 and 15), PostgreSQL: see the SQLite file.
-- The person's row is locked first (`outbox_person`), as for every other event, so that one
-- person's events keep their commit order.

CREATE FUNCTION outbox_residence() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    p record;
BEGIN
    IF NEW.source <> 'application' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' OR (OLD.source IS DISTINCT FROM 'application') THEN
        p := outbox_person(NEW.personal_id);
        INSERT INTO outbox (kind, personal_id, province, commune, payload)
        VALUES ('residence.registered', NEW.personal_id, NEW.province, NEW.commune,
                jsonb_build_object('residence_kind', NEW.kind, 'residence_unit', NEW.unit,
                                   'residence_detail', NEW.detail, 'valid_from', NEW.valid_from,
                                   'valid_until', NEW.valid_until, 'application_id', NEW.application_id));
    ELSIF OLD.ended_on IS NULL AND NEW.ended_on IS NOT NULL THEN
        p := outbox_person(NEW.personal_id);
        INSERT INTO outbox (kind, personal_id, province, commune, payload)
        VALUES ('residence.ended', NEW.personal_id, NEW.province, NEW.commune,
                jsonb_build_object('residence_kind', NEW.kind, 'ended_on', NEW.ended_on,
                                   'end_reason', NEW.end_reason, 'application_id', NEW.application_id));
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER outbox_residence AFTER INSERT OR UPDATE OF source, ended_on ON residences
    FOR EACH ROW EXECUTE FUNCTION outbox_residence();
