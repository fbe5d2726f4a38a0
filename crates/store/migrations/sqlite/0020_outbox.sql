-- Transactional outbox and change feed (issue 15, part 3), SQLite. See the PostgreSQL
-- file for the design. SQLite has one writer at a time, so `id`s commit in order; the
-- sequencer still gives `position`s, so that both backends are read the same way.

CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    position    INTEGER,
    kind        TEXT NOT NULL,
    personal_id TEXT NOT NULL,
    province    TEXT NOT NULL,
    commune     TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    payload     TEXT NOT NULL
);

CREATE UNIQUE INDEX outbox_position ON outbox (position) WHERE position IS NOT NULL;
CREATE INDEX outbox_unsequenced ON outbox (id) WHERE position IS NULL;

CREATE TABLE feed_sequencer (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    runs INTEGER NOT NULL
);
INSERT INTO feed_sequencer (id, runs) VALUES (1, 0);

ALTER TABLE partners ADD COLUMN feed_kinds TEXT NOT NULL DEFAULT '[]';

CREATE TRIGGER outbox_citizen_insert AFTER INSERT ON citizens BEGIN
    INSERT INTO outbox (kind, personal_id, province, commune, occurred_at, payload)
    VALUES ('citizen.created', NEW.personal_id, NEW.scope_province, NEW.scope_commune, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
            json_object('personal_id', NEW.personal_id, 'family_name', NEW.family_name, 'middle_name', NEW.middle_name, 'given_name', NEW.given_name, 'full_name', NEW.full_name, 'other_names', NEW.other_names, 'birth_date', NEW.birth_date, 'sex', NEW.sex, 'birth_place', NEW.birth_place, 'hometown', NEW.hometown, 'ethnicity', NEW.ethnicity, 'religion', NEW.religion, 'nationality', NEW.nationality, 'permanent_unit', NEW.permanent_unit, 'permanent_detail', NEW.permanent_detail, 'temporary_unit', NEW.temporary_unit, 'temporary_detail', NEW.temporary_detail, 'current_unit', NEW.current_unit, 'current_detail', NEW.current_detail, 'father_id', NEW.father_id, 'father_name', NEW.father_name, 'mother_id', NEW.mother_id, 'mother_name', NEW.mother_name, 'spouse_id', NEW.spouse_id, 'cmnd', NEW.cmnd, 'status', NEW.status, 'death_date', NEW.death_date, 'household_no', NEW.household_no, 'relation', NEW.relation));
END;

-- Household membership first, then the other changed fields (deceased when the status
-- became so), as on PostgreSQL.
CREATE TRIGGER outbox_citizen_household AFTER UPDATE OF household_no, relation ON citizens
WHEN NEW.household_no IS NOT OLD.household_no OR NEW.relation IS NOT OLD.relation BEGIN
    INSERT INTO outbox (kind, personal_id, province, commune, occurred_at, payload)
    VALUES ('household.changed', NEW.personal_id, NEW.scope_province, NEW.scope_commune, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
            json_object('household_no', NEW.household_no, 'relation', NEW.relation,
                        'previous_household_no', OLD.household_no));
END;

CREATE TRIGGER outbox_citizen_update AFTER UPDATE ON citizens BEGIN
    INSERT INTO outbox (kind, personal_id, province, commune, occurred_at, payload)
    SELECT CASE WHEN NEW.status = 'deceased' AND OLD.status <> 'deceased'
                THEN 'citizen.deceased' ELSE 'citizen.updated' END,
           NEW.personal_id, NEW.scope_province, NEW.scope_commune, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), d.p
      FROM (SELECT json_group_object(n.key, n.value) AS p, count(*) AS c
              FROM json_each(json_object('personal_id', NEW.personal_id, 'family_name', NEW.family_name, 'middle_name', NEW.middle_name, 'given_name', NEW.given_name, 'full_name', NEW.full_name, 'other_names', NEW.other_names, 'birth_date', NEW.birth_date, 'sex', NEW.sex, 'birth_place', NEW.birth_place, 'hometown', NEW.hometown, 'ethnicity', NEW.ethnicity, 'religion', NEW.religion, 'nationality', NEW.nationality, 'permanent_unit', NEW.permanent_unit, 'permanent_detail', NEW.permanent_detail, 'temporary_unit', NEW.temporary_unit, 'temporary_detail', NEW.temporary_detail, 'current_unit', NEW.current_unit, 'current_detail', NEW.current_detail, 'father_id', NEW.father_id, 'father_name', NEW.father_name, 'mother_id', NEW.mother_id, 'mother_name', NEW.mother_name, 'spouse_id', NEW.spouse_id, 'cmnd', NEW.cmnd, 'status', NEW.status, 'death_date', NEW.death_date)) AS n
              JOIN json_each(json_object('personal_id', OLD.personal_id, 'family_name', OLD.family_name, 'middle_name', OLD.middle_name, 'given_name', OLD.given_name, 'full_name', OLD.full_name, 'other_names', OLD.other_names, 'birth_date', OLD.birth_date, 'sex', OLD.sex, 'birth_place', OLD.birth_place, 'hometown', OLD.hometown, 'ethnicity', OLD.ethnicity, 'religion', OLD.religion, 'nationality', OLD.nationality, 'permanent_unit', OLD.permanent_unit, 'permanent_detail', OLD.permanent_detail, 'temporary_unit', OLD.temporary_unit, 'temporary_detail', OLD.temporary_detail, 'current_unit', OLD.current_unit, 'current_detail', OLD.current_detail, 'father_id', OLD.father_id, 'father_name', OLD.father_name, 'mother_id', OLD.mother_id, 'mother_name', OLD.mother_name, 'spouse_id', OLD.spouse_id, 'cmnd', OLD.cmnd, 'status', OLD.status, 'death_date', OLD.death_date)) AS o ON o.key = n.key
             WHERE n.value IS NOT o.value) AS d
     WHERE d.c > 0 OR (NEW.status = 'deceased' AND OLD.status <> 'deceased');
