package order

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/ca"
	"github.com/certorder/certorder/internal/catalog"
	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/flex"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/validation"
)

// RequestRef is {id, status} of a request in a 201 answer.
type RequestRef struct {
	ID     int64
	Status string
}

// CreateResult holds what the 201 answer of an order carries; which parts
// are set decides the seed's response variant.
type CreateResult struct {
	Product        catalog.Product
	DCVMethod      string
	DCVRandomValue string // set for the token DCV methods
	DCVExpires     time.Time
	Domains        []validation.DomainRef // X9: the names submitted for validation
	OrderID        int64
	OrganizationID int64 // set when the order created a new organization
	Requests       []RequestRef
	CertificateID  int64
	Chain          []*x509.Certificate // leaf first, root last; set on immediate issuance
}

// ProfileOptions are the certificate.profile_option values we know. The
// clientAuth opt-in (server_client_auth_eku) is not offered: public TLS
// leaves from certorder carry serverAuth only.
var ProfileOptions = map[string]bool{"server_auth_only_eku": true}

// plan is a validated order, ready to be written and issued.
type plan struct {
	product   catalog.Product
	order     store.Order
	pub       crypto.PublicKey    // from the CSR or public key; nil when the order waits for one
	org       *store.Organization // existing org, or nil when newOrg is set
	newOrg    *store.Organization
	renewalOf *store.Order
	// renewalField names the field the client used to point at renewalOf,
	// so errors about it name what was sent.
	renewalField string
	names        []string // CN first, then the other SANs
}

