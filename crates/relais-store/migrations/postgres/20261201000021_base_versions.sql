-- Each base's data version: a number that grows with every committed change
-- to its HR data and its history of changes (any table, any writer: the API, the pages, an import, the
-- command line, a connector, a base copy), so that what is computed from the
-- data (the API's counts) is kept exactly until the data changes.
--
-- Raised once per transaction and base, when the transaction commits (a
-- deferred trigger), so concurrent writers never wait on it mid-transaction.
-- A bulk write (seeding, imports, base copies) sets `relais.bulk` for its
-- transaction and raises every base's version once itself.
CREATE TABLE base_versions (
    base_id BIGINT PRIMARY KEY,
    version BIGINT NOT NULL
);
CREATE FUNCTION relais_bump_base_version() RETURNS trigger AS $$
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
    IF current_setting('relais.version_bumped_' || b, true) = 'yes' THEN
        RETURN NULL;
    END IF;
    PERFORM set_config('relais.version_bumped_' || b, 'yes', true);
    INSERT INTO base_versions (base_id, version) VALUES (b, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = base_versions.version + 1;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
CREATE CONSTRAINT TRIGGER legal_units_version AFTER INSERT OR UPDATE OR DELETE ON legal_units
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION relais_bump_base_version();
CREATE CONSTRAINT TRIGGER establishments_version AFTER INSERT OR UPDATE OR DELETE ON establishments
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION relais_bump_base_version();
CREATE CONSTRAINT TRIGGER departments_version AFTER INSERT OR UPDATE OR DELETE ON departments
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION relais_bump_base_version();
CREATE CONSTRAINT TRIGGER employees_version AFTER INSERT OR UPDATE OR DELETE ON employees
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION relais_bump_base_version();
CREATE CONSTRAINT TRIGGER sections_version AFTER INSERT OR UPDATE OR DELETE ON sections
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION relais_bump_base_version();
CREATE CONSTRAINT TRIGGER section_fields_version AFTER INSERT OR UPDATE OR DELETE ON section_fields
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION relais_bump_base_version();
CREATE CONSTRAINT TRIGGER absence_accounts_version AFTER INSERT OR UPDATE OR DELETE ON absence_accounts
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION relais_bump_base_version();
CREATE CONSTRAINT TRIGGER leave_periods_version AFTER INSERT OR UPDATE OR DELETE ON leave_periods
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION relais_bump_base_version();
CREATE CONSTRAINT TRIGGER expense_natures_version AFTER INSERT OR UPDATE OR DELETE ON expense_natures
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION relais_bump_base_version();
CREATE CONSTRAINT TRIGGER axes_version AFTER INSERT OR UPDATE OR DELETE ON axes
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION relais_bump_base_version();
CREATE CONSTRAINT TRIGGER axis_sections_version AFTER INSERT OR UPDATE OR DELETE ON axis_sections
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION relais_bump_base_version();
CREATE CONSTRAINT TRIGGER expense_claims_version AFTER INSERT OR UPDATE OR DELETE ON expense_claims
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION relais_bump_base_version();
CREATE CONSTRAINT TRIGGER expense_items_version AFTER INSERT OR UPDATE OR DELETE ON expense_items
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION relais_bump_base_version();
CREATE CONSTRAINT TRIGGER employee_logs_version AFTER INSERT OR UPDATE OR DELETE ON employee_logs
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION relais_bump_base_version();
