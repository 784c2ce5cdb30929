-- Each base's structure version: a number that grows with every committed
-- change to what names and shapes its records — its legal units,
-- establishments, departments, and personnel-file sections and fields —
-- and not with a change to an employee, a leave or an expense. What is
-- read from the structure on every request (the names of departments and
-- establishments an answer shows, the personnel-file fields it files
-- `extendedData` under) is kept until the structure changes, not until
-- the next employee update, as the data version would.
--
-- Raised once per transaction and base, when the transaction commits, as
-- the data version is; a bulk write raises it with the data version.
ALTER TABLE base_versions ADD COLUMN structure BIGINT NOT NULL DEFAULT 0;
CREATE FUNCTION relais_bump_structure_version() RETURNS trigger AS $$
DECLARE
    b BIGINT;
BEGIN
    IF current_setting('relais.bulk', true) = 'on' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'DELETE' THEN
        b := OLD.base_id;
    ELSE
        b := NEW.base_id;
    END IF;
    IF current_setting('relais.structure_bumped_' || b, true) = 'yes' THEN
        RETURN NULL;
    END IF;
    PERFORM set_config('relais.structure_bumped_' || b, 'yes', true);
    INSERT INTO base_versions (base_id, version, structure) VALUES (b, 1, 1)
    ON CONFLICT (base_id) DO UPDATE SET structure = base_versions.structure + 1;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
CREATE CONSTRAINT TRIGGER legal_units_structure AFTER INSERT OR UPDATE OR DELETE ON legal_units
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION relais_bump_structure_version();
CREATE CONSTRAINT TRIGGER establishments_structure AFTER INSERT OR UPDATE OR DELETE ON establishments
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION relais_bump_structure_version();
CREATE CONSTRAINT TRIGGER departments_structure AFTER INSERT OR UPDATE OR DELETE ON departments
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION relais_bump_structure_version();
CREATE CONSTRAINT TRIGGER sections_structure AFTER INSERT OR UPDATE OR DELETE ON sections
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION relais_bump_structure_version();
CREATE CONSTRAINT TRIGGER section_fields_structure AFTER INSERT OR UPDATE OR DELETE ON section_fields
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION relais_bump_structure_version();
