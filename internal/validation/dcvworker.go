package validation

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/dcv"
	"github.com/certorder/certorder/internal/store"
)

// Defaults of the background validation checks.
const (
	DefaultDCVPoll     = 5 * time.Second
	DefaultDCVRetry    = 30 * time.Second
	DefaultDCVRetryMax = time.Hour
	dcvBatch           = 50
)

func (s *Service) kickChan() chan struct{} {
	s.kickOnce.Do(func() { s.kick = make(chan struct{}, 1) })
	return s.kick
}

// KickDCV asks the worker for a round now (an order became pending, a
// method changed); it never blocks.
func (s *Service) KickDCV() {
	select {
	case s.kickChan() <- struct{}{}:
	default:
	}
}

// dcvLease is how long a claimed check stays with the worker that
// claimed it; a worker that dies mid-look leaves it due again after that,
// for itself after a restart or for another replica. Six lookup timeouts
// cover a look at an order of a few names; a longer look only risks a
// second worker looking too, never a second issuance.
func (s *Service) dcvLease() time.Duration {
	t := dcv.DefaultTimeout
	if s.DCV != nil {
		t = s.DCV.Config().Timeout
	}
	return max(6*t, time.Second)
}

func (s *Service) dcvPoll() time.Duration {
	if s.DCVPoll > 0 {
		return s.DCVPoll
	}
	return DefaultDCVPoll
}

// backoff is the delay before the next look after attempts looks: the
// first retry delay doubling up to the maximum.
func (s *Service) backoff(attempts int) time.Duration {
	base, max := s.DCVRetry, s.DCVRetryMax
	if base <= 0 {
		base = DefaultDCVRetry
	}
	if max <= 0 {
		max = DefaultDCVRetryMax
	}
	d := base
	for i := 1; i < attempts && d < max; i++ {
		d *= 2
	}
	return min(d, max)
}

// RunDCV is the background validation worker: every poll (or kick) it
// schedules the pending orders and domains that have no check yet, then
// looks at every check that is due. Its state is in the store, so a
// restarted process resumes where the last one stopped, and several
// processes on one store share the work: each check is claimed by one.
func (s *Service) RunDCV(ctx context.Context) {
	t := time.NewTicker(s.dcvPoll())
	defer t.Stop()
	for {
		s.DCVRound(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.kickChan():
		}
	}
}

