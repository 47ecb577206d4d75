-- certorder schema v1. Times are TEXT in fixed-width UTC RFC 3339
-- ("2006-01-02T15:04:05.000000Z") so that they sort as strings.
CREATE TABLE accounts (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    name                TEXT NOT NULL,
    approval_mode       TEXT NOT NULL DEFAULT 'one_step',
    allow_skip_approval INTEGER NOT NULL DEFAULT 1,
    created_at          TEXT NOT NULL
);

CREATE TABLE containers (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    parent_id   INTEGER NOT NULL DEFAULT 0,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    is_active   INTEGER NOT NULL DEFAULT 1,
    created_at  TEXT NOT NULL
);
CREATE INDEX containers_account ON containers(account_id);

CREATE TABLE users (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id   INTEGER NOT NULL REFERENCES accounts(id),
    container_id INTEGER NOT NULL REFERENCES containers(id),
    username     TEXT NOT NULL UNIQUE,
    first_name   TEXT NOT NULL DEFAULT '',
    last_name    TEXT NOT NULL DEFAULT '',
    email        TEXT NOT NULL DEFAULT '',
    job_title    TEXT NOT NULL DEFAULT '',
    telephone    TEXT NOT NULL DEFAULT '',
    access_role  INTEGER NOT NULL,
    status       TEXT NOT NULL DEFAULT 'active',
    created_at   TEXT NOT NULL
);
CREATE INDEX users_account ON users(account_id);

CREATE TABLE api_keys (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    user_id    INTEGER NOT NULL REFERENCES users(id),
    name       TEXT NOT NULL DEFAULT '',
    key_hash   BLOB NOT NULL UNIQUE,
    role_id    INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);

CREATE TABLE organizations (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id           INTEGER NOT NULL REFERENCES accounts(id),
    container_id         INTEGER NOT NULL REFERENCES containers(id),
    name                 TEXT NOT NULL,
    assumed_name         TEXT NOT NULL DEFAULT '',
    address              TEXT NOT NULL DEFAULT '',
    address2             TEXT NOT NULL DEFAULT '',
    city                 TEXT NOT NULL DEFAULT '',
    state                TEXT NOT NULL DEFAULT '',
    zip                  TEXT NOT NULL DEFAULT '',
    country              TEXT NOT NULL DEFAULT '',
    telephone            TEXT NOT NULL DEFAULT '',
    jurisdiction_country TEXT NOT NULL DEFAULT '',
    jurisdiction_state   TEXT NOT NULL DEFAULT '',
    jurisdiction_city    TEXT NOT NULL DEFAULT '',
    business_category    TEXT NOT NULL DEFAULT '',
    registration_number  TEXT NOT NULL DEFAULT '',
    incorporating_agency TEXT NOT NULL DEFAULT '',
    organization_contact TEXT, -- JSON
    technical_contact    TEXT, -- JSON
    is_active            INTEGER NOT NULL DEFAULT 1,
    created_at           TEXT NOT NULL
);
CREATE INDEX organizations_account ON organizations(account_id);

CREATE TABLE organization_validations (
    organization_id INTEGER NOT NULL REFERENCES organizations(id),
    type            TEXT NOT NULL,
    status          TEXT NOT NULL,
    date_created    TEXT NOT NULL,
    validated_until TEXT NOT NULL,
    PRIMARY KEY (organization_id, type)
);

