package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/dcv"
	"github.com/certorder/certorder/internal/mail"
	"github.com/certorder/certorder/internal/store"
)

// MailKindRenewal is the outbox kind of a renewal notice.
const MailKindRenewal = "renewal_notice"

const day = 24 * time.Hour

// Schedule is when each renewal notice is due, relative to the order's
// end (order_valid_till), latest last.
var Schedule = []struct {
	Notice string
	Offset time.Duration
}{
	{store.NoticeMinus90, -90 * day}, {store.NoticeMinus60, -60 * day}, {store.NoticeMinus30, -30 * day},
	{store.NoticeMinus7, -7 * day}, {store.NoticeMinus3, -3 * day}, {store.NoticePlus7, 7 * day},
}

// lateLimit is how long after its day the last notice (plus_7) is still
// sent by an engine catching up; later, it is pointless.
const lateLimit = 30 * day

// noticeBatch is how many orders one query of the notice job reads.
const noticeBatch = 100

// maxNames is how many names a notice lists before "and N more".
const maxNames = 10

// RenewalNotice is the data of a renewal notice's templates
// (internal/mail/templates/<locale>/renewal_notice.txt).
type RenewalNotice struct {
	Notice        string // minus_90 ... plus_7
	OrderID       int64
	ProductName   string // the catalogue's name, or the name_id
	CommonName    string
	Names         []string // the names the certificate protects, at most maxNames
	MoreNames     int      // how many more it has
	ExpiresOn     string   // the order's end, YYYY-MM-DD
	Expired       bool     // the order has ended
	Days          int      // days until the end, or since it when Expired
	CustomMessage string   // the order's custom_renewal_message
}

// noticePayload is what the outbox keeps of a notice: the template data as
// of the round that queued it, and the order's locale.
type noticePayload struct {
	Locale string        `json:"locale"`
	Data   RenewalNotice `json:"data"`
}

// notices sends every renewal notice due now that was not sent yet. An
// order is due the latest notice of the schedule whose day has come: notice
// k while now is in [end+offset(k), end+offset(k+1)), so the orders due it
// are those whose end is in (now-offset(k+1), now-offset(k)]. Notices before
// it whose day passed while no engine ran are passed over (a late "90
// days" notice beside a due "30 days" one says nothing new), and the last
// is not sent more than lateLimit after its day.
func (e *Engine) notices(ctx context.Context, now time.Time) (int, error) {
	n := 0
	var failed []error // one order that fails holds no other back
	defer func() {
		if n > 0 && e.Mail != nil {
			e.Mail.Kick()
		}
	}()
	for k, s := range Schedule {
		after := now.Add(-s.Offset - lateLimit)
		if k+1 < len(Schedule) {
			after = now.Add(-Schedule[k+1].Offset)
		}
		until := now.Add(-s.Offset)
		sent, fails, err := e.eachOrder(ctx, "renewal notice "+s.Notice,
			func(afterID int64) ([]store.Order, error) {
				return e.Store.RenewalCandidates(ctx, s.Notice, after, until, afterID, noticeBatch)
			},
			func(o *store.Order) (bool, error) {
				return e.noticeOrder(ctx, o, s.Notice, o.OrderValidTill.Add(s.Offset), now)
			})
		n += sent
		failed = append(failed, fails...)
		if err != nil {
			return n, err
		}
	}
	return n, joinFirst(failed)
}

