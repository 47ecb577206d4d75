package store

import (
	"context"
	"time"
)

// LinkToken is one emailed link that lets its recipient act without an
// API key: confirm a mailbox, approve an EV order, pick up a certificate.
// Kind says which; Subject is whom it was sent to (a mailbox, an
// approver's address). Only the SHA-256 of its secret is kept.
type LinkToken struct {
	ID        int64
	AccountID int64
	Kind      string
	OrderID   int64
	Subject   string
	TokenHash []byte
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
}

// Usable reports whether the link may still be followed at at.
func (t *LinkToken) Usable(at time.Time) bool {
	return t.UsedAt == nil && at.Before(t.ExpiresAt)
}

// LinkReader finds links.
type LinkReader interface {
	// LinkTokenByHash finds a link of kind across accounts (the link is
	// the credential); ErrNotFound when unknown.
	LinkTokenByHash(ctx context.Context, kind string, hash []byte) (*LinkToken, error)
	// LinkTokens lists an order's links of kind, oldest first.
	LinkTokens(ctx context.Context, accountID, orderID int64, kind string) ([]LinkToken, error)
	// MailboxValidation is the account's latest completed validation of
	// email (as orders name it: the domain in lower case); ErrNotFound when there is none.
	MailboxValidation(ctx context.Context, accountID int64, email string) (*MailboxValidation, error)
}

// LinkWriter makes and spends them.
type LinkWriter interface {
	CreateLinkToken(ctx context.Context, t *LinkToken) error
	// UseLinkToken marks the link used at at, and reports whether it did:
	// false when it was used already or had expired, so that of two
	// clicks racing exactly one counts.
	UseLinkToken(ctx context.Context, accountID, id int64, at time.Time) (bool, error)
	// ExpireLinkTokens ends, at at, every unused link of kind that an
	// order sent to subject (a resend replaces the links before it).
	ExpireLinkTokens(ctx context.Context, accountID, orderID int64, kind, subject string, at time.Time) error
	// DeleteLinkToken removes a link that never reached its recipient.
	DeleteLinkToken(ctx context.Context, accountID, id int64) error
	// PutMailboxValidation records that the owner of v.Email answered at
	// v.ValidatedAt, replacing the account's earlier record of it.
	PutMailboxValidation(ctx context.Context, v *MailboxValidation) error
}

// MailboxValidation is a completed validation of control over a mailbox
// (S/MIME Baseline Requirements 3.2.2.2): its owner answered the random
// value mailed to it, for OrderID. It serves every order of the account
// for the reuse period.
type MailboxValidation struct {
	AccountID   int64
	Email       string
	ValidatedAt time.Time
	OrderID     int64
}
