-- Issue 7: facts every process on the store must agree on, such as the
-- fingerprint of the CA hierarchy that signs for it.
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
