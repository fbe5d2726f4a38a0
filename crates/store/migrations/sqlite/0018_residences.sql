-- Residence as records of their own (issue 14 part 3). Each record has a kind (permanent,
-- temporary, absence, stay), the unit as recorded with its list (`2025:00004`,
-- `legacy:00004`) and the 2025 commune and province it counts in, a period, and the
-- procedure (application) that created it. A record is current while it is not ended and
-- its period has not run out.
--
-- The citizen's permanent and temporary address fields follow these records: triggers on
-- `citizens` end the record a changed field replaces and start the new one, in the same
-- transaction, whatever wrote the row (an officer's edit, an import, a merge, a completed
-- procedure, which then tags the new record with its application). Absence and stay records
-- are written by their procedures only.
--
-- `away_commune` / `away_province` mark a current record outside the citizen's own scope
-- (`citizens.scope_*`): the person is also in scope there (a home commune keeps seeing a
-- resident registered temporarily elsewhere). The triggers keep the marks true when the scope
-- moves.
--
-- `unit_map` gives the 2025 commune and province of every unit reference the lists know
-- (legacy communes that were split map to nothing). The server fills it from the embedded
-- lists at start (`residences::prepare`), before it copies the existing addresses into
-- records once (`data_upgrades`).

CREATE TABLE unit_map (
    unit     TEXT NOT NULL PRIMARY KEY,
    commune  TEXT NOT NULL,
    province TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE data_upgrades (
    name    TEXT NOT NULL PRIMARY KEY,
    done_at TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE residences (
    id             INTEGER PRIMARY KEY,
    personal_id    TEXT NOT NULL REFERENCES citizens (personal_id),
    kind           TEXT NOT NULL CHECK (kind IN ('permanent', 'temporary', 'absence', 'stay')),
    unit           TEXT NOT NULL,
    detail         TEXT NOT NULL,
    commune        TEXT NOT NULL,
    province       TEXT NOT NULL,
    valid_from     TEXT NOT NULL,
    valid_until    TEXT,
    ended_on       TEXT,
    end_reason     TEXT NOT NULL DEFAULT '',
    application_id INTEGER,
    source         TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    created_by     TEXT NOT NULL,
    away_commune   INTEGER NOT NULL DEFAULT 0,
    away_province  INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX residences_person ON residences (personal_id, kind) WHERE ended_on IS NULL;
CREATE INDEX residences_history ON residences (personal_id, id);
CREATE INDEX residences_away_commune ON residences (commune, personal_id)
    WHERE ended_on IS NULL AND away_commune = 1;
CREATE INDEX residences_away_province ON residences (province, personal_id)
    WHERE ended_on IS NULL AND away_province = 1;
CREATE INDEX residences_commune_kind ON residences (commune, kind, valid_from) WHERE ended_on IS NULL;
CREATE INDEX residences_application ON residences (application_id) WHERE application_id IS NOT NULL;

-- What a procedure asks for (the residence procedures' request: address, period, household,
-- guests …), as JSON; `{}` for services without one.
-- The household head whose consent a permanent registration joining a household waits for.
ALTER TABLE applications ADD COLUMN consent_from TEXT;
CREATE INDEX applications_consent ON applications (consent_from) WHERE consent_from IS NOT NULL;
ALTER TABLE applications ADD COLUMN payload TEXT NOT NULL DEFAULT '{}';

-- A household head's consent to a person joining the household (permanent registration),
-- recorded in the system: given by the head in the portal or taken in writing at the desk.
CREATE TABLE application_consents (
    application_id INTEGER NOT NULL REFERENCES applications (id),
    personal_id    TEXT NOT NULL,
    method         TEXT NOT NULL CHECK (method IN ('portal', 'written')),
    given_at       TEXT NOT NULL,
    actor          TEXT NOT NULL,
    PRIMARY KEY (application_id, personal_id)
) WITHOUT ROWID;

CREATE TRIGGER citizens_residence_insert AFTER INSERT ON citizens
BEGIN
    INSERT INTO residences (personal_id, kind, unit, detail, commune, province, valid_from,
                            source, created_at, created_by, away_commune, away_province)
    SELECT NEW.personal_id, 'permanent', NEW.permanent_unit, NEW.permanent_detail,
           COALESCE(m.commune, ''), COALESCE(m.province, ''), date(NEW.updated_at, '+7 hours'),
           'record', NEW.updated_at, NEW.updated_by,
           COALESCE(m.commune, '') <> NEW.scope_commune, COALESCE(m.province, '') <> NEW.scope_province
    FROM (SELECT 1) LEFT JOIN unit_map m ON m.unit = NEW.permanent_unit
    WHERE NEW.permanent_unit IS NOT NULL;
    INSERT INTO residences (personal_id, kind, unit, detail, commune, province, valid_from,
                            source, created_at, created_by, away_commune, away_province)
    SELECT NEW.personal_id, 'temporary', NEW.temporary_unit, NEW.temporary_detail,
           COALESCE(m.commune, ''), COALESCE(m.province, ''), date(NEW.updated_at, '+7 hours'),
           'record', NEW.updated_at, NEW.updated_by,
           COALESCE(m.commune, '') <> NEW.scope_commune, COALESCE(m.province, '') <> NEW.scope_province
    FROM (SELECT 1) LEFT JOIN unit_map m ON m.unit = NEW.temporary_unit
    WHERE NEW.temporary_unit IS NOT NULL;
END;

CREATE TRIGGER citizens_residence_update
AFTER UPDATE OF permanent_unit, permanent_detail, temporary_unit, temporary_detail,
                scope_commune, scope_province ON citizens
BEGIN
    UPDATE residences
       SET ended_on = date(NEW.updated_at, '+7 hours'),
           end_reason = CASE WHEN NEW.permanent_unit IS NULL THEN 'removed' ELSE 'replaced' END
     WHERE personal_id = NEW.personal_id AND kind = 'permanent' AND ended_on IS NULL
       AND (NEW.permanent_unit IS NOT OLD.permanent_unit
            OR NEW.permanent_detail IS NOT OLD.permanent_detail);
    INSERT INTO residences (personal_id, kind, unit, detail, commune, province, valid_from,
                            source, created_at, created_by)
    SELECT NEW.personal_id, 'permanent', NEW.permanent_unit, NEW.permanent_detail,
           COALESCE(m.commune, ''), COALESCE(m.province, ''), date(NEW.updated_at, '+7 hours'),
           'record', NEW.updated_at, NEW.updated_by
    FROM (SELECT 1) LEFT JOIN unit_map m ON m.unit = NEW.permanent_unit
    WHERE NEW.permanent_unit IS NOT NULL
      AND (NEW.permanent_unit IS NOT OLD.permanent_unit
           OR NEW.permanent_detail IS NOT OLD.permanent_detail);
    UPDATE residences
       SET ended_on = date(NEW.updated_at, '+7 hours'),
           end_reason = CASE WHEN NEW.temporary_unit IS NULL THEN 'removed' ELSE 'replaced' END
     WHERE personal_id = NEW.personal_id AND kind = 'temporary' AND ended_on IS NULL
       AND (NEW.temporary_unit IS NOT OLD.temporary_unit
            OR NEW.temporary_detail IS NOT OLD.temporary_detail);
    INSERT INTO residences (personal_id, kind, unit, detail, commune, province, valid_from,
                            source, created_at, created_by)
    SELECT NEW.personal_id, 'temporary', NEW.temporary_unit, NEW.temporary_detail,
           COALESCE(m.commune, ''), COALESCE(m.province, ''), date(NEW.updated_at, '+7 hours'),
           'record', NEW.updated_at, NEW.updated_by
    FROM (SELECT 1) LEFT JOIN unit_map m ON m.unit = NEW.temporary_unit
    WHERE NEW.temporary_unit IS NOT NULL
      AND (NEW.temporary_unit IS NOT OLD.temporary_unit
           OR NEW.temporary_detail IS NOT OLD.temporary_detail);
    UPDATE residences
       SET away_commune = (commune <> NEW.scope_commune),
           away_province = (province <> NEW.scope_province)
     WHERE personal_id = NEW.personal_id AND ended_on IS NULL;
END;
