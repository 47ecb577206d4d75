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
	Notice        string   // minus_90 ... plus_7
	OrderID       int64    //
	ProductName   string   //
	CommonName    string   //
	Names         []string // the names the certificate protects, at most maxNames
	MoreNames     int      // how many more it has
	ExpiresOn     string   // the order's end, YYYY-MM-DD
	Expired       bool     // the order has ended
	Days          int      // days until the end, or since it when Expired
	CustomMessage string   // the order's custom_renewal_message
}

// noticePayload is what the outbox keeps of a notice: the template data as
// of the day it was due, and its locale.
type noticePayload struct {
	Locale string        `json:"locale"`
	Data   RenewalNotice `json:"data"`
}

// current is the notice an order is due now: the latest of the schedule
// whose day has come. Notices before it whose day passed while no engine
// ran are passed over (a late "90 days" notice beside a due "60 days" one
// says nothing new). ok is false when none is due yet, or the last one is
// too late to send.
func current(end, now time.Time) (notice string, due time.Time, ok bool) {
	for i := len(Schedule) - 1; i >= 0; i-- {
		at := end.Add(Schedule[i].Offset)
		if !at.After(now) {
			if i == len(Schedule)-1 && now.Sub(at) > lateLimit {
				return "", time.Time{}, false
			}
			return Schedule[i].Notice, at, true
		}
	}
	return "", time.Time{}, false
}

// notices sends every renewal notice due now that was not sent yet.
func (e *Engine) notices(ctx context.Context, now time.Time) (int, error) {
	first, last := Schedule[0].Offset, Schedule[len(Schedule)-1].Offset
	// end+first <= now and now-(end+last) <= lateLimit.
	from, to := now.Add(-last-lateLimit), now.Add(-first).Add(time.Millisecond)
	n, after := 0, int64(0)
	for {
		cands, err := e.Store.RenewalCandidates(ctx, from, to, after, noticeBatch)
		if err != nil {
			return n, err
		}
		for i := range cands {
			sent, err := e.noticeOrder(ctx, &cands[i], now)
			if err != nil {
				return n, fmt.Errorf("renewal notice of order %d: %w", cands[i].ID, err)
			}
			if sent {
				n++
			}
			after = cands[i].ID
		}
		if len(cands) < noticeBatch {
			break
		}
	}
	if n > 0 && e.Mail != nil {
		e.Mail.Kick()
	}
	return n, nil
}

// noticeOrder sends the order's current notice unless it is recorded
// already, turned off, or due before the order existed. The record and
// the outbox messages are one transaction: a crash loses neither, and an
// engine racing this one fails on the record (store.ErrConflict) and
// sends nothing.
func (e *Engine) noticeOrder(ctx context.Context, cand *store.Order, now time.Time) (bool, error) {
	notice, due, ok := current(cand.OrderValidTill, now)
	if !ok || due.Before(cand.CreatedAt) || slices.Contains(cand.Extra.NoticesOff, notice) {
		return false, nil
	}
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
		o, err := tx.Order(ctx, cand.AccountID, cand.ID)
		if err != nil {
			return err
		}
		if o.DisableRenewalNotifications || o.IsRenewed || !o.OrderValidTill.Equal(cand.OrderValidTill) ||
			slices.Contains(o.Extra.NoticesOff, notice) {
			return nil
		}
		for _, s := range Schedule {
			if s.Notice == notice {
				break
			}
			if !recorded[s.Notice] && !slices.Contains(o.Extra.NoticesOff, s.Notice) {
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

// recipients of an order's notices: its contacts, its requester and its
// additional_emails, each address once (compared without case).
func recipients(ctx context.Context, tx store.Tx, o *store.Order) ([]string, error) {
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
	if o.UserID != 0 {
		u, err := tx.User(ctx, o.AccountID, o.UserID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		if u != nil {
			add(u.Email)
		}
	}
	for _, a := range o.AdditionalEmails {
		add(a)
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
	subject, body, err := mail.Render(MailKindRenewal, p.Locale, p.Data)
	if err != nil {
		return mail.Message{}, err
	}
	return mail.Message{Subject: subject, Body: body}, nil
}
