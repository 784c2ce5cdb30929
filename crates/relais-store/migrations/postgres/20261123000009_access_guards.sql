-- Guards at the doors: every sign-in attempt of the admin pages (the audit
-- trail of who tried which account from where, and of lockouts), and the
-- per-key request windows every relais process shares, with the requests
-- refused for going over the limit counted per key and minute.

CREATE TABLE sign_in_attempts (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email TEXT NOT NULL,
    address TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('failed', 'succeeded', 'locked')),
    at TIMESTAMPTZ NOT NULL
);
CREATE INDEX sign_in_attempts_email_idx ON sign_in_attempts (email, at);
CREATE INDEX sign_in_attempts_address_idx ON sign_in_attempts (address, at);

CREATE TABLE api_rate_windows (
    key_id BIGINT NOT NULL REFERENCES api_keys (id),
    window_start BIGINT NOT NULL,
    requests BIGINT NOT NULL,
    limited BIGINT NOT NULL,
    PRIMARY KEY (key_id, window_start)
);
