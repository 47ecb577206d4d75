// Package validation holds what proves an order may be signed: domain
// control validation (dns-txt-token, dns-cname-token, http-token, email)
// and its background worker, CAA, the sandbox's scripted outcomes, and
// organizations and domains with their validations. It never speaks HTTP
// and never issues: the order engine imports it, asks it whether an order
// is validated, and is told through OnOrderValidated and OnValidated when
// a validation completes, so that issuance stays in one place.
package validation

import (
	"cmp"
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/clock"
	"github.com/certorder/certorder/internal/dcv"
	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/mail"
	"github.com/certorder/certorder/internal/metrics"
	"github.com/certorder/certorder/internal/store"
)

// MailQueue is the outbox's sender, woken when messages are queued.
type MailQueue interface{ Kick() }

// Service is the validation engine of one certorder process.
type Service struct {
	Store store.Store
	// Sandbox treats domain control validation as passed, and validates new
	// organizations at once, so that integrators see every status quickly.
	Sandbox bool
	Now     func() time.Time
	// Rand draws every secret (the emailed links'); ValueRand, when set,
	// draws the DCV random values instead, which are no secret: the
	// client publishes them. --sandbox-seed sets it so that a replayed
	// test sees the same values; nil is Rand.
	Rand      io.Reader
	ValueRand io.Reader
	Log       *slog.Logger

	// DCV looks random values and CAA records up for real; nil leaves
	// validation to administrators' grants and skips CAA (the admin command
	// line). Mail queues the email method's messages (their links point at
	// PublicURL, From is MailFrom); nil means no SMTP relay is configured.
	// SandboxRules script sandbox outcomes.
	DCV      *dcv.Checker
	Mail     MailQueue
	MailFrom string
	// Templates render the validation mail; nil is the embedded set.
	Templates    *mail.Templates
	PublicURL    string
	SandboxRules []SandboxRule
	// DCVPoll is how often the worker looks for due checks; DCVRetry the
	// first delay between looks at one validation, doubling up to
	// DCVRetryMax. Zero values take the defaults (dcvworker.go).
	DCVPoll, DCVRetry, DCVRetryMax time.Duration

	// OnOrderValidated is called when every name of a pending order is
	// validated (by the worker or check-dcv), to issue it; its error is
	// the issuance's. OnValidated is called after a domain or organization
	// validation of the account completed, to issue whatever became ready.
	// Issuance belongs to the order engine, which imports this package, so
	// it comes in as functions; nil does nothing.
	OnOrderValidated func(ctx context.Context, actor account.Actor, orderID int64) error
	OnValidated      func(ctx context.Context, actor account.Actor)
	// OnEVRejected is called inside the transaction in which a verified
	// contact rejected order o through its emailed link, to make it
	// rejected the order engine's way (refunds included); nil only marks it
	// rejected.
	OnEVRejected func(ctx context.Context, tx store.Tx, o *store.Order) error
	// ProductName names a product in approval emails (the catalogue's
	// display name); nil takes the built-in catalogue's.
	ProductName func(nameID string) string

	// Metrics counts DCV lookups and approvals by method and outcome;
	// nil counts nothing.
	Metrics *metrics.Metrics

	kick     chan struct{}
	kickOnce sync.Once
}

func (s *Service) now() time.Time { return clock.Now(s.Now) }

func (s *Service) rand() io.Reader { return cmp.Or[io.Reader](s.Rand, rand.Reader) }

func (s *Service) valueRand() io.Reader { return cmp.Or[io.Reader](s.ValueRand, s.rand()) }

func (s *Service) log() *slog.Logger { return cmp.Or(s.Log, slog.Default()) }

// audit writes an audit event inside tx and mirrors it to the log.
func (s *Service) audit(ctx context.Context, tx store.Tx, actor account.Actor, action, object string, detail map[string]any) error {
	return account.Audit(ctx, tx, s.log(), s.now(), actor, action, object, detail)
}

// orderValidated hands an order whose names are all validated to the
// order engine.
func (s *Service) orderValidated(ctx context.Context, actor account.Actor, orderID int64) error {
	if s.OnOrderValidated == nil {
		return nil
	}
	return s.OnOrderValidated(ctx, actor, orderID)
}

// validated tells the order engine that a validation of the account
// completed.
func (s *Service) validated(ctx context.Context, actor account.Actor) {
	if s.OnValidated != nil {
		s.OnValidated(ctx, actor)
	}
}

// apiErr passes the typed error of a rule through and wraps anything else
// (a store failure) as an internal error, with what for the logs.
func apiErr(err error, what string) error { return errs.OrInternal(err, "%s", what) }
