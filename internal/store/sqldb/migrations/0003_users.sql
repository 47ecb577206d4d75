-- Issue 4: users, API keys and containers (divisions). The tables exist
-- since 0001; these indexes serve the container tree, the user list and
-- the key list.
CREATE INDEX containers_account_parent ON containers(account_id, parent_id);
CREATE INDEX users_account_container ON users(account_id, container_id);
CREATE INDEX api_keys_account_user ON api_keys(account_id, user_id);
CREATE INDEX orders_account_container ON orders(account_id, container_id);
