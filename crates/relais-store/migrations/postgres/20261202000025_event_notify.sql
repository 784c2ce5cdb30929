-- Other processes learn of new events at once: when a transaction that
-- wrote events commits, PostgreSQL tells every session listening on
-- `relais_events` (the base's id as payload; one notice per base and
-- transaction, as PostgreSQL folds identical notices of a transaction).
-- A reader woken this way reads the events it may see; nothing rests on a
-- notice arriving, only on waking sooner than its next look.
CREATE FUNCTION relais_notify_events() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('relais_events', NEW.base_id::text);
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER event_counters_notify AFTER INSERT OR UPDATE ON event_counters
    FOR EACH ROW EXECUTE FUNCTION relais_notify_events();
