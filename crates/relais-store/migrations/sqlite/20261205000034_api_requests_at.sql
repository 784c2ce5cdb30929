-- The audit trail's requests are deleted once older than its retention
-- (`audit_retention_days`): found by the instant they were made.
CREATE INDEX api_requests_at_idx ON api_requests (at);
