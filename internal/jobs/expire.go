package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/store"
)

// expireBatch is how many orders one query of the expiry job reads.
const expireBatch = 100

// expire turns every issued order whose order_valid_till has come into an
// expired one, each in its own transaction with its audit event. The
// status change (order_status_changes) is stamped with the business time
// of the round. OCSP and CRLs are unaffected: they answer by serial and
// revocation, whatever the order's status.
func (e *Engine) expire(ctx context.Context, now time.Time) (int, error) {
	n := 0
	var failed []error // one order that fails holds no other back
	for {
		due, err := e.Store.OrdersToExpire(ctx, now, expireBatch)
		if err != nil {
			return n, errors.Join(append(failed, err)...)
		}
		done := 0
		for i := range due {
			ok, err := e.expireOrder(ctx, &due[i], now)
			if err != nil {
				e.log().Error("expire order", "order", due[i].ID, "err", err)
				failed = append(failed, fmt.Errorf("expire order %d: %w", due[i].ID, err))
				continue
			}
			if ok {
				n++
				done++
			}
		}
		// A batch that changed nothing would come back the same: stop.
		if len(due) < expireBatch || done == 0 || ctx.Err() != nil {
			return n, joinFirst(failed)
		}
	}
}

// eachOrder walks the orders fetch returns, a page (noticeBatch) at a
// time after the last id seen, runs do on each and counts those it reports
// done. An order that fails is logged and remembered in failed, and holds
// no other back; a failed fetch ends the walk and is returned as err.
func (e *Engine) eachOrder(ctx context.Context, what string, fetch func(afterID int64) ([]store.Order, error),
	do func(o *store.Order) (bool, error)) (n int, failed []error, err error) {
	var last int64
	for {
		cands, err := fetch(last)
		if err != nil {
			return n, failed, err
		}
		for i := range cands {
			o := &cands[i]
			last = o.ID
			done, err := do(o)
			if err != nil {
				e.log().Error(what, "order", o.ID, "err", err)
				failed = append(failed, fmt.Errorf("%s of order %d: %w", what, o.ID, err))
				continue
			}
			if done {
				n++
			}
		}
		if len(cands) < noticeBatch || ctx.Err() != nil {
			return n, failed, nil
		}
	}
}

// joinFirst joins the first few errors of a round (its last_error is
// short; the logs have every one).
func joinFirst(errs []error) error {
	if len(errs) > 3 {
		errs = append(errs[:3], fmt.Errorf("and %d more", len(errs)-3))
	}
	return errors.Join(errs...)
}

func (e *Engine) expireOrder(ctx context.Context, cand *store.Order, now time.Time) (bool, error) {
	changed := false
	err := e.Store.InTx(ctx, func(tx store.Tx) error {
		o, err := tx.Order(ctx, cand.AccountID, cand.ID)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		// Read again inside the transaction: a request may have revoked or
		// renewed it since the list was read.
		if o.Status != store.OrderIssued || o.OrderValidTill.After(now) {
			return nil
		}
		o.Status, o.UpdatedAt = store.OrderExpired, now
		if err := tx.UpdateOrder(ctx, o); err != nil {
			return err
		}
		changed = true
		return account.Audit(ctx, tx, e.log(), now, systemActor(o.AccountID), "order.expired", fmt.Sprintf("order:%d", o.ID),
			map[string]any{"order_valid_till": o.OrderValidTill.Format(time.DateOnly)})
	})
	return changed, err
}

// systemActor is certorder itself acting on an account (user id 0).
func systemActor(accountID int64) account.Actor {
	return account.Actor{Account: &store.Account{ID: accountID}}
}
