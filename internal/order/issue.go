package order

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/certorder/certorder/internal/ca"
	"github.com/certorder/certorder/internal/catalog"
	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/store"
)

// issuedCert is a signed certificate not yet recorded. It never leaves the
// process before the transaction that records it commits, so a crash in
// between loses nothing that anyone has seen.
type issuedCert struct {
	cert   *x509.Certificate
	der    []byte
	serial string
	issuer *ca.Issuer
}

func (ic *issuedCert) fill(c *store.Certificate) {
	now := time.Now().UTC()
	c.Status = store.CertIssued
	c.SerialNumber = ic.serial
	c.Thumbprint = ca.Thumbprint(ic.der)
	c.IssuerID = ic.issuer.ID
	c.DER = ic.der
	c.NotBefore = ic.cert.NotBefore.UTC()
	c.NotAfter = ic.cert.NotAfter.UTC()
	c.IssuedAt = &now
}

// readyToIssue: the organization holds the validation the product needs
// and every name of the order is validated. In sandbox mode domain control
// counts as passed unless a sandbox rule holds a name back (and new
// organizations are validated at once). Otherwise every DNS name's
// registrable domain, the name itself or a domain between them must hold a
// completed domain validation of the account still within its reuse
// period (domainsValidated in domains.go), proven by the DCV engine
// (dcvcheck.go) or granted by an administrator. CAA is checked later, by
// sign, right before the signature.
func (s *Service) readyToIssue(ctx context.Context, product catalog.Product, org *store.Organization, o *store.Order) bool {
	if s.Sandbox {
		if len(product.DCVMethods) > 0 && !s.sandboxNamesPass(o.DNSNames) {
			return false // a scripted rule holds a name back
		}
		switch {
		case product.OrgValidation == "":
			return true
		case org == nil:
			return false
		case org.ID == 0:
			return true // created with this order; sandbox validates it at once
		}
		return orgValidated(org, product.OrgValidation, s.now())
	}
	if product.OrgValidation != "" && (org == nil || org.ID == 0 || !orgValidated(org, product.OrgValidation, s.now())) {
		return false
	}
	if len(product.DCVMethods) == 0 {
		return true // code signing and client certificates name no domains
	}
	return s.domainsValidated(ctx, o)
}

func orgValidated(org *store.Organization, typ string, now time.Time) bool {
	for _, v := range org.Validations {
		if v.Type == typ && v.Status == "active" && v.ValidatedUntil.After(now) {
			return true
		}
	}
	return false
}

// SandboxOrgValidations are the organization validations the sandbox
// grants: every type a product of the catalogue needs.
var SandboxOrgValidations = []string{"ov", "ev", "cs", "ev_cs"}

// validateOrgSandbox grants every validation type for a year, as the
// sandbox promises.
func (s *Service) validateOrgSandbox(ctx context.Context, tx store.Tx, orgID int64) error {
	now := s.now()
	for _, typ := range SandboxOrgValidations {
		if err := tx.SetOrgValidation(ctx, store.OrgValidation{OrganizationID: orgID, Type: typ, Status: "active",
			DateCreated: now, ValidatedUntil: now.AddDate(1, 0, 0)}); err != nil {
			return err
		}
	}
	return nil
}

// certValidity is the certificate's span: from now until the order ends,
// never beyond the first certificate's chosen end nor the industry limit.
func (s *Service) certValidity(product catalog.Product, o *store.Order) (time.Time, time.Time) {
	nb := s.now().Truncate(time.Second)
	na := nb.Add(maxCertValidity(product, nb))
	for _, end := range []time.Time{o.OrderValidTill, o.CertValidTill} {
		if !end.IsZero() && end.Before(na) {
			na = end
		}
	}
	return nb, na
}

