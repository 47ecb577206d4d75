-- Issue 6: domain control validation done for real. The schedule of the
-- background checks (one row per pending order or domain) and the one-time
-- links of the email method (only their SHA-256 is kept).
CREATE TABLE dcv_checks (
    kind           TEXT NOT NULL,            -- order | domain
    object_id      INTEGER NOT NULL,
    account_id     INTEGER NOT NULL REFERENCES accounts(id),
    next_at        TEXT NOT NULL,
    attempts       INTEGER NOT NULL DEFAULT 0,
    last_error     TEXT NOT NULL DEFAULT '',
    emails_sent_at TEXT NOT NULL DEFAULT '',
    updated_at     TEXT NOT NULL,
    PRIMARY KEY (kind, object_id)
);
CREATE INDEX dcv_checks_due ON dcv_checks(next_at);

CREATE TABLE dcv_email_tokens (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    order_id   INTEGER NOT NULL DEFAULT 0,
    domain_id  INTEGER NOT NULL DEFAULT 0,
    target     TEXT NOT NULL,
    email      TEXT NOT NULL,
    token_hash BLOB NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT
);
CREATE INDEX dcv_email_tokens_target ON dcv_email_tokens(account_id, order_id, target);
-- The worker looks for pending orders and domains without a check.
CREATE INDEX orders_pending ON orders(id) WHERE status = 'pending';
CREATE INDEX domains_dcv_pending ON domains(id) WHERE dcv_status = 'pending' AND last_submitted_at <> '';
