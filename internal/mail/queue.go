// Package mail sends certorder's mail through a durable outbox: a message
// is written to the store in the transaction that decides to send it, and
// a sender drains the outbox in the background, one claim per message, so
// that a request never waits on the relay, a relay that is down delays
// mail without losing it, a restart resumes where the last process
// stopped, and replicas sharing a store send each message once. What a
// message says is made when it is sent, by the renderer of its kind, so
// that the outbox never holds a secret such as an approval link.
package mail

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	netmail "net/mail"
	"net/textproto"
	"sync"
	"time"

	"github.com/certorder/certorder/internal/clock"
	"github.com/certorder/certorder/internal/store"
)

// Store is what the queue needs of the store.
type Store interface {
	DueMail(ctx context.Context, at, realAt time.Time, limit int) ([]store.OutboxMail, error)
	InTx(ctx context.Context, fn func(store.Tx) error) error
}

// Relay hands one composed message to the mail system.
type Relay interface {
	// From is the sender, with or without a display name: the envelope's
	// (its address) and the From header's.
	From() string
	// Transmit sends msg, a complete message (Compose), to the addresses.
	Transmit(ctx context.Context, to []string, msg []byte) error
}

// Message is what a renderer makes of an outbox row. Undelivered, when
// set, is called when the relay did not take this rendering (what it
// recorded for it, such as a link's hash, should go: the next attempt
// renders anew).
type Message struct {
	Subject, Body string
	// HTML, when set, is the body's HTML twin: the message goes out as
	// multipart/alternative.
	HTML string
	// ToName is the recipient's display name in the To header (a user's
	// or a contact's name), encoded by net/mail whatever it holds.
	ToName string
	// Attachments go after the text and HTML (multipart/mixed).
	Attachments []Attachment
	Undelivered func(ctx context.Context)
}

// Renderer makes the message of an outbox row at sending time. It may
// record what the message carries (a link's hash) in the store. ErrDrop
// means the message is no longer wanted (what it was about is gone): it is
// marked done without being sent.
type Renderer func(ctx context.Context, m *store.OutboxMail) (Message, error)

// ErrDrop is returned by a renderer for a message that should not be sent
// any more.
var ErrDrop = errors.New("mail: message no longer wanted")

// Queue drains the outbox.
//
// Two clocks time a message. Until an attempt fails, the business clock
// (Now) times it and its claims' leases: that clock dates what the message
// is about, so a message made in the sandbox's travelled future is due by
// it, not by the wall clock. Once an attempt has failed, the real clock
// (WallNow) times it: the backoff measures how long a relay that refused
// has had, which business time says nothing about. A retry therefore falls
// due while business time stands still (a test's frozen clock) and is not
// hurried when it jumps (the sandbox's travel).
type Queue struct {
	Store     Store
	Relay     Relay
	Renderers map[string]Renderer
	Now       func() time.Time
	// WallNow is the real clock; nil is time.Now. A test that drives
	// Round itself may move its own (Run's timers are real).
	WallNow func() time.Time
	Log     *slog.Logger
	// Poll is how often the sender looks for due messages (a Kick wakes it
	// at once, and so does the soonest retry it scheduled); Retry the
	// first delay after a failed attempt, doubling up to RetryMax; Lease
	// how long a claimed message is left to its sender before another may
	// take it (a sender that died), on the message's clock. MaxAttempts
	// failed attempts give a message up; so does one refusal for good (a
	// 5xx answer of the relay).
	Poll, Retry, RetryMax, Lease time.Duration
	MaxAttempts                  int
	// Keep is the sandbox's outbox: every message sent is marked sent with
	// the subject and body it was sent with, for an integrator to read
	// through the API, and without a Relay a message is kept instead of
	// sent. Only kinds whose bodies carry no secret may have a renderer on
	// a keeping queue: a kind without one is given up, never retried.
	Keep bool

	kick     chan struct{}
	kickOnce sync.Once
	// mu guards Renderers against Register while the sender runs.
	mu sync.RWMutex
	// retryMu guards retryAt, the soonest retry this sender scheduled
	// (real clock; zero: none), at which Run wakes without waiting for
	// its poll.
	retryMu sync.Mutex
	retryAt time.Time
}

// Register adds the renderer of a kind, also while the sender runs (an
// engine that starts after the queue brings its own kinds).
func (q *Queue) Register(kind string, r Renderer) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.Renderers == nil {
		q.Renderers = map[string]Renderer{}
	}
	q.Renderers[kind] = r
}

