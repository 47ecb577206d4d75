package order

import (
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/ca"
	"github.com/certorder/certorder/internal/catalog"
	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/validation"
)

// The request rules that belong to one seed document each. validate calls
// them by product family; the shared rules stay in create.go.

// maxClientEmails bounds certificate.emails. [not found] in the seeds; a
// certificate for one person rarely carries more.
const maxClientEmails = 10

// checkClientNames: seed 003 — common_name is a person's or mailbox name,
// emails are required and become rfc822Name SANs.
func checkClientNames(product catalog.Product, c *CertificateInput, o *store.Order, list *errs.List) {
	cn := strings.TrimSpace(c.CommonName)
	switch {
	case cn == "":
		list.Add(errs.MissingField("common_name"))
	case len(cn) > 64:
		list.Add(errs.InvalidValue("common_name", "common_name must be at most 64 characters."))
	case strings.Contains(cn, "@") && personNamed(product):
		list.Add(errs.InvalidValue("common_name", "%s certificates name a person: common_name must be the person's name, not an address.", product.NameID))
	default:
		o.CommonName = cn
	}
	emails := cleanStrings(c.Emails)
	if len(emails) == 0 {
		list.Add(errs.MissingField("emails"))
		return
	}
	seen := map[string]bool{}
	for _, e := range emails {
		norm, ok := normalizeMailbox(e)
		if !ok {
			list.Add(errs.InvalidValue("emails", "%q is not an email address a certificate can carry.", e))
			return
		}
		if !seen[norm] {
			seen[norm] = true
			o.Emails = append(o.Emails, norm)
		}
	}
	if len(o.Emails) > maxClientEmails {
		list.Add(errs.InvalidValue("emails", "A client certificate carries at most %d email addresses.", maxClientEmails))
		o.Emails = nil
	}
}

// personNamed: sponsor-validated S/MIME subjects must carry the person's
// given name or surname, taken from common_name (see splitPersonName).
func personNamed(p catalog.Product) bool {
	return p.Profile == string(ca.ProfileSMIMESponsor) || p.Profile == string(ca.ProfileSMIMESponsorMulti)
}

// normalizeMailbox checks an address for an rfc822Name SAN: ASCII local
// part, a public domain name (IDNs become A-labels), lower-case domain.
func normalizeMailbox(e string) (string, bool) {
	if !account.ValidEmail(e) {
		return "", false
	}
	at := strings.LastIndex(e, "@")
	local, domain := e[:at], e[at+1:]
	for _, r := range local {
		if r > 0x7e || r <= 0x20 {
			return "", false // SmtpUTF8Mailbox is not supported
		}
	}
	d, err := validation.NormalizeDNSName(domain, false)
	if err != nil {
		return "", false
	}
	return local + "@" + d, true
}

// checkX9Names: seed 004 — FQDNs and IP addresses, no wildcards. IP
// addresses must be public: the certificates are linted with the CA/B
// Forum rules, which refuse reserved ranges.
func checkX9Names(product catalog.Product, c *CertificateInput, p *plan, list *errs.List) {
	o := &p.order
	raw := append([]string{c.CommonName}, c.DNSNames...)
	if strings.TrimSpace(c.CommonName) == "" {
		list.Add(errs.MissingField("common_name"))
		return
	}
	var dns, ips []string
	seen := map[string]bool{}
	bad := false
	for i, r := range raw {
		r = strings.TrimSpace(r)
		if r == "" {
			continue
		}
		field := "dns_names"
		if i == 0 {
			field = "common_name"
		}
		if addr, err := netip.ParseAddr(strings.Trim(r, "[]")); err == nil {
			if !publicIP(addr) {
				list.Add(errs.InvalidValue(field, "%q is a private or reserved IP address.", r))
				bad = true
				continue
			}
			s := addr.Unmap().String()
			if !seen[s] {
				seen[s] = true
				ips = append(ips, s)
				if i == 0 {
					o.CommonName = s
				}
			}
			continue
		}
		n, err := validation.NormalizeDNSName(r, false)
		if err != nil {
			list.Add(errs.InvalidValue(field, "%s: %v.", field, err))
			bad = true
			continue
		}
		if i == 0 && len(n) > 64 {
			list.Add(errs.InvalidValue("common_name", "common_name must be at most 64 characters; put longer names in dns_names."))
			bad = true
			continue
		}
		if !seen[n] {
			seen[n] = true
			dns = append(dns, n)
			if i == 0 {
				o.CommonName = n
			}
		}
	}
	if len(dns)+len(ips) > product.MaxNames {
		list.Add(errs.InvalidValue("dns_names", "%s allows at most %d names; the order has %d.", product.Name, product.MaxNames, len(dns)+len(ips)))
		bad = true
	}
	if bad {
		o.CommonName = ""
		return
	}
	o.DNSNames, o.IPAddresses, p.names = dns, ips, dns
}

