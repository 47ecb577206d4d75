package validation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/catalog"
	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/mail"
	"github.com/certorder/certorder/internal/policy"
	"github.com/certorder/certorder/internal/secret"
	"github.com/certorder/certorder/internal/store"
)

// Mailbox control (S/MIME Baseline Requirements 3.2.2.2) and the pickup
// link of client certificates ordered without a CSR.
//
// Every address a client or S/MIME order names is proven by its owner: a
// random value, unique per message and address, is mailed to that address
// only, and the owner answers with it (the emailed link's page, or the
// API's PUT .../email-validation/{token}?email=) within 24 hours. A
// completed validation serves the account's orders for 30 days (4.2.1).
// Nobody else can stand in for the owner: there is no grant, and the
// requester's API key alone proves nothing.

// Link kinds of link_tokens.
const (
	LinkMailbox = "mailbox"
	LinkPickup  = "pickup"
)

// Outbox kinds. Their bodies carry a link secret, made when the message
// is sent (RenderMailboxMail, RenderPickupMail), so the outbox never holds
// it; a keeping (sandbox) queue never renders them.
const (
	MailKindMailbox = "mailbox_validation"
	MailKindPickup  = "certificate_pickup"
)

// PickupLinkLife is how long a pickup link works. It is no random value of
// the Baseline Requirements (the mailbox was validated before it is sent),
// only a credential: a week leaves the recipient time, a resend replaces it.
const PickupLinkLife = 7 * 24 * time.Hour

// MailboxMailData is what the mailbox_validation templates are given.
type MailboxMailData struct {
	Email       string
	OrderID     int64
	ProductName string
	Link        string
	Token       string
	Expires     string
}

// PickupMailData is what the certificate_pickup templates are given.
type PickupMailData struct {
	Email       string
	OrderID     int64
	ProductName string
	Link        string
	Expires     string
}

func init() {
	mail.DefineKind(MailKindMailbox, MailboxMailData{Email: "jane.doe@example.com", OrderID: 1234567, ProductName: "Class 1 S/MIME",
		Link: "https://certorder.example/mailbox/abcdefghijklmnopqrstuvwxyz234567", Token: "abcdefghijklmnopqrstuvwxyz234567",
		Expires: "Mon, 04 Jan 2027 10:00:00 UTC"})
	mail.DefineKind(MailKindPickup, PickupMailData{Email: "jane.doe@example.com", OrderID: 1234567, ProductName: "Client Premium",
		Link: "https://certorder.example/pickup/abcdefghijklmnopqrstuvwxyz234567", Expires: "Mon, 11 Jan 2027 10:00:00 UTC"})
}

type linkMailPayload struct {
	Locale string `json:"locale,omitempty"`
}

// MailboxProduct reports whether the order's addresses must be proven by
// their owners before it issues: a client or S/MIME product naming emails.
func MailboxProduct(o *store.Order) bool {
	p, ok := catalog.Lookup(o.ProductNameID)
	return ok && p.Family == catalog.FamilyClient && len(o.Emails) > 0
}

// SameMailbox compares two addresses as mail systems route them: the
// domain in any case, the local part exactly (it may be case-sensitive, so
// a validation of one spelling never covers another). Orders keep their
// addresses with the domain in lower case, which is how they are mailed,
// validated and stored.
func SameMailbox(a, b string) bool {
	a, b = strings.TrimSpace(a), strings.TrimSpace(b)
	i, j := strings.LastIndex(a, "@"), strings.LastIndex(b, "@")
	if i <= 0 || j <= 0 {
		return false
	}
	return a[:i] == b[:j] && strings.EqualFold(a[i+1:], b[j+1:])
}

// MailboxValidated reports whether the account holds a validation of
// email completed within the reuse period before at.
func MailboxValidated(ctx context.Context, r store.Reader, accountID int64, email string, at time.Time) (bool, error) {
	v, err := r.MailboxValidation(ctx, accountID, email)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return at.Sub(v.ValidatedAt) < policy.MailboxValidationReuse && !v.ValidatedAt.After(at), nil
}

