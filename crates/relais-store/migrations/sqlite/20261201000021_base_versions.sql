-- Each base's data version: a number that grows with every committed change
-- to its HR data and its history of changes (any table, any writer: the API, the pages, an import, the
-- command line, a connector, a base copy), so that what is computed from the
-- data (the API's counts) is kept exactly until the data changes.
--
-- A bulk write (thousands of rows in one statement: seeding, imports, base
-- copies) marks itself in `bulk_writes` inside its transaction, raises every
-- base's version once, and removes the mark before committing: the rows it
-- writes skip the per-row raise (nobody else ever sees the mark).
CREATE TABLE base_versions (
    base_id BIGINT PRIMARY KEY,
    version BIGINT NOT NULL
);
CREATE TABLE bulk_writes (
    active BIGINT NOT NULL
);
CREATE TRIGGER legal_units_version_insert AFTER INSERT ON legal_units
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (NEW.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER legal_units_version_update AFTER UPDATE ON legal_units
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (NEW.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER legal_units_version_delete AFTER DELETE ON legal_units
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (OLD.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER establishments_version_insert AFTER INSERT ON establishments
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (NEW.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER establishments_version_update AFTER UPDATE ON establishments
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (NEW.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER establishments_version_delete AFTER DELETE ON establishments
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (OLD.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER departments_version_insert AFTER INSERT ON departments
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (NEW.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER departments_version_update AFTER UPDATE ON departments
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (NEW.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER departments_version_delete AFTER DELETE ON departments
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (OLD.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER employees_version_insert AFTER INSERT ON employees
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (NEW.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER employees_version_update AFTER UPDATE ON employees
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (NEW.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER employees_version_delete AFTER DELETE ON employees
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (OLD.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER sections_version_insert AFTER INSERT ON sections
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (NEW.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER sections_version_update AFTER UPDATE ON sections
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (NEW.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER sections_version_delete AFTER DELETE ON sections
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (OLD.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER section_fields_version_insert AFTER INSERT ON section_fields
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (NEW.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER section_fields_version_update AFTER UPDATE ON section_fields
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (NEW.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER section_fields_version_delete AFTER DELETE ON section_fields
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (OLD.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER absence_accounts_version_insert AFTER INSERT ON absence_accounts
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (NEW.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER absence_accounts_version_update AFTER UPDATE ON absence_accounts
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (NEW.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER absence_accounts_version_delete AFTER DELETE ON absence_accounts
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (OLD.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER leave_periods_version_insert AFTER INSERT ON leave_periods
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (NEW.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER leave_periods_version_update AFTER UPDATE ON leave_periods
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (NEW.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER leave_periods_version_delete AFTER DELETE ON leave_periods
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (OLD.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER expense_natures_version_insert AFTER INSERT ON expense_natures
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (NEW.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER expense_natures_version_update AFTER UPDATE ON expense_natures
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (NEW.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER expense_natures_version_delete AFTER DELETE ON expense_natures
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (OLD.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER axes_version_insert AFTER INSERT ON axes
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (NEW.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER axes_version_update AFTER UPDATE ON axes
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (NEW.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER axes_version_delete AFTER DELETE ON axes
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (OLD.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER axis_sections_version_insert AFTER INSERT ON axis_sections
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (NEW.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER axis_sections_version_update AFTER UPDATE ON axis_sections
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (NEW.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER axis_sections_version_delete AFTER DELETE ON axis_sections
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (OLD.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER expense_claims_version_insert AFTER INSERT ON expense_claims
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (NEW.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER expense_claims_version_update AFTER UPDATE ON expense_claims
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (NEW.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER expense_claims_version_delete AFTER DELETE ON expense_claims
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (OLD.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER expense_items_version_insert AFTER INSERT ON expense_items
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (NEW.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER expense_items_version_update AFTER UPDATE ON expense_items
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (NEW.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER expense_items_version_delete AFTER DELETE ON expense_items
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (OLD.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER employee_logs_version_insert AFTER INSERT ON employee_logs
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (NEW.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER employee_logs_version_update AFTER UPDATE ON employee_logs
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (NEW.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER employee_logs_version_delete AFTER DELETE ON employee_logs
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (OLD.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