CREATE TABLE orders (
    id                            INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id                    INTEGER NOT NULL REFERENCES accounts(id),
    container_id                  INTEGER NOT NULL REFERENCES containers(id),
    user_id                       INTEGER NOT NULL REFERENCES users(id),
    organization_id               INTEGER NOT NULL DEFAULT 0,
    product_name_id               TEXT NOT NULL,
    status                        TEXT NOT NULL,
    common_name                   TEXT NOT NULL,
    dns_names                     TEXT NOT NULL DEFAULT '[]', -- JSON array
    organization_units            TEXT NOT NULL DEFAULT '[]', -- JSON array
    csr                           TEXT NOT NULL DEFAULT '',
    server_platform_id            INTEGER NOT NULL DEFAULT -1,
    signature_hash                TEXT NOT NULL,
    profile_option                TEXT NOT NULL DEFAULT '',
    validity_years                INTEGER NOT NULL DEFAULT 0,
    validity_days                 INTEGER NOT NULL DEFAULT 0,
    custom_expiration_date        TEXT NOT NULL DEFAULT '',
    order_valid_till              TEXT NOT NULL,
    comments                      TEXT NOT NULL DEFAULT '',
    auto_renew                    INTEGER NOT NULL DEFAULT 0,
    custom_renewal_message        TEXT NOT NULL DEFAULT '',
    disable_renewal_notifications INTEGER NOT NULL DEFAULT 0,
    additional_emails             TEXT NOT NULL DEFAULT '[]', -- JSON array
    locale                        TEXT NOT NULL DEFAULT '',
    renewal_of_order_id           INTEGER NOT NULL DEFAULT 0,
    renewed_thumbprint            TEXT NOT NULL DEFAULT '',
    is_renewed                    INTEGER NOT NULL DEFAULT 0,
    renewed_order_id              INTEGER NOT NULL DEFAULT 0,
    payment_method                TEXT NOT NULL DEFAULT 'balance',
    card_last4                    TEXT NOT NULL DEFAULT '',
    dcv_method                    TEXT NOT NULL DEFAULT '',
    disable_ct                    INTEGER NOT NULL DEFAULT 0,
    apply_cr_discount             INTEGER NOT NULL DEFAULT 0,
    cr_serial_number              TEXT NOT NULL DEFAULT '',
    skip_approval                 INTEGER NOT NULL DEFAULT 0,
    custom_fields                 TEXT NOT NULL DEFAULT '[]', -- JSON array
    alternative_order_id          TEXT NOT NULL DEFAULT '',
    certificate_id                INTEGER NOT NULL DEFAULT 0,
    created_at                    TEXT NOT NULL,
    updated_at                    TEXT NOT NULL
);
CREATE INDEX orders_account_status ON orders(account_id, status);
CREATE INDEX orders_account_created ON orders(account_id, created_at);

CREATE TABLE requests (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id        INTEGER NOT NULL REFERENCES accounts(id),
    order_id          INTEGER NOT NULL REFERENCES orders(id),
    type              TEXT NOT NULL,
    status            TEXT NOT NULL,
    requester_id      INTEGER NOT NULL DEFAULT 0,
    processor_id      INTEGER NOT NULL DEFAULT 0,
    comments          TEXT NOT NULL DEFAULT '',
    processor_comment TEXT NOT NULL DEFAULT '',
    date              TEXT NOT NULL,
    date_processed    TEXT
);
CREATE INDEX requests_account ON requests(account_id, status);
CREATE INDEX requests_order ON requests(order_id);

CREATE TABLE certificates (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id     INTEGER NOT NULL REFERENCES accounts(id),
    order_id       INTEGER NOT NULL REFERENCES orders(id),
    status         TEXT NOT NULL,
    serial_number  TEXT UNIQUE,
    thumbprint     TEXT UNIQUE,
    issuer_id      TEXT NOT NULL DEFAULT '',
    common_name    TEXT NOT NULL DEFAULT '',
    dns_names      TEXT NOT NULL DEFAULT '[]',
    csr            TEXT NOT NULL DEFAULT '',
    signature_hash TEXT NOT NULL DEFAULT '',
    key_size       INTEGER NOT NULL DEFAULT 0,
    der            BLOB,
    not_before     TEXT,
    not_after      TEXT,
    created_at     TEXT NOT NULL,
    issued_at      TEXT
);
CREATE INDEX certificates_order ON certificates(order_id);

-- Every serial of a recorded certificate, unique, so that none is used
-- twice. (Since migration 0011 a serial is also written down before any key
-- signs with it, in issuance_intents.)
CREATE TABLE serials (
    serial_number TEXT PRIMARY KEY,
    order_id      INTEGER NOT NULL,
    reserved_at   TEXT NOT NULL
);

CREATE TABLE metadata (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    label       TEXT NOT NULL,
    is_required INTEGER NOT NULL DEFAULT 0,
    is_active   INTEGER NOT NULL DEFAULT 1,
    data_type   TEXT NOT NULL DEFAULT 'anything'
);

CREATE TABLE audit_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL,
    user_id    INTEGER NOT NULL DEFAULT 0,
    at         TEXT NOT NULL,
    action     TEXT NOT NULL,
    object     TEXT NOT NULL DEFAULT '',
    detail     TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_account ON audit_events(account_id, id);