// mailboxesValidated: every address of o is validated (a store failure is
// a no: the order waits and is looked at again).
func (s *Service) mailboxesValidated(ctx context.Context, r store.Reader, o *store.Order) bool {
	for _, e := range o.Emails {
		ok, err := MailboxValidated(ctx, r, o.AccountID, e, s.now())
		if err != nil {
			s.log().ErrorContext(ctx, "read mailbox validation", "order", o.ID, "err", err)
			return false
		}
		if !ok {
			return false
		}
	}
	return true
}

// mailEnabled: links are mailed only outside the sandbox (whose outbox an
// API caller reads) and with a relay.
func (s *Service) mailEnabled() bool { return !s.Sandbox && s.Mail != nil }

// OrderApproved is called by the order engine inside the transaction in
// which a client order becomes pending or needs_csr: a message goes to
// every address not yet validated, and when all are (reused) and the
// order waits for its key, the pickup link goes to its first address.
// It reports how many messages it queued.
func (s *Service) OrderApproved(ctx context.Context, tx store.Tx, o *store.Order) (int, error) {
	if !s.mailEnabled() || !MailboxProduct(o) {
		return 0, nil
	}
	n, err := s.queueMailboxMail(ctx, tx, o, nil)
	if err != nil || n > 0 {
		return n, err
	}
	if o.Status == store.OrderNeedsCSR {
		return 1, s.queuePickupMail(ctx, tx, o)
	}
	return 0, nil
}

