-- A rotated key keeps its previous secret valid for a grace period the
-- administrator picks, so the clients using it can move to the new one.
ALTER TABLE api_keys ADD COLUMN previous_secret_hash TEXT;
ALTER TABLE api_keys ADD COLUMN previous_valid_until DATETIME;
