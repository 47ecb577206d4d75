package ca

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/certorder/certorder/internal/policy"
)

// Sentinels of request errors the order code maps onto request fields.
var (
	ErrIssuerPurpose   = errors.New("issuer does not issue this kind of certificate")
	ErrUsageNotAllowed = errors.New("key usage or extended key usage not allowed by the profile")
)

// PurposeOf is the issuer purpose profile p needs; "" for an unknown profile.
func PurposeOf(p Profile) Purpose {
	switch p {
	case ProfileDVTLS, ProfileOVTLS, ProfileEVTLS:
		return PurposeTLS
	case ProfileCodeSigning, ProfileEVCodeSigning:
		return PurposeCodeSigning
	case ProfileSMIMEMailbox, ProfileSMIMESponsor, ProfileSMIMESponsorMulti, ProfileClientAuth:
		return PurposeSMIME
	case ProfileX9TLS:
		return PurposeX9
	case ProfilePrivateTLS:
		return PurposePrivateTLS
	}
	return ""
}

// MaxValidity is the longest notAfter-notBefore span profile p allows for
// a certificate whose notBefore is notBefore; 0 for an unknown profile.
func MaxValidity(p Profile, notBefore time.Time) time.Duration {
	switch PurposeOf(p) {
	case PurposeTLS:
		return policy.MaxTLSValidity(notBefore)
	case PurposeCodeSigning:
		return policy.MaxCodeSigningValidity(notBefore)
	case PurposeSMIME:
		// The client authentication products share the S/MIME limit (seed 003).
		return policy.MaxSMIMEValidity
	case PurposeX9:
		// X9 is not browser PKI: SC-081's shrinking schedule does not apply.
		return policy.MaxX9Validity
	case PurposePrivateTLS:
		return policy.MaxPrivateTLSValidity
	}
	return 0
}

// CheckKeyFor checks a subscriber key against profile p: CheckKey's rules
// (RSA 2048..8192, P-256, P-384) everywhere, and RSA at least 3072 bits for
// code signing (CS BR 6.1.5). Weak keys wrap ErrWeakKey.
func CheckKeyFor(p Profile, pub crypto.PublicKey) error {
	purpose := PurposeOf(p)
	if purpose == "" {
		return fmt.Errorf("ca: unknown profile %q", p)
	}
	if err := CheckKey(pub); err != nil {
		return err
	}
	if k, ok := pub.(*rsa.PublicKey); ok && purpose == PurposeCodeSigning && k.N.BitLen() < 3072 {
		return fmt.Errorf("%w: RSA modulus of %d bits, code signing requires at least 3072", ErrWeakKey, k.N.BitLen())
	}
	return nil
}

// leafContent is what the profile decides: subject, SANs, usages, policy.
type leafContent struct {
	rawSubject  []byte
	dnsNames    []string
	emails      []string
	ips         []net.IP
	keyUsage    x509.KeyUsage
	extKeyUsage []x509.ExtKeyUsage
	policy      x509.OID
}

func leafContentFor(req LeafRequest) (*leafContent, error) {
	switch req.Profile {
	case ProfileDVTLS, ProfileOVTLS, ProfileEVTLS, ProfilePrivateTLS:
		return tlsContent(req)
	case ProfileCodeSigning, ProfileEVCodeSigning:
		return codeSigningContent(req)
	case ProfileSMIMEMailbox, ProfileSMIMESponsor, ProfileSMIMESponsorMulti:
		return smimeContent(req)
	case ProfileClientAuth:
		return clientAuthContent(req)
	case ProfileX9TLS:
		return x9Content(req)
	}
	return nil, fmt.Errorf("ca: unknown profile %q", req.Profile)
}

