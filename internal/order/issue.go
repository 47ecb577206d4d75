package order

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/ca"
	"github.com/certorder/certorder/internal/catalog"
	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/metrics"
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
	// claim is the token that held the pending certificate's signing
	// claim ("" when the certificate row is made by the recording
	// transaction); the recording transaction must still hold it.
	claim string
	// at is when it was signed, on the business clock (the sandbox's
	// travelled time, as its notBefore).
	at time.Time
	// pooled: the serial came from the serial pool (serials.go), whose
	// intents are deleted a batch at a time.
	pooled bool
}

// reserve reserves ic's serial for orderID in the transaction that
// records the certificate. The intent of a pooled serial stays until the
// pool's next batch deletes it (a reserved serial is never listed as
// abandoned); any other intent goes now.
func (ic *issuedCert) reserve(ctx context.Context, tx store.Tx, orderID int64, now time.Time) error {
	if ic.pooled {
		return tx.ReserveSerialKeepingIntent(ctx, ic.serial, orderID, now)
	}
	return tx.ReserveSerial(ctx, ic.serial, orderID, now)
}

// stillClaimed reports, inside the recording transaction, whether the
// claim under which ic was signed still holds for certID: a signer that
// stalled past its lease may have been overtaken, and the other signer's
// certificate is the one to keep.
func (ic *issuedCert) stillClaimed(ctx context.Context, tx store.Tx, accountID, certID int64) (bool, error) {
	if ic.claim == "" {
		return true, nil
	}
	return tx.HoldsCertificateSigning(ctx, accountID, certID, ic.claim)
}

