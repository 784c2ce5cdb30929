-- A base's events are numbered once their transactions have committed,
-- no longer while they are written. Before, each writing transaction took
-- the base's counter row at its first event and held it until its commit,
-- so a base's writers committed one after another, each behind the
-- previous one's flush to disk.
--
-- Now a write inserts its events without a number (`seq` empty) and takes
-- no shared row: writers of one base commit side by side. A reader numbers
-- the events committed so far before it reads (`relais_number_events`): the
-- numbering takes the base's counter row, gives the waiting events the
-- next numbers in the order they were written (`id`), and commits. Only
-- committed events are numbered and one numbering runs at a time per base,
-- so a reader that has seen `seq` n has seen every event numbered before n,
-- and an event committed later gets a later number: a cursor never skips one.
ALTER TABLE events DROP CONSTRAINT events_pkey;
ALTER TABLE events ADD COLUMN id BIGSERIAL PRIMARY KEY;
ALTER TABLE events ALTER COLUMN seq DROP NOT NULL;
CREATE UNIQUE INDEX events_seq_idx ON events (base_id, seq);
CREATE INDEX events_unnumbered_idx ON events (base_id, id) WHERE seq IS NULL;

-- Other processes are no longer told of new events by a `NOTIFY` inside the
-- writing transaction: a transaction that notifies takes PostgreSQL's one
-- notification lock (for the whole server, every base and database) from
-- its commit until the commit is on disk, so every writer would again
-- commit one at a time. The store sends the notice itself once the
-- transaction has committed (`Announcer`, in `events.rs`), folding the
-- commits made meanwhile into one notice.
DROP TRIGGER event_counters_notify ON event_counters;
DROP FUNCTION relais_notify_events();

CREATE OR REPLACE FUNCTION relais_record_events() RETURNS trigger AS $$
DECLARE
    kind TEXT := TG_ARGV[0];
    owner_column TEXT := TG_ARGV[1];
    src TEXT := COALESCE(NULLIF(current_setting('relais.source', true), ''), 'relais');
    at TIMESTAMPTZ := COALESCE(NULLIF(current_setting('relais.at', true), '')::timestamptz, now());
    b BIGINT;
BEGIN
    IF TG_OP = 'INSERT' THEN
        FOR b IN SELECT DISTINCT t.base_id FROM new_rows t LOOP
            INSERT INTO events (base_id, seq, topic, record_id, owner_id, establishment_id, contract_start, contract_end, occurred_at, source, data, previous)
            SELECT b, NULL, kind || '.created', r.id, r.owner,
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
                  WHERE t.base_id = b) r
            ORDER BY r.id;
        END LOOP;
    ELSIF TG_OP = 'UPDATE' THEN
        FOR b IN SELECT DISTINCT t.base_id FROM new_rows t JOIN old_rows p ON p.base_id = t.base_id AND p.id = t.id
                 WHERE t.modified_at IS DISTINCT FROM p.modified_at LOOP
            INSERT INTO events (base_id, seq, topic, record_id, owner_id, establishment_id, contract_start, contract_end, occurred_at, source, data, previous)
            SELECT b, NULL, kind || '.updated', r.id, r.owner,
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
                  WHERE t.base_id = b AND t.modified_at IS DISTINCT FROM p.modified_at) r
            ORDER BY r.id;
        END LOOP;
    ELSE
        FOR b IN SELECT DISTINCT t.base_id FROM old_rows t LOOP
            INSERT INTO events (base_id, seq, topic, record_id, owner_id, establishment_id, contract_start, contract_end, occurred_at, source, data, previous)
            SELECT b, NULL, kind || '.deleted', r.id, r.owner,
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
                  WHERE t.base_id = b) r
            ORDER BY r.id;
        END LOOP;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

-- Numbers a base's committed events that have no number yet, and returns
-- the base's last number. Called by readers before they read; cheap when
-- there is nothing to number (no lock, no write). Each statement of the
-- function reads what is committed when it starts, so once the counter is
-- held (waiting, if need be, for another numbering to commit), the next
-- statement sees that numbering's work and numbers only what is left.
CREATE FUNCTION relais_number_events(b BIGINT) RETURNS BIGINT AS $$
DECLARE
    last_seq BIGINT;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM events WHERE base_id = b AND seq IS NULL) THEN
        RETURN COALESCE((SELECT last FROM event_counters WHERE base_id = b), 0);
    END IF;
    INSERT INTO event_counters (base_id, last) VALUES (b, 0) ON CONFLICT (base_id) DO NOTHING;
    SELECT last INTO last_seq FROM event_counters WHERE base_id = b FOR UPDATE;
    WITH waiting AS (
        SELECT id, ROW_NUMBER() OVER (ORDER BY id) AS n FROM events WHERE base_id = b AND seq IS NULL
    ), numbered AS (
        UPDATE events e SET seq = last_seq + waiting.n FROM waiting WHERE e.id = waiting.id RETURNING e.seq
    )
    SELECT COALESCE(MAX(seq), last_seq) INTO last_seq FROM numbered;
    UPDATE event_counters SET last = last_seq WHERE base_id = b;
    RETURN last_seq;
END
$$ LANGUAGE plpgsql;
