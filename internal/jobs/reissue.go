package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/mail"
	"github.com/certorder/certorder/internal/notify"
	"github.com/certorder/certorder/internal/order"
	"github.com/certorder/certorder/internal/store"
)

// MailKindAutoReissue is the outbox kind of the mail telling an order's
// contacts that its plan's next certificate was made automatically.
const MailKindAutoReissue = "auto_reissue"

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
		if err := tx.RecordOrderNotice(ctx, rec); err != nil {
			return err
		}
		return e.queueReissueMail(ctx, tx, o, cert, now)
	})
	if err == nil && res != nil && e.Mail != nil {
		e.Mail.Kick()
	}
	if err == nil {
		return res != nil, nil
	}
	if pass, err := e.refused(ctx, "auto-reissue", o, rec.Notice, err); !pass {
		return false, err
	}
	rec.Sent = false
	return passOver()
}

// AutoReissue is the data of the auto_reissue templates.
type AutoReissue struct {
	OrderID       int64
	CertificateID int64 // the plan's new certificate
	ProductName   string
	CommonName    string
	Names         []string
	MoreNames     int
	ReplacedEnds  string // the replaced certificate's end, YYYY-MM-DD
	ValidTill     string // the new certificate's end, YYYY-MM-DD; "" until it is issued
	PlanEnds      string // the order's end (order_valid_till), YYYY-MM-DD
	// Status is the order's after the reissue: issued, or reissue_pending
	// while the new certificate waits, for Waiting: "approval" (a request
	// to approve) or "validation" (of its domains or organization).
	Status  string
	Waiting string
}

func init() {
	issued := AutoReissue{OrderID: 1234567, CertificateID: 89, ProductName: "Secure Site OV", CommonName: "www.example.com",
		Names: []string{"www.example.com", "example.com"}, MoreNames: 2, ReplacedEnds: "2027-03-01", ValidTill: "2027-09-01",
		PlanEnds: "2028-12-01", Status: store.OrderIssued}
	approval := issued
	approval.CertificateID, approval.ValidTill, approval.Status, approval.Waiting = 0, "", store.OrderReissuePending, "approval"
	validation := approval
	validation.Waiting, validation.MoreNames = "validation", 0
	mail.DefineKind(MailKindAutoReissue, issued, approval, validation)
}

// queueReissueMail puts the mail telling the order's recipients (those of
// its renewal notices) of its plan's next certificate in the outbox, with
// its audit event, inside the reissue's transaction: issued at once, or
// waiting for approval or validation (order info then shows it; no second
// mail follows its issuance). It is no renewal notice, so
// disable_renewal_notifications and the send_* switches leave it alone.
func (e *Engine) queueReissueMail(ctx context.Context, tx store.Tx, cand *store.Order, replaced *store.Certificate, now time.Time) error {
	o, err := tx.Order(ctx, cand.AccountID, cand.ID)
	if err != nil {
		return err
	}
	nd := e.noticeData(o, "", now)
	d := AutoReissue{OrderID: o.ID, ProductName: nd.ProductName, CommonName: o.CommonName, Names: nd.Names, MoreNames: nd.MoreNames,
		ReplacedEnds: replaced.NotAfter.UTC().Format(time.DateOnly), PlanEnds: nd.ExpiresOn, Status: o.Status}
	switch {
	case o.Status == store.OrderIssued && o.CertificateID != replaced.ID:
		c, err := tx.Certificate(ctx, o.AccountID, o.CertificateID)
		if err != nil {
			return err
		}
		d.CertificateID, d.ValidTill = c.ID, c.NotAfter.UTC().Format(time.DateOnly)
	default:
		d.Waiting = "validation"
		reqs, err := tx.RequestsForOrder(ctx, o.AccountID, o.ID)
		if err != nil {
			return err
		}
		for _, r := range reqs {
			if r.Type == store.RequestReissue && (r.Status == store.RequestSubmitted || r.Status == store.RequestPending) {
				d.Waiting = "approval"
			}
		}
	}
	// Whoever asked for the reissue (the requester, or the administrator
	// standing in for one who is gone) hears of it.
	var asker int64
	if links, err := tx.LinkedCertificates(ctx, o.AccountID, o.ID, store.CertKindReissue); err != nil {
		return err
	} else if len(links) > 0 {
		asker = links[len(links)-1].Link.UserID
	}
	to, err := recipients(ctx, tx, o, asker)
	if err != nil {
		return err
	}
	addrs, err := notify.Queue(ctx, tx, e.MailFrom, now, MailKindAutoReissue, o, to, d)
	if err != nil {
		return err
	}
	return account.Audit(ctx, tx, e.log(), now, systemActor(o.AccountID), "order.auto_reissued", fmt.Sprintf("order:%d", o.ID),
		map[string]any{"replaced_certificate_id": replaced.ID, "certificate_id": d.CertificateID, "status": o.Status, "recipients": addrs})
}

// RenderAutoReissueMail makes a queued auto_reissue mail when it is sent,
// in its recipient's language (en when it has no template).
func (e *Engine) RenderAutoReissueMail(ctx context.Context, m *store.OutboxMail) (mail.Message, error) {
	var d AutoReissue
	locale, name, err := notify.Payload(m, &d)
	if err != nil {
		return mail.Message{}, err
	}
	msg, err := e.Templates.Render(MailKindAutoReissue, locale, d)
	msg.ToName = name
	return msg, err
}