// sign builds, lints and signs the certificate of an order. The serial is
// random (127 bits); the unique index on serials makes a collision fail the
// recording transaction instead of producing a duplicate.
func (s *Service) sign(ctx context.Context, actor Actor, product catalog.Product, o *store.Order, org *store.Organization, pub crypto.PublicKey, names []string) (*issuedCert, error) {
	iss, err := s.issuerFor(product, o)
	if err != nil {
		return nil, err
	}
	// The key was allowed when the order or its reissue took it; a
	// revocation for keyCompromise since (of any account's certificate)
	// blocks it until the very signature.
	if err := s.refuseBlockedKey(ctx, s.Store, pub); err != nil {
		return nil, err
	}
	if len(product.DCVMethods) > 0 {
		// CAA is looked up right before the signature, for every name
		// (RFC 8659; Baseline Requirements 3.2.2.8).
		if err := s.checkCAA(ctx, names); err != nil {
			return nil, err
		}
	}
	serial, err := ca.NewSerial(s.rand())
	if err != nil {
		return nil, errs.Internalf(err, "new serial")
	}
	nb, na := s.certValidity(product, o)
	req := ca.LeafRequest{
		Issuer:        iss,
		Profile:       ca.Profile(product.Profile),
		PublicKey:     pub,
		Subject:       subjectFor(product, o, org),
		DNSNames:      names,
		Emails:        o.Emails,
		IPAddresses:   parseIPs(o.IPAddresses),
		NotBefore:     nb,
		NotAfter:      na,
		SignatureHash: o.SignatureHash,
		Serial:        serial,
	}
	req.KeyUsage, req.ExtKeyUsage = usagesFor(product, o, pub)
	// The serial is written down before the key signs, in its own commit:
	// if this process dies before the certificate is recorded, the serial
	// is still known and CRLs and OCSP answer for it as revoked.
	intent := &store.IssuanceIntent{SerialNumber: ca.SerialHex(serial), IssuerID: iss.ID, AccountID: o.AccountID,
		OrderID: o.ID, CreatedAt: s.now()}
	if err := s.Store.InTx(ctx, func(tx store.Tx) error { return tx.CreateIssuanceIntent(ctx, intent) }); err != nil {
		return nil, errs.Internalf(err, "record issuance intent")
	}
	cert, warnings, err := s.CA.IssueCertificate(req)
	if err != nil {
		// Nothing was signed: the intent goes (best effort; one left
		// behind only lists an unused serial as revoked).
		if derr := s.Store.InTx(ctx, func(tx store.Tx) error { return tx.DeleteIssuanceIntent(ctx, intent.SerialNumber) }); derr != nil {
			s.log().Warn("drop issuance intent", "serial", intent.SerialNumber, "err", derr)
		}
		var lintErr *ca.LintError
		switch {
		case errors.Is(err, ca.ErrHashNotSupported):
			return nil, errs.InvalidValue("signature_hash", "The issuing CA's key cannot sign with %s.", o.SignatureHash)
		case errors.As(err, &lintErr):
			s.auditLintFailure(ctx, actor, o, serial, lintErr.Lints)
			return nil, errs.Wrap(err, errs.Internal, "issuance_failed",
				"The certificate failed pre-issuance linting and was not issued.")
		default:
			return nil, errs.Internalf(err, "issue certificate for order %d", o.ID)
		}
	}
	if len(warnings) > 0 {
		s.logLintWarnings(product.Profile, ca.SerialHex(serial), warnings)
	}
	return &issuedCert{cert: cert, der: cert.Raw, serial: ca.SerialHex(serial), issuer: iss}, nil
}

// issuerFor is the intermediate chosen by ca_cert_id, or the default one
// for the product's purpose.
func (s *Service) issuerFor(product catalog.Product, o *store.Order) (*ca.Issuer, error) {
	purpose := ca.Purpose(product.Purpose)
	if o.CACertID != "" {
		for _, iss := range s.CA.IssuersFor(purpose) {
			if iss.ID == o.CACertID {
				return iss, nil
			}
		}
		return nil, errs.Internalf(fmt.Errorf("issuer %s of order %d is gone", o.CACertID, o.ID), "choose issuer")
	}
	iss := s.CA.DefaultIssuerFor(purpose)
	if iss == nil {
		return nil, errs.Internalf(fmt.Errorf("no issuer for purpose %s", purpose), "choose issuer")
	}
	return iss, nil
}

