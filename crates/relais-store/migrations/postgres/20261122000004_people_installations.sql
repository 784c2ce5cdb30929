-- People who sign in to the admin pages, their sessions, and installed apps.

CREATE TABLE people (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    can_admin_apps BOOLEAN NOT NULL,
    can_manage_keys BOOLEAN NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX people_email_key ON people (lower(email));

-- token_hash is SHA-256 of the cookie's token; csrf is the token forms must echo.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES people (id),
    csrf TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE installations (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    base_id BIGINT NOT NULL REFERENCES bases (id),
    app TEXT NOT NULL,
    key_id BIGINT NOT NULL REFERENCES api_keys (id),
    contact TEXT NOT NULL,
    installed_by BIGINT NOT NULL REFERENCES people (id),
    installed_at TIMESTAMPTZ NOT NULL,
    uninstalled_at TIMESTAMPTZ
);
CREATE UNIQUE INDEX installations_app_key ON installations (base_id, app) WHERE uninstalled_at IS NULL;