// queueMailboxMail queues one message per address of o that is not
// validated (only those of only, when given).
func (s *Service) queueMailboxMail(ctx context.Context, tx store.Tx, o *store.Order, only []string) (int, error) {
	now := s.now()
	payload, _ := json.Marshal(linkMailPayload{Locale: o.Locale})
	n := 0
	for _, e := range o.Emails {
		if len(only) > 0 && !slices.Contains(only, e) {
			continue
		}
		ok, err := MailboxValidated(ctx, tx, o.AccountID, e, now)
		if err != nil {
			return n, err
		}
		if ok {
			continue
		}
		m := &store.OutboxMail{AccountID: o.AccountID, Kind: MailKindMailbox, OrderID: o.ID, Recipient: e,
			Payload: string(payload), MessageID: mail.NewMessageID(s.MailFrom), CreatedAt: now}
		if err := mail.Enqueue(ctx, tx, m); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

func (s *Service) queuePickupMail(ctx context.Context, tx store.Tx, o *store.Order) error {
	payload, _ := json.Marshal(linkMailPayload{Locale: o.Locale})
	return mail.Enqueue(ctx, tx, &store.OutboxMail{AccountID: o.AccountID, Kind: MailKindPickup, OrderID: o.ID, Recipient: o.Emails[0],
		Payload: string(payload), MessageID: mail.NewMessageID(s.MailFrom), CreatedAt: s.now()})
}

// kickMail wakes the sender after a commit that queued mail.
func (s *Service) kickMail(n int) {
	if n > 0 && s.Mail != nil {
		s.Mail.Kick()
	}
}

// KickMail is kickMail for the order engine, after its transaction committed.
func (s *Service) KickMail(n int) { s.kickMail(n) }

// EmailValidation is one address of GET .../email-validation.
type EmailValidation struct {
	Email     string
	Validated bool
	// Emailed is when the last link went to the address for this order
	// (zero when none did).
	Emailed time.Time
}

// OrderEmailValidations lists the addresses of a client order with their
// status (the order was found in the caller's account and scope).
func (s *Service) OrderEmailValidations(ctx context.Context, o *store.Order) ([]EmailValidation, error) {
	if p, ok := catalog.Lookup(o.ProductNameID); !ok || p.Family != catalog.FamilyClient {
		return nil, errs.New(errs.Invalid, "invalid_product", "Order %d is not a client certificate order; only those have email validations.", o.ID)
	}
	links, err := s.Store.LinkTokens(ctx, o.AccountID, o.ID, LinkMailbox)
	if err != nil {
		return nil, errs.Internalf(err, "list mailbox links")
	}
	out := []EmailValidation{}
	for _, e := range o.Emails {
		ok, err := MailboxValidated(ctx, s.Store, o.AccountID, e, s.now())
		if err != nil {
			return nil, errs.Internalf(err, "read mailbox validation")
		}
		v := EmailValidation{Email: e, Validated: ok || s.Sandbox}
		for _, l := range links {
			if l.Subject == e && l.CreatedAt.After(v.Emailed) {
				v.Emailed = l.CreatedAt
			}
		}
		out = append(out, v)
	}
	return out, nil
}

// ResendMailboxEmails sends new links to the order's addresses that are
// not validated (or to only those of only); each replaces the address's
// earlier links. When every address is validated and the order waits for
// its key, the pickup link is sent anew instead. A resend is refused
// within resendInterval of the last one, and over the account's hourly
// budget.
func (s *Service) ResendMailboxEmails(ctx context.Context, actor account.Actor, id int64, only []string) error {
	o, err := s.Store.Order(ctx, actor.Account.ID, id)
	if err != nil {
		return apiErr(orderNotFound(err, id), "read order")
	}
	var want []string
	for _, e := range only {
		i := slices.IndexFunc(o.Emails, func(have string) bool { return SameMailbox(have, e) })
		if i < 0 {
			return errs.InvalidValue("emails", "%q is not an address of order %d.", e, o.ID)
		}
		want = append(want, o.Emails[i])
	}
	if o.Status != store.OrderPending && o.Status != store.OrderNeedsCSR {
		return errs.New(errs.Conflict, "invalid_order_status", "Order %d is %s; validation and pickup emails go out for pending and needs_csr orders.", o.ID, o.Status)
	}
	if s.Sandbox {
		return nil // the sandbox validates addresses itself and mails no link
	}
	if s.Mail == nil {
		return errs.New(errs.Unavailable, "email_unavailable", "No SMTP relay is configured (--smtp); validation emails cannot be sent.")
	}
	n := 0
	now := s.now()
	err = s.Store.InTx(ctx, func(tx store.Tx) error {
		for _, kind := range []string{MailKindMailbox, MailKindPickup} {
			c, err := tx.CountMail(ctx, store.MailCount{AccountID: o.AccountID, Kind: kind, OrderID: o.ID, Since: now.Add(-resendInterval)})
			if err != nil {
				return err
			}
			if c > 0 {
				return rateLimited(resendInterval, "Emails for this order went out less than %d minutes ago.", int(resendInterval.Minutes()))
			}
		}
		c, err := tx.CountMail(ctx, store.MailCount{AccountID: o.AccountID, Kind: MailKindMailbox, Since: now.Add(-time.Hour)})
		if err != nil {
			return err
		}
		if c+len(o.Emails) > accountMailPerHour {
			return rateLimited(time.Hour, "The account has sent %d validation emails in the last hour; at most %d are allowed.", c, accountMailPerHour)
		}
		cur, err := tx.Order(ctx, o.AccountID, o.ID)
		if err != nil {
			return err
		}
		if n, err = s.queueMailboxMail(ctx, tx, cur, want); err != nil || n > 0 {
			return err
		}
		if cur.Status == store.OrderNeedsCSR && s.mailboxesValidated(ctx, tx, cur) {
			n = 1
			return s.queuePickupMail(ctx, tx, cur)
		}
		return errs.New(errs.Conflict, "invalid_order_status", "Every address of order %d is validated; nothing to resend.", o.ID)
	})
	if err != nil {
		return apiErr(err, "queue mailbox emails")
	}
	s.kickMail(n)
	return nil
}

// renderLink is the common part of the two renderers: the order must still
// wait for what the link does and the address still be its own, or the
// message is dropped; a fresh link replaces the address's earlier ones.
func (s *Service) renderLink(ctx context.Context, m *store.OutboxMail, kind string, life time.Duration, wanted func(*store.Order) bool) (*store.Order, *store.LinkToken, string, string, error) {
	var p linkMailPayload
	if err := json.Unmarshal([]byte(m.Payload), &p); err != nil {
		return nil, nil, "", "", fmt.Errorf("%s mail %d: payload: %w", kind, m.ID, err)
	}
	o, err := s.Store.Order(ctx, m.AccountID, m.OrderID)
	if errors.Is(err, store.ErrNotFound) || err == nil && (!slices.Contains(o.Emails, m.Recipient) || !wanted(o)) {
		return nil, nil, "", "", mail.ErrDrop
	}
	if err != nil {
		return nil, nil, "", "", err
	}
	value, hash, err := secret.NewFrom(s.rand())
	if err != nil {
		return nil, nil, "", "", err
	}
	now := s.now()
	tok := &store.LinkToken{AccountID: m.AccountID, Kind: kind, OrderID: m.OrderID, Subject: m.Recipient, TokenHash: hash,
		CreatedAt: now, ExpiresAt: now.Add(life)}
	err = s.Store.InTx(ctx, func(tx store.Tx) error {
		// A new random value for each message (3.2.2.2): the earlier
		// links to this address stop working.
		if err := tx.ExpireLinkTokens(ctx, m.AccountID, m.OrderID, kind, m.Recipient, now); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return tx.CreateLinkToken(ctx, tok)
	})
	if err != nil {
		return nil, nil, "", "", fmt.Errorf("record %s link: %w", kind, err)
	}
	return o, tok, value, p.Locale, nil
}

func (s *Service) dropLink(tok *store.LinkToken) func(ctx context.Context) {
	return func(ctx context.Context) {
		if err := s.Store.InTx(ctx, func(tx store.Tx) error { return tx.DeleteLinkToken(ctx, tok.AccountID, tok.ID) }); err != nil {
			s.log().WarnContext(ctx, "drop undelivered link", "kind", tok.Kind, "err", err)
		}
	}
}

func productName(nameID string) string {
	if p, ok := catalog.Lookup(nameID); ok {
		return p.Name
	}
	return nameID
}

// RenderMailboxMail makes a mailbox validation message when it is sent: a
// fresh random value for the one address it goes to, valid 24 hours.
func (s *Service) RenderMailboxMail(ctx context.Context, m *store.OutboxMail) (mail.Message, error) {
	still := func(o *store.Order) bool {
		if o.Status != store.OrderPending && o.Status != store.OrderNeedsCSR {
			return false
		}
		ok, err := MailboxValidated(ctx, s.Store, o.AccountID, m.Recipient, s.now())
		return err == nil && !ok
	}
	o, tok, value, locale, err := s.renderLink(ctx, m, LinkMailbox, policy.MailboxRandomValueLife, still)
	if err != nil {
		return mail.Message{}, err
	}
	msg, err := s.Templates.Render(MailKindMailbox, locale, MailboxMailData{Email: m.Recipient, OrderID: o.ID, ProductName: productName(o.ProductNameID),
		Link: strings.TrimRight(s.PublicURL, "/") + "/mailbox/" + value, Token: value, Expires: tok.ExpiresAt.Format(time.RFC1123)})
	if err != nil {
		s.dropLink(tok)(ctx)
		return mail.Message{}, err
	}
	msg.Undelivered = s.dropLink(tok)
	return msg, nil
}

// RenderPickupMail makes the pickup message of an order waiting for its
// key, once its addresses are validated.
func (s *Service) RenderPickupMail(ctx context.Context, m *store.OutboxMail) (mail.Message, error) {
	still := func(o *store.Order) bool {
		return o.Status == store.OrderNeedsCSR && len(o.Emails) > 0 && o.Emails[0] == m.Recipient
	}
	o, tok, value, locale, err := s.renderLink(ctx, m, LinkPickup, PickupLinkLife, still)
	if err != nil {
		return mail.Message{}, err
	}
	msg, err := s.Templates.Render(MailKindPickup, locale, PickupMailData{Email: m.Recipient, OrderID: o.ID, ProductName: productName(o.ProductNameID),
		Link: strings.TrimRight(s.PublicURL, "/") + "/pickup/" + value, Expires: tok.ExpiresAt.Format(time.RFC1123)})
	if err != nil {
		s.dropLink(tok)(ctx)
		return mail.Message{}, err
	}
	msg.Undelivered = s.dropLink(tok)
	return msg, nil
}

// MailboxLink is what the confirmation page shows.
type MailboxLink struct {
	Email   string
	OrderID int64
	Product string
	// Locale is the language of the link's message (the order's).
	Locale string

	accountID int64
}

var (
	errMailboxUnknown = errs.NotFoundf("email_validation", "This validation link or token is not known.")
	errMailboxSpent   = errs.NotFoundf("email_validation", "This validation link or token was already used, was replaced by a newer one, or has expired.")
)

// usableLink finds a usable link of kind by its secret.
func (s *Service) usableLink(ctx context.Context, r store.Reader, kind, link string) (*store.LinkToken, error) {
	if strings.TrimSpace(link) == "" {
		return nil, errMailboxUnknown
	}
	t, err := r.LinkTokenByHash(ctx, kind, secret.Hash(link))
	if errors.Is(err, store.ErrNotFound) {
		return nil, errMailboxUnknown
	}
	if err != nil {
		return nil, errs.Internalf(err, "read %s link", kind)
	}
	if !t.Usable(s.now()) {
		return nil, errMailboxSpent
	}
	return t, nil
}

// ShowMailboxLink reads a mailbox link for its page; it confirms nothing.
func (s *Service) ShowMailboxLink(ctx context.Context, link string) (*MailboxLink, error) {
	t, err := s.usableLink(ctx, s.Store, LinkMailbox, link)
	if err != nil {
		return nil, err
	}
	o, err := s.Store.Order(ctx, t.AccountID, t.OrderID)
	if err != nil {
		return nil, apiErr(orderNotFound(err, t.OrderID), "read order")
	}
	return &MailboxLink{Email: t.Subject, OrderID: o.ID, Product: productName(o.ProductNameID), Locale: o.Locale}, nil
}

// MailboxAnswer is a confirming response: the link's secret and, through
// the API, the caller's account, order and the address it names (each
// must match the link, or nothing is confirmed).
type MailboxAnswer struct {
	Secret    string
	AccountID int64 // 0 from the page: the link is the credential
	OrderID   int64
	Email     string
}

// ConfirmMailbox records the owner's answer: the link is spent, the
// address is validated for the account, and what it completes issues (or,
// for an order waiting for its key, gets its pickup link).
func (s *Service) ConfirmMailbox(ctx context.Context, actor account.Actor, a MailboxAnswer) (*MailboxLink, error) {
	var res *MailboxLink
	queued := 0
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		t, err := s.usableLink(ctx, tx, LinkMailbox, a.Secret)
		if err != nil {
			return err
		}
		// Through the API the token must be this order's, for this
		// address, in the caller's account; a mismatch is the same answer
		// as an unknown token, so nothing is learnt about other links.
		if a.AccountID != 0 && t.AccountID != a.AccountID || a.OrderID != 0 && t.OrderID != a.OrderID {
			return errMailboxUnknown
		}
		if a.AccountID != 0 && !SameMailbox(a.Email, t.Subject) {
			return errMailboxUnknown
		}
		now := s.now()
		ok, err := tx.UseLinkToken(ctx, t.AccountID, t.ID, now)
		if err != nil {
			return err
		}
		if !ok {
			return errMailboxSpent
		}
		o, err := tx.Order(ctx, t.AccountID, t.OrderID)
		if err != nil {
			return err
		}
		if !slices.Contains(o.Emails, t.Subject) || o.Status != store.OrderPending && o.Status != store.OrderNeedsCSR {
			return errs.New(errs.Conflict, "invalid_order_status", "Order %d is %s; its addresses no longer need validating.", o.ID, o.Status)
		}
		if err := tx.PutMailboxValidation(ctx, &store.MailboxValidation{AccountID: t.AccountID, Email: t.Subject, ValidatedAt: now, OrderID: o.ID}); err != nil {
			return err
		}
		res = &MailboxLink{Email: t.Subject, OrderID: o.ID, Product: productName(o.ProductNameID), Locale: o.Locale, accountID: t.AccountID}
		if o.Status == store.OrderNeedsCSR && s.mailEnabled() && s.mailboxesValidated(ctx, tx, o) {
			if err := s.queuePickupMail(ctx, tx, o); err != nil {
				return err
			}
			queued = 1
		}
		by := actor
		if a.AccountID == 0 {
			acct, err := tx.Account(ctx, t.AccountID)
			if err != nil {
				return err
			}
			by = account.SystemActor(acct)
		}
		return s.audit(ctx, tx, by, "mailbox.validated", fmt.Sprintf("order:%d", o.ID), map[string]any{"email": t.Subject, "via": via(a)})
	})
	if err != nil {
		return nil, apiErr(err, "confirm mailbox")
	}
	s.kickMail(queued)
	sys, err := s.systemActor(ctx, res.accountID)
	if err != nil {
		s.log().ErrorContext(ctx, "issue after mailbox validation", "err", err)
		return res, nil
	}
	s.validated(account.Unscoped(ctx), sys)
	return res, nil
}

