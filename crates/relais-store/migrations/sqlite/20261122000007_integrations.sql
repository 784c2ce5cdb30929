-- Integrations: the connector configuration of an installed app. Secrets
-- (the source key, the partner's credentials) are stored sealed with the
-- master key, never in clear.
CREATE TABLE integrations (
    installation_id BIGINT PRIMARY KEY REFERENCES installations (id),
    base_id BIGINT NOT NULL REFERENCES bases (id),
    connector TEXT NOT NULL,
    source_url TEXT,
    partner_url TEXT NOT NULL,
    secrets TEXT NOT NULL,
    schedule TEXT NOT NULL,
    full_schedule TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    options TEXT NOT NULL,
    paused_reason TEXT,
    health TEXT NOT NULL,
    health_reason TEXT NOT NULL,
    next_run_at DATETIME,
    next_full_at DATETIME,
    updated_at DATETIME NOT NULL
);

-- Runs of integrations and the lines of their reports.
CREATE TABLE sync_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    installation_id BIGINT NOT NULL REFERENCES installations (id),
    trigger_kind TEXT NOT NULL,
    dry_run BOOLEAN NOT NULL,
    full_run BOOLEAN NOT NULL,
    status TEXT NOT NULL,
    owner TEXT,
    requested_at DATETIME NOT NULL,
    started_at DATETIME,
    finished_at DATETIME,
    counts TEXT NOT NULL,
    partner_requests BIGINT NOT NULL,
    error TEXT
);
CREATE INDEX sync_runs_installation_idx ON sync_runs (installation_id, id);
CREATE INDEX sync_runs_status_idx ON sync_runs (status, id);

CREATE TABLE sync_run_lines (
    run_id BIGINT NOT NULL REFERENCES sync_runs (id),
    seq BIGINT NOT NULL,
    record_key TEXT NOT NULL,
    outcome TEXT NOT NULL,
    reason TEXT,
    fields TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);
