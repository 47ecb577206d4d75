package validation

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/metrics"
	"github.com/certorder/certorder/internal/secret"
	"github.com/certorder/certorder/internal/store"
)

// ConstructedEmailLocals are the local parts the Baseline Requirements
// (3.2.2.4.4) let a CA construct at the domain being validated.
var ConstructedEmailLocals = []string{"admin", "administrator", "webmaster", "hostmaster", "postmaster"}

// emailLinkLife: an emailed approval link works 30 days, like a random
// value.
const emailLinkLife = dcvRandomValueLife

// EmailRecipient narrows a resend to one address of one domain (spec
// §2.7.4 domain_approval_emails).
type EmailRecipient struct {
	Domain string `json:"domain"`
	Email  string `json:"email"`
}

// ConstructedEmails are the constructed addresses at domain (BR
// 3.2.2.4.4); WHOIS addresses are retired (spec §7.1).
func ConstructedEmails(domain string) []string {
	out := make([]string, 0, len(ConstructedEmailLocals))
	for _, l := range ConstructedEmailLocals {
		out = append(out, l+"@"+domain)
	}
	return out
}

// DCVEmailAddresses are the addresses a validation email for target goes
// to: the constructed ones and those published at
// _validation-contactemail.<target> (when a checker can look them up), at
// most maxContactsPerDomain of those.
func (s *Service) DCVEmailAddresses(ctx context.Context, target string) ([]string, []string) {
	dnsTXT, err := s.contactEmails(ctx, target)
	if err != nil {
		s.log().WarnContext(ctx, "look up DNS TXT contact emails", "domain", target, "err", err)
	}
	return ConstructedEmails(target), dnsTXT
}

// contactEmails are the DNS TXT contacts of domain (BR 3.2.2.4.14), none
// without a checker or in the sandbox, which looks nothing up.
func (s *Service) contactEmails(ctx context.Context, domain string) ([]string, error) {
	if s.DCV == nil || s.Sandbox {
		return nil, nil
	}
	found, err := s.DCV.ContactEmails(ctx, domain)
	var out []string
	for _, e := range found {
		if canon, ok := CanonicalEmail(e); ok && len(out) < maxContactsPerDomain {
			out = append(out, canon)
		}
	}
	return out, err
}

// emailRound is what one sending covers: target → the fixed recipients
// (none means the constructed and DNS TXT addresses).
type emailRound map[string][]string

// orderEmailRound: the targets of an order's names, with the addresses
// its dcv_emails scopes chose.
func orderEmailRound(o *store.Order) emailRound {
	round := emailRound{}
	targets := dcvTargets(o)
	for _, n := range o.DNSNames {
		t := targets[n]
		if _, ok := round[t]; !ok {
			round[t] = nil
		}
		for _, sc := range o.Extra.DCVEmails {
			if (sc.DNSName == n || sc.DNSName == strings.TrimPrefix(n, "*.")) && sc.Email != "" && !slices.Contains(round[t], sc.Email) {
				round[t] = append(round[t], strings.ToLower(sc.Email))
			}
		}
	}
	return round
}

// narrow keeps the recipients a resend asked for; each must be an address
// the round would write to.
func (s *Service) narrow(ctx context.Context, round emailRound, only []EmailRecipient) (emailRound, error) {
	if len(only) == 0 {
		return round, nil
	}
	out := emailRound{}
	for _, r := range only {
		dom := strings.ToLower(strings.TrimSpace(r.Domain))
		email := strings.ToLower(strings.TrimSpace(r.Email))
		fixed, ok := round[dom]
		if !ok {
			return nil, errs.InvalidValue("domain_approval_emails", "%q is not a domain this validation emails; use one of %s.", r.Domain, strings.Join(keys(round), ", "))
		}
		allowed := fixed
		if len(allowed) == 0 {
			c, t := s.DCVEmailAddresses(ctx, dom)
			allowed = append(c, t...)
		}
		if !slices.Contains(allowed, email) {
			return nil, errs.InvalidValue("domain_approval_emails", "%q is not an address validation emails for %s may go to.", r.Email, dom)
		}
		if !slices.Contains(out[dom], email) {
			out[dom] = append(out[dom], email)
		}
	}
	return out, nil
}

func keys(m emailRound) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// sendOrderEmails queues the email method's messages for every target of
// the order (or the narrowed recipients): one message and one single-use
// link per address. It returns how many were queued.
func (s *Service) sendOrderEmails(ctx context.Context, o *store.Order, only []EmailRecipient, resend bool) (int, error) {
	round, err := s.narrow(ctx, orderEmailRound(o), only)
	if err != nil {
		return 0, err
	}
	return s.sendRound(ctx, o.AccountID, o.ID, 0, round, resend)
}

