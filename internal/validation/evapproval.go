package validation

// EV approval. An EV TLS or EV code signing order is signed only after
// one of its organization's verified contacts for that validation type
// (the EV Guidelines' Certificate Approver; CertCentral's "verified
// contact approval") approved it through an emailed link: the approval
// emails go out once the order is otherwise ready, one single-use link
// per contact, and the first approval issues the order the way a
// completed validation does (OnOrderValidated). Only addresses of the
// organization's verified contacts, of a validation in force, ever
// receive a link.

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
	"github.com/certorder/certorder/internal/secret"
	"github.com/certorder/certorder/internal/store"
)

const (
	// MailKindEVApproval is the outbox kind of an approval email; its link
	// is made when the message is sent (RenderEVApprovalMail).
	MailKindEVApproval = "ev_approval"
	// LinkKindEVApproval is the link_tokens kind of its links.
	LinkKindEVApproval = "ev_approval"
	// evLinkLife: an approval link works 30 days, like a DCV link
	// (CertCentral documents no lifetime); the order itself keeps
	// waiting, and a resend makes new links.
	evLinkLife = 30 * 24 * time.Hour
)

// EVApprovalType is the organization validation whose verified contacts
// approve orders of product: ev for EV TLS, ev_cs for EV code signing; ""
// for every other product, which needs no approval by a contact.
func EVApprovalType(p catalog.Product) string {
	switch p.OrgValidation {
	case "ev", "ev_cs":
		return p.OrgValidation
	}
	return ""
}

// EVApproved reports whether nothing is left of the order's EV approval:
// the product needs none, a verified contact gave it, or the sandbox gives
// it at once (unless a sandbox rule holds the order back).
func (s *Service) EVApproved(product catalog.Product, o *store.Order) bool {
	if EVApprovalType(product) == "" || o.Extra.EVApprovedAt != nil {
		return true
	}
	return s.Sandbox && !s.sandboxHoldsEVApproval(o)
}

// sandboxHoldsEVApproval: a rule with the ev-pending outcome matches one
// of the order's names or, for code signing orders, which name no domain,
// a word of the organization's name (its common name).
func (s *Service) sandboxHoldsEVApproval(o *store.Order) bool {
	names := o.DNSNames
	if len(names) == 0 {
		words := strings.FieldsFunc(strings.ToLower(o.CommonName), func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-')
		})
		names = []string{strings.Join(words, ".")}
	}
	for _, n := range names {
		if s.sandboxOutcome(n) == SandboxEVPending {
			return true
		}
	}
	return false
}

// ApproverRef names a verified contact on an order: the account user it
// is, or its address.
type ApproverRef struct {
	UserID int64
	Email  string
}

func (r ApproverRef) String() string {
	if r.UserID != 0 {
		return fmt.Sprintf("user %d", r.UserID)
	}
	return fmt.Sprintf("%q", r.Email)
}

// evContacts are the verified contacts of org's validation of typ, and
// whether that validation is in force. A contact submitted while it was
// in force is none until an administrator grants it again (keepVerified
// in orgs.go).
func (s *Service) evContacts(org *store.Organization, typ string) ([]store.Contact, bool) {
	if org == nil {
		return nil, false
	}
	v := findOrgValidation(org, typ)
	if v == nil {
		return nil, false
	}
	var out []store.Contact
	for _, c := range v.VerifiedContacts {
		if !c.Unverified {
			out = append(out, c)
		}
	}
	return out, orgValidated(org, typ, s.now())
}

