// Package account holds who may do what in an account: users, API keys,
// containers (divisions) and the container scope of a caller, account
// custom fields, and the one permission table that every route and rule
// asks. It never speaks HTTP and knows nothing of orders beyond the store's
// model; the order engine and the API both import it.
package account

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"time"

	"github.com/certorder/certorder/internal/clock"
	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/secret"
	"github.com/certorder/certorder/internal/store"
)

// Service changes users, keys, containers and account settings.
type Service struct {
	Store store.Store
	Now   func() time.Time
	Rand  io.Reader
	Log   *slog.Logger
	// Box seals console TOTP seeds (the data directory's console key);
	// nil turns TOTP enrolment off.
	Box *secret.Box
}

func (s *Service) now() time.Time { return clock.Now(s.Now) }

func (s *Service) rand() io.Reader { return cmp.Or[io.Reader](s.Rand, rand.Reader) }

func (s *Service) audit(ctx context.Context, tx store.Tx, actor Actor, action, object string, detail map[string]any) error {
	return Audit(ctx, tx, s.Log, s.now(), actor, action, object, detail)
}

// Audit writes an audit event inside tx, so that it commits or rolls back
// with the change it describes, and mirrors it to the log.
func Audit(ctx context.Context, tx store.Tx, log *slog.Logger, at time.Time, actor Actor, action, object string, detail map[string]any) error {
	b, _ := json.Marshal(detail)
	ev := &store.AuditEvent{AccountID: actor.Account.ID, At: at, Action: action, Object: object, Detail: string(b)}
	if actor.User != nil {
		ev.UserID = actor.User.ID
	}
	if err := tx.Audit(ctx, ev); err != nil {
		return err
	}
	if log == nil {
		log = slog.Default()
	}
	log.InfoContext(ctx, "audit", "action", action, "object", object, "account", ev.AccountID, "user", ev.UserID, "detail", string(b))
	return nil
}

func apiErr(err error, what string) error { return errs.OrInternal(err, "%s", what) }
