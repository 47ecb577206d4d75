package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/order"
	"github.com/certorder/certorder/internal/store"
)

// ReissueLead is how long before a multi-year plan's certificate ends its
// successor is issued: CertCentral's auto-reissue creates the reissue
// request when the most recently issued certificate is within 30 days of
// expiring, and repeats until the order expires.
const ReissueLead = 30 * day

// minPlanLeft is how long a plan must run on past its certificate for an
// automatic reissue: a certificate ending hours before the plan (the
// day's rounding) has no successor worth issuing.
const minPlanLeft = day

// Reissuer makes the automatic reissue of a multi-year plan's certificate
// (order.Service.AutoReissue): record runs in the reissue's transaction.
type Reissuer interface {
	AutoReissue(ctx context.Context, accountID, orderID, certID int64, record func(tx store.Tx, orderID int64) error) (*order.CreateResult, error)
}

// reissues replaces every multi-year plan certificate within ReissueLead of
// its end by the plan's next one, once per certificate: the record
// (store.AutoReissueNotice) is written in the reissue's own transaction,
// so a crash loses neither and an engine racing this one fails on the
// record's key and issues nothing.
func (e *Engine) reissues(ctx context.Context, now time.Time) (int, error) {
	n, failed, err := e.eachOrder(ctx, "auto-reissue",
		func(afterID int64) ([]store.Order, error) {
			return e.Store.AutoReissueCandidates(ctx, now.Add(ReissueLead), afterID, noticeBatch)
		},
		func(o *store.Order) (bool, error) {
			done, err := e.reissueOrder(ctx, o, now)
			if err != nil {
				err = fmt.Errorf("certificate %d: %w", o.CertificateID, err)
			}
			return done, err
		})
	if err != nil {
		return n, errors.Join(append(failed, err)...)
	}
	return n, joinFirst(failed)
}

func (e *Engine) reissueOrder(ctx context.Context, o *store.Order, now time.Time) (bool, error) {
	rec := &store.OrderNotice{AccountID: o.AccountID, OrderID: o.ID, Notice: store.AutoReissueNotice(o.CertificateID), RecordedAt: now}
	passOver := func() (bool, error) {
		err := e.Store.InTx(ctx, func(tx store.Tx) error {
			// Read again with the record: a request turning auto_reissue
			// on since the list was read forgets only a record made
			// before it, so this one must not follow it.
			cur, err := tx.Order(ctx, o.AccountID, o.ID)
			if err != nil {
				return err
			}
			if o.Extra.AutoReissueOff && !cur.Extra.AutoReissueOff {
				return nil
			}
			return tx.RecordOrderNotice(ctx, rec)
		})
		if errors.Is(err, store.ErrConflict) {
			err = nil
		}
		return false, err
	}
	cert, err := e.Store.Certificate(ctx, o.AccountID, o.CertificateID)
	if err != nil {
		return false, err
	}
	// Turned off by the order, or a plan ending with its certificate: the
	// record keeps later rounds from reading it again.
	if o.Extra.AutoReissueOff || cert.NotAfter.IsZero() || o.OrderValidTill.Sub(cert.NotAfter) < minPlanLeft {
		return passOver()
	}
	rec.Sent = true
	res, err := e.Orders.AutoReissue(ctx, o.AccountID, o.ID, o.CertificateID, func(tx store.Tx, _ int64) error {
		return tx.RecordOrderNotice(ctx, rec)
	})
	if err == nil {
		return res != nil, nil
	}
	// An engine racing this one made it first: this one failed on the
	// record, or on the order having changed meanwhile.
	have, rerr := e.Store.OrderNotices(ctx, o.AccountID, o.ID)
	if rerr != nil {
		return false, errors.Join(err, rerr)
	}
	for _, h := range have {
		if h.Notice == rec.Notice {
			return false, nil
		}
	}
	var refused *errs.Error
	switch {
	case errors.Is(err, order.ErrNoRequester):
		e.log().Warn("auto-reissue passed over: nobody to ask for it", "order", o.ID)
	case errors.As(err, &refused) && (refused.Kind == errs.Invalid || refused.Kind == errs.Conflict ||
		refused.Kind == errs.Forbidden || refused.Kind == errs.NotFound):
		// The order's rules refuse it now (its key blocked since, say): the
		// user reissues by hand; retrying each round would change nothing.
		e.log().Warn("auto-reissue passed over: refused", "order", o.ID, "err", err)
	default:
		return false, err
	}
	rec.Sent = false
	return passOver()
}
