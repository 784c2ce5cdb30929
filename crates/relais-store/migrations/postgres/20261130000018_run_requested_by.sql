-- Who asked for a run from the admin pages (a person's name), shown in the
-- runs list beside the trigger.
ALTER TABLE sync_runs ADD COLUMN requested_by TEXT;
