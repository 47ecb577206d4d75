-- The time-driven jobs (internal/jobs): one schedule per kind of job, which
-- a round claims by moving next_at forward (compare-and-set) so that of
-- several processes on the store one runs it, and which a restart resumes.
CREATE TABLE jobs (
    kind       TEXT PRIMARY KEY,
    next_at    TEXT NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL
);

-- One row per renewal notice of an order, written in the transaction that
-- puts the notice's mail in the outbox: the primary key is what keeps a
-- notice from being sent twice, whatever crashed or raced.
CREATE TABLE order_notices (
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    order_id    INTEGER NOT NULL,
    notice      TEXT NOT NULL,
    sent        INTEGER NOT NULL,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (order_id, notice)
);

CREATE INDEX orders_status_valid_till ON orders(status, order_valid_till);
CREATE INDEX orders_renewal_of ON orders(renewal_of_order_id);
