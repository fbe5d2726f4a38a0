-- Submitted figures (issue 16, part 3): agencies that run services outside dancu submit
-- their monthly figures on fixed forms (dancu_tables::forms: `services`, `outreach`), by
-- unit (a 2025 commune or province) and month; a commune submits, the province approves or
-- returns with a reason; every transition is kept. Values are whole numbers ≥ 0, zeros not
-- stored. A fifth officer role, `agency` (cán bộ ngành), enters figures and reads no
-- personal record.

ALTER TABLE officers DROP CONSTRAINT officers_role_check;
ALTER TABLE officers ADD CONSTRAINT officers_role_check
    CHECK (role IN ('admin', 'leader', 'officer', 'auditor', 'agency'));

CREATE TABLE figure_submissions (
    id            bigint PRIMARY KEY,
    unit          text COLLATE "C" NOT NULL,
    province      text COLLATE "C" NOT NULL,
    commune       text COLLATE "C" NOT NULL,
    month         text COLLATE "C" NOT NULL,
    form          text COLLATE "C" NOT NULL,
    state         text NOT NULL CHECK (state IN ('draft', 'submitted', 'approved', 'returned')),
    version       bigint NOT NULL,
    created_at    timestamptz NOT NULL,
    created_by    text NOT NULL,
    updated_at    timestamptz NOT NULL,
    updated_by    text NOT NULL,
    submitted_by  text,
    UNIQUE (unit, month, form)
);
CREATE INDEX figure_submissions_province ON figure_submissions (province, month, state);
CREATE INDEX figure_submissions_commune ON figure_submissions (commune, month);

CREATE TABLE figure_values (
    submission_id bigint NOT NULL REFERENCES figure_submissions (id),
    row_code      text COLLATE "C" NOT NULL,
    col_code      text COLLATE "C" NOT NULL,
    value         bigint NOT NULL CHECK (value >= 0),
    PRIMARY KEY (submission_id, row_code, col_code)
);

CREATE TABLE figure_events (
    id            bigserial PRIMARY KEY,
    submission_id bigint NOT NULL REFERENCES figure_submissions (id),
    at            timestamptz NOT NULL,
    actor         text NOT NULL,
    action        text NOT NULL,
    from_state    text,
    to_state      text NOT NULL,
    reason        text NOT NULL DEFAULT '',
    source        text NOT NULL DEFAULT ''
);
CREATE INDEX figure_events_submission ON figure_events (submission_id, id);
