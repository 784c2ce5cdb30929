-- An account can be disabled (someone who left, or lost their password to
-- someone else): it no longer signs in, and its sessions end.
ALTER TABLE people ADD COLUMN disabled_at TIMESTAMPTZ;