// evAddresses are the addresses that may receive org's approval links for
// typ: its verified contacts of a validation in force, in the canonical
// form links are sent to (an address CanonicalEmail refuses never gets
// one).
func (s *Service) evAddresses(org *store.Organization, typ string) []string {
	contacts, active := s.evContacts(org, typ)
	if !active {
		return nil
	}
	var out []string
	for _, c := range contacts {
		if e, ok := CanonicalEmail(c.Email); ok && !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return out
}

// EVApprovers checks the approvers an order names (its organization.contacts
// of type ev_approver or verified_contact) and returns their addresses:
// each must be a verified contact of org for typ, by user id or address
// (invalid_value:organization otherwise), so that no address a request
// makes up ever receives a link. The validation need not be in force yet:
// the emails wait for it. The sandbox mails nothing and takes them as
// given, recording none.
func (s *Service) EVApprovers(org *store.Organization, typ string, refs []ApproverRef) ([]string, error) {
	if len(refs) == 0 || s.Sandbox {
		return nil, nil
	}
	contacts, _ := s.evContacts(org, typ)
	var out []string
	var list errs.List
	for _, r := range refs {
		email, found := "", false
		for _, c := range contacts {
			if r.UserID != 0 && c.UserID == r.UserID || r.UserID == 0 && strings.EqualFold(strings.TrimSpace(r.Email), strings.TrimSpace(c.Email)) {
				email, found = c.Email, true
				break
			}
		}
		canon, ok := CanonicalEmail(email)
		switch {
		case !found && (org == nil || org.ID == 0):
			list.Add(errs.InvalidValue("organization", "The ev_approver %s is not a verified contact: an organization created with the order has none; submit it for %s validation with its verified_users first.", r, typ))
		case !found:
			list.Add(errs.InvalidValue("organization", "The ev_approver %s is not a verified contact of organization %d for %s validation (GET /organization/%d lists them).", r, org.ID, typ, org.ID))
		case !ok:
			list.Add(errs.InvalidValue("organization", "The ev_approver %s has an address approval emails cannot be sent to.", r))
		case !slices.Contains(out, canon):
			out = append(out, canon)
		}
	}
	return out, list.Err()
}

// evRecipients are who the automatic round and a resend without emails
// write to: the order's named approvers that are still verified contacts
// in force, or every such contact when it named none.
func (s *Service) evRecipients(org *store.Organization, typ string, named []string) []string {
	all := s.evAddresses(org, typ)
	if len(named) == 0 {
		return all
	}
	var out []string
	for _, e := range named {
		if slices.Contains(all, e) {
			out = append(out, e)
		}
	}
	return out
}

type evMailPayload struct {
	Round int `json:"round"`
}

// errRoundSent: the automatic round went out already (another caller).
var errRoundSent = errors.New("approval emails already sent")

// RequestEVApproval sends the first round of approval emails of a pending
// order that is validated but not approved; the order engine calls it
// whenever it finds the order so, and only the first call sends. A round
// that cannot go out (no relay, no verified contact in force, the
// account's hourly bound) is logged: the order waits, and PUT
// .../order-approval/resend-emails sends it.
func (s *Service) RequestEVApproval(ctx context.Context, actor account.Actor, product catalog.Product, org *store.Organization, o *store.Order) {
	if s.Sandbox || o.Extra.EVRound > 0 || EVApprovalType(product) == "" {
		return
	}
	err := s.sendEVRound(ctx, actor, product, org, o, nil, false)
	if err != nil && !errors.Is(err, errRoundSent) {
		s.log().WarnContext(ctx, "EV approval emails not sent; the order waits for a resend", "order", o.ID, "err", err)
	}
}

// sendEVRound queues one message per recipient (only, when given, else
// evRecipients) in one transaction that also ends every link of the
// earlier rounds and counts the round on the order, within the bounds
// every kind of link mail keeps (mailBounds).
func (s *Service) sendEVRound(ctx context.Context, actor account.Actor, product catalog.Product, org *store.Organization, o *store.Order, only []string, resend bool) error {
	if s.Mail == nil {
		return errs.New(errs.Unavailable, "email_unavailable", "No SMTP relay is configured (--smtp); approval emails cannot be sent.")
	}
	typ := EVApprovalType(product)
	to := only
	if len(to) == 0 {
		to = s.evRecipients(org, typ, o.Extra.EVApprovers)
	}
	if len(to) == 0 {
		return errs.InvalidValue("emails", "Organization %d has no verified contact for %s validation in force to approve order %d.", o.OrganizationID, typ, o.ID)
	}
	if len(to) > maxRecipientsPerRound {
		to = to[:maxRecipientsPerRound]
	}
	now := s.now()
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		cur, err := tx.Order(ctx, o.AccountID, o.ID)
		if err != nil {
			return err
		}
		if cur.Status != store.OrderPending || cur.Extra.EVApprovedAt != nil {
			return errs.New(errs.Conflict, "invalid_order_status", "Order %d no longer waits for its approval.", o.ID)
		}
		if !resend && cur.Extra.EVRound > 0 {
			return errRoundSent
		}
		if err := mailBounds(ctx, tx, mailRound{kind: MailKindEVApproval, what: "order approval emails", accountID: o.AccountID,
			orderID: o.ID, messages: len(to)}, now); err != nil {
			return err
		}
		if err := expireEVLinks(ctx, tx, cur, now); err != nil {
			return err
		}
		cur.Extra.EVRound++
		if err := tx.UpdateOrder(ctx, cur); err != nil {
			return err
		}
		payload, _ := json.Marshal(evMailPayload{Round: cur.Extra.EVRound})
		for _, e := range to {
			m := &store.OutboxMail{AccountID: o.AccountID, Kind: MailKindEVApproval, OrderID: o.ID, Recipient: e,
				Payload: string(payload), MessageID: mail.NewMessageID(s.MailFrom), CreatedAt: now}
			if err := mail.Enqueue(ctx, tx, m); err != nil {
				return err
			}
		}
		return s.audit(ctx, tx, actor, "order.ev_approval_emails", fmt.Sprintf("order:%d", o.ID),
			map[string]any{"round": cur.Extra.EVRound, "recipients": to})
	})
	if err != nil {
		if errors.Is(err, errRoundSent) {
			return err
		}
		return apiErr(err, "queue approval emails")
	}
	s.Mail.Kick()
	return nil
}

