-- The change feed's outbox: every create, update and delete of the HR
-- records partners follow (legal entities, establishments, departments,
-- employees, leave periods, expense claims and their items) writes an event
-- in the same transaction as the change, whoever writes (the API, the admin
-- pages, an import, the command line, a connector, a base copy): the
-- database's own triggers write it, so a change without its event, or an
-- event without its change, cannot exist.
--
-- Events are numbered per base (`seq`, from `event_counters`): the counter's
-- row stays locked until the writing transaction ends, so a base's events
-- are numbered in the order their transactions commit and a reader that has
-- seen `seq` n has seen every event before it. `data` is the record just
-- after the change (before it, for a deletion), `previous` the record just
-- before an update, both as the store's row; what the record is about
-- (its employee, that employee's establishment and contract) is kept with
-- the event so that a feed shows each reader only what it may see.
-- An update is an event when it changes the record's `modified_at` (every
-- change does; locking an employee's row does not).
CREATE TABLE events (
    base_id BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    topic TEXT NOT NULL,
    record_id BIGINT NOT NULL,
    owner_id BIGINT,
    establishment_id BIGINT,
    contract_start DATE,
    contract_end DATE,
    occurred_at TIMESTAMPTZ NOT NULL,
    source TEXT NOT NULL,
    data TEXT NOT NULL,
    previous TEXT,
    PRIMARY KEY (base_id, seq)
);
CREATE INDEX events_occurred_idx ON events (occurred_at);
CREATE TABLE event_counters (
    base_id BIGINT PRIMARY KEY,
    last BIGINT NOT NULL
);

-- Who is writing and when: `relais.source` and `relais.at`, set by the
-- store for its transaction. One statement writes its events together
-- (statement triggers reading the statement's rows), so a bulk write of
-- thousands of rows numbers them in one step.
CREATE FUNCTION relais_record_events() RETURNS trigger AS $$
DECLARE
    kind TEXT := TG_ARGV[0];
    owner_column TEXT := TG_ARGV[1];
    src TEXT := COALESCE(NULLIF(current_setting('relais.source', true), ''), 'relais');
    at TIMESTAMPTZ := COALESCE(NULLIF(current_setting('relais.at', true), '')::timestamptz, now());
    b BIGINT;
    n BIGINT;
    first BIGINT;
BEGIN
    IF TG_OP = 'INSERT' THEN
        FOR b, n IN SELECT t.base_id, COUNT(*) FROM new_rows t GROUP BY t.base_id LOOP
            INSERT INTO event_counters AS c (base_id, last) VALUES (b, n)
            ON CONFLICT (base_id) DO UPDATE SET last = c.last + n RETURNING c.last - n INTO first;
            INSERT INTO events (base_id, seq, topic, record_id, owner_id, establishment_id, contract_start, contract_end, occurred_at, source, data, previous)
            SELECT b, first + ROW_NUMBER() OVER (ORDER BY r.id), kind || '.created', r.id, r.owner,
                   r.establishment, r.contract_start, r.contract_end, at, src, r.j::text, NULL
            FROM (SELECT t.id, j.j, o.owner,
                         CASE kind WHEN 'employee' THEN (j.j->>'establishment_id')::bigint
                                   WHEN 'business-establishment' THEN t.id ELSE e.establishment_id END AS establishment,
                         CASE kind WHEN 'employee' THEN (j.j->>'contract_start')::date ELSE e.contract_start END AS contract_start,
                         CASE kind WHEN 'employee' THEN (j.j->>'contract_end')::date ELSE e.contract_end END AS contract_end
                  FROM new_rows t
                  CROSS JOIN LATERAL (SELECT to_jsonb(t) AS j) j
                  CROSS JOIN LATERAL (SELECT (j.j->>owner_column)::bigint AS owner) o
                  LEFT JOIN employees e ON kind <> 'employee' AND e.base_id = t.base_id AND e.id = o.owner
                  WHERE t.base_id = b) r;
        END LOOP;
    ELSIF TG_OP = 'UPDATE' THEN
        FOR b, n IN SELECT t.base_id, COUNT(*) FROM new_rows t JOIN old_rows p ON p.base_id = t.base_id AND p.id = t.id
                    WHERE t.modified_at IS DISTINCT FROM p.modified_at GROUP BY t.base_id LOOP
            INSERT INTO event_counters AS c (base_id, last) VALUES (b, n)
            ON CONFLICT (base_id) DO UPDATE SET last = c.last + n RETURNING c.last - n INTO first;
            INSERT INTO events (base_id, seq, topic, record_id, owner_id, establishment_id, contract_start, contract_end, occurred_at, source, data, previous)
            SELECT b, first + ROW_NUMBER() OVER (ORDER BY r.id), kind || '.updated', r.id, r.owner,
                   r.establishment, r.contract_start, r.contract_end, at, src, r.j::text, r.before::text
            FROM (SELECT t.id, j.j, to_jsonb(p) AS before, o.owner,
                         CASE kind WHEN 'employee' THEN (j.j->>'establishment_id')::bigint
                                   WHEN 'business-establishment' THEN t.id ELSE e.establishment_id END AS establishment,
                         CASE kind WHEN 'employee' THEN (j.j->>'contract_start')::date ELSE e.contract_start END AS contract_start,
                         CASE kind WHEN 'employee' THEN (j.j->>'contract_end')::date ELSE e.contract_end END AS contract_end
                  FROM new_rows t
                  JOIN old_rows p ON p.base_id = t.base_id AND p.id = t.id
                  CROSS JOIN LATERAL (SELECT to_jsonb(t) AS j) j
                  CROSS JOIN LATERAL (SELECT (j.j->>owner_column)::bigint AS owner) o
                  LEFT JOIN employees e ON kind <> 'employee' AND e.base_id = t.base_id AND e.id = o.owner
                  WHERE t.base_id = b AND t.modified_at IS DISTINCT FROM p.modified_at) r;
        END LOOP;
    ELSE
        FOR b, n IN SELECT t.base_id, COUNT(*) FROM old_rows t GROUP BY t.base_id LOOP
            INSERT INTO event_counters AS c (base_id, last) VALUES (b, n)
            ON CONFLICT (base_id) DO UPDATE SET last = c.last + n RETURNING c.last - n INTO first;
            INSERT INTO events (base_id, seq, topic, record_id, owner_id, establishment_id, contract_start, contract_end, occurred_at, source, data, previous)
            SELECT b, first + ROW_NUMBER() OVER (ORDER BY r.id), kind || '.deleted', r.id, r.owner,
                   r.establishment, r.contract_start, r.contract_end, at, src, r.j::text, NULL
            FROM (SELECT t.id, j.j, o.owner,
                         CASE kind WHEN 'employee' THEN (j.j->>'establishment_id')::bigint
                                   WHEN 'business-establishment' THEN t.id ELSE e.establishment_id END AS establishment,
                         CASE kind WHEN 'employee' THEN (j.j->>'contract_start')::date ELSE e.contract_start END AS contract_start,
                         CASE kind WHEN 'employee' THEN (j.j->>'contract_end')::date ELSE e.contract_end END AS contract_end
                  FROM old_rows t
                  CROSS JOIN LATERAL (SELECT to_jsonb(t) AS j) j
                  CROSS JOIN LATERAL (SELECT (j.j->>owner_column)::bigint AS owner) o
                  LEFT JOIN employees e ON kind <> 'employee' AND e.base_id = t.base_id AND e.id = o.owner
                  WHERE t.base_id = b) r;
        END LOOP;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER legal_units_events_insert AFTER INSERT ON legal_units
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION relais_record_events('legal-entity', '');
CREATE TRIGGER legal_units_events_update AFTER UPDATE ON legal_units
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION relais_record_events('legal-entity', '');
CREATE TRIGGER legal_units_events_delete AFTER DELETE ON legal_units
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    EXECUTE FUNCTION relais_record_events('legal-entity', '');
CREATE TRIGGER establishments_events_insert AFTER INSERT ON establishments
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION relais_record_events('business-establishment', '');
CREATE TRIGGER establishments_events_update AFTER UPDATE ON establishments
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION relais_record_events('business-establishment', '');
CREATE TRIGGER establishments_events_delete AFTER DELETE ON establishments
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    EXECUTE FUNCTION relais_record_events('business-establishment', '');
CREATE TRIGGER departments_events_insert AFTER INSERT ON departments
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION relais_record_events('department', '');
CREATE TRIGGER departments_events_update AFTER UPDATE ON departments
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION relais_record_events('department', '');
CREATE TRIGGER departments_events_delete AFTER DELETE ON departments
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    EXECUTE FUNCTION relais_record_events('department', '');
CREATE TRIGGER employees_events_insert AFTER INSERT ON employees
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION relais_record_events('employee', 'id');
CREATE TRIGGER employees_events_update AFTER UPDATE ON employees
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION relais_record_events('employee', 'id');
CREATE TRIGGER employees_events_delete AFTER DELETE ON employees
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    EXECUTE FUNCTION relais_record_events('employee', 'id');
CREATE TRIGGER leave_periods_events_insert AFTER INSERT ON leave_periods
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION relais_record_events('leave', 'employee_id');
CREATE TRIGGER leave_periods_events_update AFTER UPDATE ON leave_periods
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION relais_record_events('leave', 'employee_id');
CREATE TRIGGER leave_periods_events_delete AFTER DELETE ON leave_periods
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    EXECUTE FUNCTION relais_record_events('leave', 'employee_id');
CREATE TRIGGER expense_claims_events_insert AFTER INSERT ON expense_claims
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION relais_record_events('expense-claim', 'owner_id');
CREATE TRIGGER expense_claims_events_update AFTER UPDATE ON expense_claims
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION relais_record_events('expense-claim', 'owner_id');
CREATE TRIGGER expense_claims_events_delete AFTER DELETE ON expense_claims
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    EXECUTE FUNCTION relais_record_events('expense-claim', 'owner_id');
CREATE TRIGGER expense_items_events_insert AFTER INSERT ON expense_items
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION relais_record_events('expense-claim-item', 'owner_id');
CREATE TRIGGER expense_items_events_update AFTER UPDATE ON expense_items
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION relais_record_events('expense-claim-item', 'owner_id');
CREATE TRIGGER expense_items_events_delete AFTER DELETE ON expense_items
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    EXECUTE FUNCTION relais_record_events('expense-claim-item', 'owner_id');