// CreateOrder validates and places an order. Nothing is written unless
// every rule passes; issuance at order time happens before the single
// transaction that records the order, so a failure leaves no trace but the
// audit log.
func (s *Service) CreateOrder(ctx context.Context, actor account.Actor, productID string, in *CreateInput) (*CreateResult, error) {
	mark := s.Notify.Mark() // before any transaction that may queue mail
	product, err := s.orderProduct(productID, in)
	if err != nil {
		return nil, err
	}
	if in == nil {
		return nil, errs.MissingField("certificate")
	}
	p, err := s.validate(ctx, actor, product, in)
	if err != nil {
		return nil, err
	}
	now := s.now()
	skip := in.SkipApproval.V && account.CanSkipApproval(actor)
	// Auto-approve (spec §3.6): the requester is an approver, so the
	// request is approved as it is created.
	auto := !skip && actor.Account.ApprovalMode == "auto" && account.CanApprove(actor)
	approved := skip || auto
	p.order.SkipApproval = skip
	if validation.IsTokenMethod(p.order.DCVMethod) {
		if err := s.Validation.NewRandomValue(&p.order, now); err != nil {
			return nil, err
		}
	}
	if p.order.PaymentMethod == "balance" && actor.Account.BalanceCents < p.order.PriceCents {
		return nil, insufficientFunds(actor.Account.BalanceCents, p.order.PriceCents)
	}

	// Immediate issuance: approved at once (skipped, or auto-approved) and
	// everything already validated; the 201 then carries the chain (spec
	// §3.6), whichever way the approval came.
	var issued *issuedCert
	if approved && p.pub != nil && s.Validation.Validated(ctx, p.product, orgOf(p), &p.order) && s.Validation.EVApproved(p.product, &p.order) {
		issued, err = s.sign(ctx, actor, p.product, &p.order, orgOf(p), p.pub, p.names, 0, true) // checkKeySource looked the key up
		if err != nil {
			return nil, err
		}
	}

	res := &CreateResult{Product: product, DCVMethod: p.order.DCVMethod}
	mailed := 0
	err = s.Store.InTx(ctx, func(tx store.Tx) error {
		var req *store.Request
		var cert *store.Certificate
		// The function may run again (a retry, or a batch run again after
		// another transaction's failure): nothing of an earlier run's
		// certificate may reach this run's order row.
		p.order.CertificateID = 0
		if id := p.order.AlternativeOrderID; id != "" && actor.Account.RequireUniqueAltOrderID {
			prev, err := tx.OrderByAlternativeID(ctx, actor.Account.ID, id)
			if err == nil {
				return errs.InvalidValue("alternative_order_id", "Order %d already has the alternative_order_id %q; this account requires them to be unique.", prev.ID, id)
			}
			if !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		if p.order.PaymentMethod == "balance" && p.order.PriceCents > 0 {
			// A refusal (store.ErrInsufficientFunds) is answered below,
			// once the transaction is over.
			if err := tx.ChargeBalance(ctx, actor.Account.ID, -p.order.PriceCents); err != nil {
				return err
			}
		}
		if p.newOrg != nil {
			if err := tx.CreateOrganization(ctx, p.newOrg); err != nil {
				return err
			}
			if err := s.Validation.OrganizationCreated(ctx, tx, p.newOrg.ID); err != nil {
				return err
			}
			p.order.OrganizationID = p.newOrg.ID
			res.OrganizationID = p.newOrg.ID
		}
		switch {
		case issued != nil:
			p.order.Status = store.OrderIssued
		case approved && p.pub == nil:
			p.order.Status = store.OrderNeedsCSR
		case approved:
			p.order.Status = store.OrderPending
		default:
			p.order.Status = store.OrderNeedsApproval
		}
		if err := tx.CreateOrder(ctx, &p.order); err != nil {
			return err
		}
		res.OrderID = p.order.ID
		if p.renewalOf != nil {
			// Re-read inside the transaction so two renewals cannot both win.
			old, err := tx.Order(ctx, actor.Account.ID, p.renewalOf.ID)
			if err != nil {
				return err
			}
			if old.IsRenewed {
				return errs.InvalidValue(p.renewalField, "Order %d has already been renewed.", old.ID)
			}
			old.IsRenewed, old.RenewedOrderID, old.UpdatedAt = true, p.order.ID, now
			if err := tx.UpdateOrder(ctx, old); err != nil {
				return err
			}
		}
		if in.record != nil {
			if err := in.record(tx, p.order.ID); err != nil {
				return err
			}
		}
		if !skip {
			status := newRequestStatus(actor, auto)
			req = &store.Request{AccountID: actor.Account.ID, OrderID: p.order.ID, Type: store.RequestNew, Status: status,
				RequesterID: actor.User.ID, Comments: p.order.Comments, Date: now}
			if auto {
				req.ProcessorID, req.DateProcessed = actor.User.ID, &now
			}
			if err := tx.CreateRequest(ctx, req); err != nil {
				return err
			}
			res.Requests = []RequestRef{{ID: req.ID, Status: req.Status}} // assigned, not appended: a transaction may run twice (PostgreSQL retries)
		}
		if approved {
			cert = &store.Certificate{AccountID: actor.Account.ID, OrderID: p.order.ID, Status: store.CertPending,
				CommonName: p.order.CommonName, DNSNames: p.names, CSR: p.order.CSR, SignatureHash: p.order.SignatureHash,
				CreatedAt: now}
			if p.pub != nil {
				cert.KeySize = ca.KeySize(p.pub)
			}
			// A pooled serial is reserved with the certificate, in one
			// statement on PostgreSQL; any other with its intent deleted.
			reserve := issued != nil && issued.pooled
			if issued != nil {
				issued.fill(cert)
				if !reserve {
					if err := issued.reserve(ctx, tx, p.order.ID, now); err != nil {
						return err
					}
				}
			}
			if err := tx.CreateOrderCertificate(ctx, cert, reserve, now); err != nil {
				return err
			}
			p.order.CertificateID = cert.ID
			res.CertificateID = cert.ID
			if issued == nil {
				// A client order's addresses get their validation links
				// (or, all validated already and no CSR, its pickup link).
				if mailed, err = s.Validation.OrderApproved(ctx, tx, &p.order); err != nil {
					return err
				}
			}
			if product.Family == catalog.FamilyX9 {
				if res.Domains, err = s.Validation.OrderDomains(ctx, tx, &p.order, issued != nil); err != nil {
					return err
				}
			}
		}
		if issued != nil {
			if err := s.Validation.RecordOrderDomains(ctx, tx, product, &p.order); err != nil {
				return err
			}
			if err := s.Notify.IssuedFor(ctx, tx, actor.Account, &p.order, cert, "", now); err != nil {
				return err
			}
		}
		if req != nil && req.Status != store.RequestApproved {
			if err := s.Notify.RequestPending(ctx, tx, &p.order, req, 0, now); err != nil {
				return err
			}
		}
		detail := map[string]any{"product": product.NameID, "status": p.order.Status, "common_name": p.order.CommonName,
			"dns_names": p.names, "price_cents": p.order.PriceCents, "payment_method": p.order.PaymentMethod}
		if issued != nil {
			detail["serial_number"] = issued.serial
			detail["issuer"] = issued.issuer.ID
		}
		return s.audit(ctx, tx, actor, "order.created", fmt.Sprintf("order:%d", p.order.ID), detail)
	})
	if errors.Is(err, store.ErrInsufficientFunds) {
		// The balance ran out between the check above and the charge
		// (which a store may report from a later statement, or its
		// commit: PostgreSQL holds the charge back).
		bal := int64(0)
		if acct, aerr := s.Store.Account(ctx, actor.Account.ID); aerr == nil {
			bal = acct.BalanceCents
		}
		return nil, insufficientFunds(bal, p.order.PriceCents)
	}
	if err != nil {
		return nil, wrapStoreErr(err, "create order")
	}
	s.Metrics.OrderCreated(product.NameID, p.order.Status)
	s.Validation.KickMail(mailed)
	s.Notify.KickSince(mark)
	res.DCVRandomValue, res.DCVExpires = p.order.DCVRandomValue, p.order.DCVRandomExpires
	if issued != nil {
		res.Chain = append([]*x509.Certificate{issued.cert}, s.CA.Chain(issued.issuer)...)
	}
	if p.order.Status == store.OrderPending {
		s.Validation.KickDCV() // the validation worker schedules it and sends its emails
	}
	if p.order.Status == store.OrderPending && (auto || validation.EVApprovalType(product) != "") {
		// As after an approval: the order stands even if it cannot issue
		// yet. An EV order that waits only for its approval gets its
		// approval emails there.
		if err := s.IssuePending(ctx, actor, p.order.ID); err != nil {
			s.log().ErrorContext(ctx, "issuance after auto-approval failed", "order", p.order.ID, "err", err)
		}
	}
	return res, nil
}

// CheckOrder applies every rule CreateOrder applies to in before writing,
// and places nothing: an edge that found faults of its own in what it was
// sent (a form's input that does not parse) reports them together with
// the rules' verdict on the rest.
func (s *Service) CheckOrder(ctx context.Context, actor account.Actor, productID string, in *CreateInput) error {
	product, err := s.orderProduct(productID, in)
	if err != nil {
		return err
	}
	if in == nil {
		return errs.MissingField("certificate")
	}
	_, err = s.validate(ctx, actor, product, in)
	return err
}

func insufficientFunds(balance, price int64) error {
	return errs.New(errs.Invalid, "insufficient_funds", "The account balance (%s USD) cannot cover this order (%s USD).",
		money(balance), money(price))
}

// money renders cents as dollars with two decimals.
func money(cents int64) string {
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	return fmt.Sprintf("%s%d.%02d", sign, cents/100, cents%100)
}

func orgOf(p *plan) *store.Organization {
	if p.newOrg != nil {
		return p.newOrg
	}
	return p.org
}

func wrapStoreErr(err error, what string) error {
	var e *errs.Error
	if !errors.As(err, &e) && errors.Is(err, store.ErrNotFound) {
		return errs.NotFoundf("order", "The order was not found.")
	}
	return apiErr(err, what)
}

// validate applies every documented rule of the product's seed to the
// body and gathers all failures, so that a client sees them together.
func (s *Service) validate(ctx context.Context, actor account.Actor, product catalog.Product, in *CreateInput) (*plan, error) {
	now := s.now()
	p := &plan{product: product}
	o := &p.order
	o.AccountID = actor.Account.ID
	o.UserID = actor.User.ID
	o.ProductNameID = product.NameID
	o.CreatedAt, o.UpdatedAt = now, now
	var list errs.List

	// certificate
	c := in.Certificate
	if c == nil {
		return nil, errs.MissingField("certificate")
	}
	switch product.Family {
	case catalog.FamilyTLS, catalog.FamilyDV:
		s.checkNames(product, c, p, &list)
	case catalog.FamilyX9:
		checkX9Names(product, c, p, &list)
	case catalog.FamilyClient:
		checkClientNames(product, c, o, &list)
	case catalog.FamilyCodeSigning:
		// The subject is the organization's; its name is the common name.
	}
	if err := s.checkKeySource(ctx, product, c.CSR, csrRequired(product, in), p, &list); err != nil {
		return nil, err
	}
	hash := strings.ToLower(strings.TrimSpace(c.SignatureHash))
	switch {
	case hash == "" && product.Family == catalog.FamilyDV:
		o.SignatureHash = product.DefaultHash // seed 001 has no signature_hash: DV is SHA-256 only
	case hash == "":
		list.Add(errs.MissingField("signature_hash"))
	case !contains(product.HashTypes, hash):
		list.Add(errs.InvalidValue("signature_hash", "signature_hash must be one of %s.", strings.Join(product.HashTypes, ", ")))
	default:
		o.SignatureHash = hash
	}
	o.OrganizationUnits = cleanStrings(c.OrganizationUnits)
	for _, ou := range o.OrganizationUnits {
		if len(ou) > 64 {
			list.Add(errs.InvalidValue("organization_units", "Each organization unit must be at most 64 characters."))
			break
		}
	}
	o.ServerPlatformID = -1
	if c.ServerPlatform != nil {
		switch {
		case c.ServerPlatform.ID.Bad:
			list.Add(errs.InvalidValue("server_platform", "server_platform.id must be an integer."))
		case !c.ServerPlatform.ID.Set:
			list.Add(errs.MissingField("server_platform.id"))
		case c.ServerPlatform.ID.V < -1:
			list.Add(errs.InvalidValue("server_platform", "server_platform.id %d is not a server platform.", c.ServerPlatform.ID.V))
		default:
			o.ServerPlatformID = int(c.ServerPlatform.ID.V)
		}
	}
	if opt := strings.TrimSpace(c.ProfileOption); opt != "" {
		if !ProfileOptions[opt] {
			list.Add(errs.InvalidValue("profile_option", "No certificate profile named %q is enabled for this account.", opt))
		}
		o.ProfileOption = opt
	}
	s.checkCACert(actor.Account, product, c.CACertID, o, &list)

	checkValidity(product, in, o, now, &list)

	o.Comments = in.Comments
	if len(o.Comments) > 10000 {
		list.Add(errs.InvalidValue("comments", "comments must be at most 10000 characters."))
	}
	if in.ApplyCRDiscount.Bad {
		list.Add(errs.InvalidValue("apply_cr_discount", ""))
	}
	o.ApplyCRDiscount = in.ApplyCRDiscount.V
	o.CRSerialNumber = strings.TrimSpace(in.SerialNumber)
	switch {
	case in.AutoRenew.Bad || in.AutoRenew.Set && in.AutoRenew.V < 0:
		list.Add(errs.InvalidValue("auto_renew", "auto_renew must be 0 or 1."))
	case product.Family == catalog.FamilyTLS || product.Family == catalog.FamilyDV || product.Family == catalog.FamilyX9:
		if in.AutoRenew.V > 1 {
			list.Add(errs.InvalidValue("auto_renew", "auto_renew must be 0 or 1."))
		}
		o.AutoRenew = int(in.AutoRenew.V)
	default:
		// Seeds 002 and 003: "number of times the certificate should renew".
		o.AutoRenew = int(in.AutoRenew.V)
	}
	o.CustomRenewalMessage = in.CustomRenewalMessage
	if in.DisableRenewalNotifications.Bad {
		list.Add(errs.InvalidValue("disable_renewal_notifications", ""))
	}
	o.DisableRenewalNotifications = in.DisableRenewalNotifications.V
	switch {
	case in.AutoReissue.Bad || in.AutoReissue.Set && in.AutoReissue.V != 0 && in.AutoReissue.V != 1:
		list.Add(errs.InvalidValue("auto_reissue", "auto_reissue must be 0 or 1."))
	case in.AutoReissue.Set && in.AutoReissue.V == 0:
		o.Extra.AutoReissueOff = true
	}
	for _, e := range cleanStrings(in.AdditionalEmails) {
		if !account.ValidEmail(e) {
			list.Add(errs.InvalidValue("additional_emails", "%q is not a valid email address.", e))
			continue
		}
		o.AdditionalEmails = append(o.AdditionalEmails, e)
	}
	if in.Locale != "" {
		if !validation.Locales[in.Locale] {
			list.Add(errs.InvalidValue("locale", "%q is not a supported locale.", in.Locale))
		}
		o.Locale = in.Locale
	}
	s.checkPayment(product, in, o, now, &list)
	s.checkDCV(product, in, p, &list)
	if in.SkipApproval.Bad {
		list.Add(errs.InvalidValue("skip_approval", ""))
	}
	if in.DisableCT.Bad {
		list.Add(errs.InvalidValue("disable_ct", ""))
	}
	// certorder submits nothing to CT logs; disable_ct is recorded as sent.
	o.DisableCT = in.DisableCT.V
	o.AlternativeOrderID = strings.TrimSpace(in.AlternativeOrderID)
	if len(o.AlternativeOrderID) > 64 {
		list.Add(errs.InvalidValue("alternative_order_id", "alternative_order_id must be at most 64 characters."))
	}
	if in.UseAuthKey.Bad {
		list.Add(errs.InvalidValue("use_auth_key", "use_auth_key must be true or false."))
	}
	o.Extra.UseAuthKey = in.UseAuthKey.V
	switch {
	case in.EnableGuestAccess.Bad || in.EnableGuestAccess.Set && in.EnableGuestAccess.V != 0 && in.EnableGuestAccess.V != 1:
		list.Add(errs.InvalidValue("enable_guest_access", "enable_guest_access must be 0 or 1."))
	default:
		o.Extra.EnableGuestAccess = in.EnableGuestAccess.V == 1
	}

	switch product.Family {
	case catalog.FamilyDV:
		if in.TechnicalContact != nil {
			if e := checkContact("technical_contact", in.TechnicalContact, true); e != nil {
				list.Add(e)
			} else {
				o.Extra.TechnicalContact = in.TechnicalContact.StoreContact()
			}
		}
	case catalog.FamilyCodeSigning:
		checkCodeSigningExtras(product, in, o, &list)
	case catalog.FamilyX9:
		if in.Organization != nil {
			s.checkOrgContacts(func(id int64) bool {
				_, err := s.Store.User(ctx, actor.Account.ID, id)
				return err == nil
			}, in.Organization.Contacts, o, &list)
		}
		s.checkX9Extras(in, o, &list)
	}

	// DV certificates name no organization (seed 001 has no organization
	// object); every other product needs one.
	if product.Family != catalog.FamilyDV {
		if err := s.checkOrganization(ctx, actor, product, in.Organization, p, now); err != nil {
			list.Add(err)
		} else {
			if product.Family == catalog.FamilyCodeSigning {
				o.CommonName = orgOf(p).Name
			}
			s.checkEVApprovers(product, in.Organization, p, &list)
		}
	}
	if err := s.checkContainer(ctx, actor, in.Container, o); err != nil {
		list.Add(err)
	}
	// The send_* switches not sent take the default of the order's
	// container or account.
	def, _, err := s.NoticeDefaults(ctx, actor.Account.ID, o.ContainerID)
	if err != nil {
		return nil, errs.Internalf(err, "read renewal notice defaults")
	}
	o.Extra.NoticesOff = noticesOff(in, def, &list)
	if err := s.checkCustomFields(ctx, actor, in.CustomFields, o); err != nil {
		list.Add(err)
	}
	if err := s.checkRenewal(ctx, actor, product, in, p); err != nil {
		list.Add(err)
	}
	if err := list.Err(); err != nil {
		return nil, err
	}
	if err := s.checkDCVEmailRecipients(ctx, o); err != nil {
		return nil, err
	}
	o.PriceCents = price(product, o, now)
	return p, nil
}

// price is the product's yearly price times the order's years, rounded up.
func price(product catalog.Product, o *store.Order, now time.Time) int64 {
	if o.ValidityYears > 0 {
		// A plan of whole years costs that many years, leap days or not.
		return product.PriceCents * int64(o.ValidityYears)
	}
	// Days and end dates are charged per started 365-day year.
	days := int64(o.OrderValidTill.Sub(midnight(now)).Round(24*time.Hour).Hours() / 24)
	years := max((days+364)/365, 1)
	return product.PriceCents * years
}

// checkDCV: dcv_method is required for DV (seed 001) and optional
// elsewhere; wildcard names cannot use http-token. The DV dcv_emails
// scopes are checked against the names.
func (s *Service) checkDCV(product catalog.Product, in *CreateInput, p *plan, list *errs.List) {
	o := &p.order
	if len(product.DCVMethods) == 0 {
		return // code signing and client certificates validate no domains
	}
	m := strings.TrimSpace(in.DCVMethod)
	switch {
	case m == "" && product.DCVRequired:
		list.Add(errs.MissingField("dcv_method"))
		return
	case m == "":
		m = "email"
	default:
		if err := validation.CheckOrderMethod(product, m, p.names); err != nil {
			list.Add(err)
			return
		}
	}
	o.DCVMethod = m
	// certificate_dcv_scope (seed 004) is read for every product that
	// validates domains: it decides which name each name is proven by.
	switch scope := strings.TrimSpace(in.CertificateDCVScope); scope {
	case "", "base_domain", "fqdn":
		o.Extra.CertificateDCVScope = scope
	default:
		list.Add(errs.InvalidValue("certificate_dcv_scope", "certificate_dcv_scope must be base_domain or fqdn."))
	}
	if product.Family == catalog.FamilyDV && len(in.DCVEmails) > 0 {
		checkDCVEmails(in.DCVEmails, p.names, o, list)
	}
}

// checkDCVEmailRecipients, once every cheap rule has passed: each address
// a dcv_emails scope chose must be one that may validate its email_domain
// (it may cost DNS lookups).
func (s *Service) checkDCVEmailRecipients(ctx context.Context, o *store.Order) error {
	var list errs.List
	for _, sc := range o.Extra.DCVEmails {
		if sc.Email != "" {
			s.Validation.CheckRecipients(ctx, "dcv_emails", sc.EmailDomain, []string{sc.Email}, &list)
		}
	}
	return list.Err()
}

// checkCACert: certificate.ca_cert_id picks one of the issuing
// intermediates GET /product lists for the product; any other id is
// refused. Seed 004: "This parameter is ignored if the option for ICA
// selection is not enabled for your account", and clients send other
// things in it (a Terraform provider sends the product's name), so
// without the account option it is not even read.
func (s *Service) checkCACert(acct *store.Account, product catalog.Product, id flex.String, o *store.Order, list *errs.List) {
	if acct == nil || !acct.IssuingCASelection {
		return
	}
	v := strings.TrimSpace(id.V)
	if id.Bad {
		list.Add(errs.InvalidValue("ca_cert_id", "ca_cert_id must be a string."))
		return
	}
	if v == "" || s.CA == nil {
		return
	}
	for _, iss := range s.CA.IssuersFor(ca.Purpose(product.Purpose)) {
		if strings.EqualFold(iss.ID, v) {
			o.CACertID = iss.ID
			// Refused now rather than at signing, which may come days later
			// after approval: an order that can never issue is no order.
			if o.SignatureHash != "" && !iss.CanSign(o.SignatureHash) {
				list.Add(errs.InvalidValue("signature_hash", "The issuing CA %s (%s) cannot sign with %s; choose another signature_hash or ca_cert_id.",
					iss.ID, iss.Name, o.SignatureHash))
			}
			return
		}
	}
	list.Add(errs.InvalidValue("ca_cert_id", "%q is not an issuing CA allowed for %s; GET /product/%s lists the allowed ones.", v, product.NameID, product.NameID))
}

func (s *Service) checkNames(product catalog.Product, c *CertificateInput, p *plan, list *errs.List) {
	o := &p.order
	allowWild := product.Wildcards != catalog.WildcardNone
	cnRaw := strings.TrimSpace(c.CommonName)
	if cnRaw == "" {
		list.Add(errs.MissingField("common_name"))
		return
	}
	cn, err := validation.NormalizeDNSName(cnRaw, allowWild)
	if err != nil {
		list.Add(errs.InvalidValue("common_name", "common_name: %v.", err))
		return
	}
	if len(cn) > 64 {
		list.Add(errs.InvalidValue("common_name", "common_name must be at most 64 characters; put longer names in dns_names."))
		return
	}
	base := ""
	if product.Wildcards == catalog.WildcardRequired {
		if !strings.HasPrefix(cn, "*.") {
			list.Add(errs.InvalidValue("common_name", "The common name of a wildcard certificate must be a wildcard name such as *.example.com."))
			return
		}
		base = strings.TrimPrefix(cn, "*.")
	}
	names := []string{cn}
	seen := map[string]bool{cn: true}
	bad := false
	for _, raw := range c.DNSNames {
		if strings.TrimSpace(raw) == "" {
			continue // empty strings are tolerated, as clients send them
		}
		n, err := validation.NormalizeDNSName(raw, allowWild)
		if err != nil {
			list.Add(errs.InvalidValue("dns_names", "dns_names: %v.", err))
			bad = true
			continue
		}
		if seen[n] {
			continue
		}
		switch {
		case base != "" && n != base && !strings.HasSuffix(n, "."+base):
			list.Add(errs.InvalidValue("dns_names", "%q is not covered by %s; a wildcard certificate secures the base domain and names under it.", n, cn))
			bad = true
			continue
		case base != "" && strings.HasPrefix(n, "*."):
			list.Add(errs.InvalidValue("dns_names", "%q: a wildcard certificate carries one wildcard name, its common name.", n))
			bad = true
			continue
		case !product.MultiDomain && base == "" && n != validation.WWWTwin(cn):
			list.Add(errs.InvalidValue("dns_names", "%s secures one name and its www twin; %q needs a multi-domain product.", product.Name, n))
			bad = true
			continue
		}
		seen[n] = true
		names = append(names, n)
	}
	if base == "" && product.Wildcards == catalog.WildcardCovered && strings.HasPrefix(cn, "*.") {
		// GeoTrust Wildcard DV, like every wildcard product, adds the base
		// domain of its wildcard common name at no charge.
		base = strings.TrimPrefix(cn, "*.")
	}
	if base != "" && !seen[base] {
		// Wildcard certificates also secure their base domain.
		seen[base] = true
		names = append(names, base)
	}
	if product.Wildcards == catalog.WildcardCovered {
		// GeoTrust Wildcard DV: every name is a wildcard, or the base
		// domain or a direct child of a wildcard on the order.
		for _, n := range names {
			if !strings.HasPrefix(n, "*.") && !coveredByWildcard(n, names) {
				list.Add(errs.InvalidValue("dns_names", "%q is neither a wildcard nor covered by a wildcard name on this order.", n))
				bad = true
			}
		}
	}
	if len(names) > product.MaxNames {
		list.Add(errs.InvalidValue("dns_names", "%s allows at most %d names; the order has %d.", product.Name, product.MaxNames, len(names)))
		bad = true
	}
	if bad {
		return
	}
	o.CommonName = cn
	o.DNSNames = names
	p.names = names
}

// coveredByWildcard: n is the base domain of, or one label under, a
// wildcard in names.
func coveredByWildcard(n string, names []string) bool {
	for _, w := range names {
		if !strings.HasPrefix(w, "*.") {
			continue
		}
		base := w[2:]
		if n == base {
			return true
		}
		if strings.HasSuffix(n, "."+base) && !strings.Contains(strings.TrimSuffix(n, "."+base), ".") {
			return true
		}
	}
	return false
}

// checkKeySource parses certificate.csr (X9 also takes a bare public
// key) and holds its key to the profile's rules, then refuses a key that
// was revoked for keyCompromise. An absent CSR is an error only where the
// product needs one at order time. Refusals go to list; the error is a
// store failure.
func (s *Service) checkKeySource(ctx context.Context, product catalog.Product, raw string, required bool, p *plan, list *errs.List) error {
	if strings.TrimSpace(raw) == "" {
		if required {
			list.Add(errs.MissingField("csr"))
		}
		return nil
	}
	// parseKeySource holds every key to CheckKey's rules before it checks
	// a signature; the profile's own rules follow.
	ks, err := parseKeySource(raw, product.Family == catalog.FamilyX9)
	if err == nil {
		err = ca.CheckKeyFor(ca.Profile(product.Profile), ks.pub)
	}
	switch {
	case errors.Is(err, ca.ErrWeakKey):
		want := "RSA of 2048 to 8192 bits, or ECDSA P-256 or P-384"
		if product.Family == catalog.FamilyCodeSigning {
			want = "RSA of 3072 to 8192 bits, or ECDSA P-256 or P-384 (Code Signing Baseline Requirements)"
		}
		list.Add(errs.New(errs.Invalid, "csr_invalid_key", "The CSR's key is not allowed: %v. Use %s.", err, want))
		return nil
	case errors.Is(err, ca.ErrCSRTooLarge):
		list.Add(errs.New(errs.Invalid, "csr_invalid_cannot_parse", "The CSR is too large: %v.", err))
		return nil
	case errors.Is(err, ca.ErrCSRSignature):
		list.Add(errs.New(errs.Invalid, "csr_invalid_signature", "The CSR's signature does not verify."))
		return nil
	case err != nil:
		list.Add(errs.New(errs.Invalid, "csr_invalid_cannot_parse", "The CSR could not be parsed."))
		return nil
	}
	if err := s.refuseBlockedKey(ctx, s.Store, ks.pub); err != nil {
		var e *errs.Error
		if errors.As(err, &e) && e.Kind == errs.Invalid {
			list.Add(e)
			return nil
		}
		return err
	}
	p.pub = ks.pub
	p.order.CSR = ks.canonical
	return nil
}

// errKeyCompromised refuses a key that a revocation for keyCompromise
// blocked. It says nothing of whose certificate that was: blocks hold
// across accounts, and the refusal itself is all another account learns.
func errKeyCompromised() *errs.Error {
	return errs.New(errs.Invalid, "csr_key_compromised",
		"The CSR's key was reported compromised (a certificate with it was revoked for key_compromise) and cannot be certified again. Generate a new key.")
}

// refuseBlockedKey returns errKeyCompromised when pub is blocked (Baseline
// Requirements 6.1.1.3), an internal error when r cannot tell.
func (s *Service) refuseBlockedKey(ctx context.Context, r store.BlockedKeyReader, pub crypto.PublicKey) error {
	fp, err := ca.KeyFingerprint(pub)
	if err != nil {
		return errs.Internalf(err, "key fingerprint")
	}
	_, err = r.BlockedKey(ctx, fp)
	switch {
	case err == nil:
		return errKeyCompromised()
	case errors.Is(err, store.ErrNotFound):
		return nil
	default:
		return errs.Internalf(err, "read blocked keys")
	}
}

// PaymentMethods are the payment_method values an order takes, the
// default first: the account's balance, a card given with the order, or
// the card on the account's profile.
var PaymentMethods = []string{"balance", "card", "profile"}

func (s *Service) checkPayment(product catalog.Product, in *CreateInput, o *store.Order, now time.Time, list *errs.List) {
	m := strings.TrimSpace(in.PaymentMethod)
	if m == "" {
		m = "balance"
	}
	o.PaymentMethod = m
	switch m {
	case "balance", "profile":
	case "card":
		cc := in.CreditCard
		if cc == nil {
			list.Add(errs.MissingField("credit_card"))
			return
		}
		num := strings.Map(func(r rune) rune {
			if r == ' ' || r == '-' {
				return -1
			}
			return r
		}, cc.Number)
		if !luhn(num) {
			list.Add(errs.InvalidValue("credit_card", "The card number is not valid."))
			return
		}
		mo, yr := cc.Expiration.Month.V, cc.Expiration.Year.V
		if cc.ExpirationMonth.Set || cc.ExpirationYear.Set {
			mo, yr = cc.ExpirationMonth.V, cc.ExpirationYear.V
		}
		if yr < 100 {
			yr += 2000
		}
		if mo < 1 || mo > 12 || yr < int64(now.Year()) || yr == int64(now.Year()) && mo < int64(now.Month()) {
			list.Add(errs.InvalidValue("credit_card", "The card has expired or its expiration date is not valid."))
			return
		}
		if cvv := cc.CVV.V; cc.CVV.Bad || cvv != "" && (len(cvv) < 3 || len(cvv) > 4 || !allDigits(cvv)) {
			list.Add(errs.InvalidValue("credit_card", "The card security code is not valid."))
			return
		}
		if product.Family == catalog.FamilyX9 {
			// Seed 004 requires the cardholder and a billing address.
			if strings.TrimSpace(cc.CardholderName) == "" {
				list.Add(errs.MissingField("credit_card.cardholder_name"))
				return
			}
			if !s.checkBillingAddress(in.BillingAddress, o, list) {
				return
			}
			o.Extra.CardholderName = strings.TrimSpace(cc.CardholderName)
			o.Extra.VATNumber = strings.TrimSpace(in.VATNumber)
		}
		// Only the last four digits outlive this request.
		o.CardLast4 = num[len(num)-4:]
	default:
		list.Add(errs.InvalidValue("payment_method", "payment_method must be one of balance, card, profile."))
	}
}

// checkBillingAddress: address, city and country are required; state and
// zip are optional, as some countries have none.
func (s *Service) checkBillingAddress(in *BillingAddressInput, o *store.Order, list *errs.List) bool {
	if in == nil {
		list.Add(errs.MissingField("billing_address"))
		return false
	}
	b := store.BillingAddress{Address: strings.TrimSpace(in.Address), Address2: strings.TrimSpace(in.Address2),
		City: strings.TrimSpace(in.City), State: strings.TrimSpace(in.State), Country: strings.ToLower(strings.TrimSpace(in.Country)),
		Zip: strings.TrimSpace(in.Zip)}
	for _, f := range []struct{ name, v string }{{"address", b.Address}, {"city", b.City}, {"country", b.Country}} {
		if f.v == "" {
			list.Add(errs.MissingField("billing_address." + f.name))
			return false
		}
	}
	if !validation.ValidCountry(b.Country) {
		list.Add(errs.InvalidValue("billing_address", "billing_address.country must be an ISO 3166-1 alpha-2 code."))
		return false
	}
	o.Extra.BillingAddress = &b
	return true
}

func luhn(num string) bool {
	if len(num) < 12 || len(num) > 19 || !allDigits(num) {
		return false
	}
	sum := 0
	double := false
	for i := len(num) - 1; i >= 0; i-- {
		d := int(num[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

func (s *Service) checkOrganization(ctx context.Context, actor account.Actor, product catalog.Product, in *validation.OrganizationInput, p *plan, now time.Time) error {
	if in == nil {
		return errs.MissingField("organization")
	}
	if in.ID.Bad {
		return errs.InvalidValue("organization", "organization.id must be an integer.")
	}
	if in.ID.Set {
		org, err := s.Store.Organization(ctx, actor.Account.ID, in.ID.V)
		if errors.Is(err, store.ErrNotFound) {
			return errs.InvalidValue("organization", "Organization %d was not found in this account.", in.ID.V)
		}
		if err != nil {
			return errs.Internalf(err, "read organization")
		}
		if !org.IsActive {
			return errs.InvalidValue("organization", "Organization %d is not active.", org.ID)
		}
		if isEV(product) && !hasEVDetails(org) {
			return errs.InvalidValue("organization", "Organization %d lacks the jurisdiction, business category and registration number an EV certificate needs.", org.ID)
		}
		p.org = org
		p.order.OrganizationID = org.ID
		return nil
	}
	// A new organization created with the order, unless an identical one
	// exists (the duplicate check POST /organization shares).
	org, dup, err := validation.NewOrganization(ctx, s.Store, actor, in, true, now)
	if err != nil {
		return err
	}
	if dup != nil {
		// The seed's duplicate check: reuse the matching organization.
		p.org = dup
		p.order.OrganizationID = dup.ID
		if isEV(product) && !hasEVDetails(dup) {
			return errs.InvalidValue("organization", "Organization %d lacks the EV details an EV certificate needs.", dup.ID)
		}
		return nil
	}
	if isEV(product) && !hasEVDetails(org) {
		return errs.InvalidValue("organization", "An EV order needs organization.jurisdiction_country, business_category and registration_number.")
	}
	p.newOrg = org
	return nil
}

func hasEVDetails(o *store.Organization) bool {
	return o.JurisdictionCountry != "" && o.BusinessCategory != "" && o.RegistrationNumber != ""
}

func (s *Service) checkContainer(ctx context.Context, actor account.Actor, in *flex.IDInput, o *store.Order) error {
	o.ContainerID = actor.User.ContainerID
	// No container has id 0: Go clients send {"id":0} for "not set" (a
	// zero struct), and mean the caller's container.
	if in == nil || !in.ID.Set && !in.ID.Bad || in.ID.Set && !in.ID.Bad && in.ID.V == 0 {
		return nil
	}
	if in.ID.Bad {
		return errs.InvalidValue("container", "container.id must be an integer.")
	}
	c, err := s.Store.Container(ctx, actor.Account.ID, in.ID.V)
	if errors.Is(err, store.ErrNotFound) {
		return errs.InvalidValue("container", "Container %d was not found in this account.", in.ID.V)
	}
	if err != nil {
		return errs.Internalf(err, "read container")
	}
	if !c.IsActive {
		return errs.InvalidValue("container", "Container %d is not active.", c.ID)
	}
	o.ContainerID = c.ID
	return nil
}

func (s *Service) checkCustomFields(ctx context.Context, actor account.Actor, in []CustomFieldInput, o *store.Order) error {
	defs, err := s.Store.Metadata(ctx, actor.Account.ID)
	if err != nil {
		return errs.Internalf(err, "read custom fields")
	}
	byID := map[int64]store.Metadata{}
	for _, d := range defs {
		if d.IsActive {
			byID[d.ID] = d
		}
	}
	var list errs.List
	given := map[int64]bool{}
	for _, f := range in {
		if f.MetadataID.Bad || !f.MetadataID.Set {
			list.Add(errs.InvalidValue("custom_fields", "Each custom field needs an integer metadata_id."))
			continue
		}
		d, ok := byID[f.MetadataID.V]
		if !ok {
			list.Add(errs.InvalidValue("custom_fields", "Custom field %d is not defined for this account.", f.MetadataID.V))
			continue
		}
		v := strings.TrimSpace(f.Value.V)
		if f.Value.Bad || v == "" {
			list.Add(errs.InvalidValue("custom_fields", "Custom field %d needs a value.", d.ID))
			continue
		}
		if msg := checkFieldType(d.DataType, v); msg != "" {
			list.Add(errs.InvalidValue("custom_fields", "Custom field %q: %s", d.Label, msg))
			continue
		}
		given[d.ID] = true
		o.CustomFields = append(o.CustomFields, store.CustomField{MetadataID: d.ID, Value: v})
	}
	for _, d := range defs {
		if d.IsActive && d.IsRequired && !given[d.ID] {
			list.Add(errs.InvalidValue("custom_fields", "Custom field %q (metadata_id %d) is required.", d.Label, d.ID))
		}
	}
	return list.Err()
}

func checkFieldType(dataType, v string) string {
	switch dataType {
	case "int":
		if !allDigits(strings.TrimPrefix(v, "-")) {
			return "the value must be an integer."
		}
	case "email_address":
		if !account.ValidEmail(v) {
			return "the value must be an email address."
		}
	case "email_list":
		for _, e := range strings.Split(v, ",") {
			if !account.ValidEmail(strings.TrimSpace(e)) {
				return "the value must be a comma-separated list of email addresses."
			}
		}
	}
	return ""
}

func (s *Service) checkRenewal(ctx context.Context, actor account.Actor, product catalog.Product, in *CreateInput, p *plan) error {
	var old *store.Order
	var err error
	field := "renewal_of_order_id"
	switch {
	case in.RenewalOfOrderID.Bad:
		return errs.InvalidValue("renewal_of_order_id", "renewal_of_order_id must be an integer.")
	case in.RenewalOfOrderID.Set && in.RenewalOfOrderID.V != 0:
		old, err = s.Store.Order(ctx, actor.Account.ID, in.RenewalOfOrderID.V)
		if errors.Is(err, store.ErrNotFound) {
			return errs.InvalidValue("renewal_of_order_id", "Order %d was not found in this account.", in.RenewalOfOrderID.V)
		}
	case strings.TrimSpace(in.RenewedThumbprint) != "":
		tp := strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(in.RenewedThumbprint), ":", ""))
		old, err = s.Store.OrderByCertificate(ctx, actor.Account.ID, "", tp)
		if errors.Is(err, store.ErrNotFound) {
			return errs.InvalidValue("renewed_thumbprint", "No order of this account has a primary certificate with that thumbprint.")
		}
		p.order.RenewedThumbprint = tp
		field = "renewed_thumbprint"
	default:
		return nil
	}
	if err != nil {
		return errs.Internalf(err, "read renewed order")
	}
	if old.IsRenewed {
		return errs.InvalidValue(field, "Order %d has already been renewed.", old.ID)
	}
	if old.Status != store.OrderIssued && old.Status != store.OrderExpired {
		return errs.InvalidValue(field, "Order %d is %s; only issued or expired orders can be renewed.", old.ID, old.Status)
	}
	p.renewalOf, p.renewalField = old, field
	p.order.RenewalOfOrderID = old.ID
	return nil
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func containsInt(list []int, v int64) bool {
	for _, x := range list {
		if int64(x) == v {
			return true
		}
	}
	return false
}

func cleanStrings(in []string) []string {
	var out []string
	for _, s := range in {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
