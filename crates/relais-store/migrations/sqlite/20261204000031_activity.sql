-- The activity journal: what was done to keys, installed apps and their
-- settings, webhook endpoints, test bases and accounts, by whom and when,
-- each entry written in the transaction of its change. by_kind says who made
-- it: a person of the pages (by_person_id), a key of the API (by_key_id), the
-- command line, or relais itself (its runtime, e.g. suspending a webhook
-- endpoint that answers 410). target_id is the record the action (action's code) was made to;
-- subject is its name as it was then; detail holds a value in no language
-- (a webhook's address, the base a test base was refreshed from).
CREATE TABLE activity (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at DATETIME NOT NULL,
    base_id BIGINT REFERENCES bases (id),
    by_kind TEXT NOT NULL CHECK (by_kind IN ('person', 'key', 'command-line', 'relais')),
    by_person_id BIGINT REFERENCES people (id),
    by_key_id BIGINT REFERENCES api_keys (id),
    action TEXT NOT NULL,
    target_id BIGINT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT
);
CREATE INDEX activity_target_idx ON activity (target_id, id);
CREATE INDEX activity_person_idx ON activity (by_person_id, id);
