-- Lets a page of employees skip its offset and check contract visibility and
-- establishment scope from the index alone, without reading skipped rows.
CREATE INDEX employees_walk_idx ON employees (base_id, id, contract_start, contract_end, establishment_id);