// DCVRound runs one round and returns how many checks it looked at.
func (s *Service) DCVRound(ctx context.Context) int {
	now := s.now()
	missing, err := s.Store.UnscheduledDCV(ctx, now)
	if err != nil {
		s.log().ErrorContext(ctx, "list unscheduled validations", "err", err)
		return 0
	}
	if len(missing) > 0 {
		err := s.Store.InTx(ctx, func(tx store.Tx) error {
			for i := range missing {
				if err := tx.ScheduleDCVCheck(ctx, &missing[i]); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			s.log().ErrorContext(ctx, "schedule validations", "err", err)
		}
	}
	due, err := s.Store.DueDCVChecks(ctx, now, dcvBatch)
	if err != nil {
		s.log().ErrorContext(ctx, "list due validations", "err", err)
		return 0
	}
	n := 0
	for _, c := range due {
		if ctx.Err() != nil {
			break
		}
		var claimed bool
		err := s.Store.InTx(ctx, func(tx store.Tx) error {
			var err error
			claimed, err = tx.ClaimDCVCheck(ctx, c.Kind, c.ObjectID, c.NextAt, s.now().Add(s.dcvLease()))
			return err
		})
		if err != nil {
			s.log().ErrorContext(ctx, "claim validation check", "kind", c.Kind, "id", c.ObjectID, "err", err)
			continue
		}
		if !claimed {
			continue // another worker has it
		}
		n++
		switch c.Kind {
		case store.DCVKindOrder:
			err = s.lookAtOrder(ctx, c)
		case store.DCVKindDomain:
			err = s.lookAtDomain(ctx, c)
		default:
			err = s.dropCheck(ctx, c)
		}
		if err != nil {
			s.log().ErrorContext(ctx, "validation check", "kind", c.Kind, "id", c.ObjectID, "err", err)
			// Retried on the usual schedule: left alone, the claim's lease
			// (meant for a crashed worker) would hold the check for minutes.
			if err := s.reschedule(ctx, c, err.Error(), s.backoff(c.Attempts+1)); err != nil {
				s.log().ErrorContext(ctx, "reschedule validation check", "kind", c.Kind, "id", c.ObjectID, "err", err)
			}
		}
	}
	return n
}

func (s *Service) dropCheck(ctx context.Context, c store.DCVCheck) error {
	return s.Store.InTx(ctx, func(tx store.Tx) error { return tx.DeleteDCVCheck(ctx, c.Kind, c.ObjectID) })
}

// reschedule writes the outcome of a look and the time of the next one.
func (s *Service) reschedule(ctx context.Context, c store.DCVCheck, lastErr string, after time.Duration) error {
	now := s.now()
	c.Attempts++
	c.LastError, c.NextAt, c.UpdatedAt = lastErr, now.Add(after), now
	return s.Store.InTx(ctx, func(tx store.Tx) error { return tx.PutDCVCheck(ctx, &c) })
}

func (s *Service) systemActor(ctx context.Context, accountID int64) (account.Actor, error) {
	acct, err := s.Store.Account(ctx, accountID)
	if err != nil {
		return account.Actor{}, fmt.Errorf("read account %d: %w", accountID, err)
	}
	return account.SystemActor(acct), nil
}

// lookAtOrder: a pending order's emails are sent if they were not, its
// names are looked up, and it issues when every name is validated.
func (s *Service) lookAtOrder(ctx context.Context, c store.DCVCheck) error {
	ctx = account.Unscoped(ctx)
	o, err := s.Store.Order(ctx, c.AccountID, c.ObjectID)
	if errors.Is(err, store.ErrNotFound) {
		return s.dropCheck(ctx, c)
	}
	if err != nil {
		return fmt.Errorf("read order %d: %w", c.ObjectID, err)
	}
	if o.Status != store.OrderPending {
		return s.dropCheck(ctx, c)
	}
	if !needsDCV(o) {
		// Parked rather than dropped, or the next round would schedule it
		// again: nothing to look up while the order stays pending.
		return s.reschedule(ctx, c, "", 100*365*24*time.Hour)
	}
	actor, err := s.systemActor(ctx, c.AccountID)
	if err != nil {
		return err
	}
	if o.DCVMethod == "email" && c.EmailsSentAt.IsZero() && !s.Sandbox {
		if _, err := s.sendOrderEmails(ctx, o, nil, false); err != nil {
			c.LastError = err.Error()
			s.log().WarnContext(ctx, "DCV emails not sent", "order", o.ID, "err", err)
		} else {
			c.EmailsSentAt = s.now()
		}
	}
	rep, err := s.checkOrderNames(ctx, o, nil)
	if err != nil {
		// Rescheduled here so the record of sent emails is kept.
		if rerr := s.reschedule(ctx, c, err.Error(), s.backoff(c.Attempts+1)); rerr != nil {
			return errors.Join(err, rerr)
		}
		s.log().ErrorContext(ctx, "validation check", "kind", c.Kind, "id", c.ObjectID, "err", err)
		return nil
	}
	if !rep.AllApproved() {
		after := s.backoff(c.Attempts + 1)
		if IsTokenMethod(o.DCVMethod) && !o.DCVRandomExpires.After(s.now()) {
			after = s.backoff(1 << 10) // expired: only a new random value (which reschedules) helps
		}
		msg := rep.summary()
		if msg == "" {
			msg = c.LastError
		}
		return s.reschedule(ctx, c, msg, after)
	}
	if err := s.orderValidated(ctx, actor, o.ID); err != nil {
		return s.reschedule(ctx, c, err.Error(), s.backoff(c.Attempts+1))
	}
	cur, err := s.Store.Order(ctx, c.AccountID, o.ID)
	if err != nil {
		return fmt.Errorf("read order %d: %w", o.ID, err)
	}
	if cur.Status != store.OrderPending {
		return s.dropCheck(ctx, c)
	}
	// Validated but not issued: the organization validation or the CSR is
	// still missing; their own events issue it, and the worker looks again.
	return s.reschedule(ctx, c, "domains validated; waiting for the rest of the order's validation", s.backoff(c.Attempts+1))
}

// lookAtDomain: a domain submitted for validation gets its emails or has
// its token looked up; once validated, the orders waiting on it issue.
func (s *Service) lookAtDomain(ctx context.Context, c store.DCVCheck) error {
	d, err := s.Store.Domain(ctx, c.AccountID, c.ObjectID)
	if errors.Is(err, store.ErrNotFound) {
		return s.dropCheck(ctx, c)
	}
	if err != nil {
		return fmt.Errorf("read domain %d: %w", c.ObjectID, err)
	}
	if !d.IsActive || DCVValid(d, s.now()) || d.DCVStatus != store.DCVPending {
		return s.dropCheck(ctx, c)
	}
	if d.DCVMethod == "email" || d.DCVMethod == "" {
		if c.EmailsSentAt.IsZero() && !s.Sandbox {
			if _, err := s.sendDomainEmails(ctx, d, nil, false); err != nil {
				return s.reschedule(ctx, c, err.Error(), s.backoff(c.Attempts+1))
			}
			c.EmailsSentAt = s.now()
		}
		return s.reschedule(ctx, c, "waiting for the emailed approval link", s.backoff(c.Attempts+1))
	}
	found, detail, err := s.checkDomain(ctx, d)
	if err != nil {
		return err
	}
	if !found {
		return s.reschedule(ctx, c, detail, s.backoff(c.Attempts+1))
	}
	actor, err := s.systemActor(ctx, c.AccountID)
	if err != nil {
		return err
	}
	s.validated(ctx, actor)
	return s.dropCheck(ctx, c)
}
