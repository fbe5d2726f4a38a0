-- Due-for-renewal list (issue 3): each card carries the first day it appears on the list
-- (expiry minus the registry's 30-day notice window; NULL for a card valid for life) and
-- its holder's residence scope at issue, so that a scoped, date-bounded page is one range
-- scan of a partial index over valid cards.

ALTER TABLE cards ADD COLUMN renewal_due_from text COLLATE "C";
ALTER TABLE cards ADD COLUMN scope_province text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE cards ADD COLUMN scope_commune text COLLATE "C" NOT NULL DEFAULT '';

UPDATE cards SET
    renewal_due_from = CASE WHEN cards.expiry IS NULL THEN NULL
                            ELSE to_char(cards.expiry::date - 30, 'YYYY-MM-DD') END,
    scope_province = c.scope_province,
    scope_commune = c.scope_commune
FROM citizens c WHERE c.personal_id = cards.personal_id;

CREATE INDEX cards_due_nation ON cards (renewal_due_from) WHERE status = 'valid';
CREATE INDEX cards_due_province ON cards (scope_province, renewal_due_from) WHERE status = 'valid';
CREATE INDEX cards_due_commune ON cards (scope_commune, renewal_due_from) WHERE status = 'valid';
