-- An account whose password someone else set from the pages (its creation,
-- a new password given by an administrator) must choose its own before any
-- other page opens; choosing it, or a password set at the command line,
-- clears the mark.
ALTER TABLE people ADD COLUMN must_choose_password BOOLEAN NOT NULL DEFAULT FALSE;