func tlsContent(req LeafRequest) (*leafContent, error) {
	if err := refuseSANs(req, true, false, false); err != nil {
		return nil, err
	}
	cn := req.Subject.CommonName
	if cn == "" {
		return nil, errors.New("ca: subject common name is empty")
	}
	if len(req.DNSNames) == 0 {
		return nil, errors.New("ca: no DNS names")
	}
	if !contains(req.DNSNames, cn) {
		return nil, fmt.Errorf("ca: common name %q is not among the DNS names", cn)
	}
	lc := &leafContent{dnsNames: append([]string(nil), req.DNSNames...)}
	var b rdnBuilder
	switch req.Profile {
	case ProfileDVTLS:
		lc.policy = oidDV
	case ProfileOVTLS:
		lc.policy = oidOV
		b.addOrganization(req.Subject)
	case ProfileEVTLS:
		lc.policy = oidEV
		b.addEV(req.Subject)
		b.addOrganization(req.Subject)
	case ProfilePrivateTLS:
		// The OV subject under certorder's private TLS policy: no CA/B
		// Forum policy, so nothing claims the Baseline Requirements.
		lc.policy = oidPrivateTLS
		b.addOrganization(req.Subject)
	}
	b.add(oidCommonName, cn)
	var err error
	if lc.rawSubject, err = b.der(); err != nil {
		return nil, err
	}
	if lc.keyUsage, err = pickKeyUsage(req, signingAndEncipherment(req.PublicKey, false)); err != nil {
		return nil, err
	}
	// Server authentication only: certorder offers no clientAuth opt-in.
	if lc.extKeyUsage, err = pickExtKeyUsage(req, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}); err != nil {
		return nil, err
	}
	return lc, nil
}

// codeSigningContent: CS BR 7.1.2.3 and 7.1.4.2. The subject names the
// organization (CN is its name); code signing certificates carry no SAN.
func codeSigningContent(req LeafRequest) (*leafContent, error) {
	if err := refuseSANs(req, false, false, false); err != nil {
		return nil, err
	}
	s := req.Subject
	if s.Organization == "" {
		return nil, errors.New("ca: code signing needs the organization name")
	}
	cn := s.CommonName
	if cn == "" {
		cn = s.Organization
	}
	if cn != s.Organization {
		return nil, fmt.Errorf("ca: code signing common name %q must be the organization name %q", cn, s.Organization)
	}
	lc := &leafContent{policy: oidCodeSigning}
	var b rdnBuilder
	if req.Profile == ProfileEVCodeSigning {
		// zlint's EV lints select EV TLS policies only, so check here what
		// the EV Guidelines (9.2) require of the subject.
		if s.BusinessCategory == "" || s.JurisdictionCountry == "" || s.RegistrationNumber == "" {
			return nil, errors.New("ca: EV code signing needs business category, jurisdiction country and registration number")
		}
		lc.policy = oidEVCodeSigning
		b.addEV(s)
	}
	b.addOrganization(s)
	b.add(oidCommonName, cn)
	var err error
	if lc.rawSubject, err = b.der(); err != nil {
		return nil, err
	}
	if lc.keyUsage, err = pickKeyUsage(req, x509.KeyUsageDigitalSignature); err != nil {
		return nil, err
	}
	if lc.extKeyUsage, err = pickExtKeyUsage(req, []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}); err != nil {
		return nil, err
	}
	return lc, nil
}

// smimeContent: S/MIME BR 7.1.2.3 (strict and multipurpose generations) and
// 7.1.4.2 (subject by validation type).
func smimeContent(req LeafRequest) (*leafContent, error) {
	if err := refuseSANs(req, false, true, false); err != nil {
		return nil, err
	}
	if err := checkEmails(req.Emails); err != nil {
		return nil, err
	}
	s := req.Subject
	lc := &leafContent{emails: append([]string(nil), req.Emails...)}
	var b rdnBuilder
	// By default the key both signs and encrypts mail: keyEncipherment for
	// RSA, keyAgreement (ECDH) for ECDSA.
	defKU := signingAndEncipherment(req.PublicKey, true)
	var allowedKU []x509.KeyUsage
	lc.extKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection}
	switch req.Profile {
	case ProfileSMIMEMailbox:
		// Mailbox-validated: the subject is the mailbox and nothing else
		// (7.1.4.2.2, only CN, emailAddress and serialNumber allowed).
		lc.policy = oidSMIMEMailboxStrict
		cn := s.CommonName
		if cn == "" {
			cn = req.Emails[0]
		}
		if !contains(req.Emails, cn) {
			return nil, fmt.Errorf("ca: mailbox-validated common name %q must be one of the email addresses", cn)
		}
		b.add(oidCommonName, cn)
	case ProfileSMIMESponsor, ProfileSMIMESponsorMulti:
		lc.policy = oidSMIMESponsorStrict
		// Signing-only (e.g. a document signing product) is a strict use.
		allowedKU = []x509.KeyUsage{x509.KeyUsageDigitalSignature, x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment}
		if req.Profile == ProfileSMIMESponsorMulti {
			lc.policy = oidSMIMESponsorMulti
			lc.extKeyUsage = append(lc.extKeyUsage, x509.ExtKeyUsageClientAuth)
			allowedKU = nil
		}
		if s.Organization == "" {
			return nil, errors.New("ca: sponsor-validated S/MIME needs the organization name")
		}
		// zlint e_invalid_individual_identity: a personal name (or a
		// pseudonym, which certorder does not offer) must be present.
		if s.GivenName == "" && s.Surname == "" {
			return nil, errors.New("ca: sponsor-validated S/MIME needs the individual's given name or surname")
		}
		cn, err := personCommonName(s, req.Emails, false)
		if err != nil {
			return nil, err
		}
		b.addOrganization(s)
		b.add(oidOrganizationID, s.OrganizationIdentifier)
		b.add(oidGivenName, s.GivenName)
		b.add(oidSurname, s.Surname)
		b.add(oidCommonName, cn)
	}
	var err error
	if lc.rawSubject, err = b.der(); err != nil {
		return nil, err
	}
	if lc.keyUsage, err = pickKeyUsage(req, defKU, allowedKU...); err != nil {
		return nil, err
	}
	if lc.extKeyUsage, err = pickExtKeyUsage(req, lc.extKeyUsage); err != nil {
		return nil, err
	}
	return lc, nil
}

