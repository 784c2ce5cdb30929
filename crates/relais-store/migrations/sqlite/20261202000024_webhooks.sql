-- Webhook endpoints: where a key's change events are pushed. `topics` are
-- comma-separated filters ('' for every topic the key follows),
-- `establishments` comma-separated identifiers (NULL for all the key sees);
-- `secrets` the signing secret (and the one before the last rotation),
-- sealed under the master key; `cursor` the last event handed to its
-- deliveries.
CREATE TABLE webhook_endpoints (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    base_id BIGINT NOT NULL REFERENCES bases (id),
    key_id BIGINT NOT NULL REFERENCES api_keys (id),
    name TEXT NOT NULL,
    url TEXT NOT NULL,
    topics TEXT NOT NULL,
    establishments TEXT,
    secrets TEXT NOT NULL,
    status TEXT NOT NULL,
    status_reason TEXT,
    cursor BIGINT NOT NULL,
    failing_since DATETIME,
    previous_until DATETIME,
    created_at DATETIME NOT NULL,
    modified_at DATETIME NOT NULL
);
CREATE INDEX webhook_endpoints_key_idx ON webhook_endpoints (key_id);

-- One event's delivery to one endpoint: the body is fixed when the
-- delivery is made, so that every attempt sends the same message under the
-- same `message_id` (the receiver's idempotency key).
CREATE TABLE webhook_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    endpoint_id BIGINT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_seq BIGINT NOT NULL,
    topic TEXT NOT NULL,
    message_id TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_at DATETIME,
    last_status BIGINT,
    last_error TEXT,
    last_latency_ms BIGINT,
    created_at DATETIME NOT NULL,
    delivered_at DATETIME
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (endpoint_id, status, next_attempt_at);
