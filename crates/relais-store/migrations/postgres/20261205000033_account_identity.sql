-- An account's name and e-mail may be changed (someone married, a new
-- address): account_changes takes the kind 'identity', and previously keeps
-- what the account was called before it (`Name <e-mail>`).
ALTER TABLE account_changes DROP CONSTRAINT account_changes_change_check;
ALTER TABLE account_changes ADD CONSTRAINT account_changes_change_check
    CHECK (change IN ('created', 'rights', 'password', 'disabled', 'enabled', 'identity'));
ALTER TABLE account_changes ADD COLUMN previously TEXT;