// expireEVLinks ends, at now, every unused approval link of the order: a
// new round or a decision replaces them.
func expireEVLinks(ctx context.Context, tx store.Tx, o *store.Order, now time.Time) error {
	links, err := tx.LinkTokens(ctx, o.AccountID, o.ID, LinkKindEVApproval)
	if err != nil {
		return err
	}
	var done []string
	for _, l := range links {
		if !l.Usable(now) || slices.Contains(done, l.Subject) {
			continue
		}
		done = append(done, l.Subject)
		if err := tx.ExpireLinkTokens(ctx, o.AccountID, o.ID, LinkKindEVApproval, l.Subject, now); err != nil {
			return err
		}
	}
	return nil
}

// ResendEVApproval is PUT /order/certificate/{id}/order-approval/resend-emails:
// a new round of approval emails, to emails (each a verified contact of
// the organization whose validation is in force) or, without them, to the
// order's approvers; the links of earlier rounds stop working. The
// sandbox checks the request and mails nothing.
func (s *Service) ResendEVApproval(ctx context.Context, actor account.Actor, id int64, emails []string) error {
	o, err := s.Store.Order(ctx, actor.Account.ID, id)
	if err != nil {
		return apiErr(orderNotFound(err, id), "read order")
	}
	product, _ := catalog.Lookup(o.ProductNameID)
	typ := EVApprovalType(product)
	switch {
	case typ == "":
		return errs.New(errs.Conflict, "invalid_order_status", "Order %d (%s) needs no approval by a verified contact; approval emails go out for EV TLS and EV code signing orders.", o.ID, o.ProductNameID)
	case o.Status != store.OrderPending:
		return errs.New(errs.Conflict, "invalid_order_status", "Order %d is %s; approval emails go out for pending orders.", o.ID, o.Status)
	case o.Extra.EVApprovedAt != nil:
		return errs.New(errs.Conflict, "invalid_order_status", "Order %d was already approved by %s.", o.ID, o.Extra.EVApprovedBy)
	}
	org, err := s.Store.Organization(ctx, o.AccountID, o.OrganizationID)
	if err != nil {
		return errs.Internalf(err, "read organization %d", o.OrganizationID)
	}
	allowed := s.evAddresses(org, typ)
	var only []string
	var list errs.List
	for _, e := range emails {
		canon, ok := CanonicalEmail(e)
		switch {
		case !ok || !slices.Contains(allowed, canon):
			list.Add(errs.InvalidValue("emails", "%q is not a verified contact of organization %d whose %s validation is in force.", e, org.ID, typ))
		case !slices.Contains(only, canon):
			only = append(only, canon)
		}
	}
	if len(only) > maxRecipientsPerRound {
		list.Add(errs.InvalidValue("emails", "At most %d addresses per call.", maxRecipientsPerRound))
	}
	if err := list.Err(); err != nil {
		return err
	}
	if s.Sandbox {
		return nil // nothing is mailed in the sandbox; the request is checked
	}
	return s.sendEVRound(ctx, actor, product, org, o, only, true)
}

