-- The absence reports read approved periods by start date: this index holds
-- every column they read, so the database reads the index alone.
CREATE INDEX leave_periods_report_idx ON leave_periods
    (base_id, status, start_date, end_date, employee_id, account_id, half_days, start_slot, end_slot, modified_at);
