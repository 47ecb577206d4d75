// Package notify tells the people around an order what happened to it: a
// request waiting for their approval, a request approved or rejected, a
// certificate issued, reissued, duplicated or revoked. Each event writes
// one outbox row per recipient (internal/mail) inside the transaction that
// makes the event, so that an event is never recorded without its mail nor
// mailed without being recorded, and the mail never holds an order back:
// the relay sends it later, and a relay that is down only delays it.
//
// Who receives what is the account's "certificate lifecycle recipient
// settings" (account.RecipientGroups), in the language of each recipient
// (a user's locale, else the order's, else en). The text is templates
// (internal/mail/templates/<locale>/<kind>.txt) executed on this package's
// typed data, made when the message is sent.
package notify

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/mail"
	"github.com/certorder/certorder/internal/store"
)

// The mail kinds of order events.
const (
	KindRequestPending     = "request_pending"
	KindRequestApproved    = "request_approved"
	KindRequestRejected    = "request_rejected"
	KindCertificateIssued  = "certificate_issued"
	KindReissueIssued      = "reissue_issued"
	KindDuplicateIssued    = "duplicate_issued"
	KindCertificateRevoked = "certificate_revoked"
)

// Kinds lists the kinds this package sends.
var Kinds = []string{KindRequestPending, KindRequestApproved, KindRequestRejected, KindCertificateIssued,
	KindReissueIssued, KindDuplicateIssued, KindCertificateRevoked}

// Kicker wakes the mail sender once rows were committed.
type Kicker interface{ Kick() }

// Notifier queues and renders the mail of order events. A nil Notifier,
// or one without Mail, queues nothing: a server with no relay and no
// sandbox outbox has nobody to drain the rows.
type Notifier struct {
	Store store.Store
	// Mail is the sender woken after a commit; nil turns event mail off.
	Mail Kicker
	// From is the sender address (--smtp-from), the domain of Message-IDs.
	From string
	// BaseURL is where the API is reached (--public-url): the links of a
	// message point under BaseURL/services/v2.
	BaseURL string
	// ProductName names a product by its name_id (the catalogue's name).
	ProductName func(nameID string) string
	// Chain is the PEM chain (the certificate first, then its issuers) of
	// an issued certificate, attached to the issued kinds' mail.
	Chain func(ctx context.Context, accountID, certID int64) ([]byte, error)
	// Templates render the messages; nil is the embedded set.
	Templates *mail.Templates
	Log       *slog.Logger

	// queued counts the messages this notifier's events have written (in
	// transactions that may yet roll back): a caller that marked it before
	// its transaction wakes the sender only if it moved (KickSince).
	queued atomic.Uint64
}

func (n *Notifier) log() *slog.Logger { return cmp.Or(n.Log, slog.Default()) }

// Enabled reports whether events queue mail.
func (n *Notifier) Enabled() bool { return n != nil && n.Mail != nil }

// Mark is where the count of queued messages stands before a
// transaction; KickSince(mark) after its commit wakes the sender if an
// event queued mail meanwhile. Another transaction's message may wake it
// too (a wasted look at the outbox), never fail to: its own caller kicks.
func (n *Notifier) Mark() uint64 {
	if n == nil {
		return 0
	}
	return n.queued.Load()
}

// KickSince wakes the sender after a transaction that may have queued
// mail committed, unless no event queued any since mark. An order whose
// account mails nobody then costs the sender no look at the outbox.
func (n *Notifier) KickSince(mark uint64) {
	if n.Enabled() && n.queued.Load() != mark {
		n.Mail.Kick()
	}
}

// queue is Queue for this notifier's events, counted for KickSince.
func (n *Notifier) queue(ctx context.Context, tx store.Tx, now time.Time, kind string, o *store.Order, to []Recipient, data any) error {
	addrs, err := Queue(ctx, tx, n.From, now, kind, o, to, data)
	if len(addrs) > 0 {
		n.queued.Add(uint64(len(addrs)))
	}
	return err
}

// Register gives the queue this package's renderers. Their bodies carry
// no secret (links to the API, which asks for a key), so the sandbox
// renders and keeps them too.
func (n *Notifier) Register(q *mail.Queue) {
	for _, k := range Kinds {
		q.Register(k, n.Render)
	}
}

// maxNames is how many names a message lists before "and N more".
const maxNames = 10

// Order is what every event's mail says about its order.
type Order struct {
	OrderID     int64
	ProductName string // the catalogue's name, or the name_id
	CommonName  string
	Names       []string // the names of the order, at most maxNames
	MoreNames   int      // how many more it has
	// OrderURL is the order's API address (order info).
	OrderURL string
}

// RequestMail is the data of request_pending, request_approved and
// request_rejected.
type RequestMail struct {
	Order
	RequestID int64
	// RequestType is new_request, reissue, duplicate or revoke.
	RequestType string
	Requester   string // the name of who asked
	Comments    string // what they wrote with the request
	// SecondApproval: a two-step request whose first approval was given;
	// it waits for the second, from someone else.
	SecondApproval bool
	Processor      string // who approved or rejected it
	// ProcessorComment is what they wrote (the reason of a rejection).
	ProcessorComment string
	RequestURL       string // the request's API address
}