// usagesFor: the key usages a product asks beyond its profile's default —
// X9's key_usages and extended_key_usages (seed 004) and the signing-only
// key of Digital Signature Plus.
func usagesFor(product catalog.Product, o *store.Order, pub crypto.PublicKey) (x509.KeyUsage, []x509.ExtKeyUsage) {
	if product.SigningOnly {
		return x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment, nil
	}
	if product.Family != catalog.FamilyX9 {
		return 0, nil
	}
	var ku x509.KeyUsage
	if _, ok := pub.(*rsa.PublicKey); !ok && len(o.Extra.KeyUsages) > 0 {
		// An ECDSA TLS key cannot take part in a handshake without signing
		// (ECDHE-ECDSA, TLS 1.3), and the Baseline Requirements make
		// digitalSignature mandatory for it: key_agreement_encipherment
		// alone adds keyAgreement beside it instead of standing alone.
		ku |= x509.KeyUsageDigitalSignature
	}
	for _, k := range o.Extra.KeyUsages {
		switch k {
		case "digital_signature":
			ku |= x509.KeyUsageDigitalSignature
		case "key_agreement_encipherment":
			if _, ok := pub.(*rsa.PublicKey); ok {
				ku |= x509.KeyUsageKeyEncipherment
			} else {
				ku |= x509.KeyUsageKeyAgreement
			}
		}
	}
	var ekus []x509.ExtKeyUsage
	for _, e := range o.Extra.ExtendedKeyUsages {
		switch e {
		case "server_authentication":
			ekus = append(ekus, x509.ExtKeyUsageServerAuth)
		case "client_authentication":
			ekus = append(ekus, x509.ExtKeyUsageClientAuth)
		}
	}
	return ku, ekus
}

// auditLintFailure records the refused issuance in its own transaction, as
// the order itself is not written.
func (s *Service) auditLintFailure(ctx context.Context, actor Actor, o *store.Order, serial *big.Int, lints []string) {
	s.log().Error("pre-issuance lint failed; nothing signed by the issuer key", "order", o.ID, "serial", ca.SerialHex(serial), "lints", lints)
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		return s.audit(ctx, tx, actor, "issuance.lint_failed", fmt.Sprintf("order:%d", o.ID),
			map[string]any{"serial_number": ca.SerialHex(serial), "lints": lints, "common_name": o.CommonName, "product": o.ProductNameID})
	})
	if err != nil {
		s.log().Error("audit of lint failure not recorded", "err", err)
	}
}

func subjectFor(product catalog.Product, o *store.Order, org *store.Organization) ca.Subject {
	sub := ca.Subject{CommonName: o.CommonName}
	if org == nil || product.Family == catalog.FamilyDV || product.Profile == string(ca.ProfileSMIMEMailbox) {
		if product.Profile == string(ca.ProfileSMIMEMailbox) && len(o.Emails) > 0 {
			sub.CommonName = o.Emails[0] // mailbox-validated: the address is the only identity
		}
		return sub
	}
	if product.Family == catalog.FamilyCodeSigning {
		sub.CommonName = org.Name
	}
	if product.Family == catalog.FamilyClient {
		sub.GivenName, sub.Surname = splitPersonName(o.CommonName)
	}
	sub.Organization = org.Name
	sub.Country = strings.ToUpper(org.Country)
	sub.State = org.State
	sub.Locality = org.City
	if isEV(product) {
		sub.BusinessCategory = org.BusinessCategory
		sub.JurisdictionCountry = strings.ToUpper(org.JurisdictionCountry)
		sub.JurisdictionState = org.JurisdictionState
		sub.JurisdictionLocality = org.JurisdictionCity
		sub.RegistrationNumber = org.RegistrationNumber
	}
	return sub
}

// splitPersonName reads a client certificate's common_name as a personal
// name: the last word is the surname, the words before it the given name.
// Seed 003 sends one common_name ("Lock Cole") and no separate name fields,
// while the S/MIME Baseline Requirements want givenName/surname in a
// sponsor-validated subject. An address is no personal name.
func splitPersonName(cn string) (given, surname string) {
	words := strings.Fields(cn)
	if len(words) == 0 || strings.Contains(cn, "@") {
		return "", ""
	}
	return strings.Join(words[:len(words)-1], " "), words[len(words)-1]
}

