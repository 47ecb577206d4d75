// Package order holds the rules of ordering: request validation per product
// family, the approval workflow, and issuance through internal/ca. Whether
// an order is validated (domains, organizations, CAA) it asks
// internal/validation, which reports completed validations back through
// callbacks. It never speaks HTTP; it returns *errs.Error values that the
// API layer renders.
package order

import (
	"cmp"
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"time"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/ca"
	"github.com/certorder/certorder/internal/catalog"
	"github.com/certorder/certorder/internal/clock"
	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/metrics"
	"github.com/certorder/certorder/internal/notify"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/validation"
)

// Service is the order engine of one certorder process.
type Service struct {
	Store store.Store
	CA    *ca.Hierarchy
	// Catalog is what new orders are placed from (Products); nil is the
	// built-in catalogue. Orders already placed keep their product's rules,
	// which no catalogue changes.
	Catalog *catalog.Catalog
	// Validation says whether an order's organization and names are
	// validated, checks CAA before a signature and runs the DCV worker;
	// set it with UseValidation, which also has it call back.
	Validation *validation.Service
	Now        func() time.Time
	// LeaseNow times what only processes compare among themselves: signing
	// claims and issuance intents. The sandbox's clock jumps; these must
	// not (a jump would hand an in-flight signature to another process,
	// or list its serial as abandoned). Nil is Now.
	LeaseNow func() time.Time
	Rand     io.Reader
	// SerialPrefix, when set (the sandbox's --sandbox-seed), gives the
	// first 64 bits of each serial so that they repeat from run to run;
	// the other 64 always come from Rand, the CSPRNG (ca.NewSerialFrom).
	SerialPrefix io.Reader
	Log          *slog.Logger
	// OnRevoke, when set, is called after a transaction that revoked
	// certificates has committed, with the ids of their issuers (so that
	// their CRLs can be refreshed). It must not block for long.
	OnRevoke func(issuerIDs []string)
	// Notify queues the mail of each event (a request waiting, approved
	// or rejected; a certificate issued or revoked) in the event's
	// transaction; nil sends none.
	Notify *notify.Notifier
	// Metrics counts orders, issuances and lint findings; nil counts
	// nothing.
	Metrics *metrics.Metrics

	// serials hand immediate orders serials whose issuance intents have
	// committed (serials.go); made on first use (serialsOf).
	serials *serialPool
	// beforeSign, when set (tests), is called with the serial right before
	// the issuer signs it.
	beforeSign func(serialHex string)
}

// UseValidation connects the validation engine both ways: s asks v
// whether orders are validated, and v hands back for issuance what it
// validates — the one order whose names all passed (IssuePending), or
// whatever a domain or organization validation of the account made ready
// (IssueReady) — and the order a verified contact rejected (rejectTx).
func (s *Service) UseValidation(v *validation.Service) {
	s.Validation = v
	v.OnOrderValidated = s.IssuePending
	v.OnValidated = func(ctx context.Context, actor account.Actor) { s.IssueReady(ctx, actor) }
	v.OnEVRejected = s.rejectTx
}

func (s *Service) now() time.Time { return clock.Now(s.Now) }

func (s *Service) leaseNow() time.Time {
	if s.LeaseNow != nil {
		return clock.Now(s.LeaseNow)
	}
	return s.now()
}

func (s *Service) rand() io.Reader { return cmp.Or[io.Reader](s.Rand, rand.Reader) }

func (s *Service) log() *slog.Logger { return cmp.Or(s.Log, slog.Default()) }

// audit writes an audit event inside tx and mirrors it to the log.
func (s *Service) audit(ctx context.Context, tx store.Tx, actor account.Actor, action, object string, detail map[string]any) error {
	return account.Audit(ctx, tx, s.log(), s.now(), actor, action, object, detail)
}

// apiErr passes the typed error of an order rule through and wraps
// anything else (a store failure) as an internal error, with what for the
// logs; nil stays nil.
func apiErr(err error, what string) error { return errs.OrInternal(err, "%s", what) }
