-- E-mail alerts to an installation's technical contact (failing, recovered),
-- written with the integration's new state and sent from here, retried until
-- the mail server takes them.
CREATE TABLE alerts (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    installation_id BIGINT NOT NULL REFERENCES installations (id),
    kind TEXT NOT NULL,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    sent_at TIMESTAMPTZ,
    attempts BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    next_attempt_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX alerts_due_idx ON alerts (next_attempt_at) WHERE sent_at IS NULL;
CREATE INDEX alerts_installation_idx ON alerts (installation_id, id);
