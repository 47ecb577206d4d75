// Package jobs runs certorder's time-driven work: orders past their end
// become expired, plans whose certificate nears its end get the next one,
// orders with auto_renew nearing their end are renewed, and orders nearing
// or past it send renewal notices. Each
// kind of job has a schedule in the store (store.Job) that a round claims
// by compare-and-set before it runs, so replicas sharing a store run each
// round once and a restart resumes where the last process stopped; rounds
// that were missed while nothing ran are caught up by the next one, since
// every job looks at what is due at the time of its round, not at what
// happened since the last. Business time (what is due) comes from one
// injected clock, so tests and the sandbox can move it; the loop's polling
// runs on the wall clock. Jobs never hold a lock an order request waits
// on: each order is handled in its own short transaction.
package jobs

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/certorder/certorder/internal/clock"
	"github.com/certorder/certorder/internal/mail"
	"github.com/certorder/certorder/internal/store"
)

// Kinds of job.
const (
	KindExpire  = "expire_orders"
	KindNotices = "renewal_notices"
	KindReissue = "auto_reissue"
	KindRenew   = "auto_renew"
)

// Store is what the engine needs of the store.
type Store interface {
	Job(ctx context.Context, kind string) (*store.Job, error)
	OrdersToExpire(ctx context.Context, at time.Time, limit int) ([]store.Order, error)
	RenewalCandidates(ctx context.Context, notice string, after, until time.Time, afterID int64, limit int) ([]store.Order, error)
	AutoRenewCandidates(ctx context.Context, after, until time.Time, afterID int64, limit int) ([]store.Order, error)
	AutoReissueCandidates(ctx context.Context, until time.Time, afterID int64, limit int) ([]store.Order, error)
	Order(ctx context.Context, accountID, id int64) (*store.Order, error)
	Certificate(ctx context.Context, accountID, id int64) (*store.Certificate, error)
	OrderNotices(ctx context.Context, accountID, orderID int64) ([]store.OrderNotice, error)
	InTx(ctx context.Context, fn func(store.Tx) error) error
}

// Kicker wakes the mail sender after messages were queued.
type Kicker interface{ Kick() }

// Engine runs the jobs.
type Engine struct {
	Store Store
	Now   func() time.Time
	Log   *slog.Logger
	// Mail, when set, is woken after notices were queued; MailFrom names
	// the sender in their Message-IDs.
	Mail     Kicker
	MailFrom string
	// Orders makes the automatic reissues of multi-year plans; nil leaves
	// them out.
	Orders Reissuer
	// Renew places the automatic renewals of orders with auto_renew; nil
	// leaves them out.
	Renew Renewer
	// ProductName names a product for the notices (the catalogue's name);
	// nil shows its name_id.
	ProductName func(nameID string) string
	// Templates render the notices; nil is the embedded set.
	Templates *mail.Templates
	// Every is how often each job runs, in business time; Lease how long a
	// claimed round is left to its engine before another may run it (an
	// engine that died mid-round); Poll how often Run looks for due
	// rounds, in wall time.
	Every, Lease, Poll time.Duration
}

// Defaults of Engine's durations.
const (
	DefaultEvery = time.Minute
	DefaultLease = 5 * time.Minute
	DefaultPoll  = 5 * time.Second
	// maxBackoff bounds the delay after failed rounds.
	maxBackoff = time.Hour
)

func (e *Engine) now() time.Time { return clock.Now(e.Now) }

func (e *Engine) log() *slog.Logger { return cmp.Or(e.Log, slog.Default()) }

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// jobKind is one kind of job and the function running its round.
type jobKind struct {
	kind string
	do   func(context.Context, time.Time) (int, error)
}

// kinds lists the jobs in the order a round runs them: orders expire
// before the others look at them, so that a notice after the end sees the
// order expired; a renewal placed in a round stops that round's notices of
// the order it renews.
func (e *Engine) kinds() []jobKind {
	ks := []jobKind{{KindExpire, e.expire}}
	// An engine without the order service (the jobs command, which loads
	// no CA) leaves these rounds unclaimed for the servers.
	if e.Orders != nil {
		ks = append(ks, jobKind{KindReissue, e.reissues})
	}
	if e.Renew != nil {
		ks = append(ks, jobKind{KindRenew, e.renewals})
	}
	return append(ks, jobKind{KindNotices, e.notices})
}

// Run runs due rounds until ctx ends. Errors are logged; the loop never
// stops on one.
func (e *Engine) Run(ctx context.Context) {
	t := time.NewTicker(orDefault(e.Poll, DefaultPoll))
	defer t.Stop()
	for {
		e.Round(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Round runs every job that is due now and that no other engine has
// claimed, and returns how many objects they changed (orders expired,
// notices sent).
func (e *Engine) Round(ctx context.Context) int {
	n := 0
	for _, k := range e.kinds() {
		if ctx.Err() != nil {
			break
		}
		m, err := e.RoundOf(ctx, k.kind)
		if err != nil {
			e.log().Error("job round", "kind", k.kind, "err", err)
		}
		n += m
	}
	return n
}

// RoundOf runs the job kind once if it is due and this engine wins its
// claim; it reports what the job changed and why it failed.
func (e *Engine) RoundOf(ctx context.Context, kind string) (int, error) {
	var do func(context.Context, time.Time) (int, error)
	for _, k := range e.kinds() {
		if k.kind == kind {
			do = k.do
		}
	}
	if do == nil {
		return 0, fmt.Errorf("jobs: unknown kind %q", kind)
	}
	now := e.now()
	j, err := e.Store.Job(ctx, kind)
	if errors.Is(err, store.ErrNotFound) {
		err = e.Store.InTx(ctx, func(tx store.Tx) error {
			return tx.ScheduleJob(ctx, &store.Job{Kind: kind, NextAt: now, UpdatedAt: now})
		})
		if err == nil {
			j, err = e.Store.Job(ctx, kind)
		}
	}
	if err != nil {
		return 0, fmt.Errorf("read the schedule: %w", err)
	}
	if j.NextAt.After(now) {
		return 0, nil
	}
	// The claim is in business time: a clock moved forward (the sandbox)
	// only shortens it, and a round run twice is harmless (each order's
	// change and each notice is written once).
	var ok bool
	err = e.Store.InTx(ctx, func(tx store.Tx) error {
		var err error
		ok, err = tx.ClaimJob(ctx, kind, j.NextAt, now.Add(orDefault(e.Lease, DefaultLease)))
		return err
	})
	if err != nil || !ok {
		return 0, err // not ok: another engine runs this round
	}
	n, runErr := do(ctx, now)
	next := &store.Job{Kind: kind, NextAt: now.Add(orDefault(e.Every, DefaultEvery)), UpdatedAt: e.now()}
	if runErr != nil {
		next.Attempts = j.Attempts + 1
		next.LastError = runErr.Error()
		if len(next.LastError) > 500 {
			next.LastError = next.LastError[:500]
		}
		next.NextAt = now.Add(e.backoff(next.Attempts))
	}
	if err := e.Store.InTx(ctx, func(tx store.Tx) error { return tx.FinishJob(ctx, next) }); err != nil {
		return n, errors.Join(runErr, fmt.Errorf("record the round: %w", err))
	}
	return n, runErr
}

// backoff is the delay after the n-th failed round in a row.
func (e *Engine) backoff(n int) time.Duration {
	d := orDefault(e.Every, DefaultEvery)
	for i := 1; i < n && d < maxBackoff; i++ {
		d *= 2
	}
	return min(d, maxBackoff)
}
