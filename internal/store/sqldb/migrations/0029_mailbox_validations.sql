-- Completed mailbox validations (S/MIME Baseline Requirements 3.2.2.2):
-- the owner of an address answered the random value mailed to it. One row
-- per account and address holds the latest answer; the account's orders
-- reuse it while it is younger than the reuse period (4.2.1: 30 days).
CREATE TABLE mailbox_validations (
    account_id   INTEGER NOT NULL REFERENCES accounts(id),
    email        TEXT NOT NULL,
    validated_at TEXT NOT NULL,
    order_id     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, email)
);