// clientAuthContent: a client authentication certificate that is not an
// S/MIME certificate (no emailProtection, no S/MIME policy), so the S/MIME
// BRs do not reach it; its policy is certorder's own OID.
func clientAuthContent(req LeafRequest) (*leafContent, error) {
	if err := refuseSANs(req, false, true, false); err != nil {
		return nil, err
	}
	if err := checkEmails(req.Emails); err != nil {
		return nil, err
	}
	s := req.Subject
	if s.Organization == "" {
		return nil, errors.New("ca: client authentication needs the organization name")
	}
	cn, err := personCommonName(s, req.Emails, true)
	if err != nil {
		return nil, err
	}
	lc := &leafContent{emails: append([]string(nil), req.Emails...), policy: oidClientAuth}
	var b rdnBuilder
	b.addOrganization(s)
	b.add(oidGivenName, s.GivenName)
	b.add(oidSurname, s.Surname)
	b.add(oidCommonName, cn)
	if lc.rawSubject, err = b.der(); err != nil {
		return nil, err
	}
	// digitalSignature only, for RSA too: RFC 5280 4.2.1.12 finds clientAuth
	// consistent with digitalSignature and keyAgreement, not keyEncipherment
	// (zlint e_key_usage_and_extended_key_usage_inconsistent).
	if lc.keyUsage, err = pickKeyUsage(req, x509.KeyUsageDigitalSignature); err != nil {
		return nil, err
	}
	if lc.extKeyUsage, err = pickExtKeyUsage(req, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}); err != nil {
		return nil, err
	}
	return lc, nil
}

