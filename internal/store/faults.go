package store

import (
	"context"
	"time"
)

// FaultRule is one of the sandbox's fault injection rules (internal/faults)
// as the store keeps it, so that every process on the store applies the
// rules an administrator set on any of them, and a rule's count holds for
// all of them together: each process counts the calls a rule matches and
// the faults it injects here, in the store, before it injects one.
type FaultRule struct {
	ID int64
	// AccountID is the account whose calls the rule picks; 0 for a
	// server rule (--sandbox-fault), which picks every account's.
	AccountID int64
	// Spec is the rule as written, in JSON (faults.Spec).
	Spec string
	// Count is the rule's count (0: none): InjectFaultRule never counts
	// past it.
	Count int64
	// Hits counts the calls the rule matched while in force; Injected the
	// faults it injected.
	Hits, Injected int64
	CreatedAt      time.Time
}

// Spent reports whether the rule's count is used up.
func (r *FaultRule) Spent() bool { return r.Count > 0 && r.Injected >= r.Count }

// FaultReader reads the rules.
type FaultReader interface {
	// FaultRules lists every account's rules and the server's, oldest
	// first.
	FaultRules(ctx context.Context) ([]FaultRule, error)
}

// FaultWriter changes them and counts what they do.
type FaultWriter interface {
	CreateFaultRule(ctx context.Context, r *FaultRule) error
	// DeleteFaultRule removes rule id if it is the account's or a server
	// rule, and reports whether it did.
	DeleteFaultRule(ctx context.Context, accountID, id int64) (bool, error)
	// DeleteFaultRules removes every rule of an account (0: the server's).
	DeleteFaultRules(ctx context.Context, accountID int64) error
	// HitFaultRule counts a call the rule matched and returns its hits
	// since it was made, counting this one; ok is false, and nothing is
	// counted, when the rule is gone or spent.
	HitFaultRule(ctx context.Context, id int64) (hits int64, ok bool, err error)
	// InjectFaultRule counts a fault the rule injects, unless that would
	// take it past its count, and reports whether it did: of several
	// processes racing for a rule's last fault, one injects it.
	InjectFaultRule(ctx context.Context, id int64) (bool, error)
}
