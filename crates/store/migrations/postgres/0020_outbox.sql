-- Transactional outbox and change feed (issue 15, part 3), PostgreSQL.
--
-- Every change to registry data writes an event row here in the same transaction, from
-- triggers on the tables themselves, so no write path (the registry, imports, merges, the
-- linked procedures) can change data without its event. `id` is the order of insertion;
-- `position` is the feed order, given by the sequencer (`feed::sequence`) to committed
-- events only, in `id` order, one sequencer at a time (the row lock on `feed_sequencer`).
-- Readers follow `position`, never `id`: identity values commit out of order, so a reader
-- following `id` could pass an event whose transaction commits later; positions are only
-- ever given to committed rows, and each run's positions come after every earlier run's.
--
-- Per-person order: every event of a person is written while its transaction holds the
-- person's `citizens` row lock (an update holds it; the card and application triggers take
-- it with FOR NO KEY UPDATE), so two transactions' events of one person get their `id`s in
-- commit order, and the sequencer keeps that order.

CREATE TABLE outbox (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    position    bigint,
    kind        text COLLATE "C" NOT NULL,
    personal_id text COLLATE "C" NOT NULL,
    province    text COLLATE "C" NOT NULL,
    commune     text COLLATE "C" NOT NULL,
    occurred_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    payload     jsonb NOT NULL
);

CREATE UNIQUE INDEX outbox_position ON outbox (position) WHERE position IS NOT NULL;
CREATE INDEX outbox_unsequenced ON outbox (id) WHERE position IS NULL;

-- One row: the sequencer's lock (and how many runs gave positions).
CREATE TABLE feed_sequencer (
    id   integer PRIMARY KEY CHECK (id = 1),
    runs bigint  NOT NULL
);
INSERT INTO feed_sequencer (id, runs) VALUES (1, 0);

-- Which event kinds a partner's feed carries (JSON array of kinds; fields and units are the
-- partner's entitlement as for its other operations).
ALTER TABLE partners ADD COLUMN feed_kinds text NOT NULL DEFAULT '[]';

-- Citizens created: one statement-level trigger over the inserted rows (a bulk import's
-- COPY writes its events in one set-based INSERT, not one per row).
CREATE FUNCTION outbox_citizen_created() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO outbox (kind, personal_id, province, commune, payload)
    SELECT 'citizen.created', n.personal_id, n.scope_province, n.scope_commune,
           to_jsonb(n) - ARRAY['name_key', 'birth_year', 'version', 'created_at', 'updated_at',
                               'updated_by', 'change_reason', 'scope_province', 'scope_commune']
      FROM new_citizens AS n;
    RETURN NULL;
END
$$;

CREATE TRIGGER outbox_citizen_created AFTER INSERT ON citizens
    REFERENCING NEW TABLE AS new_citizens
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_citizen_created();

-- Citizens updated (the changed fields), deceased, household membership.
CREATE FUNCTION outbox_citizen() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    hidden text[] := ARRAY['name_key', 'birth_year', 'version', 'created_at', 'updated_at',
                           'updated_by', 'change_reason', 'scope_province', 'scope_commune'];
    n jsonb;
    o jsonb;
    changed jsonb;
BEGIN
    n := to_jsonb(NEW) - hidden;
    o := to_jsonb(OLD) - hidden;
    SELECT coalesce(jsonb_object_agg(e.key, e.value), '{}'::jsonb) INTO changed
      FROM jsonb_each(n) AS e WHERE e.value IS DISTINCT FROM o -> e.key;
    IF changed ? 'household_no' OR changed ? 'relation' THEN
        INSERT INTO outbox (kind, personal_id, province, commune, payload)
        VALUES ('household.changed', NEW.personal_id, NEW.scope_province, NEW.scope_commune,
                jsonb_build_object('household_no', NEW.household_no, 'relation', NEW.relation,
                                   'previous_household_no', OLD.household_no));
        changed := changed - 'household_no' - 'relation';
    END IF;
    IF NEW.status = 'deceased' AND OLD.status <> 'deceased' THEN
        INSERT INTO outbox (kind, personal_id, province, commune, payload)
        VALUES ('citizen.deceased', NEW.personal_id, NEW.scope_province, NEW.scope_commune, changed);
    ELSIF changed <> '{}'::jsonb THEN
        INSERT INTO outbox (kind, personal_id, province, commune, payload)
        VALUES ('citizen.updated', NEW.personal_id, NEW.scope_province, NEW.scope_commune, changed);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER outbox_citizen AFTER UPDATE ON citizens
    FOR EACH ROW EXECUTE FUNCTION outbox_citizen();