// Defaults of Queue's durations.
const (
	DefaultPoll     = 5 * time.Second
	DefaultRetry    = 30 * time.Second
	DefaultRetryMax = time.Hour
	DefaultLease    = 2 * time.Minute
	// DefaultMaxAttempts with the default backoff gives the relay about a
	// day to come back.
	DefaultMaxAttempts = 30
)

// Enqueue writes m to the outbox inside tx, due at once.
func Enqueue(ctx context.Context, tx store.Tx, m *store.OutboxMail) error {
	if m.NextAt.IsZero() {
		m.NextAt = m.CreatedAt
	}
	if err := tx.CreateMail(ctx, m); err != nil {
		return fmt.Errorf("mail: enqueue %s to %s: %w", m.Kind, m.Recipient, err)
	}
	return nil
}

func (q *Queue) now() time.Time { return clock.Now(q.Now) }

func (q *Queue) wallNow() time.Time { return clock.Now(q.WallNow) }

// clockOf is the time now on m's clock: business time until an attempt
// failed, real time after.
func (q *Queue) clockOf(m *store.OutboxMail) time.Time {
	if m.Attempts == 0 {
		return q.now()
	}
	return q.wallNow()
}

func (q *Queue) log() *slog.Logger { return cmp.Or(q.Log, slog.Default()) }

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// backoff is the delay after the n-th failed attempt.
func (q *Queue) backoff(n int) time.Duration {
	d, max := orDefault(q.Retry, DefaultRetry), orDefault(q.RetryMax, DefaultRetryMax)
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	return min(d, max)
}

// Kick wakes the sender: a message was just enqueued.
func (q *Queue) Kick() {
	q.kickOnce.Do(func() { q.kick = make(chan struct{}, 1) })
	select {
	case q.kick <- struct{}{}:
	default:
	}
}