func init() {
	mail.DefineKind(MailKindEVApproval, EVApprovalMail{OrderID: 1234567, ProductName: "Secure Site EV", Organization: "Example Corp",
		CommonName: "www.example.com", DNSNames: []string{"www.example.com", "example.com"}, RequestedBy: "Jane Doe",
		Approver: "john.roe@example.com", Link: "https://certorder.example/order-approval/abcdefghijklmnopqrstuvwxyz234567",
		ExpiresOn: "Mon, 04 Jan 2027 10:00:00 UTC"}, EVApprovalMail{OrderID: 7, ProductName: "EV Code Signing",
		Organization: "Example Corp", Approver: "john.roe@example.com", Link: "https://certorder.example/order-approval/x",
		ExpiresOn: "Mon, 04 Jan 2027 10:00:00 UTC"})
}

// EVApprovalMail is the data of an approval email's templates.
type EVApprovalMail struct {
	OrderID      int64
	ProductName  string
	Organization string
	CommonName   string
	DNSNames     []string
	RequestedBy  string
	Approver     string
	Link         string
	ExpiresOn    string // RFC 1123, UTC
}

// RenderEVApprovalMail makes a queued approval email when it is sent: the
// order must still wait for approval in the message's round, and the
// recipient must still be a verified contact in force (or the message is
// dropped); a fresh single-use link is recorded (its hash only) in a
// transaction that sees the round unchanged, so that a resend either
// drops this message or ends its link.
func (s *Service) RenderEVApprovalMail(ctx context.Context, m *store.OutboxMail) (mail.Message, error) {
	var p evMailPayload
	if err := json.Unmarshal([]byte(m.Payload), &p); err != nil {
		return mail.Message{}, fmt.Errorf("approval mail %d: payload: %w", m.ID, err)
	}
	o, err := s.Store.Order(ctx, m.AccountID, m.OrderID)
	if errors.Is(err, store.ErrNotFound) {
		return mail.Message{}, mail.ErrDrop
	}
	if err != nil {
		return mail.Message{}, err
	}
	product, _ := catalog.Lookup(o.ProductNameID)
	typ := EVApprovalType(product)
	if typ == "" || !evWaiting(o, p.Round) {
		return mail.Message{}, mail.ErrDrop
	}
	org, err := s.Store.Organization(ctx, o.AccountID, o.OrganizationID)
	if errors.Is(err, store.ErrNotFound) {
		return mail.Message{}, mail.ErrDrop
	}
	if err != nil {
		return mail.Message{}, err
	}
	if !slices.Contains(s.evAddresses(org, typ), m.Recipient) {
		s.log().WarnContext(ctx, "approval email dropped: the address is no longer a verified contact in force", "order", o.ID, "email", m.Recipient)
		return mail.Message{}, mail.ErrDrop
	}
	value, hash, err := secret.NewFrom(s.rand())
	if err != nil {
		return mail.Message{}, fmt.Errorf("approval link secret: %w", err)
	}
	now := s.now()
	tok := &store.LinkToken{AccountID: o.AccountID, Kind: LinkKindEVApproval, OrderID: o.ID, Subject: m.Recipient,
		TokenHash: hash, CreatedAt: now, ExpiresAt: now.Add(evLinkLife)}
	err = s.Store.InTx(ctx, func(tx store.Tx) error {
		cur, err := tx.Order(ctx, o.AccountID, o.ID)
		if err != nil {
			return err
		}
		if !evWaiting(cur, p.Round) {
			return mail.ErrDrop
		}
		return tx.CreateLinkToken(ctx, tok)
	})
	if errors.Is(err, mail.ErrDrop) || errors.Is(err, store.ErrNotFound) {
		return mail.Message{}, mail.ErrDrop
	}
	if err != nil {
		return mail.Message{}, fmt.Errorf("record approval link: %w", err)
	}
	drop := func(ctx context.Context) {
		if err := s.Store.InTx(ctx, func(tx store.Tx) error { return tx.DeleteLinkToken(ctx, tok.AccountID, tok.ID) }); err != nil {
			s.log().WarnContext(ctx, "drop undelivered approval link", "err", err)
		}
	}
	msg, err := s.Templates.Render(MailKindEVApproval, o.Locale, s.evMailData(ctx, o, org, m.Recipient,
		strings.TrimRight(s.PublicURL, "/")+"/order-approval/"+value, tok.ExpiresAt))
	if err != nil {
		drop(ctx)
		return mail.Message{}, err
	}
	// A link that never reached its recipient goes: the next attempt
	// makes another, so failures do not pile up valid links.
	msg.Undelivered = drop
	return msg, nil
}