-- Takes the person's row lock (so their events are numbered in commit order) and returns
-- the person's 2025 province and commune.
CREATE FUNCTION outbox_person(pid text, OUT province text, OUT commune text) LANGUAGE plpgsql AS $$
BEGIN
    SELECT c.scope_province, c.scope_commune INTO province, commune
      FROM citizens c WHERE c.personal_id = pid FOR NO KEY UPDATE;
END
$$;

-- Card applications: created, stage changed.
CREATE FUNCTION outbox_card_application() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    p record;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.stage IS NOT DISTINCT FROM OLD.stage THEN
        RETURN NULL;
    END IF;
    p := outbox_person(NEW.personal_id);
    INSERT INTO outbox (kind, personal_id, province, commune, payload)
    VALUES (CASE TG_OP WHEN 'INSERT' THEN 'card.application_created' ELSE 'card.application_stage_changed' END,
            NEW.personal_id, coalesce(p.province, NEW.scope_province), coalesce(p.commune, NEW.scope_commune),
            jsonb_build_object('application_id', NEW.id, 'card_kind', NEW.kind, 'stage', NEW.stage,
                               'from', CASE TG_OP WHEN 'INSERT' THEN NULL ELSE OLD.stage END));
    RETURN NULL;
END
$$;

CREATE TRIGGER outbox_card_application AFTER INSERT OR UPDATE ON card_applications
    FOR EACH ROW EXECUTE FUNCTION outbox_card_application();

-- Cards: issued, status changed.
CREATE FUNCTION outbox_card() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    p record;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.status IS NOT DISTINCT FROM OLD.status THEN
        RETURN NULL;
    END IF;
    p := outbox_person(NEW.personal_id);
    INSERT INTO outbox (kind, personal_id, province, commune, payload)
    VALUES (CASE TG_OP WHEN 'INSERT' THEN 'card.issued' ELSE 'card.status_changed' END,
            NEW.personal_id, coalesce(p.province, ''), coalesce(p.commune, ''),
            jsonb_build_object('application_id', NEW.application_id, 'card_number', NEW.number,
                               'issue_date', NEW.issue_date, 'expiry', NEW.expiry,
                               'card_status', NEW.status,
                               'from', CASE TG_OP WHEN 'INSERT' THEN NULL ELSE OLD.status END));
    RETURN NULL;
END
$$;

CREATE TRIGGER outbox_card AFTER INSERT OR UPDATE ON cards
    FOR EACH ROW EXECUTE FUNCTION outbox_card();

-- Public-service applications: submitted, state changed.
CREATE FUNCTION outbox_application() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    p record;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.state IS NOT DISTINCT FROM OLD.state THEN
        RETURN NULL;
    END IF;
    p := outbox_person(NEW.personal_id);
    INSERT INTO outbox (kind, personal_id, province, commune, payload)
    VALUES (CASE TG_OP WHEN 'INSERT' THEN 'application.submitted' ELSE 'application.state_changed' END,
            NEW.personal_id, coalesce(p.province, NEW.scope_province), coalesce(p.commune, NEW.scope_commune),
            jsonb_build_object('application_id', NEW.id, 'service_code', NEW.service_code,
                               'state', NEW.state, 'due_date', NEW.due_date,
                               'from', CASE TG_OP WHEN 'INSERT' THEN NULL ELSE OLD.state END));
    RETURN NULL;
END
$$;

CREATE TRIGGER outbox_application AFTER INSERT OR UPDATE ON applications
    FOR EACH ROW EXECUTE FUNCTION outbox_application();

-- Webhook subscriptions (one partner may have several) and their deliveries. `cursor` is
-- the feed position up to which events were handed to `webhook_deliveries` (filtered by the
-- partner's entitlement); a delivery is claimed by one dispatcher at a time under a lease
-- (`lease_token`, `lease_until`; FOR UPDATE SKIP LOCKED between servers), retried with
-- back-off (`attempts`, `next_at`) and dead-lettered after the limit (`state = 'dead'`).
CREATE TABLE webhooks (
    id          bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    client_id   text COLLATE "C" NOT NULL REFERENCES partners (client_id),
    url         text        NOT NULL,
    secret      text        NOT NULL,
    state       text        NOT NULL CHECK (state IN ('active', 'paused')),
    cursor      bigint      NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    updated_by  text        NOT NULL
);

CREATE TABLE webhook_deliveries (
    webhook_id  bigint      NOT NULL REFERENCES webhooks (id),
    position    bigint      NOT NULL,
    personal_id text COLLATE "C" NOT NULL,
    state       text        NOT NULL CHECK (state IN ('pending', 'dead')),
    attempts    bigint      NOT NULL,
    next_at     timestamptz NOT NULL,
    lease_token text,
    lease_until timestamptz,
    last_error  text        NOT NULL,
    PRIMARY KEY (webhook_id, position)
);

CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_person ON webhook_deliveries (webhook_id, personal_id, position)
    WHERE state = 'pending';
