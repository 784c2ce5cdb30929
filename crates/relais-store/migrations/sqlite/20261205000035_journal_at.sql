-- The journal's entries and the accounts' changes are deleted once older
-- than their retention (`journal_retention_days`): found by the instant
-- they were made.
CREATE INDEX activity_at_idx ON activity (at);
CREATE INDEX account_changes_at_idx ON account_changes (at);
