-- A key whose certificate was revoked for keyCompromise is never certified
-- again, in any account (Baseline Requirements 6.1.1.3 and 4.9.1.1): the
-- SHA-256 of its DER SubjectPublicKeyInfo, written in the revocation's own
-- transaction. The first revocation that blocked it is kept (the account,
-- certificate and serial are for operators and audits; the API never
-- shows them to anyone).
CREATE TABLE blocked_keys (
    spki_sha256    BLOB PRIMARY KEY,
    blocked_at     TEXT NOT NULL,
    account_id     INTEGER NOT NULL,
    certificate_id INTEGER NOT NULL,
    serial_number  TEXT NOT NULL
);
