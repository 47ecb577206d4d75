package validation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/mail"
	"github.com/certorder/certorder/internal/secret"
	"github.com/certorder/certorder/internal/store"
	"golang.org/x/net/publicsuffix"
)

// Bounds on validation mail. Every message goes to a third party's
// mailbox, so neither one call nor one account may make certorder a mail
// cannon.
const (
	// maxRecipientsPerRound is the most messages one sending makes: a
	// resend that would make more is refused (narrow it with
	// domain_approval_emails); the automatic first round sends to the
	// first ones and says so in the log.
	maxRecipientsPerRound = 50
	// maxContactsPerDomain bounds the DNS TXT contacts taken of a domain.
	maxContactsPerDomain = 10
	// resendInterval is the least time between two sendings for one order
	// or domain.
	resendInterval = 5 * time.Minute
	// accountMailPerHour is the most validation messages an account's
	// orders and domains make in an hour.
	accountMailPerHour = 200
	// maxEmailArray bounds a domain's email_array (each address may cost
	// DNS lookups when it is checked).
	maxEmailArray = 10
)

// MailKindDCV is the outbox kind of a validation message; its link is
// made when the message is sent (RenderDCVMail), so the outbox never holds
// it.
const MailKindDCV = "dcv_link"

type dcvMailPayload struct {
	Target string `json:"target"`
}

// DCVMail is the data of the dcv_link templates
// (internal/mail/templates/<locale>/dcv_link.txt). It is made when the
// message is sent, with the link.
type DCVMail struct {
	// Target is the name whose control the link proves (with its
	// subdomains unless the order asked for the exact name only).
	Target string
	// OrderID and Names say what asked for it: an order (its names, at
	// most 10, and how many more), or the validation of Domain.
	OrderID   int64
	Names     []string
	MoreNames int
	Domain    string
	Link      string // the single-use approval page
	ExpiresAt string // when the link stops working, "2006-01-02 15:04 UTC"
}

func init() {
	d := DCVMail{Target: "example.com", OrderID: 1234567, Names: []string{"www.example.com", "shop.example.com"}, MoreNames: 2,
		Link: "https://ca.example/dcv/email/abcdefghijklmnopqrstuvwxyz234567", ExpiresAt: "2026-03-04 05:06 UTC"}
	mail.DefineKind(MailKindDCV, d, DCVMail{Target: "example.org", Domain: "example.org", Link: d.Link, ExpiresAt: d.ExpiresAt})
}

// MayReceiveLink reports whether email may receive a link that proves
// control of target: only the addresses the Baseline Requirements allow.
// A constructed address (3.2.2.4.4: admin, administrator, webmaster,
// hostmaster, postmaster) at target or at a parent of it that is still a
// registrable domain (an Authorization Domain Name of target, whose
// control covers target), or an address published in DNS TXT at
// _validation-contactemail.<that name> (3.2.2.4.14). Any other address,
// at the domain or elsewhere, is refused: a link mailed to it would let
// whoever reads that mailbox validate the domain. An error is a failed
// DNS lookup.
//
// Only ASCII addresses qualify, compared and sent in lower case
// (CanonicalEmail): Unicode case mapping folds other characters onto
// ASCII ones (U+0130 lowers to "i"), which would let an address that
// passed the check name another mailbox, or another domain, when sent.
func (s *Service) MayReceiveLink(ctx context.Context, target, email string) (bool, error) {
	target = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(target), "*."))
	email, ok := CanonicalEmail(email)
	if !ok {
		return false, nil
	}
	local, dom, ok := strings.Cut(email, "@")
	if !ok || strings.Contains(dom, "@") {
		return false, nil
	}
	if slices.Contains(ConstructedEmailLocals, local) && (dom == target || strings.HasSuffix(target, "."+dom)) {
		if _, err := NormalizeDNSName(dom, false); err == nil {
			return true, nil
		}
	}
	var lookupErr error
	for _, adn := range authorizationDomains(target) {
		contacts, err := s.contactEmails(ctx, adn)
		if err != nil {
			lookupErr = err
			continue
		}
		if slices.Contains(contacts, email) {
			return true, nil
		}
	}
	return false, lookupErr
}

// CanonicalEmail is the form in which an address a validation link may go
// to is checked, stored and sent: printable ASCII only (an internationalised
// domain is given by its A-labels), trimmed, in lower case. ok is false for
// anything else.
func CanonicalEmail(email string) (string, bool) {
	email = strings.TrimSpace(email)
	if email == "" {
		return "", false
	}
	for i := 0; i < len(email); i++ {
		if c := email[i]; c <= ' ' || c >= 0x7f {
			return "", false
		}
	}
	return strings.ToLower(email), true
}

// authorizationDomains are the names whose DNS TXT contacts may validate
// target: target itself and its registrable domain (BR 3.2.2.4.14 allows
// any Authorization Domain Name between them; two lookups bound what one
// address can cost however deep the name).
func authorizationDomains(target string) []string {
	if _, err := NormalizeDNSName(target, false); err != nil {
		return nil
	}
	out := []string{target}
	if base, err := publicsuffix.EffectiveTLDPlusOne(target); err == nil && base != target {
		out = append(out, base)
	}
	return out
}