// canonicalCSR re-encodes the CSR as PEM with line breaks, whatever shape
// it arrived in.
func canonicalCSR(csr *x509.CertificateRequest) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr.Raw}))
}

// issuePending issues the primary certificate of an approved order when it
// is ready. Signing happens outside any transaction; the recording
// transaction checks that nobody else issued the order meanwhile.
func (s *Service) issuePending(ctx context.Context, actor Actor, orderID int64) error {
	o, err := s.Store.Order(ctx, actor.Account.ID, orderID)
	if err != nil {
		return fmt.Errorf("read order %d: %w", orderID, err)
	}
	product, ok := catalog.Lookup(o.ProductNameID)
	if !ok || o.Status != store.OrderPending {
		return nil
	}
	var org *store.Organization
	if o.OrganizationID != 0 { // DV orders name none
		if org, err = s.Store.Organization(ctx, actor.Account.ID, o.OrganizationID); err != nil {
			return fmt.Errorf("read organization %d: %w", o.OrganizationID, err)
		}
	}
	if !s.readyToIssue(ctx, product, org, o) {
		s.KickDCV() // the worker schedules and looks at it
		return nil
	}
	if o.CSR == "" {
		return nil
	}
	pub, err := storedKey(o.CSR)
	if err != nil {
		return fmt.Errorf("stored CSR of order %d: %w", o.ID, err)
	}
	issued, err := s.sign(ctx, actor, product, o, org, pub, o.DNSNames)
	if err != nil {
		return err
	}
	return s.Store.InTx(ctx, func(tx store.Tx) error {
		cur, err := tx.Order(ctx, actor.Account.ID, o.ID)
		if err != nil {
			return err
		}
		if cur.Status != store.OrderPending {
			return nil // someone else moved it; the signed certificate is discarded unseen
		}
		cert, err := tx.Certificate(ctx, actor.Account.ID, cur.CertificateID)
		if err != nil {
			return err
		}
		if cert.Status != store.CertPending {
			return nil
		}
		now := s.now()
		if err := tx.ReserveSerial(ctx, issued.serial, cur.ID, now); err != nil {
			return err
		}
		issued.fill(cert)
		if err := tx.UpdateCertificate(ctx, cert); err != nil {
			return err
		}
		cur.Status, cur.UpdatedAt = store.OrderIssued, now
		if err := tx.UpdateOrder(ctx, cur); err != nil {
			return err
		}
		return s.audit(ctx, tx, actor, "certificate.issued", fmt.Sprintf("order:%d", cur.ID),
			map[string]any{"certificate_id": cert.ID, "serial_number": issued.serial, "issuer": issued.issuer.ID})
	})
}

// lintWarningsSeen are the profile and warning sets already logged at
// warning level. A profile's SHOULD-level warnings repeat on every
// certificate it issues (a common name, an AIA naming a private host): an
// operator needs to see each set once, not once per order.
var lintWarningsSeen sync.Map

// maxLintWarningSets bounds lintWarningsSeen; past it, repeats and new
// sets alike are logged at debug level.
const maxLintWarningSets = 1000

var lintWarningSets atomic.Int64

func (s *Service) logLintWarnings(profile, serial string, warnings []string) {
	key := profile + "\x00" + strings.Join(warnings, "\x00")
	if _, seen := lintWarningsSeen.Load(key); seen || lintWarningSets.Load() >= maxLintWarningSets {
		s.log().Debug("lint warnings on issued certificate", "serial", serial, "warnings", warnings)
		return
	}
	if _, dup := lintWarningsSeen.LoadOrStore(key, true); !dup {
		lintWarningSets.Add(1)
	}
	s.log().Warn("lint warnings on issued certificate (later certificates of this profile with the same warnings are logged at debug level)",
		"profile", profile, "serial", serial, "warnings", warnings)
}
