-- What was done to each account, by whom and when: created, given rights,
-- given a new password, disabled, enabled. The rights it held after each
-- change are kept with it, so that the history of who could do what reads
-- from here. by_person_id is NULL for a change made from the command line.
CREATE TABLE account_changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    person_id BIGINT NOT NULL REFERENCES people (id),
    change TEXT NOT NULL CHECK (change IN ('created', 'rights', 'password', 'disabled', 'enabled')),
    can_admin_apps BOOLEAN NOT NULL,
    can_manage_keys BOOLEAN NOT NULL,
    by_person_id BIGINT REFERENCES people (id),
    at DATETIME NOT NULL
);
CREATE INDEX account_changes_person_idx ON account_changes (person_id, id);
