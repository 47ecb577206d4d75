-- Mail waits here until the relay accepts it: written in the transaction
-- that decides to send it, drained by a sender that claims each message
-- (next_at compare-and-set, as the DCV checks), retries with backoff while
-- the relay is down, and keeps the Message-ID so a message handed over
-- again after a crash is recognisably the same. The payload never holds a
-- secret: a message whose body carries a link gets the link when it is
-- sent.
CREATE TABLE mail_outbox (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    kind       TEXT NOT NULL,
    order_id   INTEGER NOT NULL DEFAULT 0,
    domain_id  INTEGER NOT NULL DEFAULT 0,
    recipient  TEXT NOT NULL,
    payload    TEXT NOT NULL,
    message_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    next_at    TEXT NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    sent_at    TEXT,
    given_up_at TEXT
);
CREATE INDEX mail_outbox_due ON mail_outbox(next_at) WHERE sent_at IS NULL AND given_up_at IS NULL;
CREATE INDEX mail_outbox_account ON mail_outbox(account_id, kind, created_at);
CREATE INDEX mail_outbox_order ON mail_outbox(account_id, order_id, created_at);
CREATE INDEX mail_outbox_domain ON mail_outbox(account_id, domain_id, created_at);
