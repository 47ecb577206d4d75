// Package order holds the rules of ordering: request validation per product
// family, the approval workflow, and issuance through internal/ca. It never
// speaks HTTP; it returns *errs.Error values that the API layer renders.
package order

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/ca"
	"github.com/certorder/certorder/internal/dcv"
	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/store"
)

// Service is the order engine of one certorder process.
type Service struct {
	Store store.Store
	CA    *ca.Hierarchy
	// Sandbox treats domain control validation as passed, and validates new
	// organizations at once, so that integrators see every status quickly.
	Sandbox bool
	Now     func() time.Time
	Rand    io.Reader
	Log     *slog.Logger
	// OnRevoke, when set, is called after a transaction that revoked
	// certificates has committed, with the ids of their issuers (so that
	// their CRLs can be refreshed). It must not block for long.
	OnRevoke func(issuerIDs []string)

	// Domain control validation (issue 6). DCV looks random values and CAA
	// records up for real; nil leaves validation to administrators' grants
	// and skips CAA (the admin command line). Mailer sends the email
	// method's messages, whose links point at PublicURL; nil means no SMTP
	// relay is configured. SandboxRules script sandbox outcomes.
	DCV          *dcv.Checker
	Mailer       *dcv.Mailer
	PublicURL    string
	SandboxRules []SandboxRule
	// DCVPoll is how often the worker looks for due checks; DCVRetry the
	// first delay between looks at one validation, doubling up to
	// DCVRetryMax. Zero values take the defaults (dcvworker.go).
	DCVPoll, DCVRetry, DCVRetryMax time.Duration

	kick     chan struct{}
	kickOnce sync.Once
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) rand() io.Reader {
	if s.Rand != nil {
		return s.Rand
	}
	return rand.Reader
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// audit writes an audit event inside tx and mirrors it to the log.
func (s *Service) audit(ctx context.Context, tx store.Tx, actor account.Actor, action, object string, detail map[string]any) error {
	return account.Audit(ctx, tx, s.log(), s.now(), actor, action, object, detail)
}

// apiErr passes the typed error of an order rule through and wraps
// anything else (a store failure) as an internal error, with what for the
// logs; nil stays nil.
func apiErr(err error, what string) error { return errs.OrInternal(err, "%s", what) }