// x9Content: X9 PKI for TLS (seed 004): FQDNs and IP addresses, no
// wildcards, OV-like subject, key usages and EKUs chosen by the order.
func x9Content(req LeafRequest) (*leafContent, error) {
	if err := refuseSANs(req, true, false, true); err != nil {
		return nil, err
	}
	if len(req.DNSNames) == 0 && len(req.IPAddresses) == 0 {
		return nil, errors.New("ca: X9 certificates need at least one DNS name or IP address")
	}
	s := req.Subject
	if s.Organization == "" {
		return nil, errors.New("ca: X9 certificates need the organization name")
	}
	lc := &leafContent{dnsNames: append([]string(nil), req.DNSNames...), policy: oidX9}
	for _, n := range req.DNSNames {
		if n == "" || strings.Contains(n, "*") {
			return nil, fmt.Errorf("ca: X9 certificates take no wildcard or empty names: %q", n)
		}
	}
	var ipStrings []string
	for _, ip := range req.IPAddresses {
		if v4 := ip.To4(); v4 != nil {
			ip = v4
		} else if len(ip) != net.IPv6len {
			return nil, fmt.Errorf("ca: invalid IP address %v", ip)
		}
		lc.ips = append(lc.ips, append(net.IP(nil), ip...))
		ipStrings = append(ipStrings, ip.String())
	}
	cn := s.CommonName
	if cn == "" {
		if len(req.DNSNames) > 0 {
			cn = req.DNSNames[0]
		} else {
			cn = ipStrings[0]
		}
	}
	if !contains(req.DNSNames, cn) && !contains(ipStrings, cn) {
		return nil, fmt.Errorf("ca: common name %q is not among the DNS names or IP addresses", cn)
	}
	var b rdnBuilder
	b.addOrganization(s)
	b.add(oidCommonName, cn)
	var err error
	if lc.rawSubject, err = b.der(); err != nil {
		return nil, err
	}
	if lc.extKeyUsage, err = pickExtKeyUsage(req,
		[]x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		[]x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		[]x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}); err != nil {
		return nil, err
	}
	// Seed 004 key_usages: digital_signature and key_agreement_encipherment,
	// the latter being keyEncipherment for RSA and keyAgreement for ECDSA.
	// Which of them may stand alone depends on the EKUs: RFC 5280 4.2.1.12
	// finds clientAuth consistent with digitalSignature and keyAgreement
	// only, and BR 7.1.2.7.11 wants digitalSignature in ECDSA serverAuth
	// certificates (zlint e_key_usage_and_extended_key_usage_inconsistent,
	// e_cabf_ecc_allowed_key_usages).
	ds := x509.KeyUsageDigitalSignature
	_, isRSA := req.PublicKey.(*rsa.PublicKey)
	serverAuth := lc.extKeyUsage[0] == x509.ExtKeyUsageServerAuth
	var def x509.KeyUsage
	var allowed []x509.KeyUsage
	switch {
	case isRSA && serverAuth:
		def, allowed = ds|x509.KeyUsageKeyEncipherment, []x509.KeyUsage{ds, x509.KeyUsageKeyEncipherment}
	case isRSA:
		def = ds
	case serverAuth:
		def, allowed = ds|x509.KeyUsageKeyAgreement, []x509.KeyUsage{ds}
	default:
		def, allowed = ds|x509.KeyUsageKeyAgreement, []x509.KeyUsage{ds, x509.KeyUsageKeyAgreement}
	}
	if lc.keyUsage, err = pickKeyUsage(req, def, allowed...); err != nil {
		return nil, err
	}
	return lc, nil
}

// refuseSANs rejects SAN kinds the profile does not carry, rather than
// silently issuing a certificate without names the order asked for.
func refuseSANs(req LeafRequest, dns, email, ip bool) error {
	switch {
	case !dns && len(req.DNSNames) > 0:
		return fmt.Errorf("ca: profile %s takes no DNS names", req.Profile)
	case !email && len(req.Emails) > 0:
		return fmt.Errorf("ca: profile %s takes no email addresses", req.Profile)
	case !ip && len(req.IPAddresses) > 0:
		return fmt.Errorf("ca: profile %s takes no IP addresses", req.Profile)
	}
	return nil
}

// signingAndEncipherment is digitalSignature plus, for RSA,
// keyEncipherment, and for ECDSA keyAgreement when ecdh is set.
func signingAndEncipherment(pub crypto.PublicKey, ecdh bool) x509.KeyUsage {
	ku := x509.KeyUsageDigitalSignature
	switch pub.(type) {
	case *rsa.PublicKey:
		ku |= x509.KeyUsageKeyEncipherment
	case *ecdsa.PublicKey:
		if ecdh {
			ku |= x509.KeyUsageKeyAgreement
		}
	}
	return ku
}

// pickKeyUsage returns the requested key usage if it is the default or one
// of allowed, and the default when none was requested.
func pickKeyUsage(req LeafRequest, def x509.KeyUsage, allowed ...x509.KeyUsage) (x509.KeyUsage, error) {
	if req.KeyUsage == 0 || req.KeyUsage == def {
		return def, nil
	}
	for _, a := range allowed {
		if a != 0 && req.KeyUsage == a {
			return a, nil
		}
	}
	return 0, fmt.Errorf("%w: key usage %s for profile %s", ErrUsageNotAllowed, keyUsageString(req.KeyUsage), req.Profile)
}

// pickExtKeyUsage returns the allowed set (def or one of allowed) equal to
// the requested one, compared as sets, or def when none was requested.
func pickExtKeyUsage(req LeafRequest, def []x509.ExtKeyUsage, allowed ...[]x509.ExtKeyUsage) ([]x509.ExtKeyUsage, error) {
	if req.ExtKeyUsage == nil {
		return def, nil
	}
	for _, set := range append([][]x509.ExtKeyUsage{def}, allowed...) {
		if sameEKUSet(req.ExtKeyUsage, set) {
			return append([]x509.ExtKeyUsage(nil), set...), nil
		}
	}
	return nil, fmt.Errorf("%w: extended key usages %v for profile %s", ErrUsageNotAllowed, req.ExtKeyUsage, req.Profile)
}

