package order

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/certorder/certorder/internal/ca"
	"github.com/certorder/certorder/internal/catalog"
	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/policy"
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
// and every name is validated. Until the validation engine exists, domain
// control counts as passed only in sandbox mode.
func (s *Service) readyToIssue(product catalog.Product, org *store.Organization) bool {
	if !s.Sandbox {
		return false
	}
	if org == nil {
		return false
	}
	if org.ID == 0 {
		return true // created with this order; sandbox validates it at once
	}
	return orgValidated(org, product.ValidationType, s.now())
}

func orgValidated(org *store.Organization, typ string, now time.Time) bool {
	for _, v := range org.Validations {
		if v.Type == typ && v.Status == "active" && v.ValidatedUntil.After(now) {
			return true
		}
	}
	return false
}

// validateOrgSandbox grants OV and EV validation for a year, as the
// sandbox promises.
func (s *Service) validateOrgSandbox(ctx context.Context, tx store.Tx, orgID int64) error {
	now := s.now()
	for _, typ := range []string{"ov", "ev"} {
		if err := tx.SetOrgValidation(ctx, store.OrgValidation{OrganizationID: orgID, Type: typ, Status: "active",
			DateCreated: now, ValidatedUntil: now.AddDate(1, 0, 0)}); err != nil {
			return err
		}
	}
	return nil
}

// certValidity is the certificate's span: from now until the order ends,
// never beyond the CA/Browser Forum limit in force.
func (s *Service) certValidity(o *store.Order) (time.Time, time.Time) {
	nb := s.now().Truncate(time.Second)
	na := nb.Add(policy.IssueTLSValidity(nb))
	if end := o.OrderValidTill; !end.IsZero() && end.Before(na) {
		na = end
	}
	return nb, na
}

// sign builds, lints and signs the certificate of an order. The serial is
// random (127 bits); the unique index on serials makes a collision fail the
// recording transaction instead of producing a duplicate.
func (s *Service) sign(ctx context.Context, actor Actor, product catalog.Product, o *store.Order, org *store.Organization, csr *x509.CertificateRequest, names []string) (*issuedCert, error) {
	iss := s.CA.DefaultIssuer()
	serial, err := ca.NewSerial(s.rand())
	if err != nil {
		return nil, errs.Internalf(err, "new serial")
	}
	nb, na := s.certValidity(o)
	req := ca.LeafRequest{
		Issuer:        iss,
		Profile:       ca.Profile(product.Profile),
		PublicKey:     csr.PublicKey,
		Subject:       subjectFor(product, o, org),
		DNSNames:      names,
		NotBefore:     nb,
		NotAfter:      na,
		SignatureHash: o.SignatureHash,
		Serial:        serial,
	}
	der, warnings, err := s.CA.Issue(req)
	if err != nil {
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
		s.log().Warn("lint warnings on issued certificate", "serial", ca.SerialHex(serial), "warnings", warnings)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, errs.Internalf(err, "parse issued certificate")
	}
	return &issuedCert{cert: cert, der: der, serial: ca.SerialHex(serial), issuer: iss}, nil
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
	if org == nil || product.ValidationType == "dv" {
		return sub
	}
	sub.Organization = org.Name
	sub.Country = strings.ToUpper(org.Country)
	sub.State = org.State
	sub.Locality = org.City
	if product.ValidationType == "ev" {
		sub.BusinessCategory = org.BusinessCategory
		sub.JurisdictionCountry = strings.ToUpper(org.JurisdictionCountry)
		sub.JurisdictionState = org.JurisdictionState
		sub.JurisdictionLocality = org.JurisdictionCity
		sub.RegistrationNumber = org.RegistrationNumber
	}
	return sub
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
	org, err := s.Store.Organization(ctx, actor.Account.ID, o.OrganizationID)
	if err != nil {
		return fmt.Errorf("read organization %d: %w", o.OrganizationID, err)
	}
	if !s.readyToIssue(product, org) {
		return nil
	}
	csr, err := ca.ParseCSR(o.CSR)
	if err != nil {
		return fmt.Errorf("stored CSR of order %d: %w", o.ID, err)
	}
	issued, err := s.sign(ctx, actor, product, o, org, csr, o.DNSNames)
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
