-- Each base's data version: a number that grows with every committed change
-- to its HR data (any table, any writer: the API, the pages, an import, the
-- command line, a connector, a base copy), so that what is computed from the
-- data (the API's counts) is kept exactly until the data changes.
CREATE TABLE base_versions (
    base_id BIGINT PRIMARY KEY,
    version BIGINT NOT NULL
);
CREATE TRIGGER legal_units_version_insert AFTER INSERT ON legal_units BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (NEW.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER legal_units_version_update AFTER UPDATE ON legal_units BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (NEW.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER legal_units_version_delete AFTER DELETE ON legal_units BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (OLD.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER establishments_version_insert AFTER INSERT ON establishments BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (NEW.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER establishments_version_update AFTER UPDATE ON establishments BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (NEW.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER establishments_version_delete AFTER DELETE ON establishments BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (OLD.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER departments_version_insert AFTER INSERT ON departments BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (NEW.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER departments_version_update AFTER UPDATE ON departments BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (NEW.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER departments_version_delete AFTER DELETE ON departments BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (OLD.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER employees_version_insert AFTER INSERT ON employees BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (NEW.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER employees_version_update AFTER UPDATE ON employees BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (NEW.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER employees_version_delete AFTER DELETE ON employees BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (OLD.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER sections_version_insert AFTER INSERT ON sections BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (NEW.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER sections_version_update AFTER UPDATE ON sections BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (NEW.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER sections_version_delete AFTER DELETE ON sections BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (OLD.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER section_fields_version_insert AFTER INSERT ON section_fields BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (NEW.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER section_fields_version_update AFTER UPDATE ON section_fields BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (NEW.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER section_fields_version_delete AFTER DELETE ON section_fields BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (OLD.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER absence_accounts_version_insert AFTER INSERT ON absence_accounts BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (NEW.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER absence_accounts_version_update AFTER UPDATE ON absence_accounts BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (NEW.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER absence_accounts_version_delete AFTER DELETE ON absence_accounts BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (OLD.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER leave_periods_version_insert AFTER INSERT ON leave_periods BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (NEW.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER leave_periods_version_update AFTER UPDATE ON leave_periods BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (NEW.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER leave_periods_version_delete AFTER DELETE ON leave_periods BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (OLD.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER expense_natures_version_insert AFTER INSERT ON expense_natures BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (NEW.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER expense_natures_version_update AFTER UPDATE ON expense_natures BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (NEW.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER expense_natures_version_delete AFTER DELETE ON expense_natures BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (OLD.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER axes_version_insert AFTER INSERT ON axes BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (NEW.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER axes_version_update AFTER UPDATE ON axes BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (NEW.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER axes_version_delete AFTER DELETE ON axes BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (OLD.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER axis_sections_version_insert AFTER INSERT ON axis_sections BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (NEW.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER axis_sections_version_update AFTER UPDATE ON axis_sections BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (NEW.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER axis_sections_version_delete AFTER DELETE ON axis_sections BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (OLD.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER expense_claims_version_insert AFTER INSERT ON expense_claims BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (NEW.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER expense_claims_version_update AFTER UPDATE ON expense_claims BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (NEW.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER expense_claims_version_delete AFTER DELETE ON expense_claims BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (OLD.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER expense_items_version_insert AFTER INSERT ON expense_items BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (NEW.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER expense_items_version_update AFTER UPDATE ON expense_items BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (NEW.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER expense_items_version_delete AFTER DELETE ON expense_items BEGIN
    INSERT INTO base_versions (base_id, version) VALUES (OLD.base_id, 1)
    ON CONFLICT (base_id) DO UPDATE SET version = version + 1;
END;
