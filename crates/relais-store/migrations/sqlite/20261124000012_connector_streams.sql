-- Connectors run streams, each with its own ledger and checkpoint: the
-- ledger job of a stream is the integration's job followed by
-- '/<stream>', and report lines say which stream they belong to and
-- whom they are about.
ALTER TABLE sync_run_lines ADD COLUMN stream TEXT NOT NULL DEFAULT '';
-- Who or what a line's record is, as a person reads it (a name and a day).
ALTER TABLE sync_run_lines ADD COLUMN label TEXT NOT NULL DEFAULT '';

-- HappyPal's one stream.
UPDATE sync_ledger SET job = job || '/employees'
    WHERE job LIKE 'happypal:%' AND job NOT LIKE '%/%';
UPDATE sync_checkpoints SET job = job || '/employees', stream = 'cursor'
    WHERE job LIKE 'happypal:%' AND job NOT LIKE '%/%' AND stream = 'users';
UPDATE sync_checkpoints SET job = job || '/employees', stream = 'drift'
    WHERE job LIKE 'happypal:%' AND job NOT LIKE '%/%' AND stream = 'partner';

-- PlanningPME's three streams, told apart by their keys' prefixes.
UPDATE sync_ledger SET job = job || '/departments'
    WHERE job LIKE 'planningpme:%' AND job NOT LIKE '%/%' AND record_key LIKE 'dept:%';
UPDATE sync_ledger SET job = job || '/resources'
    WHERE job LIKE 'planningpme:%' AND job NOT LIKE '%/%' AND record_key LIKE 'res:%';
UPDATE sync_ledger SET job = job || '/unavailabilities'
    WHERE job LIKE 'planningpme:%' AND job NOT LIKE '%/%' AND record_key LIKE 'abs:%';
-- Its one cursor becomes each stream's; the next run reconciles in full.
DELETE FROM sync_checkpoints WHERE job LIKE 'planningpme:%' AND job NOT LIKE '%/%';

-- Options are each connector's own: HappyPal never had PlanningPME's.
UPDATE integrations SET options = json_remove(options, '$.base_department', '$.months')
    WHERE connector = 'happypal';
