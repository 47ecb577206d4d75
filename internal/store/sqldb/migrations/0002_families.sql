-- Issue 3: every product family of the seeds, and the account balance.
ALTER TABLE accounts ADD COLUMN balance_cents INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN require_unique_alternative_order_id INTEGER NOT NULL DEFAULT 0;

ALTER TABLE orders ADD COLUMN emails TEXT NOT NULL DEFAULT '[]';        -- JSON array, client certificates
ALTER TABLE orders ADD COLUMN ip_addresses TEXT NOT NULL DEFAULT '[]';  -- JSON array, X9
ALTER TABLE orders ADD COLUMN dcv_random_value TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN dcv_random_expires TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN ca_cert_id TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN cert_valid_till TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN price_cents INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN extra TEXT NOT NULL DEFAULT '{}';         -- JSON, store.OrderExtra
CREATE INDEX orders_account_alternative ON orders(account_id, alternative_order_id) WHERE alternative_order_id <> '';

-- The account's domains, one per registrable domain an order names; the
-- validation engine (issue 6) adds their validation state.
CREATE TABLE domains (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    name       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (account_id, name)
);
