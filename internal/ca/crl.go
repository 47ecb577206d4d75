package ca

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// Revoked is one CRL entry. Reason 0 (unspecified) omits the reasonCode
// extension, as the Baseline Requirements want.
type Revoked struct {
	Serial    *big.Int
	RevokedAt time.Time
	Reason    int
}

// DefaultCRLValidity is used when CRL or RootCRL get a validity <= 0.
const DefaultCRLValidity = 7 * 24 * time.Hour

// CRL returns the DER CRL of iss listing revoked.
func (h *Hierarchy) CRL(iss *Issuer, revoked []Revoked, number *big.Int, validity time.Duration) ([]byte, error) {
	if iss == nil || !h.owns(iss) {
		return nil, errors.New("ca: issuer is not part of this hierarchy")
	}
	return h.makeCRL(iss.Cert, iss.signer, revoked, number, validity, false)
}

// RootCRL returns the root's CRL, covering the intermediates; it lists
// nothing as certorder never revokes an intermediate online.
func (h *Hierarchy) RootCRL(number *big.Int, validity time.Duration) ([]byte, error) {
	return h.makeCRL(h.root, h.rootKey, nil, number, validity, true)
}

func (h *Hierarchy) makeCRL(cert *x509.Certificate, key crypto.Signer, revoked []Revoked, number *big.Int, validity time.Duration, coversCAs bool) ([]byte, error) {
	if number == nil || number.Sign() < 0 {
		return nil, errors.New("ca: CRL number must be non-negative")
	}
	if validity <= 0 {
		validity = DefaultCRLValidity
	}
	now := h.cfg.Now().UTC().Truncate(time.Second)
	entries := make([]x509.RevocationListEntry, 0, len(revoked))
	for _, r := range revoked {
		if r.Serial == nil || r.RevokedAt.IsZero() {
			return nil, errors.New("ca: CRL entry without serial or revocation time")
		}
		entries = append(entries, x509.RevocationListEntry{
			SerialNumber:   r.Serial,
			RevocationTime: r.RevokedAt.UTC(),
			ReasonCode:     r.Reason,
		})
	}
	tmpl := &x509.RevocationList{
		SignatureAlgorithm:        defaultSigAlg(key.Public()),
		RevokedCertificateEntries: entries,
		Number:                    new(big.Int).Set(number),
		ThisUpdate:                now,
		NextUpdate:                now.Add(validity),
	}
	der, err := x509.CreateRevocationList(h.cfg.Rand, tmpl, cert, key)
	if err != nil {
		return nil, fmt.Errorf("ca: CRL: %w", err)
	}
	errs, _, err := lintCRL(der, coversCAs)
	if err != nil {
		return nil, err
	}
	if len(errs) > 0 {
		return nil, &LintError{Lints: errs}
	}
	return der, nil
}
