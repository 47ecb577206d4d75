-- Issue 7: CRLs are signed once across the processes on a store. A lease
-- names the process that does a piece of background work (the CRL
-- publisher's is "crl-publisher"): it holds it until expires_at and renews
-- it well before; another process takes it over only once it has expired.
CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

-- The latest signed CRL of each issuer (and of the root, issuer_id
-- 'root'), as the lease holder saved it; every process serves it. A CRL
-- replaces the stored one only with a greater number.
CREATE TABLE crls (
    issuer_id   TEXT PRIMARY KEY,
    number      INTEGER NOT NULL,
    this_update TEXT NOT NULL,
    next_update TEXT NOT NULL,
    entries     INTEGER NOT NULL DEFAULT 0,
    der         BLOB NOT NULL
);
