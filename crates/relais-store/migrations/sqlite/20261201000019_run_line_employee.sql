-- The employee of the base a run's line is about (when it is about one): the
-- report names them, and an employee's page lists what each app received.
ALTER TABLE sync_run_lines ADD COLUMN employee_id BIGINT;
CREATE INDEX sync_run_lines_employee_idx ON sync_run_lines (employee_id, run_id) WHERE employee_id IS NOT NULL;