// IssuedMail is the data of certificate_issued, reissue_issued and
// duplicate_issued.
type IssuedMail struct {
	Order
	CertificateID int64
	SerialNumber  string
	ValidFrom     string // YYYY-MM-DD
	ValidTill     string
	// DownloadURL fetches the chain as PEM (certificate, intermediates,
	// root); OrderDownloadURL the order's current certificate.
	DownloadURL      string
	OrderDownloadURL string
	// Attachment is the file name of the attached chain ("" for none).
	Attachment string
}

// RevokedMail is the data of certificate_revoked.
type RevokedMail struct {
	Order
	Serials   []string // the certificates revoked, by serial number
	Reason    string   // unspecified, key_compromise...
	Comments  string
	RevokedAt string // YYYY-MM-DD HH:MM UTC
	// OrderRevoked: the order ended with them.
	OrderRevoked bool
}

func init() {
	o := Order{OrderID: 1234567, ProductName: "Secure Site OV", CommonName: "www.example.com",
		Names: []string{"www.example.com", "example.com"}, MoreNames: 3, OrderURL: "https://ca.example/services/v2/order/certificate/1234567"}
	req := RequestMail{Order: o, RequestID: 42, RequestType: "new_request", Requester: "Jane Doe", Comments: "For the shop.",
		Processor: "John Smith", ProcessorComment: "Approved for the shop.", RequestURL: "https://ca.example/services/v2/request/42"}
	second := req
	second.SecondApproval, second.RequestType, second.Comments = true, "revoke", ""
	rejected := req
	rejected.RequestType, rejected.ProcessorComment = "reissue", "The organization name is wrong."
	mail.DefineKind(KindRequestPending, req, second)
	mail.DefineKind(KindRequestApproved, req, second)
	single := o
	single.Names, single.MoreNames = []string{"www.example.com"}, 0
	mail.DefineKind(KindRequestRejected, rejected, RequestMail{Order: single, RequestID: 7, RequestType: "duplicate"})
	issued := IssuedMail{Order: o, CertificateID: 99, SerialNumber: "0A1B2C", ValidFrom: "2026-01-02", ValidTill: "2026-07-21",
		DownloadURL:      "https://ca.example/services/v2/certificate/99/download/format/pem_all",
		OrderDownloadURL: "https://ca.example/services/v2/certificate/download/order/1234567", Attachment: "www_example_com.pem"}
	for _, k := range []string{KindCertificateIssued, KindReissueIssued, KindDuplicateIssued} {
		mail.DefineKind(k, issued)
	}
	mail.DefineKind(KindCertificateRevoked,
		RevokedMail{Order: o, Serials: []string{"0A1B2C"}, Reason: "key_compromise", Comments: "The server was breached.", RevokedAt: "2026-03-04 05:06 UTC"},
		RevokedMail{Order: o, Serials: []string{"0A1B2C", "0D0E0F"}, Reason: "unspecified", RevokedAt: "2026-03-04 05:06 UTC", OrderRevoked: true})
}

// payload is what an outbox row keeps: the recipient's locale and name,
// and the template data as of the event.
type payload struct {
	Locale string          `json:"locale"`
	Name   string          `json:"name,omitempty"`
	Data   json.RawMessage `json:"data"`
}

// Recipient is one address a message goes to.
type Recipient struct {
	Email  string
	Name   string // display name, "" for a bare address
	Locale string // the language of the message
	UserID int64  // the account's user behind the address, 0 for none
}