// sendDomainEmails queues a domain's own validation messages: to its
// email_array when set, otherwise the constructed and DNS TXT addresses.
func (s *Service) sendDomainEmails(ctx context.Context, d *store.Domain, only []EmailRecipient, resend bool) (int, error) {
	round, err := s.narrow(ctx, emailRound{d.Name: d.EmailArray}, only)
	if err != nil {
		return 0, err
	}
	return s.sendRound(ctx, d.AccountID, 0, d.ID, round, resend)
}

// EmailLink reads the link of secret for the approval page; an unknown,
// used or expired link is not found.
func (s *Service) EmailLink(ctx context.Context, link string) (*store.DCVEmailToken, error) {
	t, err := s.Store.DCVEmailTokenByHash(ctx, secret.Hash(link))
	if errors.Is(err, store.ErrNotFound) {
		return nil, errs.NotFoundf("dcv_link", "This approval link is not known.")
	}
	if err != nil {
		return nil, errs.Internalf(err, "read email link")
	}
	if t.UsedAt != nil || !t.ExpiresAt.After(s.now()) {
		return nil, errs.NotFoundf("dcv_link", "This approval link was already used or has expired.")
	}
	return t, nil
}

// EmailLinkView is what the approval page shows of a link: the name and
// address it proves, and what asked for it (the order's product, the
// organization of the order or the domain), so that a recipient can tell a
// request they expect from one they do not; Locale is the language its
// message was written in (the order's or the domain's).
type EmailLinkView struct {
	store.DCVEmailToken
	Product, Organization string
	Locale                string
}

// EmailLinkPage is the approval page's GET: the usable link of secret and
// what it is for. Reading it changes nothing (mail scanners open links).
func (s *Service) EmailLinkPage(ctx context.Context, link string) (*EmailLinkView, error) {
	t, err := s.EmailLink(ctx, link)
	if err != nil {
		return nil, err
	}
	return s.emailLinkView(ctx, t)
}

func (s *Service) emailLinkView(ctx context.Context, t *store.DCVEmailToken) (*EmailLinkView, error) {
	v := &EmailLinkView{DCVEmailToken: *t}
	var orgID int64
	switch {
	case t.OrderID != 0:
		o, err := s.Store.Order(ctx, t.AccountID, t.OrderID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, errs.Internalf(err, "read order of email link")
		}
		if o != nil {
			v.Product, orgID, v.Locale = productName(o.ProductNameID), o.OrganizationID, o.Locale
		}
	case t.DomainID != 0:
		d, err := s.Store.Domain(ctx, t.AccountID, t.DomainID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, errs.Internalf(err, "read domain of email link")
		}
		if d != nil {
			orgID, v.Locale = d.OrganizationID, d.Locale
		}
	}
	if orgID != 0 {
		org, err := s.Store.Organization(ctx, t.AccountID, orgID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, errs.Internalf(err, "read organization of email link")
		}
		if org != nil {
			v.Organization = org.Name
		}
	}
	return v, nil
}

