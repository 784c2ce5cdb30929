-- Each export of a ready-made report, by whom (a key or a person), so that
-- the next export can tell what changed since.
CREATE TABLE report_exports (
    base_id BIGINT NOT NULL REFERENCES bases (id),
    report TEXT NOT NULL,
    reader TEXT NOT NULL,
    exported_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX report_exports_reader_idx ON report_exports (base_id, report, reader, exported_at);
