-- The web console: how people sign in, and the sessions they hold.
--
-- A user's console credentials: the argon2id hash of their password (a
-- PHC string carrying its own parameters and salt), and their TOTP seed
-- sealed with the console key of the data directory (a seed must be read
-- to check a code, so it cannot be hashed). totp_last_step is the last
-- 30-second step a code was accepted for: a code works once.
CREATE TABLE user_credentials (
    user_id         INTEGER PRIMARY KEY REFERENCES users(id),
    account_id      INTEGER NOT NULL REFERENCES accounts(id),
    password_hash   TEXT NOT NULL DEFAULT '',
    totp_seed       BLOB,
    totp_enabled    INTEGER NOT NULL DEFAULT 0,
    totp_last_step  INTEGER NOT NULL DEFAULT 0,
    updated_at      TEXT NOT NULL
);

-- Console sessions. Only the SHA-256 of the cookie's value is kept: a
-- leaked database signs nobody in. A session ends at expires_at, after
-- idling past the console's idle timeout (last_seen_at), or when ended
-- (sign-out, a new password). second_factor is 1 once the sign-in is
-- complete: a session waiting for its TOTP code opens no page.
CREATE TABLE console_sessions (
    id            INTEGER PRIMARY KEY,
    account_id    INTEGER NOT NULL REFERENCES accounts(id),
    user_id       INTEGER NOT NULL REFERENCES users(id),
    token_hash    BLOB NOT NULL UNIQUE,
    second_factor INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL,
    ended_at      TEXT
);
CREATE INDEX console_sessions_user ON console_sessions(user_id);

-- Failed sign-ins by the name typed, whether or not such a user exists
-- (an answer that differed would tell which names do): past a number of
-- failures each further attempt waits longer. Shared by every process on
-- the store, so replicas slow a guesser down together.
CREATE TABLE signin_failures (
    username   TEXT PRIMARY KEY,
    failures   INTEGER NOT NULL,
    last_at    TEXT NOT NULL
);
CREATE INDEX signin_failures_last ON signin_failures(last_at);

-- The console's audit log pages through an account's events by time and
-- narrows them by user.
CREATE INDEX audit_account_user ON audit_events(account_id, user_id, id);
