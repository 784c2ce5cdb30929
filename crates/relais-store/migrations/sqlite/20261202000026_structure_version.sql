-- Each base's structure version: a number that grows with every committed
-- change to what names and shapes its records — its legal units,
-- establishments, departments, and personnel-file sections and fields —
-- and not with a change to an employee, a leave or an expense. What is
-- read from the structure on every request (the names of departments and
-- establishments an answer shows, the personnel-file fields it files
-- `extendedData` under) is kept until the structure changes, not until
-- the next employee update, as the data version would.
--
-- A bulk write raises it with the data version, once (see `base_versions`).
ALTER TABLE base_versions ADD COLUMN structure BIGINT NOT NULL DEFAULT 0;
CREATE TRIGGER legal_units_structure_insert AFTER INSERT ON legal_units
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO base_versions (base_id, version, structure) VALUES (NEW.base_id, 1, 1)
    ON CONFLICT (base_id) DO UPDATE SET structure = structure + 1;
END;
CREATE TRIGGER legal_units_structure_update AFTER UPDATE ON legal_units
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO base_versions (base_id, version, structure) VALUES (NEW.base_id, 1, 1)
    ON CONFLICT (base_id) DO UPDATE SET structure = structure + 1;
END;
CREATE TRIGGER legal_units_structure_delete AFTER DELETE ON legal_units
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO base_versions (base_id, version, structure) VALUES (OLD.base_id, 1, 1)
    ON CONFLICT (base_id) DO UPDATE SET structure = structure + 1;
END;
CREATE TRIGGER establishments_structure_insert AFTER INSERT ON establishments
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO base_versions (base_id, version, structure) VALUES (NEW.base_id, 1, 1)
    ON CONFLICT (base_id) DO UPDATE SET structure = structure + 1;
END;
CREATE TRIGGER establishments_structure_update AFTER UPDATE ON establishments
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO base_versions (base_id, version, structure) VALUES (NEW.base_id, 1, 1)
    ON CONFLICT (base_id) DO UPDATE SET structure = structure + 1;
END;
CREATE TRIGGER establishments_structure_delete AFTER DELETE ON establishments
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO base_versions (base_id, version, structure) VALUES (OLD.base_id, 1, 1)
    ON CONFLICT (base_id) DO UPDATE SET structure = structure + 1;
END;
CREATE TRIGGER departments_structure_insert AFTER INSERT ON departments
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO base_versions (base_id, version, structure) VALUES (NEW.base_id, 1, 1)
    ON CONFLICT (base_id) DO UPDATE SET structure = structure + 1;
END;
CREATE TRIGGER departments_structure_update AFTER UPDATE ON departments
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO base_versions (base_id, version, structure) VALUES (NEW.base_id, 1, 1)
    ON CONFLICT (base_id) DO UPDATE SET structure = structure + 1;
END;
CREATE TRIGGER departments_structure_delete AFTER DELETE ON departments
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO base_versions (base_id, version, structure) VALUES (OLD.base_id, 1, 1)
    ON CONFLICT (base_id) DO UPDATE SET structure = structure + 1;
END;
CREATE TRIGGER sections_structure_insert AFTER INSERT ON sections
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO base_versions (base_id, version, structure) VALUES (NEW.base_id, 1, 1)
    ON CONFLICT (base_id) DO UPDATE SET structure = structure + 1;
END;
CREATE TRIGGER sections_structure_update AFTER UPDATE ON sections
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO base_versions (base_id, version, structure) VALUES (NEW.base_id, 1, 1)
    ON CONFLICT (base_id) DO UPDATE SET structure = structure + 1;
END;
CREATE TRIGGER sections_structure_delete AFTER DELETE ON sections
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO base_versions (base_id, version, structure) VALUES (OLD.base_id, 1, 1)
    ON CONFLICT (base_id) DO UPDATE SET structure = structure + 1;
END;
CREATE TRIGGER section_fields_structure_insert AFTER INSERT ON section_fields
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO base_versions (base_id, version, structure) VALUES (NEW.base_id, 1, 1)
    ON CONFLICT (base_id) DO UPDATE SET structure = structure + 1;
END;
CREATE TRIGGER section_fields_structure_update AFTER UPDATE ON section_fields
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO base_versions (base_id, version, structure) VALUES (NEW.base_id, 1, 1)
    ON CONFLICT (base_id) DO UPDATE SET structure = structure + 1;
END;
CREATE TRIGGER section_fields_structure_delete AFTER DELETE ON section_fields
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO base_versions (base_id, version, structure) VALUES (OLD.base_id, 1, 1)
    ON CONFLICT (base_id) DO UPDATE SET structure = structure + 1;
END;