// ApproveEmailLink is the click on an emailed link (POST /dcv/email/{secret}):
// control of its target is proven by email, every link of that validation
// stops working, and the orders the validation completes issue. It
// returns what the page shows after the click.
func (s *Service) ApproveEmailLink(ctx context.Context, link string) (*EmailLinkView, error) {
	// The address must still be one that may validate the target (a DNS
	// TXT contact may have been withdrawn since the message went out);
	// looked up before the transaction, which must not wait on DNS.
	t, err := s.EmailLink(ctx, link)
	if err != nil {
		return nil, err
	}
	if ok, err := s.MayReceiveLink(ctx, t.Target, t.Email); !ok {
		if err != nil {
			return nil, errs.Wrap(err, errs.Unavailable, "dns_lookup_failed", "Whether %s may validate %s could not be looked up in DNS; try again later.", t.Email, t.Target)
		}
		return nil, errs.New(errs.Forbidden, "access_denied|invalid_dcv_email", "%s may not validate %s.", t.Email, t.Target)
	}
	var tok *store.DCVEmailToken
	err = s.Store.InTx(ctx, func(tx store.Tx) error {
		t, err := tx.DCVEmailTokenByHash(ctx, secret.Hash(link))
		if errors.Is(err, store.ErrNotFound) {
			return errs.NotFoundf("dcv_link", "This approval link is not known.")
		}
		if err != nil {
			return err
		}
		now := s.now()
		if t.UsedAt != nil || !t.ExpiresAt.After(now) {
			return errs.NotFoundf("dcv_link", "This approval link was already used or has expired.")
		}
		if err := tx.UseDCVEmailTokens(ctx, t.AccountID, t.OrderID, t.Target, now); err != nil {
			return err
		}
		by := fmt.Sprintf("order:%d", t.OrderID)
		if t.OrderID == 0 {
			by = fmt.Sprintf("domain:%d", t.DomainID)
		}
		tok = t
		var orgID int64
		if t.OrderID != 0 {
			o, err := tx.Order(ctx, t.AccountID, t.OrderID)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			if o != nil {
				orgID = o.OrganizationID
			}
		}
		return s.recordDCVTx(ctx, tx, t.AccountID, t.Target, "email", by, t.Email, orgID)
	})
	if err != nil {
		return nil, apiErr(err, "approve email link")
	}
	s.Metrics.DCVChecked("email", metrics.DCVValid)
	// The approval is recorded: what the page shows of it is read at best
	// effort and never turns the click into a failure.
	view, err := s.emailLinkView(ctx, tok)
	if err != nil {
		s.log().Warn("read email link after approval", "err", err)
		view = &EmailLinkView{DCVEmailToken: *tok}
	}
	actor, err := s.systemActor(ctx, tok.AccountID)
	if err != nil {
		s.log().ErrorContext(ctx, "issue after email approval", "err", err)
		return view, nil
	}
	s.validated(account.Unscoped(ctx), actor)
	return view, nil
}

// ResendOrderEmails is PUT /order/certificate/{id}/resend-emails (spec
// §2.7.4): the messages go out again now, with new links.
func (s *Service) ResendOrderEmails(ctx context.Context, actor account.Actor, id int64, only []EmailRecipient) error {
	o, err := s.Store.Order(ctx, actor.Account.ID, id)
	if err != nil {
		return apiErr(orderNotFound(err, id), "read order")
	}
	if !needsDCV(o) {
		return errs.New(errs.Invalid, "invalid_dcv_method", "Order %d has no domains to validate.", o.ID)
	}
	if o.DCVMethod != "email" {
		return errs.New(errs.Invalid, "invalid_dcv_method", "Order %d uses the %s method, not email.", o.ID, o.DCVMethod)
	}
	if o.Status != store.OrderPending {
		return errs.New(errs.Conflict, "invalid_order_status", "Order %d is %s; validation emails go out for pending orders.", o.ID, o.Status)
	}
	if s.Sandbox {
		_, err := s.narrow(ctx, orderEmailRound(o), only)
		return err // nothing is mailed in the sandbox; the request is checked
	}
	if _, err := s.sendOrderEmails(ctx, o, only, true); err != nil {
		return err
	}
	s.markEmailsSent(ctx, store.DCVKindOrder, o.AccountID, o.ID)
	return nil
}

// ResendDomainEmails is PUT /domain/{id}/dcv/emails (spec §6.14).
func (s *Service) ResendDomainEmails(ctx context.Context, actor account.Actor, d *store.Domain, only []EmailRecipient) error {
	if d.DCVMethod != "email" {
		return errs.New(errs.Invalid, "invalid_dcv_method", "The domain's DCV method is %q, not email.", d.DCVMethod)
	}
	if s.Sandbox {
		_, err := s.narrow(ctx, emailRound{d.Name: d.EmailArray}, only)
		return err
	}
	if _, err := s.sendDomainEmails(ctx, d, only, true); err != nil {
		return err
	}
	s.markEmailsSent(ctx, store.DCVKindDomain, d.AccountID, d.ID)
	return nil
}

func (s *Service) markEmailsSent(ctx context.Context, kind string, accountID, id int64) {
	now := s.now()
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		c, err := tx.DCVCheck(ctx, accountID, kind, id)
		if errors.Is(err, store.ErrNotFound) {
			c = &store.DCVCheck{AccountID: accountID, Kind: kind, ObjectID: id, NextAt: now.Add(s.backoff(1))}
		} else if err != nil {
			return err
		}
		c.EmailsSentAt, c.UpdatedAt = now, now
		return tx.PutDCVCheck(ctx, c)
	})
	if err != nil {
		s.log().WarnContext(ctx, "record emails sent", "kind", kind, "id", id, "err", err)
	}
}