func (ic *issuedCert) fill(c *store.Certificate) {
	now := ic.at
	if now.IsZero() {
		now = time.Now().UTC()
	}
	c.Status = store.CertIssued
	c.SerialNumber = ic.serial
	c.Thumbprint = ca.Thumbprint(ic.der)
	c.IssuerID = ic.issuer.ID
	c.DER = ic.der
	c.NotBefore = ic.cert.NotBefore.UTC()
	c.NotAfter = ic.cert.NotAfter.UTC()
	c.IssuedAt = &now
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

// signingLease is how long a claim to sign a pending certificate lasts: far
// beyond one signature, so a live signer is never overtaken, and short
// enough that a certificate claimed by a process that died is signed by
// another within minutes.
const signingLease = 2 * time.Minute

// errSigningClaimed: another caller holds the claim to sign the
// certificate, or it is no longer pending; that caller records it.
var errSigningClaimed = errors.New("certificate is being signed by another caller")

// sign builds, lints and signs the certificate of an order. The serial is
// random (127 bits); the unique index on serials makes a collision fail the
// recording transaction instead of producing a duplicate. certID is the
// pending certificate row the signature is for, claimed in the intent's
// commit so that one certificate is signed once (errSigningClaimed when
// someone else has it); 0 when the row is created by the recording
// transaction itself, which nobody else can issue.
//
// keyChecked says the caller looked the key up among the blocked keys in
// this same call, as an order placed with its CSR does moments before
// (checkKeySource): looking again would only shorten, not close, the
// window in which a revocation for keyCompromise can come between the
// look-up and the signature.
func (s *Service) sign(ctx context.Context, actor account.Actor, product catalog.Product, o *store.Order, org *store.Organization, pub crypto.PublicKey, names []string, certID int64, keyChecked bool) (*issuedCert, error) {
	iss, err := s.issuerFor(product, o)
	if err != nil {
		return nil, err
	}
	// The key was allowed when the order or its reissue took it; a
	// revocation for keyCompromise since (of any account's certificate)
	// blocks it until the very signature.
	if !keyChecked {
		if err := s.refuseBlockedKey(ctx, s.Store, pub); err != nil {
			return nil, err
		}
	}
	if len(product.DCVMethods) > 0 {
		// CAA is looked up right before the signature, for every name
		// (RFC 8659; Baseline Requirements 3.2.2.8).
		if err := s.Validation.CheckCAA(ctx, names); err != nil {
			return nil, err
		}
	}
	// An immediate order's serial comes with its intent already committed
	// (serials.go): the transaction that records the order is its only
	// commit. A pending certificate's serial is written with the claim to
	// sign it, and a seeded sandbox's too: the pool draws serials ahead in
	// batches sized by timing, which would make the seeded prefixes depend
	// on timing rather than on the order of calls.
	pooled := certID == 0 && s.SerialPrefix == nil
	var serial *big.Int
	if pooled {
		if serial, err = s.takeSerial(ctx, iss); err != nil {
			return nil, errs.Internalf(err, "record issuance intent")
		}
	} else if serial, err = ca.NewSerialFrom(s.SerialPrefix, s.rand()); err != nil {
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
	// The serial is written down before the key signs, in a commit before
	// the signature: if this process dies before the certificate is
	// recorded, the serial is still known and CRLs and OCSP answer for it
	// as revoked. A pending certificate's serial is written with the claim
	// to sign it; an immediate order's came from the pool with its intent.
	intent := &store.IssuanceIntent{SerialNumber: ca.SerialHex(serial), IssuerID: iss.ID, AccountID: o.AccountID,
		OrderID: o.ID, CreatedAt: s.leaseNow()}
	var token string
	if certID != 0 {
		if token, err = claimToken(s.rand()); err != nil {
			return nil, errs.Internalf(err, "signing claim token")
		}
	}
	if !pooled {
		err = s.Store.InTx(ctx, func(tx store.Tx) error {
			if certID != 0 {
				now := s.leaseNow()
				ok, err := tx.ClaimCertificateSigning(ctx, o.AccountID, certID, token, now, now.Add(signingLease))
				if err != nil {
					return err
				}
				if !ok {
					return errSigningClaimed
				}
			}
			return tx.CreateIssuanceIntent(ctx, intent)
		})
		if errors.Is(err, errSigningClaimed) {
			return nil, err
		}
		if err != nil {
			return nil, errs.Internalf(err, "record issuance intent")
		}
	}
	if certID != 0 {
		// Right before the key signs: a stall since the claim (a paused
		// process) may have let the lease lapse and another claim it.
		held, err := s.Store.HoldsCertificateSigning(ctx, o.AccountID, certID, token)
		if err != nil || !held {
			s.dropIntent(ctx, o.AccountID, certID, token, intent.SerialNumber)
			if err != nil {
				return nil, errs.Internalf(err, "check signing claim")
			}
			return nil, errSigningClaimed
		}
	}
	if s.beforeSign != nil {
		s.beforeSign(intent.SerialNumber)
	}
	start := time.Now()
	cert, warnings, err := s.CA.IssueCertificate(req)
	took := time.Since(start)
	if err != nil {
		// Nothing was signed: the intent and the claim go (best effort; an
		// intent left behind only lists an unused serial as revoked, a
		// claim lapses).
		s.dropIntent(ctx, o.AccountID, certID, token, intent.SerialNumber)
		var lintErr *ca.LintError
		switch {
		case errors.Is(err, ca.ErrHashNotSupported):
			return nil, errs.InvalidValue("signature_hash", "The issuing CA's key cannot sign with %s.", o.SignatureHash)
		case errors.Is(err, ca.ErrSubjectIsIssuer):
			return nil, errs.InvalidValue("common_name", "The certificate's subject would be the name of the CA that issues it.")
		case errors.As(err, &lintErr):
			s.Metrics.IssuanceDone(product.NameID, metrics.IssuanceLintFailed, took)
			s.Metrics.LintFindings("error", lintErr.Lints)
			s.auditLintFailure(ctx, actor, o, serial, lintErr.Lints)
			return nil, errs.Wrap(err, errs.Internal, "issuance_failed",
				"The certificate failed pre-issuance linting and was not issued.")
		default:
			s.Metrics.IssuanceDone(product.NameID, metrics.IssuanceFailed, took)
			return nil, errs.Internalf(err, "issue certificate for order %d", o.ID)
		}
	}
	s.Metrics.IssuanceDone(product.NameID, metrics.IssuanceIssued, took)
	s.Metrics.LintFindings("warn", warnings)
	if len(warnings) > 0 {
		s.logLintWarnings(ctx, product.Profile, ca.SerialHex(serial), warnings)
	}
	return &issuedCert{cert: cert, der: cert.Raw, serial: ca.SerialHex(serial), issuer: iss, claim: token, at: s.now(), pooled: pooled}, nil
}

// awaitSigner waits, briefly, for whoever holds the claim on an order's
// certificate to record it: a caller that found the order ready (check-dcv
// answering issued, an approval) should see the order as the signer left
// it, not a moment before. A signer that died leaves the order pending.
func (s *Service) awaitSigner(ctx context.Context, accountID, orderID int64) {
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); {
		o, err := s.Store.Order(ctx, accountID, orderID)
		if err != nil || o.Status != store.OrderPending {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// claimToken is 128 random bits naming one signing claim.
func claimToken(r io.Reader) (string, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// dropIntent removes the intent of a serial that was not signed and
// releases token's claim on certID (another's claim stays).
func (s *Service) dropIntent(ctx context.Context, accountID, certID int64, token, serial string) {
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		if err := tx.DeleteIssuanceIntent(ctx, serial); err != nil {
			return err
		}
		if certID == 0 {
			return nil
		}
		return tx.ReleaseCertificateSigning(ctx, accountID, certID, token)
	})
	if err != nil {
		s.log().WarnContext(ctx, "drop issuance intent", "serial", serial, "err", err)
	}
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
func (s *Service) auditLintFailure(ctx context.Context, actor account.Actor, o *store.Order, serial *big.Int, lints []string) {
	s.log().ErrorContext(ctx, "pre-issuance lint failed; nothing signed by the issuer key", "order", o.ID, "serial", ca.SerialHex(serial), "lints", lints)
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		return s.audit(ctx, tx, actor, "issuance.lint_failed", fmt.Sprintf("order:%d", o.ID),
			map[string]any{"serial_number": ca.SerialHex(serial), "lints": lints, "common_name": o.CommonName, "product": o.ProductNameID})
	})
	if err != nil {
		s.log().ErrorContext(ctx, "audit of lint failure not recorded", "err", err)
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

// IssuePending issues the primary certificate of an approved order when it
// is ready. Signing happens outside any transaction; the recording
// transaction checks that nobody else issued the order meanwhile.
func (s *Service) IssuePending(ctx context.Context, actor account.Actor, orderID int64) error {
	// A CSR replaced while the old one was being signed makes the signed
	// certificate worthless: it is discarded and the new CSR is signed, a
	// few times at most (a client replacing it in a loop gets the last).
	for range 3 {
		again, err := s.issuePendingOnce(ctx, actor, orderID)
		if err != nil || !again {
			return err
		}
	}
	return nil
}

func (s *Service) issuePendingOnce(ctx context.Context, actor account.Actor, orderID int64) (again bool, err error) {
	o, err := s.Store.Order(ctx, actor.Account.ID, orderID)
	if err != nil {
		return false, fmt.Errorf("read order %d: %w", orderID, err)
	}
	product, ok := catalog.Lookup(o.ProductNameID)
	if !ok || o.Status != store.OrderPending {
		return false, nil
	}
	var org *store.Organization
	if o.OrganizationID != 0 { // DV orders name none
		if org, err = s.Store.Organization(ctx, actor.Account.ID, o.OrganizationID); err != nil {
			return false, fmt.Errorf("read organization %d: %w", o.OrganizationID, err)
		}
	}
	if !s.Validation.Validated(ctx, product, org, o) {
		s.Validation.KickDCV() // the worker schedules and looks at it
		return false, nil
	}
	if !s.Validation.EVApproved(product, o) {
		// Otherwise ready: a verified contact's approval is what is left.
		s.Validation.RequestEVApproval(ctx, actor, product, org, o)
		return false, nil
	}
	if o.CSR == "" {
		return false, nil
	}
	pub, err := storedKey(o.CSR)
	if err != nil {
		return false, fmt.Errorf("stored CSR of order %d: %w", o.ID, err)
	}
	issued, err := s.sign(ctx, actor, product, o, org, pub, o.DNSNames, o.CertificateID, false)
	if errors.Is(err, errSigningClaimed) {
		s.awaitSigner(ctx, actor.Account.ID, o.ID)
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return s.recordPending(ctx, actor, product, o, issued)
}

// recordPending records the certificate signed for the pending order o
// (as it was read before signing) and marks the order issued, only if
// nothing it was made from moved meanwhile: the order still pending, its
// certificate still pending and still claimed by this signer, its CSR
// unchanged. Otherwise the certificate is discarded unseen (its intent
// stays, so CRLs and OCSP answer for its serial as revoked), and again
// reports a changed CSR, to be signed anew.
func (s *Service) recordPending(ctx context.Context, actor account.Actor, product catalog.Product, o *store.Order, issued *issuedCert) (again bool, err error) {
	mark := s.Notify.Mark() // before any transaction that may queue mail
	err = s.Store.InTx(ctx, func(tx store.Tx) error {
		cur, err := tx.Order(ctx, actor.Account.ID, o.ID)
		if err != nil {
			return err
		}
		if cur.Status != store.OrderPending {
			return nil // someone else moved it
		}
		cert, err := tx.Certificate(ctx, actor.Account.ID, cur.CertificateID)
		if err != nil {
			return err
		}
		if cert.Status != store.CertPending {
			return nil
		}
		if held, err := issued.stillClaimed(ctx, tx, actor.Account.ID, cert.ID); err != nil || !held {
			return err // overtaken after a stall: the other signer records
		}
		if cur.CSR != o.CSR {
			again = true
			return tx.ReleaseCertificateSigning(ctx, actor.Account.ID, cert.ID, issued.claim)
		}
		now := s.now()
		if err := issued.reserve(ctx, tx, cur.ID, now); err != nil {
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
		if err := s.Validation.RecordOrderDomains(ctx, tx, product, cur); err != nil {
			return err
		}
		if err := s.Notify.Issued(ctx, tx, cur, cert, "", now); err != nil {
			return err
		}
		return s.audit(ctx, tx, actor, "certificate.issued", fmt.Sprintf("order:%d", cur.ID),
			map[string]any{"certificate_id": cert.ID, "serial_number": issued.serial, "issuer": issued.issuer.ID})
	})
	if err == nil {
		s.Notify.KickSince(mark)
	}
	return again && err == nil, err
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

func (s *Service) logLintWarnings(ctx context.Context, profile, serial string, warnings []string) {
	key := profile + "\x00" + strings.Join(warnings, "\x00")
	if _, seen := lintWarningsSeen.Load(key); seen || lintWarningSets.Load() >= maxLintWarningSets {
		s.log().DebugContext(ctx, "lint warnings on issued certificate", "serial", serial, "warnings", warnings)
		return
	}
	if _, dup := lintWarningsSeen.LoadOrStore(key, true); !dup {
		lintWarningSets.Add(1)
	}
	s.log().WarnContext(ctx, "lint warnings on issued certificate (later certificates of this profile with the same warnings are logged at debug level)",
		"profile", profile, "serial", serial, "warnings", warnings)
}

// IssueReady issues every pending order of the account that has become
// ready (after a validation was granted) and returns how many issued.
// Failures are logged: the grant stands whatever happens to the orders.
func (s *Service) IssueReady(ctx context.Context, actor account.Actor) int {
	// A validation serves every container of the account, so the orders it
	// unblocks are issued whoever granted it.
	ctx = account.Unscoped(ctx)
	orders, _, err := s.Store.Orders(ctx, actor.Account.ID, store.OrderFilter{Status: store.OrderPending}, store.Page{})
	if err != nil {
		s.log().ErrorContext(ctx, "list pending orders", "err", err)
		return 0
	}
	issued := 0
	for _, o := range orders {
		if err := s.IssuePending(ctx, actor, o.ID); err != nil {
			s.log().ErrorContext(ctx, "issuance after validation failed", "order", o.ID, "err", err)
			continue
		}
		if cur, err := s.Store.Order(ctx, actor.Account.ID, o.ID); err == nil && cur.Status == store.OrderIssued {
			issued++
		}
	}
	s.issueReadyLinked(ctx, actor)
	return issued
}

// issueReadyLinked issues the approved reissues (orders in
// reissue_pending) and duplicates (of issued orders) that waited for a
// validation; IssueLinked leaves alone whatever is still not ready.
func (s *Service) issueReadyLinked(ctx context.Context, actor account.Actor) {
	acct := actor.Account.ID
	for _, k := range []struct{ status, kind string }{
		{store.OrderReissuePending, store.CertKindReissue},
		{store.OrderIssued, store.CertKindDuplicate},
	} {
		orders, _, err := s.Store.Orders(ctx, acct, store.OrderFilter{Status: k.status}, store.Page{})
		if err != nil {
			s.log().ErrorContext(ctx, "list orders", "status", k.status, "err", err)
			continue
		}
		for _, o := range orders {
			linked, err := s.Store.LinkedCertificates(ctx, acct, o.ID, k.kind)
			if err != nil {
				s.log().ErrorContext(ctx, "list linked certificates", "order", o.ID, "err", err)
				continue
			}
			for _, lc := range linked {
				if lc.Status != store.CertPending {
					continue
				}
				if lc.Link.RequestID != 0 {
					// Waiting for its approval, not for a validation.
					r, err := s.Store.Request(ctx, acct, lc.Link.RequestID)
					if err != nil || r.Status != store.RequestApproved {
						continue
					}
				}
				if err := s.IssueLinked(ctx, actor, lc.ID); err != nil {
					s.log().ErrorContext(ctx, "issuance after validation failed", "order", o.ID, "certificate", lc.ID, "err", err)
				}
			}
		}
	}
}

// ChainPEM is an issued certificate of the account with its chain
// (intermediate, root) as PEM: what the issued mail attaches.
func (s *Service) ChainPEM(ctx context.Context, accountID, certID int64) ([]byte, error) {
	c, err := s.Store.Certificate(account.Unscoped(ctx), accountID, certID)
	if err != nil {
		return nil, err
	}
	if len(c.DER) == 0 {
		return nil, fmt.Errorf("certificate %d is not issued", certID)
	}
	iss, ok := s.CA.Issuer(c.IssuerID)
	if !ok {
		return nil, fmt.Errorf("certificate %d: issuer %q unknown", certID, c.IssuerID)
	}
	out := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.DER})
	for _, ic := range s.CA.Chain(iss) {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ic.Raw})...)
	}
	return out, nil
}
