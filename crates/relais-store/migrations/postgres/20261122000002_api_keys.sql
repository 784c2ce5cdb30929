-- API keys, the audit trail of API requests, and the change log of employee fields.

CREATE TABLE api_keys (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    base_id BIGINT NOT NULL REFERENCES bases (id),
    prefix TEXT NOT NULL UNIQUE,
    secret_hash TEXT NOT NULL,
    name TEXT NOT NULL,
    contact TEXT NOT NULL,
    usage TEXT NOT NULL CHECK (usage IN ('internal', 'third-party')),
    role TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ
);
CREATE INDEX api_keys_base_idx ON api_keys (base_id);

CREATE TABLE api_requests (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    base_id BIGINT NOT NULL REFERENCES bases (id),
    key_id BIGINT NOT NULL REFERENCES api_keys (id),
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    status INTEGER NOT NULL,
    employee_records BIGINT NOT NULL,
    at TIMESTAMPTZ NOT NULL
);
CREATE INDEX api_requests_key_idx ON api_requests (key_id, id);

-- One row per changed field; value is the new value as JSON text.
CREATE TABLE employee_logs (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    base_id BIGINT NOT NULL REFERENCES bases (id),
    employee_id BIGINT NOT NULL,
    field TEXT NOT NULL,
    entry_type TEXT NOT NULL,
    value TEXT NOT NULL,
    author TEXT NOT NULL,
    source TEXT NOT NULL,
    at TIMESTAMPTZ NOT NULL
);
CREATE INDEX employee_logs_owner_idx ON employee_logs (base_id, employee_id, id);
CREATE INDEX employee_logs_at_idx ON employee_logs (base_id, at);
