-- Search without reading records (issue 12: search ≤ 50 ms p95 at 1,000,000 people).
-- The name indexes carry the birth year (and the nation-wide ones the province), so "le van
-- 1990" or a province officer's name search is decided on the index alone; personal_id
-- stays before them, so the order of results is unchanged. citizens_given indexes the
-- given name (the last word of name_key) for words typed in any order: a name with all the
-- words is found where one of them starts its family name or its given name
-- (rows::citizens::GIVEN_KEY writes the same expression). All three are deferrable indexes
-- (rows::DEFERRABLE_INDEXES, which must match).
DROP INDEX IF EXISTS citizens_name;
CREATE INDEX citizens_name ON citizens (name_key, personal_id, birth_year, scope_province);
DROP INDEX IF EXISTS citizens_scope_name;
CREATE INDEX citizens_scope_name ON citizens (scope_province, scope_commune, name_key, personal_id, birth_year);
CREATE INDEX citizens_given ON citizens (
    substr(name_key, length(rtrim(name_key, 'abcdefghijklmnopqrstuvwxyz0123456789')) + 1),
    name_key, personal_id, birth_year, scope_province);
-- Statistics for the new expression index (the planner has none before an ANALYZE).
ANALYZE citizens;
