-- A base's versions are kept in shares, one row per share, and read as
-- their sums. Each write transaction raised the base's one row at its
-- commit and held it until the commit was on disk, so a base's writers
-- committed one at a time, each behind the previous one's flush. A transaction now raises the share of its connection (one of 16,
-- from the server process's id): the connections of a process raise
-- different rows, and each raise still adds one to the sum, so the version
-- still grows with every committed change. A bulk write raises share 0.
ALTER TABLE base_versions ADD COLUMN share INT NOT NULL DEFAULT 0;
ALTER TABLE base_versions DROP CONSTRAINT base_versions_pkey;
ALTER TABLE base_versions ADD PRIMARY KEY (base_id, share);

CREATE OR REPLACE FUNCTION relais_bump_base_version() RETURNS trigger AS $$
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
    INSERT INTO base_versions (base_id, share, version) VALUES (b, pg_backend_pid() % 16, 1)
    ON CONFLICT (base_id, share) DO UPDATE SET version = base_versions.version + 1;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION relais_bump_structure_version() RETURNS trigger AS $$
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
    INSERT INTO base_versions (base_id, share, version, structure) VALUES (b, pg_backend_pid() % 16, 1, 1)
    ON CONFLICT (base_id, share) DO UPDATE SET structure = base_versions.structure + 1;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
