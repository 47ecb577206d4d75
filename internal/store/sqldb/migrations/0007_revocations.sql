-- One row per revoked certificate. CRLs and OCSP read it across accounts
-- (relying parties are not account holders); the API reads it per account.
CREATE TABLE revocations (
    certificate_id INTEGER PRIMARY KEY REFERENCES certificates(id),
    account_id     INTEGER NOT NULL REFERENCES accounts(id),
    order_id       INTEGER NOT NULL REFERENCES orders(id),
    serial_number  TEXT NOT NULL UNIQUE,
    issuer_id      TEXT NOT NULL,
    reason         INTEGER NOT NULL DEFAULT 0,
    revoked_at     TEXT NOT NULL,
    user_id        INTEGER NOT NULL DEFAULT 0,
    request_id     INTEGER NOT NULL DEFAULT 0,
    comments       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX revocations_issuer ON revocations(issuer_id, revoked_at);

-- CRL numbers grow per issuer, across restarts (RFC 5280 5.2.3).
CREATE TABLE crl_numbers (
    issuer_id TEXT PRIMARY KEY,
    number    INTEGER NOT NULL
);
