-- PostgreSQL's 0004_lifecycle.sql: the same tables, and the status-change
-- triggers written in PL/pgSQL (SQLite's trigger bodies are its own).
CREATE TABLE order_certificates (
    certificate_id          BIGINT PRIMARY KEY REFERENCES certificates(id),
    account_id              BIGINT NOT NULL REFERENCES accounts(id),
    order_id                BIGINT NOT NULL REFERENCES orders(id),
    kind                    TEXT NOT NULL,
    request_id              BIGINT NOT NULL DEFAULT 0,
    user_id                 BIGINT NOT NULL DEFAULT 0,
    sub_id                  BIGINT NOT NULL DEFAULT 0,
    server_platform_id      BIGINT NOT NULL DEFAULT -1,
    ca_cert_id              TEXT NOT NULL DEFAULT '',
    emails                  TEXT NOT NULL DEFAULT '[]',
    ip_addresses            TEXT NOT NULL DEFAULT '[]',
    cert_valid_till         TEXT NOT NULL DEFAULT '',
    replaces_certificate_id BIGINT NOT NULL DEFAULT 0,
    created_at              TEXT NOT NULL
);
CREATE INDEX order_certificates_order ON order_certificates(order_id, kind);
CREATE INDEX order_certificates_request ON order_certificates(request_id) WHERE request_id <> 0;

CREATE TABLE order_status_changes (
    id         BIGSERIAL PRIMARY KEY,
    account_id BIGINT NOT NULL,
    order_id   BIGINT NOT NULL,
    status     TEXT NOT NULL,
    changed_at TEXT NOT NULL
);
CREATE INDEX order_status_changes_account ON order_status_changes(account_id, changed_at);
CREATE INDEX order_status_changes_order ON order_status_changes(order_id, changed_at);

INSERT INTO order_status_changes(account_id, order_id, status, changed_at)
    SELECT account_id, id, status, updated_at FROM orders;

CREATE FUNCTION orders_status_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO order_status_changes(account_id, order_id, status, changed_at)
    VALUES (NEW.account_id, NEW.id, NEW.status, NEW.created_at);
    RETURN NULL;
END $$;

CREATE TRIGGER orders_status_insert AFTER INSERT ON orders
    FOR EACH ROW EXECUTE FUNCTION orders_status_insert();

-- The same rule as SQLite's: a new status, or a new primary certificate
-- of the order; stamped with the order's updated_at when it moved forward,
-- otherwise with the time of the change (microseconds, the stores' layout).
CREATE FUNCTION orders_status_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status <> NEW.status OR (OLD.certificate_id <> 0 AND OLD.certificate_id <> NEW.certificate_id) THEN
        INSERT INTO order_status_changes(account_id, order_id, status, changed_at)
        VALUES (NEW.account_id, NEW.id, NEW.status,
            CASE WHEN NEW.updated_at > OLD.updated_at THEN NEW.updated_at
                 ELSE to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') END);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER orders_status_update AFTER UPDATE OF status, certificate_id ON orders
    FOR EACH ROW EXECUTE FUNCTION orders_status_update();
