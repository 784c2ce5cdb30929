-- How many records each answer held (items of a list, 1 for one record),
-- for every resource, so that a key's reads can be shown per resource.
ALTER TABLE api_requests ADD COLUMN records BIGINT NOT NULL DEFAULT 0;
CREATE INDEX api_requests_key_at_idx ON api_requests (key_id, at);
