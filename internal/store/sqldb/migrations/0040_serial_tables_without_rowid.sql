-- The two tables keyed by a serial number become WITHOUT ROWID tables
-- (SQLite only; PostgreSQL keeps a table and its primary key index anyway,
-- 0040_serial_tables_without_rowid.postgres.sql). A rowid table with a
-- TEXT primary key is two B-trees, the rows and the key's index; each
-- reservation and each intent wrote a page of both, where one suffices.
-- An order's commit, and each intent's, writes one page fewer to the WAL
-- (serials are random, so each insert lands on a page of its own).
-- The rows are copied in key order (dense pages). A primary key of a
-- WITHOUT ROWID table is NOT NULL; certorder never wrote a NULL serial,
-- and a database holding one would stop here, its transaction rolled
-- back, rather than lose the row.
CREATE TABLE serials_keyed (
    serial_number TEXT PRIMARY KEY,
    order_id      INTEGER NOT NULL,
    reserved_at   TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO serials_keyed(serial_number, order_id, reserved_at)
    SELECT serial_number, order_id, reserved_at FROM serials ORDER BY serial_number;
DROP TABLE serials;
ALTER TABLE serials_keyed RENAME TO serials;

CREATE TABLE issuance_intents_keyed (
    serial_number TEXT PRIMARY KEY,
    issuer_id     TEXT NOT NULL,
    account_id    INTEGER NOT NULL,
    order_id      INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO issuance_intents_keyed(serial_number, issuer_id, account_id, order_id, created_at)
    SELECT serial_number, issuer_id, account_id, order_id, created_at FROM issuance_intents ORDER BY serial_number;
DROP TABLE issuance_intents;
ALTER TABLE issuance_intents_keyed RENAME TO issuance_intents;
CREATE INDEX issuance_intents_issuer ON issuance_intents(issuer_id, created_at);