END;

CREATE TRIGGER outbox_card_application_insert AFTER INSERT ON card_applications BEGIN
    INSERT INTO outbox (kind, personal_id, province, commune, occurred_at, payload)
    SELECT 'card.application_created', NEW.personal_id,
           coalesce((SELECT scope_province FROM citizens WHERE personal_id = NEW.personal_id), NEW.scope_province),
           coalesce((SELECT scope_commune FROM citizens WHERE personal_id = NEW.personal_id), NEW.scope_commune),
           strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
           json_object('application_id', NEW.id, 'card_kind', NEW.kind, 'stage', NEW.stage, 'from', NULL);
END;

CREATE TRIGGER outbox_card_application_update AFTER UPDATE OF stage ON card_applications
WHEN NEW.stage IS NOT OLD.stage BEGIN
    INSERT INTO outbox (kind, personal_id, province, commune, occurred_at, payload)
    SELECT 'card.application_stage_changed', NEW.personal_id,
           coalesce((SELECT scope_province FROM citizens WHERE personal_id = NEW.personal_id), NEW.scope_province),
           coalesce((SELECT scope_commune FROM citizens WHERE personal_id = NEW.personal_id), NEW.scope_commune),
           strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
           json_object('application_id', NEW.id, 'card_kind', NEW.kind, 'stage', NEW.stage, 'from', OLD.stage);
END;

CREATE TRIGGER outbox_card_insert AFTER INSERT ON cards BEGIN
    INSERT INTO outbox (kind, personal_id, province, commune, occurred_at, payload)
    SELECT 'card.issued', NEW.personal_id,
           coalesce((SELECT scope_province FROM citizens WHERE personal_id = NEW.personal_id), ''),
           coalesce((SELECT scope_commune FROM citizens WHERE personal_id = NEW.personal_id), ''),
           strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
           json_object('application_id', NEW.application_id, 'card_number', NEW.number,
                       'issue_date', NEW.issue_date, 'expiry', NEW.expiry, 'card_status', NEW.status,
                       'from', NULL);
END;

CREATE TRIGGER outbox_card_update AFTER UPDATE OF status ON cards
WHEN NEW.status IS NOT OLD.status BEGIN
    INSERT INTO outbox (kind, personal_id, province, commune, occurred_at, payload)
    SELECT 'card.status_changed', NEW.personal_id,
           coalesce((SELECT scope_province FROM citizens WHERE personal_id = NEW.personal_id), ''),
           coalesce((SELECT scope_commune FROM citizens WHERE personal_id = NEW.personal_id), ''),
           strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
           json_object('application_id', NEW.application_id, 'card_number', NEW.number,
                       'issue_date', NEW.issue_date, 'expiry', NEW.expiry, 'card_status', NEW.status,
                       'from', OLD.status);
END;

CREATE TRIGGER outbox_application_insert AFTER INSERT ON applications BEGIN
    INSERT INTO outbox (kind, personal_id, province, commune, occurred_at, payload)
    SELECT 'application.submitted', NEW.personal_id,
           coalesce((SELECT scope_province FROM citizens WHERE personal_id = NEW.personal_id), NEW.scope_province),
           coalesce((SELECT scope_commune FROM citizens WHERE personal_id = NEW.personal_id), NEW.scope_commune),
           strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
           json_object('application_id', NEW.id, 'service_code', NEW.service_code, 'state', NEW.state,
                       'due_date', NEW.due_date, 'from', NULL);
END;

CREATE TRIGGER outbox_application_update AFTER UPDATE OF state ON applications
WHEN NEW.state IS NOT OLD.state BEGIN
    INSERT INTO outbox (kind, personal_id, province, commune, occurred_at, payload)
    SELECT 'application.state_changed', NEW.personal_id,
           coalesce((SELECT scope_province FROM citizens WHERE personal_id = NEW.personal_id), NEW.scope_province),
           coalesce((SELECT scope_commune FROM citizens WHERE personal_id = NEW.personal_id), NEW.scope_commune),
           strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
           json_object('application_id', NEW.id, 'service_code', NEW.service_code, 'state', NEW.state,
                       'due_date', NEW.due_date, 'from', OLD.state);
END;

CREATE TABLE webhooks (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id   TEXT    NOT NULL REFERENCES partners (client_id),
    url         TEXT    NOT NULL,
    secret      TEXT    NOT NULL,
    state       TEXT    NOT NULL CHECK (state IN ('active', 'paused')),
    cursor      INTEGER NOT NULL,
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL,
    updated_by  TEXT    NOT NULL
);

CREATE TABLE webhook_deliveries (
    webhook_id  INTEGER NOT NULL REFERENCES webhooks (id),
    position    INTEGER NOT NULL,
    personal_id TEXT    NOT NULL,
    state       TEXT    NOT NULL CHECK (state IN ('pending', 'dead')),
    attempts    INTEGER NOT NULL,
    next_at     TEXT    NOT NULL,
    lease_token TEXT,
    lease_until TEXT,
    last_error  TEXT    NOT NULL,
    PRIMARY KEY (webhook_id, position)
) WITHOUT ROWID;

CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_person ON webhook_deliveries (webhook_id, personal_id, position)
    WHERE state = 'pending';
