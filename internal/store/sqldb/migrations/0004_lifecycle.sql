-- Issue 4, order operations: reissues, duplicates and the status-change list.

-- What a certificate is to its order beyond the first primary: a reissue
-- (which replaces the primary once issued) or a duplicate (an extra
-- certificate). It also keeps what the certificate is issued with while it
-- waits for approval.
CREATE TABLE order_certificates (
    certificate_id          INTEGER PRIMARY KEY REFERENCES certificates(id),
    account_id              INTEGER NOT NULL REFERENCES accounts(id),
    order_id                INTEGER NOT NULL REFERENCES orders(id),
    kind                    TEXT NOT NULL,             -- reissue, duplicate
    request_id              INTEGER NOT NULL DEFAULT 0,
    user_id                 INTEGER NOT NULL DEFAULT 0,
    sub_id                  INTEGER NOT NULL DEFAULT 0, -- duplicates: 1, 2, ...
    server_platform_id      INTEGER NOT NULL DEFAULT -1,
    ca_cert_id              TEXT NOT NULL DEFAULT '',
    emails                  TEXT NOT NULL DEFAULT '[]', -- JSON array
    ip_addresses            TEXT NOT NULL DEFAULT '[]', -- JSON array
    cert_valid_till         TEXT NOT NULL DEFAULT '',
    replaces_certificate_id INTEGER NOT NULL DEFAULT 0,
    created_at              TEXT NOT NULL
);
CREATE INDEX order_certificates_order ON order_certificates(order_id, kind);
CREATE INDEX order_certificates_request ON order_certificates(request_id) WHERE request_id <> 0;

-- Every change of an order's status, and every new primary certificate of
-- an issued order (a reissue), for GET /order/certificate/status-changes.
-- The triggers write it in the transaction of the change itself, whatever
-- code path changes the order.
CREATE TABLE order_status_changes (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL,
    order_id   INTEGER NOT NULL,
    status     TEXT NOT NULL,
    changed_at TEXT NOT NULL
);
CREATE INDEX order_status_changes_account ON order_status_changes(account_id, changed_at);
CREATE INDEX order_status_changes_order ON order_status_changes(order_id, changed_at);

INSERT INTO order_status_changes(account_id, order_id, status, changed_at)
    SELECT account_id, id, status, updated_at FROM orders;

CREATE TRIGGER orders_status_insert AFTER INSERT ON orders
BEGIN
    INSERT INTO order_status_changes(account_id, order_id, status, changed_at)
    VALUES (NEW.account_id, NEW.id, NEW.status, NEW.created_at);
END;

CREATE TRIGGER orders_status_update AFTER UPDATE OF status, certificate_id ON orders
WHEN OLD.status <> NEW.status OR (OLD.certificate_id <> 0 AND OLD.certificate_id <> NEW.certificate_id)
BEGIN
    INSERT INTO order_status_changes(account_id, order_id, status, changed_at)
    VALUES (NEW.account_id, NEW.id, NEW.status,
        CASE WHEN NEW.updated_at > OLD.updated_at THEN NEW.updated_at
             ELSE strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z' END);
END;
