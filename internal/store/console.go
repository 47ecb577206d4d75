package store

import (
	"context"
	"time"
)

// Credential is how a user signs in to the console: the argon2id hash of
// their password (a PHC string; "" when none is set), and their TOTP seed
// sealed with the console key (nil when none is enrolled). TOTPEnabled is
// set once a code from the seed was confirmed; TOTPLastStep is the last
// 30-second step a code was accepted for.
type Credential struct {
	UserID       int64
	AccountID    int64
	PasswordHash string
	TOTPSeed     []byte
	TOTPEnabled  bool
	TOTPLastStep int64
	UpdatedAt    time.Time
}

// Session is one console sign-in. Only the SHA-256 of its cookie's value
// is kept. SecondFactor is set once the sign-in is complete (the TOTP code
// given, or none needed).
type Session struct {
	ID           int64
	AccountID    int64
	UserID       int64
	TokenHash    []byte
	SecondFactor bool
	CreatedAt    time.Time
	ExpiresAt    time.Time
	LastSeenAt   time.Time
	EndedAt      *time.Time
}

// AuditFilter narrows an account's audit log; zero values mean "any".
type AuditFilter struct {
	UserID int64
	// Action matches the action exactly, or every action under it when
	// it ends with "." ("order." is every order event).
	Action string
	Object string
	At     TimeRange
}

// ConsoleReader reads sign-in state.
type ConsoleReader interface {
	// Credential is a user's; ErrNotFound when the user has none.
	Credential(ctx context.Context, accountID, userID int64) (*Credential, error)
	// SessionByHash finds a session across accounts (the cookie is the
	// credential); ErrNotFound when unknown.
	SessionByHash(ctx context.Context, hash []byte) (*Session, error)
	// SignInFailures is how many sign-ins failed in a row for a name, and
	// when the last one did; 0 and the zero time when none.
	SignInFailures(ctx context.Context, username string) (int, time.Time, error)
	// AuditLog pages through an account's audit events, newest first, and
	// counts every event the filter keeps.
	AuditLog(ctx context.Context, accountID int64, f AuditFilter, page Page) ([]AuditEvent, int, error)
}

// ConsoleWriter changes it.
type ConsoleWriter interface {
	// PutCredential creates or replaces a user's credential.
	PutCredential(ctx context.Context, c *Credential) error
	// UseTOTPStep records step as the user's last accepted step only if it
	// is later than the one recorded, and reports whether it did: a code
	// is accepted once, by one process.
	UseTOTPStep(ctx context.Context, accountID, userID, step int64) (bool, error)
	CreateSession(ctx context.Context, s *Session) error
	// TouchSession moves a live session's last_seen_at to at.
	TouchSession(ctx context.Context, id int64, at time.Time) error
	// CompleteSession marks a session's second factor given.
	CompleteSession(ctx context.Context, id int64) error
	// EndSession ends a session at at (sign-out); ending an ended session
	// keeps its first end.
	EndSession(ctx context.Context, id int64, at time.Time) error
	// EndUserSessions ends every live session of a user but keep (0: all).
	EndUserSessions(ctx context.Context, accountID, userID, keep int64, at time.Time) error
	// CountSignInAttempt counts a sign-in attempt for a name at at as a
	// failure (a success clears it afterwards), only if the name's
	// failures are still seen, last at seenAt (what SignInFailures read
	// when the attempt was let through), and reports whether it did. Of
	// attempts racing for a name, in any process, one counts per state
	// read: the others read again, so that none is let through on a
	// count another attempt has already moved. Rows of every name idle
	// since before forget go first (a name's old failures no longer
	// count).
	CountSignInAttempt(ctx context.Context, username string, seen int, seenAt, at, forget time.Time) (bool, error)
	// ClearSignInFailures forgets a name's failures (a sign-in succeeded).
	ClearSignInFailures(ctx context.Context, username string) error
}