// Run sends due messages until ctx ends.
func (q *Queue) Run(ctx context.Context) {
	q.kickOnce.Do(func() { q.kick = make(chan struct{}, 1) })
	t := time.NewTicker(orDefault(q.Poll, DefaultPoll))
	defer t.Stop()
	for {
		for q.Round(ctx) > 0 && ctx.Err() == nil {
		}
		var retry <-chan time.Time
		var timer *time.Timer
		if d, ok := q.untilRetry(); ok {
			timer = time.NewTimer(d)
			retry = timer.C
		}
		select {
		case <-ctx.Done():
		case <-t.C:
		case <-q.kick:
		case <-retry:
		}
		if timer != nil {
			timer.Stop()
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// retryBy notes a retry this sender scheduled for at.
func (q *Queue) retryBy(at time.Time) {
	q.retryMu.Lock()
	defer q.retryMu.Unlock()
	if q.retryAt.IsZero() || at.Before(q.retryAt) {
		q.retryAt = at
	}
}

// untilRetry is how long until the soonest retry noted, if one is; a
// round that starts after it forgets it.
func (q *Queue) untilRetry() (time.Duration, bool) {
	q.retryMu.Lock()
	defer q.retryMu.Unlock()
	if q.retryAt.IsZero() {
		return 0, false
	}
	return max(q.retryAt.Sub(q.wallNow()), 0), true
}

// Round sends the messages due now, each claimed first, and returns how
// many it handled (sent, dropped or failed).
func (q *Queue) Round(ctx context.Context) int {
	wall := q.wallNow()
	q.retryMu.Lock()
	if !q.retryAt.After(wall) {
		q.retryAt = time.Time{} // this round takes it
	}
	q.retryMu.Unlock()
	due, err := q.Store.DueMail(ctx, q.now(), wall, 50)
	if err != nil {
		q.log().Error("list due mail", "err", err)
		return 0
	}
	n := 0
	for i := range due {
		if ctx.Err() != nil {
			break
		}
		m := &due[i]
		var ok bool
		err := q.Store.InTx(ctx, func(tx store.Tx) error {
			var err error
			ok, err = tx.ClaimMail(ctx, m.ID, m.NextAt, q.clockOf(m).Add(orDefault(q.Lease, DefaultLease)))
			return err
		})
		if err != nil {
			q.log().Error("claim mail", "id", m.ID, "err", err)
			continue
		}
		if !ok {
			continue // another sender has it
		}
		q.send(ctx, m)
		n++
	}
	return n
}

// recordTimeout bounds the recording of a message the relay took.
const recordTimeout = 10 * time.Second

func (q *Queue) send(ctx context.Context, m *store.OutboxMail) {
	msg, err := q.deliver(ctx, m)
	dropped := errors.Is(err, ErrDrop)
	if dropped {
		q.log().Info("mail dropped", "id", m.ID, "kind", m.Kind)
		err = nil
	}
	if err == nil {
		// A crash before this commit sends the message again, once, with
		// the same Message-ID. A shutdown is no crash: the relay has the
		// message, so its record is written even when the server is
		// stopping (the server waits for this before closing the store).
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
		defer cancel()
		err := q.Store.InTx(ctx, func(tx store.Tx) error {
			if q.Keep && !dropped {
				return tx.MailKept(ctx, m.ID, q.now(), msg.Subject, msg.Body)
			}
			return tx.MailSent(ctx, m.ID, q.now())
		})
		if err != nil {
			q.log().Error("record mail sent", "id", m.ID, "err", err)
		}
		return
	}
	attempts := m.Attempts + 1
	emsg := err.Error()
	if len(emsg) > 500 {
		emsg = emsg[:500]
	}
	if permanent(err) || attempts >= cmp.Or(q.MaxAttempts, DefaultMaxAttempts) {
		q.log().Warn("mail given up", "id", m.ID, "kind", m.Kind, "attempts", attempts, "err", err)
		if err := q.Store.InTx(ctx, func(tx store.Tx) error { return tx.MailGivenUp(ctx, m.ID, attempts, emsg, q.now()) }); err != nil {
			q.log().Error("record mail given up", "id", m.ID, "err", err)
		}
		return
	}
	next := q.wallNow().Add(q.backoff(attempts))
	q.retryBy(next)
	q.log().Warn("mail not sent; will retry", "id", m.ID, "kind", m.Kind, "attempts", attempts, "retry_at", next, "err", err)
	if err := q.Store.InTx(ctx, func(tx store.Tx) error { return tx.MailFailed(ctx, m.ID, attempts, emsg, next) }); err != nil {
		q.log().Error("record mail failure", "id", m.ID, "err", err)
	}
}

// transmit composes msg for the row's recipient and hands it to the
// relay. A message that cannot be composed (an address that no header may
// carry) is refused for good, as a relay's 5xx would be.
func (q *Queue) transmit(ctx context.Context, m *store.OutboxMail, msg Message) error {
	from, err := netmail.ParseAddress(q.Relay.From())
	if err != nil {
		return fmt.Errorf("mail: sender %q: %w", q.Relay.From(), err)
	}
	to, err := netmail.ParseAddress(m.Recipient)
	if err != nil {
		return fmt.Errorf("mail: recipient %q: %w: %w", m.Recipient, err, errUnsendable)
	}
	if msg.ToName != "" {
		to.Name = msg.ToName
	}
	raw, err := Compose(Envelope{From: *from, To: []netmail.Address{*to}, Subject: msg.Subject, MessageID: m.MessageID, Date: q.now()},
		msg.Body, msg.HTML, msg.Attachments)
	if err != nil {
		return fmt.Errorf("%w: %w", err, errUnsendable)
	}
	return q.Relay.Transmit(ctx, []string{to.Address}, raw)
}

// errUnsendable: the message cannot be written at all; trying again would
// fail again.
var errUnsendable = errors.New("the message cannot be composed")

// permanent: the relay refused the message for good (an SMTP 5xx reply),
// or a keeping queue has no renderer for its kind; trying again would be
// refused again.
func permanent(err error) bool {
	var te *textproto.Error
	return errors.As(err, &te) && te.Code >= 500 && te.Code < 600 || errors.Is(err, errNotKept) || errors.Is(err, errUnsendable)
}

// errNotKept: the sandbox renders no message of this kind (its body would
// carry a secret).
var errNotKept = errors.New("the sandbox keeps no mail of this kind")

func (q *Queue) deliver(ctx context.Context, m *store.OutboxMail) (Message, error) {
	q.mu.RLock()
	render, ok := q.Renderers[m.Kind]
	q.mu.RUnlock()
	if !ok {
		if q.Keep {
			return Message{}, fmt.Errorf("mail kind %q: %w", m.Kind, errNotKept)
		}
		return Message{}, fmt.Errorf("no renderer for mail kind %q", m.Kind)
	}
	msg, err := render(ctx, m)
	if err != nil {
		return msg, err
	}
	switch {
	case q.Relay != nil:
		err = q.transmit(ctx, m, msg)
	case !q.Keep:
		err = errors.New("no SMTP relay is configured")
	}
	if err != nil && msg.Undelivered != nil {
		msg.Undelivered(ctx)
	}
	return msg, err
}
