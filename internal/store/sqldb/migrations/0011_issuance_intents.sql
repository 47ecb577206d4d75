-- Issue 7: a serial about to be signed is written down, in its own commit,
-- before the issuing key signs. The transaction that records the signed
-- certificate removes the row; a row that stays (the process died between
-- the signature and that commit, or the certificate was discarded) names a
-- certificate that may exist but was never recorded, and CRLs and OCSP
-- answer for it as revoked.
CREATE TABLE issuance_intents (
    serial_number TEXT PRIMARY KEY,
    issuer_id     TEXT NOT NULL,
    account_id    INTEGER NOT NULL,
    order_id      INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL
);
CREATE INDEX issuance_intents_issuer ON issuance_intents(issuer_id, created_at);