func sameEKUSet(a, b []x509.ExtKeyUsage) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[x509.ExtKeyUsage]bool{}
	for _, e := range a {
		if seen[e] {
			return false // a duplicate would hide a missing one
		}
		seen[e] = true
	}
	for _, e := range b {
		if !seen[e] {
			return false
		}
	}
	return true
}

func keyUsageString(ku x509.KeyUsage) string {
	names := []string{"digitalSignature", "contentCommitment", "keyEncipherment", "dataEncipherment",
		"keyAgreement", "keyCertSign", "cRLSign", "encipherOnly", "decipherOnly"}
	var out []string
	for i, n := range names {
		if ku&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	if ku>>len(names) != 0 {
		out = append(out, fmt.Sprintf("unknown(%#x)", uint(ku>>len(names))))
	}
	return strings.Join(out, "|")
}

// personCommonName is the CN of a certificate issued to a person: the
// requested one, else "GivenName Surname", else (if allowed) the first email
// address. A CN that is an email address must be one of the SAN addresses.
func personCommonName(s Subject, emails []string, emailFallback bool) (string, error) {
	cn := strings.TrimSpace(s.CommonName)
	if cn == "" {
		cn = strings.TrimSpace(s.GivenName + " " + s.Surname)
	}
	if cn == "" && emailFallback {
		cn = emails[0]
	}
	if cn == "" {
		return "", errors.New("ca: no common name: give a personal name or an email address")
	}
	if strings.Contains(cn, "@") && !contains(emails, cn) {
		return "", fmt.Errorf("ca: common name %q is an email address not among the email addresses", cn)
	}
	return cn, nil
}

// checkEmails wants at least one address, each a plain ASCII
// local@domain (rfc822Name is an IA5String; SmtpUTF8Mailbox is not
// offered), without duplicates.
func checkEmails(emails []string) error {
	if len(emails) == 0 {
		return errors.New("ca: at least one email address is required")
	}
	seen := map[string]bool{}
	for _, e := range emails {
		local, domain, ok := strings.Cut(e, "@")
		if !ok || local == "" || domain == "" || strings.Contains(domain, "@") || len(local) > 64 ||
			strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || !strings.Contains(domain, ".") {
			return fmt.Errorf("ca: %q is not a mailbox address", e)
		}
		for _, r := range e {
			if r <= ' ' || r > '~' {
				return fmt.Errorf("ca: %q is not a mailbox address (ASCII only, no spaces)", e)
			}
		}
		k := strings.ToLower(e)
		if seen[k] {
			return fmt.Errorf("ca: email address %q appears twice", e)
		}
		seen[k] = true
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// rdnBuilder encodes a subject one attribute per RDN, skipping empty
// values; crypto/x509 cannot place EV or S/MIME attributes itself.
type rdnBuilder struct{ rdns pkix.RDNSequence }

func (b *rdnBuilder) add(oid asn1.ObjectIdentifier, v string) {
	if v != "" {
		b.rdns = append(b.rdns, pkix.RelativeDistinguishedNameSET{{Type: oid, Value: v}})
	}
}

// addEV puts the EV attributes ahead of the rest, as commonly done.
func (b *rdnBuilder) addEV(s Subject) {
	b.add(oidBusinessCategory, s.BusinessCategory)
	b.add(oidJurisdictionCountry, strings.ToUpper(s.JurisdictionCountry))
	b.add(oidJurisdictionState, s.JurisdictionState)
	b.add(oidJurisdictionLocality, s.JurisdictionLocality)
	b.add(oidSerialNumber, s.RegistrationNumber)
}

// addOrganization adds C, ST, L, O in the BR 7.1.4.2 order.
func (b *rdnBuilder) addOrganization(s Subject) {
	b.add(oidCountry, strings.ToUpper(s.Country))
	b.add(oidState, s.State)
	b.add(oidLocality, s.Locality)
	b.add(oidOrganization, s.Organization)
}

func (b *rdnBuilder) der() ([]byte, error) {
	der, err := asn1.Marshal(b.rdns)
	if err != nil {
		return nil, fmt.Errorf("ca: encoding subject: %w", err)
	}
	return der, nil
}
