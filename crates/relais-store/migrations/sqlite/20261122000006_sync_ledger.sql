-- The sync ledger: what each partner acknowledged of each record (hash and
-- fields sent), and each job's checkpoints, moved only after the partner
-- confirmed.
CREATE TABLE sync_ledger (
    job TEXT NOT NULL,
    record_key TEXT NOT NULL,
    hash TEXT NOT NULL,
    fields TEXT NOT NULL,
    partner_id TEXT,
    acknowledged_at DATETIME NOT NULL,
    PRIMARY KEY (job, record_key)
);

CREATE TABLE sync_checkpoints (
    job TEXT NOT NULL,
    stream TEXT NOT NULL,
    cursor_value TEXT NOT NULL,
    updated_at DATETIME NOT NULL,
    PRIMARY KEY (job, stream)
);
