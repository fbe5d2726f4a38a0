-- The citizen-update outbox trigger of 0020 without its JSON round trip: 0020 built two
-- 27-field JSON objects per updated row and joined them with json_each to find the changed
-- fields (0.27–0.60 ms per row, ten times the update itself; BENCHMARKS.md, issue 15). The
-- changed fields are now compared column by column; the payload is the same object, its keys
-- in the same order, and the event kinds and conditions are unchanged.
DROP TRIGGER IF EXISTS outbox_citizen_update;

CREATE TRIGGER outbox_citizen_update AFTER UPDATE ON citizens BEGIN
    INSERT INTO outbox (kind, personal_id, province, commune, occurred_at, payload)
    SELECT CASE WHEN NEW.status = 'deceased' AND OLD.status <> 'deceased'
                THEN 'citizen.deceased' ELSE 'citizen.updated' END,
           NEW.personal_id, NEW.scope_province, NEW.scope_commune, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), d.p
      FROM (SELECT json_group_object(k, v) AS p, count(*) AS c
              FROM (SELECT 'personal_id' AS k, NEW.personal_id AS v WHERE NEW.personal_id IS NOT OLD.personal_id
              UNION ALL SELECT 'family_name', NEW.family_name WHERE NEW.family_name IS NOT OLD.family_name
              UNION ALL SELECT 'middle_name', NEW.middle_name WHERE NEW.middle_name IS NOT OLD.middle_name
              UNION ALL SELECT 'given_name', NEW.given_name WHERE NEW.given_name IS NOT OLD.given_name
              UNION ALL SELECT 'full_name', NEW.full_name WHERE NEW.full_name IS NOT OLD.full_name
              UNION ALL SELECT 'other_names', NEW.other_names WHERE NEW.other_names IS NOT OLD.other_names
              UNION ALL SELECT 'birth_date', NEW.birth_date WHERE NEW.birth_date IS NOT OLD.birth_date
              UNION ALL SELECT 'sex', NEW.sex WHERE NEW.sex IS NOT OLD.sex
              UNION ALL SELECT 'birth_place', NEW.birth_place WHERE NEW.birth_place IS NOT OLD.birth_place
              UNION ALL SELECT 'hometown', NEW.hometown WHERE NEW.hometown IS NOT OLD.hometown
              UNION ALL SELECT 'ethnicity', NEW.ethnicity WHERE NEW.ethnicity IS NOT OLD.ethnicity
              UNION ALL SELECT 'religion', NEW.religion WHERE NEW.religion IS NOT OLD.religion
              UNION ALL SELECT 'nationality', NEW.nationality WHERE NEW.nationality IS NOT OLD.nationality
              UNION ALL SELECT 'permanent_unit', NEW.permanent_unit WHERE NEW.permanent_unit IS NOT OLD.permanent_unit
              UNION ALL SELECT 'permanent_detail', NEW.permanent_detail WHERE NEW.permanent_detail IS NOT OLD.permanent_detail
              UNION ALL SELECT 'temporary_unit', NEW.temporary_unit WHERE NEW.temporary_unit IS NOT OLD.temporary_unit
              UNION ALL SELECT 'temporary_detail', NEW.temporary_detail WHERE NEW.temporary_detail IS NOT OLD.temporary_detail
              UNION ALL SELECT 'current_unit', NEW.current_unit WHERE NEW.current_unit IS NOT OLD.current_unit
              UNION ALL SELECT 'current_detail', NEW.current_detail WHERE NEW.current_detail IS NOT OLD.current_detail
              UNION ALL SELECT 'father_id', NEW.father_id WHERE NEW.father_id IS NOT OLD.father_id
              UNION ALL SELECT 'father_name', NEW.father_name WHERE NEW.father_name IS NOT OLD.father_name
              UNION ALL SELECT 'mother_id', NEW.mother_id WHERE NEW.mother_id IS NOT OLD.mother_id
              UNION ALL SELECT 'mother_name', NEW.mother_name WHERE NEW.mother_name IS NOT OLD.mother_name
              UNION ALL SELECT 'spouse_id', NEW.spouse_id WHERE NEW.spouse_id IS NOT OLD.spouse_id
              UNION ALL SELECT 'cmnd', NEW.cmnd WHERE NEW.cmnd IS NOT OLD.cmnd
              UNION ALL SELECT 'status', NEW.status WHERE NEW.status IS NOT OLD.status
              UNION ALL SELECT 'death_date', NEW.death_date WHERE NEW.death_date IS NOT OLD.death_date)) AS d
     WHERE d.c > 0 OR (NEW.status = 'deceased' AND OLD.status <> 'deceased');
END;