// Recipients are who receive the mail of setting about order o: the
// groups the account's settings name for it (the order's requester, its
// organization and technical contacts, the approvers of its container),
// then the order's additional_emails and the account's copies
// (admin_email), which receive every lifecycle mail. Each address once
// (without case), first come first kept; skipUser leaves a user out (the
// first approver of a two-step request).
func Recipients(ctx context.Context, tx store.Reader, acct *store.Account, o *store.Order, setting string, skipUser int64) ([]Recipient, error) {
	var out []Recipient
	seen := map[string]bool{}
	add := func(email, name, locale string, userID int64) {
		email = strings.TrimSpace(email)
		key := strings.ToLower(email)
		if email == "" || seen[key] || userID != 0 && userID == skipUser {
			return
		}
		seen[key] = true
		out = append(out, Recipient{Email: email, Name: strings.TrimSpace(name), Locale: cmp.Or(locale, o.Locale, mail.FallbackLocale), UserID: userID})
	}
	user := func(id int64) (*store.User, error) {
		if id == 0 {
			return nil, nil
		}
		u, err := tx.User(ctx, o.AccountID, id)
		if errors.Is(err, store.ErrNotFound) || err == nil && u.Status != store.UserActive {
			return nil, nil
		}
		return u, err
	}
	contact := func(c *store.Contact) error {
		if c == nil {
			return nil
		}
		locale := ""
		u, err := user(c.UserID)
		if err != nil {
			return err
		}
		if u != nil {
			locale = u.Locale
		}
		add(c.Email, fullName(c.FirstName, c.LastName), locale, c.UserID)
		return nil
	}
	orgContacts := func() (*store.Contact, *store.Contact, error) {
		oc, tc := o.Extra.OrganizationContact, o.Extra.TechnicalContact
		if (oc == nil || tc == nil) && o.OrganizationID != 0 {
			org, err := tx.Organization(ctx, o.AccountID, o.OrganizationID)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, nil, err
			}
			if org != nil {
				oc, tc = cmp.Or(oc, org.OrganizationContact), cmp.Or(tc, org.TechnicalContact)
			}
		}
		return oc, tc, nil
	}
	for _, g := range account.RecipientGroups(acct, setting) {
		switch g {
		case account.GroupOrderUsers:
			u, err := user(o.UserID)
			if err != nil {
				return nil, err
			}
			if u != nil {
				add(u.Email, fullName(u.FirstName, u.LastName), u.Locale, u.ID)
			}
		case account.GroupOrgContact, account.GroupTechContact:
			oc, tc, err := orgContacts()
			if err != nil {
				return nil, err
			}
			c := oc
			if g == account.GroupTechContact {
				c = tc
			}
			if err := contact(c); err != nil {
				return nil, err
			}
		case account.GroupAdmin:
			approvers, err := account.Approvers(ctx, tx, acct, o.ContainerID)
			if err != nil {
				return nil, err
			}
			for _, u := range approvers {
				add(u.Email, fullName(u.FirstName, u.LastName), u.Locale, u.ID)
			}
		}
	}
	for _, e := range o.AdditionalEmails {
		add(e, "", "", 0)
	}
	for _, e := range acct.Notifications.AdminEmails {
		add(e, "", "", 0)
	}
	return out, nil
}

func fullName(first, last string) string { return strings.TrimSpace(first + " " + last) }

// Queue writes one outbox row of kind per recipient inside tx, each with
// the template data and the recipient's locale and name; it returns the
// addresses. kind's data must be the type its templates take.
func Queue(ctx context.Context, tx store.Tx, from string, now time.Time, kind string, o *store.Order, to []Recipient, data any) ([]string, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return nil, err
	}
	var addrs []string
	for _, r := range to {
		p, err := json.Marshal(payload{Locale: r.Locale, Name: r.Name, Data: raw})
		if err != nil {
			return nil, err
		}
		m := &store.OutboxMail{AccountID: o.AccountID, Kind: kind, OrderID: o.ID, Recipient: r.Email, Payload: string(p),
			MessageID: mail.NewMessageID(from), CreatedAt: now}
		if err := mail.Enqueue(ctx, tx, m); err != nil {
			return nil, err
		}
		addrs = append(addrs, r.Email)
	}
	return addrs, nil
}

// Payload reads a row written by Queue: the recipient's locale and name,
// and the data into data.
func Payload(m *store.OutboxMail, data any) (locale, name string, err error) {
	var p payload
	if err := json.Unmarshal([]byte(m.Payload), &p); err != nil {
		return "", "", fmt.Errorf("%s mail %d: payload: %w", m.Kind, m.ID, err)
	}
	if err := json.Unmarshal(p.Data, data); err != nil {
		return "", "", fmt.Errorf("%s mail %d: data: %w", m.Kind, m.ID, err)
	}
	return p.Locale, p.Name, nil
}

// OrderData describes o for a message.
func (n *Notifier) OrderData(o *store.Order) Order {
	d := Order{OrderID: o.ID, ProductName: o.ProductNameID, CommonName: o.CommonName,
		OrderURL: n.apiURL(fmt.Sprintf("/order/certificate/%d", o.ID))}
	if n.ProductName != nil {
		d.ProductName = cmp.Or(n.ProductName(o.ProductNameID), d.ProductName)
	}
	d.Names, d.MoreNames = Truncate(orderNames(o))
	return d
}

func orderNames(o *store.Order) []string {
	var names []string
	add := func(v string) {
		for _, n := range names {
			if strings.EqualFold(n, v) {
				return
			}
		}
		names = append(names, v)
	}
	if o.CommonName != "" {
		add(o.CommonName)
	}
	for _, l := range [][]string{o.DNSNames, o.Emails, o.IPAddresses} {
		for _, v := range l {
			add(v)
		}
	}
	return names
}

// Truncate keeps the first maxNames of names and counts the rest.
func Truncate(names []string) ([]string, int) {
	if len(names) > maxNames {
		return names[:maxNames], len(names) - maxNames
	}
	return names, 0
}

func (n *Notifier) apiURL(path string) string {
	return strings.TrimRight(n.BaseURL, "/") + "/services/v2" + path
}