func via(a MailboxAnswer) string {
	if a.AccountID != 0 {
		return "api"
	}
	return "link"
}

// PickupToken finds a usable pickup link by its secret.
func (s *Service) PickupToken(ctx context.Context, link string) (*store.LinkToken, error) {
	t, err := s.usableLink(ctx, s.Store, LinkPickup, link)
	if e := errs.As(err); err != nil && e.Kind == errs.NotFound {
		if err == errMailboxSpent {
			return nil, errs.NotFoundf("pickup_link", "This pickup link was already used, was replaced by a newer one, or has expired.")
		}
		return nil, errs.NotFoundf("pickup_link", "This pickup link is not known.")
	}
	return t, err
}

// SpendPickup marks the pickup link used inside tx; of two submissions
// racing, one counts.
func (s *Service) SpendPickup(ctx context.Context, tx store.Tx, t *store.LinkToken) error {
	ok, err := tx.UseLinkToken(ctx, t.AccountID, t.ID, s.now())
	if err != nil {
		return err
	}
	if !ok {
		return errs.NotFoundf("pickup_link", "This pickup link was already used, was replaced by a newer one, or has expired.")
	}
	return nil
}

// MailboxTokenOrder is the order of the account that a mailbox token was
// mailed for; an unknown token and another account's are the same 404.
func (s *Service) MailboxTokenOrder(ctx context.Context, accountID int64, token string) (int64, error) {
	if strings.TrimSpace(token) == "" {
		return 0, errMailboxUnknown
	}
	t, err := s.Store.LinkTokenByHash(ctx, LinkMailbox, secret.Hash(token))
	if errors.Is(err, store.ErrNotFound) || err == nil && t.AccountID != accountID {
		return 0, errMailboxUnknown
	}
	if err != nil {
		return 0, errs.Internalf(err, "read mailbox link")
	}
	return t.OrderID, nil
}
