-- Values Lucca's answers carry that relais kept as copies of other columns:
-- who entered an expense claim and where it stands in its approval, each
-- item's number within its claim, how it was paid and whether it was
-- checked; and the legal units' code, head office and archiving.

ALTER TABLE expense_claims ADD COLUMN author_id BIGINT;
UPDATE expense_claims SET author_id = owner_id;
ALTER TABLE expense_claims ADD COLUMN approval_state INTEGER NOT NULL DEFAULT 0;
UPDATE expense_claims SET approval_state = CASE
    WHEN status IN (1, 2) THEN 1
    WHEN status = 8 THEN 3
    WHEN status = 9 THEN 0
    ELSE 2 END;

ALTER TABLE expense_items ADD COLUMN line_number INTEGER NOT NULL DEFAULT 0;
UPDATE expense_items SET line_number = (
    SELECT COUNT(*) FROM expense_items i2
    WHERE i2.base_id = expense_items.base_id AND i2.claim_id = expense_items.claim_id AND i2.id <= expense_items.id);
ALTER TABLE expense_items ADD COLUMN payment_method INTEGER NOT NULL DEFAULT 0;
ALTER TABLE expense_items ADD COLUMN controlled BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE expense_items SET controlled = TRUE WHERE EXISTS (
    SELECT 1 FROM expense_claims c
    WHERE c.base_id = expense_items.base_id AND c.id = expense_items.claim_id AND c.status IN (4, 5, 6, 7));

ALTER TABLE legal_units ADD COLUMN code TEXT NOT NULL DEFAULT '';
ALTER TABLE legal_units ADD COLUMN headquarters_id BIGINT;
ALTER TABLE legal_units ADD COLUMN archived BOOLEAN NOT NULL DEFAULT FALSE;
