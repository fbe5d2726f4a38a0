-- Residence as records of their own (issue 14 part 3), PostgreSQL. The same tables, marks and
-- triggers as the SQLite migration, whose header explains them.

CREATE TABLE unit_map (
    unit     text COLLATE "C" NOT NULL PRIMARY KEY,
    commune  text COLLATE "C" NOT NULL,
    province text COLLATE "C" NOT NULL
);

CREATE TABLE data_upgrades (
    name    text NOT NULL PRIMARY KEY,
    done_at timestamptz NOT NULL
);

CREATE TABLE residences (
    id             bigserial PRIMARY KEY,
    personal_id    text COLLATE "C" NOT NULL REFERENCES citizens (personal_id),
    kind           text NOT NULL CHECK (kind IN ('permanent', 'temporary', 'absence', 'stay')),
    unit           text COLLATE "C" NOT NULL,
    detail         text NOT NULL,
    commune        text COLLATE "C" NOT NULL,
    province       text COLLATE "C" NOT NULL,
    valid_from     text COLLATE "C" NOT NULL,
    valid_until    text COLLATE "C",
    ended_on       text COLLATE "C",
    end_reason     text NOT NULL DEFAULT '',
    application_id bigint,
    source         text NOT NULL,
    created_at     timestamptz NOT NULL,
    created_by     text NOT NULL,
    away_commune   bigint NOT NULL DEFAULT 0,
    away_province  bigint NOT NULL DEFAULT 0
);

CREATE INDEX residences_person ON residences (personal_id, kind) WHERE ended_on IS NULL;
CREATE INDEX residences_history ON residences (personal_id, id);
CREATE INDEX residences_away_commune ON residences (commune, personal_id)
    WHERE ended_on IS NULL AND away_commune = 1;
CREATE INDEX residences_away_province ON residences (province, personal_id)
    WHERE ended_on IS NULL AND away_province = 1;
CREATE INDEX residences_commune_kind ON residences (commune, kind, valid_from) WHERE ended_on IS NULL;
CREATE INDEX residences_application ON residences (application_id) WHERE application_id IS NOT NULL;

-- The household head whose consent a permanent registration joining a household waits for.
ALTER TABLE applications ADD COLUMN consent_from text COLLATE "C";
CREATE INDEX applications_consent ON applications (consent_from) WHERE consent_from IS NOT NULL;
ALTER TABLE applications ADD COLUMN payload text NOT NULL DEFAULT '{}';

CREATE TABLE application_consents (
    application_id bigint NOT NULL REFERENCES applications (id),
    personal_id    text COLLATE "C" NOT NULL,
    method         text NOT NULL CHECK (method IN ('portal', 'written')),
    given_at       timestamptz NOT NULL,
    actor          text NOT NULL,
    PRIMARY KEY (application_id, personal_id)
);

CREATE FUNCTION residence_record(c citizens, k text, u text, d text) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO residences (personal_id, kind, unit, detail, commune, province, valid_from,
                            source, created_at, created_by, away_commune, away_province)
    SELECT c.personal_id, k, u, d, COALESCE(m.commune, ''), COALESCE(m.province, ''),
           to_char(c.updated_at AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYYY-MM-DD'),
           'record', c.updated_at, c.updated_by,
           (COALESCE(m.commune, '') <> c.scope_commune)::int,
           (COALESCE(m.province, '') <> c.scope_province)::int
    FROM (SELECT 1) one LEFT JOIN unit_map m ON m.unit = u;
$$;

CREATE FUNCTION citizens_residence() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    today text := to_char(NEW.updated_at AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYYY-MM-DD');
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.permanent_unit IS NOT NULL THEN
            PERFORM residence_record(NEW, 'permanent', NEW.permanent_unit, NEW.permanent_detail);
        END IF;
        IF NEW.temporary_unit IS NOT NULL THEN
            PERFORM residence_record(NEW, 'temporary', NEW.temporary_unit, NEW.temporary_detail);
        END IF;
        RETURN NULL;
    END IF;
    IF NEW.permanent_unit IS DISTINCT FROM OLD.permanent_unit
       OR NEW.permanent_detail IS DISTINCT FROM OLD.permanent_detail THEN
        UPDATE residences
           SET ended_on = today,
               end_reason = CASE WHEN NEW.permanent_unit IS NULL THEN 'removed' ELSE 'replaced' END
         WHERE personal_id = NEW.personal_id AND kind = 'permanent' AND ended_on IS NULL;
        IF NEW.permanent_unit IS NOT NULL THEN
            PERFORM residence_record(NEW, 'permanent', NEW.permanent_unit, NEW.permanent_detail);
        END IF;
    END IF;
    IF NEW.temporary_unit IS DISTINCT FROM OLD.temporary_unit
       OR NEW.temporary_detail IS DISTINCT FROM OLD.temporary_detail THEN
        UPDATE residences
           SET ended_on = today,
               end_reason = CASE WHEN NEW.temporary_unit IS NULL THEN 'removed' ELSE 'replaced' END
         WHERE personal_id = NEW.personal_id AND kind = 'temporary' AND ended_on IS NULL;
        IF NEW.temporary_unit IS NOT NULL THEN
            PERFORM residence_record(NEW, 'temporary', NEW.temporary_unit, NEW.temporary_detail);
        END IF;
    END IF;
    IF NEW.scope_commune IS DISTINCT FROM OLD.scope_commune
       OR NEW.scope_province IS DISTINCT FROM OLD.scope_province THEN
        UPDATE residences
           SET away_commune = (commune <> NEW.scope_commune)::int,
               away_province = (province <> NEW.scope_province)::int
         WHERE personal_id = NEW.personal_id AND ended_on IS NULL;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER citizens_residence_insert AFTER INSERT ON citizens
    FOR EACH ROW EXECUTE FUNCTION citizens_residence();
CREATE TRIGGER citizens_residence_update
    AFTER UPDATE OF permanent_unit, permanent_detail, temporary_unit, temporary_detail,
                    scope_commune, scope_province ON citizens
    FOR EACH ROW EXECUTE FUNCTION citizens_residence();