// evWaiting: the order still waits for its approval, in round.
func evWaiting(o *store.Order, round int) bool {
	return o.Status == store.OrderPending && o.Extra.EVApprovedAt == nil && o.Extra.EVRound == round
}

func (s *Service) evMailData(ctx context.Context, o *store.Order, org *store.Organization, approver, link string, expires time.Time) EVApprovalMail {
	d := EVApprovalMail{OrderID: o.ID, ProductName: s.productName(o.ProductNameID), Organization: org.Name, CommonName: o.CommonName,
		DNSNames: o.DNSNames, Approver: approver, Link: link, ExpiresOn: expires.UTC().Format(time.RFC1123)}
	if d.DNSNames == nil {
		d.DNSNames = []string{}
	}
	if u, err := s.Store.User(ctx, o.AccountID, o.UserID); err == nil {
		d.RequestedBy = strings.TrimSpace(u.FirstName + " " + u.LastName + " <" + u.Email + ">")
	}
	return d
}

func (s *Service) productName(nameID string) string {
	if s.ProductName != nil {
		if n := s.ProductName(nameID); n != "" {
			return n
		}
	}
	if p, ok := catalog.Lookup(nameID); ok {
		return p.Name
	}
	return nameID
}

// EVLinkView is what the approval page shows of a link's order.
type EVLinkView struct {
	EVApprovalMail
	// Approved or Rejected after the decision.
	Approved, Rejected bool
	// Locale is the language of the link's message (the order's).
	Locale string
}

func linkUnknown() error { return errs.NotFoundf("ev_link", "This approval link is not known.") }

func linkSpent() error {
	return errs.NotFoundf("ev_link", "This approval link was already used, was replaced by a newer email, or has expired.")
}

// evLink reads the usable link of secret and its order, through r (the
// store, or the deciding transaction).
func (s *Service) evLink(ctx context.Context, r store.Reader, link string) (*store.LinkToken, *store.Order, error) {
	t, err := r.LinkTokenByHash(ctx, LinkKindEVApproval, secret.Hash(link))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, linkUnknown()
	}
	if err != nil {
		return nil, nil, err
	}
	if !t.Usable(s.now()) {
		return nil, nil, linkSpent()
	}
	o, err := r.Order(ctx, t.AccountID, t.OrderID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, linkUnknown()
	}
	if err != nil {
		return nil, nil, err
	}
	if o.Status != store.OrderPending || o.Extra.EVApprovedAt != nil {
		return nil, nil, errs.NotFoundf("ev_link", "Order %d no longer waits for approval.", o.ID)
	}
	return t, o, nil
}

