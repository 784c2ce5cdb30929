-- An account's name and e-mail may be changed (someone married, a new
-- address): account_changes takes the kind 'identity', and previously keeps
-- what the account was called before it (`Name <e-mail>`). SQLite changes a
-- CHECK only by copying the table; nothing refers to account_changes.
CREATE TABLE account_changes_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    person_id BIGINT NOT NULL REFERENCES people (id),
    change TEXT NOT NULL CHECK (change IN ('created', 'rights', 'password', 'disabled', 'enabled', 'identity')),
    can_admin_apps BOOLEAN NOT NULL,
    can_manage_keys BOOLEAN NOT NULL,
    by_person_id BIGINT REFERENCES people (id),
    at DATETIME NOT NULL,
    previously TEXT
);
INSERT INTO account_changes_new (id, person_id, change, can_admin_apps, can_manage_keys, by_person_id, at)
    SELECT id, person_id, change, can_admin_apps, can_manage_keys, by_person_id, at FROM account_changes;
DROP TABLE account_changes;
ALTER TABLE account_changes_new RENAME TO account_changes;
CREATE INDEX account_changes_person_idx ON account_changes (person_id, id);
