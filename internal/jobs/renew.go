package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/mail"
	"github.com/certorder/certorder/internal/notify"
	"github.com/certorder/certorder/internal/order"
	"github.com/certorder/certorder/internal/store"
)

// MailKindAutoRenewal is the outbox kind of the mail telling an order's
// contacts that its renewal was placed automatically.
const MailKindAutoRenewal = "auto_renewal"

// RenewLead is how long before an order's end its automatic renewal is
// placed: CertCentral renews an order with auto-renew 30 days before it
// expires.
const RenewLead = 30 * day

// Renewer places the automatic renewal of an order (order.Service.AutoRenew):
// record runs in the new order's transaction with its id.
type Renewer interface {
	AutoRenew(ctx context.Context, accountID, orderID int64, record func(tx store.Tx, orderID int64) error) (*order.CreateResult, error)
}

// AutoRenewal is the data of the auto_renewal templates.
type AutoRenewal struct {
	OrderID     int64 // the order renewed
	NewOrderID  int64 // its renewal
	ProductName string
	CommonName  string
	Names       []string
	MoreNames   int
	ExpiresOn   string // the renewed order's end, YYYY-MM-DD
	Status      string // the renewal's status as placed: issued, pending, needs_approval...
}

func init() {
	d := AutoRenewal{OrderID: 1234567, NewOrderID: 1234999, ProductName: "Secure Site OV", CommonName: "www.example.com",
		Names: []string{"www.example.com", "example.com"}, MoreNames: 1, ExpiresOn: "2026-09-01", Status: store.OrderIssued}
	waiting, pending := d, d
	waiting.Status, waiting.MoreNames = store.OrderNeedsApproval, 0
	pending.Status = store.OrderPending
	mail.DefineKind(MailKindAutoRenewal, d, waiting, pending)
}

// renewals places the renewal of every order with auto_renew whose end is
// RenewLead away or less and that has not ended, once per order: the
// record (store.NoticeAutoRenew) and the mail are written in the new
// order's transaction, so a crash loses neither and an engine racing this
// one fails on the record's key (or on the old order being renewed) and
// places nothing. An order whose end passed while nothing ran is not
// renewed late: its requester decides.
func (e *Engine) renewals(ctx context.Context, now time.Time) (int, error) {
	n, failed, err := e.eachOrder(ctx, "auto-renew",
		func(afterID int64) ([]store.Order, error) {
			return e.Store.AutoRenewCandidates(ctx, now, now.Add(RenewLead), afterID, noticeBatch)
		},
		func(o *store.Order) (bool, error) { return e.renewOrder(ctx, o, now) })
	if n > 0 && e.Mail != nil {
		e.Mail.Kick()
	}
	if err != nil {
		return n, errors.Join(append(failed, err)...)
	}
	return n, joinFirst(failed)
}

// renewalDue: the auto-renew job would renew o at now (AutoRenewCandidates
// less the records, which the caller checks).
func renewalDue(o *store.Order, now time.Time) bool {
	return o.Status == store.OrderIssued && o.AutoRenew > 0 && !o.IsRenewed &&
		o.OrderValidTill.After(now) && !o.OrderValidTill.After(now.Add(RenewLead))
}

func (e *Engine) renewOrder(ctx context.Context, o *store.Order, now time.Time) (bool, error) {
	rec := &store.OrderNotice{AccountID: o.AccountID, OrderID: o.ID, Notice: store.NoticeAutoRenew, Sent: true, RecordedAt: now}
	res, err := e.Renew.AutoRenew(ctx, o.AccountID, o.ID, func(tx store.Tx, newID int64) error {
		if err := tx.RecordOrderNotice(ctx, rec); err != nil {
			return err
		}
		return e.queueRenewalMail(ctx, tx, o, newID, now)
	})
	if err == nil {
		return res != nil, nil
	}
	if pass, err := e.refused(ctx, "auto-renew", o, rec.Notice, err); !pass {
		return false, err
	}
	rec.Sent = false
	err = e.Store.InTx(ctx, func(tx store.Tx) error { return tx.RecordOrderNotice(ctx, rec) })
	if errors.Is(err, store.ErrConflict) {
		err = nil
	}
	return false, err
}

// queueRenewalMail puts the mail telling the old order's recipients of
// its renewal in the outbox, with its audit event, inside the new order's
// transaction.
func (e *Engine) queueRenewalMail(ctx context.Context, tx store.Tx, old *store.Order, newID int64, now time.Time) error {
	nu, err := tx.Order(ctx, old.AccountID, newID)
	if err != nil {
		return err
	}
	nd := e.noticeData(old, "", now)
	d := AutoRenewal{OrderID: old.ID, NewOrderID: newID, ProductName: nd.ProductName, CommonName: old.CommonName,
		Names: nd.Names, MoreNames: nd.MoreNames, ExpiresOn: nd.ExpiresOn, Status: nu.Status}
	// The renewal's requester is the old order's, or the administrator
	// who stood in for them: they placed it, so they hear of it.
	to, err := recipients(ctx, tx, old, nu.UserID)
	if err != nil {
		return err
	}
	// The rows are about the new order (its outbox list shows them).
	addrs, err := notify.Queue(ctx, tx, e.MailFrom, now, MailKindAutoRenewal, nu, to, d)
	if err != nil {
		return err
	}
	return account.Audit(ctx, tx, e.log(), now, systemActor(old.AccountID), "order.auto_renewed", fmt.Sprintf("order:%d", old.ID),
		map[string]any{"renewal_order_id": newID, "status": nu.Status, "recipients": addrs})
}

// RenderAutoRenewalMail makes a queued auto_renewal mail when it is sent.
func (e *Engine) RenderAutoRenewalMail(ctx context.Context, m *store.OutboxMail) (mail.Message, error) {
	var d AutoRenewal
	locale, name, err := notify.Payload(m, &d)
	if err != nil {
		return mail.Message{}, err
	}
	msg, err := e.Templates.Render(MailKindAutoRenewal, locale, d)
	msg.ToName = name
	return msg, err
}

// refused sorts out an automatic order the order engine did not place.
// An engine racing this one may have made it first (this one failed on the
// record, or on the order having changed meanwhile): nothing to do. No
// requester, or the rules refusing it now (a card payment, too little
// balance, the key blocked since), would refuse it again each round, so
// it is passed over (pass) and left to the user, and its record keeps
// later rounds from reading it again. Anything else (the store failing)
// is returned, worth another try.
func (e *Engine) refused(ctx context.Context, job string, o *store.Order, notice string, err error) (pass bool, _ error) {
	have, rerr := e.Store.OrderNotices(ctx, o.AccountID, o.ID)
	if rerr != nil {
		return false, errors.Join(err, rerr)
	}
	for _, h := range have {
		if h.Notice == notice {
			return false, nil
		}
	}
	var rules *errs.Error
	switch {
	case errors.Is(err, order.ErrNoRequester):
		e.log().Warn(job+" passed over: nobody to place it", "order", o.ID)
	case errors.As(err, &rules) && (rules.Kind == errs.Invalid || rules.Kind == errs.Conflict ||
		rules.Kind == errs.Forbidden || rules.Kind == errs.NotFound):
		e.log().Warn(job+" passed over: refused", "order", o.ID, "err", err)
	default:
		return false, err
	}
	return true, nil
}
