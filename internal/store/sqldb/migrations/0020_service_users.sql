-- A service user (created with is_api_only) exists for its API key; it
-- never signs in. The account's last administrator must be a person, or
-- nobody could manage the account when that key is restricted or revoked.
ALTER TABLE users ADD COLUMN api_only INTEGER NOT NULL DEFAULT 0;
