-- The sandbox's fault injection rules, shared by every process on the
-- store: each counts here the calls a rule matched and the faults it
-- injected, so that a rule's count holds for all of them together.
-- account_id 0 is a server rule (--sandbox-fault), for every account.
CREATE TABLE sandbox_faults (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL,
    spec       TEXT NOT NULL,
    max_count  INTEGER NOT NULL DEFAULT 0,
    hits       INTEGER NOT NULL DEFAULT 0,
    injected   INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE INDEX sandbox_faults_account ON sandbox_faults(account_id);
