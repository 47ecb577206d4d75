// Package order holds the rules of ordering: request validation per product
// family, the approval workflow, and issuance through internal/ca. It never
// speaks HTTP; it returns *errs.Error values that the API layer renders.
package order

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"sync"
	"time"

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

// Actor is the authenticated caller.
type Actor struct {
	Account *store.Account
	User    *store.User
	Key     *store.APIKey
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
func (s *Service) audit(ctx context.Context, tx store.Tx, actor Actor, action, object string, detail map[string]any) error {
	b, _ := json.Marshal(detail)
	ev := &store.AuditEvent{AccountID: actor.Account.ID, At: s.now(), Action: action, Object: object, Detail: string(b)}
	if actor.User != nil {
		ev.UserID = actor.User.ID
	}
	if err := tx.Audit(ctx, ev); err != nil {
		return err
	}
	s.log().Info("audit", "action", action, "object", object, "account", ev.AccountID, "user", ev.UserID, "detail", string(b))
	return nil
}

// canSkipApproval: administrators and managers may bypass the request step
// when the account allows it (spec §3.6).
func canSkipApproval(a Actor) bool {
	if !a.Account.AllowSkipApproval || a.User == nil {
		return false
	}
	return a.User.AccessRole == store.RoleAdministrator || a.User.AccessRole == store.RoleManager
}

// canApprove: administrators and managers approve requests.
func canApprove(a Actor) bool {
	return a.User != nil && (a.User.AccessRole == store.RoleAdministrator || a.User.AccessRole == store.RoleManager)
}

// apiErr passes the typed error of an order rule through and wraps
// anything else (a store failure) as an internal error, with what for the
// logs; nil stays nil.
func apiErr(err error, what string) error {
	if err == nil {
		return nil
	}
	var e *errs.Error
	if errors.As(err, &e) {
		return e
	}
	return errs.Internalf(err, "%s", what)
}
