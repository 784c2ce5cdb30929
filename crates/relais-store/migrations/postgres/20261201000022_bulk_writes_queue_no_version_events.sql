-- A bulk write (seeding, imports, base copies: `relais.bulk` set for its
-- transaction) raises every base's version once itself, so its rows need no
-- version event at all. The version triggers were deferred row triggers that
-- returned at once in a bulk write, but PostgreSQL still queued one event per
-- row, held by the transaction until its commit. A constraint trigger's WHEN
-- is checked as the row is written, so with it a bulk write's rows queue
-- nothing.
DROP TRIGGER legal_units_version ON legal_units;
CREATE CONSTRAINT TRIGGER legal_units_version AFTER INSERT OR UPDATE OR DELETE ON legal_units
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (current_setting('relais.bulk', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION relais_bump_base_version();
DROP TRIGGER establishments_version ON establishments;
CREATE CONSTRAINT TRIGGER establishments_version AFTER INSERT OR UPDATE OR DELETE ON establishments
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (current_setting('relais.bulk', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION relais_bump_base_version();
DROP TRIGGER departments_version ON departments;
CREATE CONSTRAINT TRIGGER departments_version AFTER INSERT OR UPDATE OR DELETE ON departments
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (current_setting('relais.bulk', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION relais_bump_base_version();
DROP TRIGGER employees_version ON employees;
CREATE CONSTRAINT TRIGGER employees_version AFTER INSERT OR UPDATE OR DELETE ON employees
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (current_setting('relais.bulk', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION relais_bump_base_version();
DROP TRIGGER sections_version ON sections;
CREATE CONSTRAINT TRIGGER sections_version AFTER INSERT OR UPDATE OR DELETE ON sections
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (current_setting('relais.bulk', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION relais_bump_base_version();
DROP TRIGGER section_fields_version ON section_fields;
CREATE CONSTRAINT TRIGGER section_fields_version AFTER INSERT OR UPDATE OR DELETE ON section_fields
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (current_setting('relais.bulk', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION relais_bump_base_version();
DROP TRIGGER absence_accounts_version ON absence_accounts;
CREATE CONSTRAINT TRIGGER absence_accounts_version AFTER INSERT OR UPDATE OR DELETE ON absence_accounts
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (current_setting('relais.bulk', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION relais_bump_base_version();
DROP TRIGGER leave_periods_version ON leave_periods;
CREATE CONSTRAINT TRIGGER leave_periods_version AFTER INSERT OR UPDATE OR DELETE ON leave_periods
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (current_setting('relais.bulk', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION relais_bump_base_version();
DROP TRIGGER expense_natures_version ON expense_natures;
CREATE CONSTRAINT TRIGGER expense_natures_version AFTER INSERT OR UPDATE OR DELETE ON expense_natures
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (current_setting('relais.bulk', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION relais_bump_base_version();
DROP TRIGGER axes_version ON axes;
CREATE CONSTRAINT TRIGGER axes_version AFTER INSERT OR UPDATE OR DELETE ON axes
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (current_setting('relais.bulk', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION relais_bump_base_version();
DROP TRIGGER axis_sections_version ON axis_sections;
CREATE CONSTRAINT TRIGGER axis_sections_version AFTER INSERT OR UPDATE OR DELETE ON axis_sections
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (current_setting('relais.bulk', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION relais_bump_base_version();
DROP TRIGGER expense_claims_version ON expense_claims;
CREATE CONSTRAINT TRIGGER expense_claims_version AFTER INSERT OR UPDATE OR DELETE ON expense_claims
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (current_setting('relais.bulk', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION relais_bump_base_version();
DROP TRIGGER expense_items_version ON expense_items;
CREATE CONSTRAINT TRIGGER expense_items_version AFTER INSERT OR UPDATE OR DELETE ON expense_items
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (current_setting('relais.bulk', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION relais_bump_base_version();
DROP TRIGGER employee_logs_version ON employee_logs;
CREATE CONSTRAINT TRIGGER employee_logs_version AFTER INSERT OR UPDATE OR DELETE ON employee_logs
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (current_setting('relais.bulk', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION relais_bump_base_version();