// EVLink is the approval page's GET: what the link would approve. Reading
// it changes nothing (mail scanners open links).
func (s *Service) EVLink(ctx context.Context, link string) (*EVLinkView, error) {
	t, o, err := s.evLink(ctx, s.Store, link)
	if err != nil {
		return nil, apiErr(err, "read approval link")
	}
	org, err := s.Store.Organization(ctx, o.AccountID, o.OrganizationID)
	if err != nil {
		return nil, errs.Internalf(err, "read organization %d", o.OrganizationID)
	}
	return &EVLinkView{EVApprovalMail: s.evMailData(ctx, o, org, t.Subject, "", t.ExpiresAt), Locale: o.Locale}, nil
}

// DecideEVLink is the approval page's POST: the link's verified contact
// approves (the order then issues as after a completed validation) or
// rejects (the order becomes rejected, through OnEVRejected). The link is
// spent and every other link of the order ends, in the transaction that
// records the decision, so that of two clicks exactly one counts.
func (s *Service) DecideEVLink(ctx context.Context, link string, approve bool) (*EVLinkView, error) {
	var decided *store.Order
	var decidedOrg *store.Organization
	var decidedLink *store.LinkToken
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		t, o, err := s.evLink(ctx, tx, link)
		if err != nil {
			return err
		}
		product, _ := catalog.Lookup(o.ProductNameID)
		typ := EVApprovalType(product)
		org, err := tx.Organization(ctx, o.AccountID, o.OrganizationID)
		if err != nil {
			return err
		}
		if typ == "" || !slices.Contains(s.evAddresses(org, typ), t.Subject) {
			return errs.New(errs.Forbidden, "access_denied|missing_permission",
				"%s is no longer a verified contact of %s whose validation is in force, and cannot approve this order.", t.Subject, org.Name)
		}
		now := s.now()
		ok, err := tx.UseLinkToken(ctx, t.AccountID, t.ID, now)
		if err != nil {
			return err
		}
		if !ok {
			return linkSpent()
		}
		if err := expireEVLinks(ctx, tx, o, now); err != nil {
			return err
		}
		action := "order.ev_approved"
		if approve {
			o.Extra.EVApprovedBy, o.Extra.EVApprovedAt = t.Subject, &now
		} else {
			action = "order.ev_rejected"
			if s.OnEVRejected != nil {
				if err := s.OnEVRejected(ctx, tx, o); err != nil {
					return err
				}
			} else {
				o.Status = store.OrderRejected
			}
			o.UpdatedAt = now
		}
		if err := tx.UpdateOrder(ctx, o); err != nil {
			return err
		}
		acct, err := tx.Account(ctx, o.AccountID)
		if err != nil {
			return err
		}
		decided, decidedOrg, decidedLink = o, org, t
		return s.audit(ctx, tx, account.SystemActor(acct), action, fmt.Sprintf("order:%d", o.ID),
			map[string]any{"approver": t.Subject, "link": t.ID})
	})
	if err != nil {
		return nil, apiErr(err, "record approval")
	}
	view := &EVLinkView{EVApprovalMail: s.evMailData(ctx, decided, decidedOrg, decidedLink.Subject, "", decidedLink.ExpiresAt),
		Approved: approve, Rejected: !approve, Locale: decided.Locale}
	if approve {
		accountID, orderID := decided.AccountID, decided.ID
		actor, err := s.systemActor(ctx, accountID)
		if err != nil {
			s.log().ErrorContext(ctx, "issue after EV approval", "order", orderID, "err", err)
			return view, nil
		}
		// The approval stands whatever happens to the issuance: the order
		// stays pending and issues when whatever else it waits for is done.
		if err := s.orderValidated(account.Unscoped(ctx), actor, orderID); err != nil {
			s.log().ErrorContext(ctx, "issue after EV approval", "order", orderID, "err", err)
		}
	}
	return view, nil
}
