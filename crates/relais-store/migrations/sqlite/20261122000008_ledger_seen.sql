-- Which full reconciliation last saw each acknowledged record, so that a
-- full run finds what the source no longer has without holding every key
-- it read in memory.
ALTER TABLE sync_ledger ADD COLUMN seen_in TEXT;
