-- Links mailed to people other than the API caller, besides domain
-- validation's own: a mailbox owner confirming control (S/MIME), an EV
-- approver approving an order, a recipient picking up a certificate whose
-- key their browser makes. Only the SHA-256 of a link's secret is kept;
-- a link works once, until it expires.
CREATE TABLE link_tokens (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    kind       TEXT NOT NULL,
    order_id   INTEGER NOT NULL DEFAULT 0,
    subject    TEXT NOT NULL DEFAULT '',
    token_hash BLOB NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT
);
CREATE INDEX link_tokens_order ON link_tokens(account_id, order_id, kind, subject);
