-- The month rollup's update trigger was a statement trigger with transition tables: every
-- UPDATE of `applications` (each state change of the engine) captured its old and new rows
-- and ran a plpgsql join over them, only to find that no counted column had moved (about a
-- quarter of a state change's trigger time). A row trigger whose WHEN clause compares the
-- counted columns is checked without calling any function, so a state change pays nothing
-- here; should anything move an application to another province, month, service or channel,
-- the count moves with it as before (two signed delta rows, see 0030).
DROP TRIGGER application_month_counts_update ON applications;
DROP FUNCTION application_month_counts_update();

CREATE FUNCTION application_month_counts_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO application_month_counts (scope_province, month, service_code, channel, received)
    VALUES (OLD.scope_province, vietnam_month(OLD.submitted_at), OLD.service_code, OLD.channel, -1),
           (NEW.scope_province, vietnam_month(NEW.submitted_at), NEW.service_code, NEW.channel, 1);
    RETURN NULL;
END
$$;

CREATE TRIGGER application_month_counts_update
AFTER UPDATE OF scope_province, submitted_at, service_code, channel ON applications
FOR EACH ROW
WHEN ((OLD.scope_province, OLD.submitted_at, OLD.service_code, OLD.channel)
      IS DISTINCT FROM (NEW.scope_province, NEW.submitted_at, NEW.service_code, NEW.channel))
EXECUTE FUNCTION application_month_counts_move();