// CheckRecipients refuses, on field, every address of emails that may not
// receive a link proving target. The sandbox takes the addresses as given
// (seed 001's own example sends jim.smith@ and it@): it mails nothing and
// validates by its rules, so no link can reach anyone.
func (s *Service) CheckRecipients(ctx context.Context, field, target string, emails []string, list *errs.List) {
	if s.Sandbox {
		return
	}
	for _, e := range emails {
		ok, err := s.MayReceiveLink(ctx, target, e)
		switch {
		case err != nil && !ok:
			list.Add(errs.InvalidValue(field, "Whether %q may validate %s could not be looked up in DNS; try again.", e, target))
		case !ok:
			list.Add(errs.InvalidValue(field, "%q may not receive validation emails for %s: only %s at the domain or a parent of it, or an address published in DNS TXT at _validation-contactemail.%s.",
				e, target, strings.Join(ConstructedEmailLocals, "@, ")+"@", target))
		}
	}
}

// sendRound queues one message per recipient of round, each carrying (when
// it is sent) a link of its own. resend marks a caller's request, which
// the per-call bound refuses with an error; the automatic round is cut to
// maxRecipientsPerRound instead. Within resendInterval of the last round
// for the same order or domain, or over the account's hourly budget, any
// round is refused (an automatic one is retried by the worker).
func (s *Service) sendRound(ctx context.Context, accountID, orderID, domainID int64, round emailRound, resend bool) (int, error) {
	if s.Mail == nil {
		return 0, errs.New(errs.Unavailable, "email_unavailable", "No SMTP relay is configured (--smtp); validation emails cannot be sent.")
	}
	type rcpt struct{ target, email string }
	var all []rcpt
	for _, target := range keys(round) {
		emails := round[target]
		if len(emails) == 0 {
			c, t := s.DCVEmailAddresses(ctx, target)
			emails = append(c, t...)
		} else {
			// Fixed recipients were checked when they were given; the
			// DNS may have changed since.
			var allowed []string
			for _, e := range emails {
				if ok, err := s.MayReceiveLink(ctx, target, e); ok {
					canon, _ := CanonicalEmail(e)
					allowed = append(allowed, canon)
				} else {
					s.log().WarnContext(ctx, "validation email not sent: the address may not validate the domain", "domain", target, "email", e, "err", err)
				}
			}
			emails = allowed
		}
		for _, e := range emails {
			all = append(all, rcpt{target, e})
		}
	}
	if len(all) == 0 {
		return 0, errs.InvalidValue("domain_approval_emails", "None of the addresses may receive validation emails for %s.", strings.Join(keys(round), ", "))
	}
	if len(all) > maxRecipientsPerRound {
		if resend {
			return 0, errs.InvalidValue("domain_approval_emails", "This would email %d addresses; at most %d go out per call: name them in domain_approval_emails.", len(all), maxRecipientsPerRound)
		}
		s.log().WarnContext(ctx, "validation emails cut to the per-round bound", "account", accountID, "order", orderID, "domain", domainID,
			"recipients", len(all), "sent", maxRecipientsPerRound)
		all = all[:maxRecipientsPerRound]
	}
	now := s.now()
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		// Every round counts, the automatic ones too: changing the
		// method back to email starts a new automatic round, which must
		// not be a way around the interval.
		if err := mailBounds(ctx, tx, mailRound{kind: MailKindDCV, what: "validation emails", accountID: accountID,
			orderID: orderID, domainID: domainID, messages: len(all)}, now); err != nil {
			return err
		}
		for _, r := range all {
			payload, _ := json.Marshal(dcvMailPayload{Target: r.target})
			m := &store.OutboxMail{AccountID: accountID, Kind: MailKindDCV, OrderID: orderID, DomainID: domainID, Recipient: r.email,
				Payload: string(payload), MessageID: mail.NewMessageID(s.MailFrom), CreatedAt: now}
			if err := mail.Enqueue(ctx, tx, m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, apiErr(err, "queue validation emails")
	}
	s.Mail.Kick()
	s.log().InfoContext(ctx, "DCV emails queued", "account", accountID, "order", orderID, "domain", domainID, "messages", len(all))
	return len(all), nil
}

func objectName(orderID int64) string {
	if orderID != 0 {
		return "order"
	}
	return "domain"
}

// mailRound is one sending of emailed links about one order or domain:
// messages messages of kind, named what in refusals.
type mailRound struct {
	kind, what                   string
	accountID, orderID, domainID int64
	messages                     int
}

// mailBounds refuses, inside the transaction that would queue it, a round
// that comes within resendInterval of the last round of its kind about the
// same order or domain, or that would take the account past
// accountMailPerHour messages of its kind in an hour: every kind of link
// mail goes to a third party's mailbox, so every kind has these bounds.
func mailBounds(ctx context.Context, tx store.Tx, r mailRound, now time.Time) error {
	n, err := tx.CountMail(ctx, store.MailCount{AccountID: r.accountID, Kind: r.kind, OrderID: r.orderID, DomainID: r.domainID,
		Since: now.Add(-resendInterval)})
	if err != nil {
		return err
	}
	if n > 0 {
		return rateLimited(resendInterval, "The %s for this %s went out less than %d minutes ago.", r.what, objectName(r.orderID), int(resendInterval.Minutes()))
	}
	n, err = tx.CountMail(ctx, store.MailCount{AccountID: r.accountID, Kind: r.kind, Since: now.Add(-time.Hour)})
	if err != nil {
		return err
	}
	if n+r.messages > accountMailPerHour {
		return rateLimited(time.Hour, "The account has sent %d %s in the last hour; at most %d are allowed.", n, r.what, accountMailPerHour)
	}
	return nil
}

// rateLimited is 429 request_limit_exceeded, to be retried after wait.
func rateLimited(wait time.Duration, format string, args ...any) error {
	e := errs.New(errs.RateLimited, "request_limit_exceeded", format+" Retry after %d seconds.", append(args, int(math.Ceil(wait.Seconds())))...)
	e.RetryAfter = wait
	return e
}

// RenderDCVMail makes a queued validation message when it is sent: the
// order or domain must still wait for the email method and the address
// must still be one that may validate the domain (or the message is
// dropped); a fresh single-use link is recorded (its hash only) and put in
// the body.
func (s *Service) RenderDCVMail(ctx context.Context, m *store.OutboxMail) (mail.Message, error) {
	var p dcvMailPayload
	if err := json.Unmarshal([]byte(m.Payload), &p); err != nil {
		return mail.Message{}, fmt.Errorf("validation mail %d: payload: %w", m.ID, err)
	}
	data := DCVMail{Target: p.Target}
	locale := ""
	if m.OrderID != 0 {
		o, err := s.Store.Order(ctx, m.AccountID, m.OrderID)
		if errors.Is(err, store.ErrNotFound) || err == nil && (o.Status != store.OrderPending || o.DCVMethod != "email") {
			return mail.Message{}, mail.ErrDrop
		}
		if err != nil {
			return mail.Message{}, err
		}
		data.OrderID, locale = o.ID, o.Locale
		names := o.DNSNames
		if len(names) == 0 && o.CommonName != "" {
			names = []string{o.CommonName}
		}
		if len(names) > 10 {
			data.MoreNames, names = len(names)-10, names[:10]
		}
		data.Names = names
	} else {
		d, err := s.Store.Domain(ctx, m.AccountID, m.DomainID)
		if errors.Is(err, store.ErrNotFound) || err == nil && (d.DCVMethod != "email" || d.DCVStatus == store.DCVComplete) {
			return mail.Message{}, mail.ErrDrop
		}
		if err != nil {
			return mail.Message{}, err
		}
		data.Domain, locale = d.Name, d.Locale
	}
	ok, err := s.MayReceiveLink(ctx, p.Target, m.Recipient)
	if err != nil && !ok {
		return mail.Message{}, err // DNS trouble: try again later
	}
	if !ok {
		s.log().WarnContext(ctx, "validation email dropped: the address may no longer validate the domain", "domain", p.Target, "email", m.Recipient)
		return mail.Message{}, mail.ErrDrop
	}
	value, hash, err := secret.NewFrom(s.rand())
	if err != nil {
		return mail.Message{}, fmt.Errorf("email link secret: %w", err)
	}
	now := s.now()
	tok := &store.DCVEmailToken{AccountID: m.AccountID, OrderID: m.OrderID, DomainID: m.DomainID, Target: p.Target, Email: m.Recipient,
		TokenHash: hash, CreatedAt: now, ExpiresAt: now.Add(emailLinkLife)}
	if err := s.Store.InTx(ctx, func(tx store.Tx) error { return tx.CreateDCVEmailToken(ctx, tok) }); err != nil {
		return mail.Message{}, fmt.Errorf("record email link: %w", err)
	}
	data.Link = strings.TrimRight(s.PublicURL, "/") + "/dcv/email/" + value
	data.ExpiresAt = tok.ExpiresAt.UTC().Format("2006-01-02 15:04") + " UTC"
	// A link that never reached its recipient goes: the next attempt
	// makes another, so failures do not pile up valid links.
	undelivered := func(ctx context.Context) {
		if err := s.Store.InTx(ctx, func(tx store.Tx) error { return tx.DeleteDCVEmailToken(ctx, tok.AccountID, tok.ID) }); err != nil {
			s.log().WarnContext(ctx, "drop undelivered email link", "err", err)
		}
	}
	msg, err := s.Templates.Render(MailKindDCV, locale, data)
	if err != nil {
		undelivered(ctx)
		return mail.Message{}, err
	}
	msg.Undelivered = undelivered
	return msg, nil
}