// publicIP refuses what IANA reserves (private, loopback, link-local,
// documentation, CGNAT, multicast, benchmarking ...).
func publicIP(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsGlobalUnicast() || a.IsPrivate() {
		return false
	}
	for _, p := range reservedPrefixes {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

var reservedPrefixes = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8", "100.64.0.0/10", "192.0.0.0/24", "192.0.2.0/24", "198.18.0.0/15", "198.51.100.0/24",
		"203.0.113.0/24", "240.0.0.0/4", "2001::/23", "2001:db8::/32", "2002::/16", "64:ff9b::/96", "100::/64", "3fff::/20",
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// X9KeyUsages are seed 004's key_usages, the default first;
// key_agreement_encipherment becomes keyAgreement on an ECDSA key and
// keyEncipherment on an RSA key.
var X9KeyUsages = []string{"digital_signature", "key_agreement_encipherment"}

// X9ExtendedKeyUsages are seed 004's extended_key_usages; an order naming
// none gets both.
var X9ExtendedKeyUsages = []string{"server_authentication", "client_authentication"}

var x9KeyUsageNames, x9EKUNames = nameSet(X9KeyUsages), nameSet(X9ExtendedKeyUsages)

func nameSet(names []string) map[string]bool {
	m := map[string]bool{}
	for _, n := range names {
		m[n] = true
	}
	return m
}

// checkX9Extras: key usages, EKUs, the subscriber agreement, DCV scope,
// promo code and contacts of seed 004.
func (s *Service) checkX9Extras(in *CreateInput, o *store.Order, list *errs.List) {
	c := in.Certificate
	kus := cleanStrings(c.KeyUsages)
	for _, k := range kus {
		if !x9KeyUsageNames[k] {
			list.Add(errs.InvalidValue("key_usages", "key_usages may hold digital_signature and key_agreement_encipherment; %q is not allowed.", k))
			kus = nil
			break
		}
	}
	if len(kus) == 0 {
		kus = []string{X9KeyUsages[0]}
	}
	o.Extra.KeyUsages = dedupe(kus)
	ekus := cleanStrings(c.ExtendedKeyUsages)
	for _, k := range ekus {
		if !x9EKUNames[k] {
			list.Add(errs.InvalidValue("extended_key_usages", "extended_key_usages may hold server_authentication and client_authentication; %q is not allowed.", k))
			ekus = nil
			break
		}
	}
	if len(ekus) == 0 {
		ekus = slices.Clone(X9ExtendedKeyUsages)
	}
	o.Extra.ExtendedKeyUsages = dedupe(ekus)

	// csa_agreed_to defaults to true (seed 004); false means no agreement.
	switch {
	case in.CSAAgreedTo.Bad:
		list.Add(errs.InvalidValue("csa_agreed_to", "csa_agreed_to must be true or false."))
	case in.CSAAgreedTo.Set && !in.CSAAgreedTo.V:
		list.Add(errs.InvalidValue("csa_agreed_to", "The Certificate Subscriber Agreement must be agreed to (csa_agreed_to: true)."))
	default:
		o.Extra.CSAAgreedTo = true
	}
	if len(in.PromoCode) > 64 {
		list.Add(errs.InvalidValue("promo_code", "promo_code must be at most 64 characters."))
	}
	o.Extra.PromoCode = strings.TrimSpace(in.PromoCode)
	o.Extra.VATNumber = strings.TrimSpace(in.VATNumber)
	if len(o.Extra.VATNumber) > 32 {
		list.Add(errs.InvalidValue("vat_number", "vat_number must be at most 32 characters."))
	}
	for _, ct := range []struct {
		field string
		in    *validation.ContactInput
		out   **store.Contact
	}{{"organization_contact", in.OrganizationContact, &o.Extra.OrganizationContact}, {"technical_contact", in.TechnicalContact, &o.Extra.TechnicalContact}} {
		if ct.in == nil {
			continue
		}
		if e := checkContact(ct.field, ct.in, false); e != nil {
			list.Add(e)
			continue
		}
		*ct.out = ct.in.StoreContact()
	}
}

// checkContact: first_name, last_name and a valid email are required;
// withPhone adds telephone (seed 001's technical_contact).
func checkContact(field string, c *validation.ContactInput, withPhone bool) error {
	var missing []string
	if strings.TrimSpace(c.FirstName) == "" {
		missing = append(missing, "first_name")
	}
	if strings.TrimSpace(c.LastName) == "" {
		missing = append(missing, "last_name")
	}
	if strings.TrimSpace(c.Email) == "" {
		missing = append(missing, "email")
	}
	if withPhone && strings.TrimSpace(c.Telephone) == "" {
		missing = append(missing, "telephone")
	}
	if len(missing) > 0 {
		return errs.MissingField(field + "." + missing[0])
	}
	if !account.ValidEmail(strings.TrimSpace(c.Email)) {
		return errs.InvalidValue(field, "%q is not a valid email address.", c.Email)
	}
	return nil
}

// checkOrgContacts: organization.contacts of seed 004 — each names a
// contact_type and either an existing user_id of the account or a full
// new contact.
func (s *Service) checkOrgContacts(users func(int64) bool, in []validation.OrgContactInput, o *store.Order, list *errs.List) {
	for _, c := range in {
		var target **store.Contact
		switch c.ContactType {
		case "organization_contact":
			target = &o.Extra.OrganizationContact
		case "technical_contact":
			target = &o.Extra.TechnicalContact
		case "verified_contact", "ev_approver": // ev_approver: CertCentral's label before verified_contact
		default:
			list.Add(errs.InvalidValue("organization", "contact_type must be organization_contact, technical_contact or verified_contact."))
			return
		}
		var ct store.Contact
		switch {
		case c.UserID.Bad:
			list.Add(errs.InvalidValue("organization", "contacts[].user_id must be an integer."))
			return
		case c.UserID.Set:
			if !users(c.UserID.V) {
				list.Add(errs.InvalidValue("organization", "User %d was not found in this account.", c.UserID.V))
				return
			}
			ct = store.Contact{UserID: c.UserID.V}
		default:
			cin := c.ContactInput
			if e := checkContact("organization.contacts", &cin, false); e != nil {
				list.Add(e)
				return
			}
			if strings.TrimSpace(cin.JobTitle) == "" || strings.TrimSpace(cin.Telephone) == "" {
				list.Add(errs.MissingField("organization.contacts.job_title"))
				return
			}
			ct = *cin.StoreContact()
		}
		if target == nil {
			o.Extra.VerifiedContacts = append(o.Extra.VerifiedContacts, ct)
			continue
		}
		// Root-level contacts, checked later, override these for the order.
		v := ct
		*target = &v
	}
}

// csProvisioningMethods: spec §7.4.
var csProvisioningMethods = map[string]bool{"ship_token": true, "client_app": true, "email": true}

// checkCodeSigningExtras: seed 002 — cs_provisioning_method (required for
// EV), ship_info when a token is shipped, and when a CSR is required.
func checkCodeSigningExtras(product catalog.Product, in *CreateInput, o *store.Order, list *errs.List) {
	ev := product.Profile == string(ca.ProfileEVCodeSigning)
	m := strings.TrimSpace(in.CSProvisioningMethod)
	switch {
	case m == "" && ev:
		list.Add(errs.MissingField("cs_provisioning_method"))
	case m != "" && !csProvisioningMethods[m]:
		list.Add(errs.InvalidValue("cs_provisioning_method", "cs_provisioning_method must be ship_token, client_app or email."))
	}
	if m == "" {
		// Spec §7.4: without a method the account default applies; ours is
		// installing on the customer's own token, which names its platform.
		m = "client_app"
	}
	o.Extra.CSProvisioningMethod = m
	if m == "client_app" && in.Certificate.ServerPlatform == nil {
		list.Add(errs.MissingField("server_platform"))
	}
	// ship_info only matters for ship_token, but a malformed one is refused
	// whatever the method, so a mistake in it never passes silently.
	if si := in.ShipInfo; si != nil {
		info := store.ShipInfo{Name: strings.TrimSpace(si.Name), Addr1: strings.TrimSpace(si.Addr1), Addr2: strings.TrimSpace(si.Addr2),
			City: strings.TrimSpace(si.City), State: strings.TrimSpace(si.State), Zip: strings.TrimSpace(si.Zip),
			Country: strings.ToLower(strings.TrimSpace(si.Country)), Method: strings.ToUpper(strings.TrimSpace(si.Method))}
		for _, f := range []struct{ name, v string }{{"name", info.Name}, {"addr1", info.Addr1}, {"city", info.City},
			{"state", info.State}, {"zip", info.Zip}, {"country", info.Country}, {"method", info.Method}} {
			if f.v == "" {
				list.Add(errs.MissingField("ship_info." + f.name))
				return
			}
		}
		if !validation.ValidCountry(info.Country) {
			list.Add(errs.InvalidValue("ship_info", "ship_info.country must be an ISO 3166-1 alpha-2 code."))
			return
		}
		if info.Method != "STANDARD" && info.Method != "EXPEDITED" {
			list.Add(errs.InvalidValue("ship_info", "ship_info.method must be STANDARD or EXPEDITED."))
			return
		}
		o.Extra.ShipInfo = &info
	}
}

// csrRequired says whether the order cannot be placed without a CSR: TLS
// and X9 always; code signing for the email (own HSM) method and the Sun
// Java platform (55); client certificates never (the order waits in
// needs_csr).
func csrRequired(product catalog.Product, in *CreateInput) bool {
	switch product.Family {
	case catalog.FamilyCodeSigning:
		if strings.TrimSpace(in.CSProvisioningMethod) == "email" {
			return true
		}
		sp := in.Certificate.ServerPlatform
		return sp != nil && sp.ID.Set && sp.ID.V == 55
	case catalog.FamilyClient:
		return false
	default:
		return true
	}
}

// checkDCVEmails: seed 001's dcv_emails — each scope names a name on the
// order and an email_domain that is that name or one of its parents, at
// least the registrable domain.
func checkDCVEmails(in []DCVEmailInput, names []string, o *store.Order, list *errs.List) {
	onOrder := map[string]bool{}
	for _, n := range names {
		onOrder[strings.TrimPrefix(n, "*.")] = true
		onOrder[n] = true
	}
	for _, d := range in {
		name := strings.ToLower(strings.TrimSpace(d.DNSName))
		domain := strings.ToLower(strings.TrimSpace(d.EmailDomain))
		email := strings.TrimSpace(d.Email)
		switch {
		case name == "":
			list.Add(errs.MissingField("dcv_emails.dns_name"))
			return
		case domain == "":
			list.Add(errs.MissingField("dcv_emails.email_domain"))
			return
		case !onOrder[name]:
			list.Add(errs.InvalidValue("dcv_emails", "%q is not a name on this order.", d.DNSName))
			return
		}
		base := strings.TrimPrefix(name, "*.")
		if domain != base && !strings.HasSuffix(base, "."+domain) || !registrable(domain) {
			list.Add(errs.InvalidValue("dcv_emails", "email_domain %q must be %s or one of its parent domains.", d.EmailDomain, base))
			return
		}
		if email != "" && (!account.ValidEmail(email) || !strings.HasSuffix(strings.ToLower(email), "@"+domain)) {
			list.Add(errs.InvalidValue("dcv_emails", "%q is not an address at %s.", email, domain))
			return
		}
		o.Extra.DCVEmails = append(o.Extra.DCVEmails, store.DCVEmailScope{DNSName: name, EmailDomain: domain, Email: email})
	}
}

// registrable: at or below a registrable domain, never a public suffix.
func registrable(domain string) bool {
	_, err := validation.NormalizeDNSName(domain, false)
	return err == nil
}

func dedupe(in []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// ipStrings renders stored IP addresses for the certificate.
func parseIPs(in []string) []net.IP {
	var out []net.IP
	for _, s := range in {
		if ip := net.ParseIP(s); ip != nil {
			out = append(out, ip)
		}
	}
	return out
}

// isEV: EV TLS and EV code signing subjects carry the EV attributes.
func isEV(product catalog.Product) bool {
	return product.ValidationType == "ev" || product.ValidationType == "ev_cs"
}