// noticeOrder sends the order's notice, due at due, unless it is recorded
// already; a notice turned off, or due before the order was placed, is
// recorded as passed over instead, so that later rounds skip it in the
// query. The record and the outbox messages are one transaction: a crash
// loses neither, and an engine racing this one fails on the record
// (store.ErrConflict) and sends nothing.
func (e *Engine) noticeOrder(ctx context.Context, cand *store.Order, notice string, due, now time.Time) (bool, error) {
	sent := false
	err := e.Store.InTx(ctx, func(tx store.Tx) error {
		have, err := tx.OrderNotices(ctx, cand.AccountID, cand.ID)
		if err != nil {
			return err
		}
		recorded := map[string]bool{}
		for _, h := range have {
			recorded[h.Notice] = true
		}
		if recorded[notice] {
			return nil
		}
		// Read again inside the transaction: a request may have renewed the
		// order or turned its notices off since the list was read.
		o, err := tx.Order(ctx, cand.AccountID, cand.ID)
		if err != nil {
			return err
		}
		if o.DisableRenewalNotifications || o.IsRenewed || !o.OrderValidTill.Equal(cand.OrderValidTill) {
			return nil
		}
		// An engine that cannot renew (the jobs command) leaves the notice
		// of an order whose automatic renewal is due to one that can, which
		// runs the renewal first: placed, it makes the notice moot; passed
		// over, its record lets the notice go.
		if e.Renew == nil && renewalDue(o, now) && !recorded[store.NoticeAutoRenew] {
			return nil
		}
		if slices.Contains(o.Extra.NoticesOff, notice) || due.Before(o.CreatedAt) {
			return tx.RecordOrderNotice(ctx, &store.OrderNotice{AccountID: o.AccountID, OrderID: o.ID, Notice: notice, RecordedAt: now})
		}
		for _, s := range Schedule {
			if s.Notice == notice {
				break
			}
			if !recorded[s.Notice] {
				if err := tx.RecordOrderNotice(ctx, &store.OrderNotice{AccountID: o.AccountID, OrderID: o.ID, Notice: s.Notice, RecordedAt: now}); err != nil {
					return err
				}
			}
		}
		if err := tx.RecordOrderNotice(ctx, &store.OrderNotice{AccountID: o.AccountID, OrderID: o.ID, Notice: notice, Sent: true, RecordedAt: now}); err != nil {
			return err
		}
		to, err := recipients(ctx, tx, o)
		if err != nil {
			return err
		}
		payload, err := json.Marshal(noticePayload{Locale: o.Locale, Data: e.noticeData(o, notice, now)})
		if err != nil {
			return err
		}
		for _, r := range to {
			m := &store.OutboxMail{AccountID: o.AccountID, Kind: MailKindRenewal, OrderID: o.ID, Recipient: r,
				Payload: string(payload), MessageID: dcv.NewMessageID(e.MailFrom), CreatedAt: now}
			if err := mail.Enqueue(ctx, tx, m); err != nil {
				return err
			}
		}
		sent = true
		return account.Audit(ctx, tx, e.log(), now, systemActor(o.AccountID), "order.renewal_notice_sent", fmt.Sprintf("order:%d", o.ID),
			map[string]any{"notice": notice, "recipients": to})
	})
	if errors.Is(err, store.ErrConflict) {
		return false, nil // another engine recorded it in the meantime
	}
	return sent, err
}

func (e *Engine) noticeData(o *store.Order, notice string, now time.Time) RenewalNotice {
	d := RenewalNotice{Notice: notice, OrderID: o.ID, ProductName: o.ProductNameID, CommonName: o.CommonName,
		ExpiresOn: o.OrderValidTill.Format(time.DateOnly), CustomMessage: o.CustomRenewalMessage}
	if e.ProductName != nil {
		if name := e.ProductName(o.ProductNameID); name != "" {
			d.ProductName = name
		}
	}
	names := o.DNSNames
	if len(names) == 0 && o.CommonName != "" {
		names = []string{o.CommonName}
	}
	if len(names) > maxNames {
		d.MoreNames = len(names) - maxNames
		names = names[:maxNames]
	}
	d.Names = names
	left := o.OrderValidTill.Sub(now)
	if left <= 0 {
		d.Expired, d.Days = true, int(math.Floor(-left.Hours()/24))
	} else {
		d.Days = int(math.Ceil(left.Hours() / 24))
	}
	return d
}

// recipients of an order's notices: its contacts, its requester (while an
// active user: a deleted user gets no mail) and its additional_emails,
// then the users of also (an administrator standing in for a requester who
// is gone), each address once (compared without case).
func recipients(ctx context.Context, tx store.Tx, o *store.Order, also ...int64) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	add := func(addr string) {
		addr = strings.TrimSpace(addr)
		if addr == "" || seen[strings.ToLower(addr)] {
			return
		}
		seen[strings.ToLower(addr)] = true
		out = append(out, addr)
	}
	for _, c := range []*store.Contact{o.Extra.OrganizationContact, o.Extra.TechnicalContact} {
		if c != nil {
			add(c.Email)
		}
	}
	addUser := func(id int64) error {
		if id == 0 {
			return nil
		}
		u, err := tx.User(ctx, o.AccountID, id)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if u != nil && u.Status == store.UserActive {
			add(u.Email)
		}
		return nil
	}
	if err := addUser(o.UserID); err != nil {
		return nil, err
	}
	for _, a := range o.AdditionalEmails {
		add(a)
	}
	for _, id := range also {
		if err := addUser(id); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// RenderRenewalMail makes a queued renewal notice when it is sent, in the
// order's locale (en when it has no template). A notice the order no
// longer wants (renewed, notices turned off, gone since it was queued) is
// dropped.
func (e *Engine) RenderRenewalMail(ctx context.Context, m *store.OutboxMail) (mail.Message, error) {
	var p noticePayload
	if err := json.Unmarshal([]byte(m.Payload), &p); err != nil {
		return mail.Message{}, fmt.Errorf("renewal notice %d: payload: %w", m.ID, err)
	}
	o, err := e.Store.Order(ctx, m.AccountID, m.OrderID)
	if errors.Is(err, store.ErrNotFound) || err == nil && (o.DisableRenewalNotifications || o.IsRenewed) {
		return mail.Message{}, mail.ErrDrop
	}
	if err != nil {
		return mail.Message{}, err
	}
	return mail.Render(MailKindRenewal, p.Locale, p.Data)
}
