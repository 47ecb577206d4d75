package ca

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"

	"golang.org/x/crypto/ocsp"
)

// ocspHashes are the CertID hash algorithms an OCSP request may use:
// SHA-1 is what nearly every client sends (RFC 5019), the SHA-2 family is
// what RFC 6960 allows beside it.
var ocspHashes = []crypto.Hash{crypto.SHA1, crypto.SHA256, crypto.SHA384, crypto.SHA512}

// SignOCSP signs an OCSP response for a certificate of iss with the
// issuer's own key (RFC 6960 section 4.2.2.2: the CA that issued the
// certificate may sign directly, so no delegated responder certificate is
// included). The template's Status, SerialNumber, ThisUpdate, NextUpdate,
// RevokedAt, RevocationReason and IssuerHash (the request's CertID hash,
// SHA-1 when zero) are used; the responder ID is the issuer's name.
func (h *Hierarchy) SignOCSP(iss *Issuer, template ocsp.Response) ([]byte, error) {
	if iss == nil || !h.owns(iss) {
		return nil, errors.New("ca: issuer is not part of this hierarchy")
	}
	if template.SerialNumber == nil || template.SerialNumber.Sign() <= 0 {
		return nil, errors.New("ca: OCSP response needs a positive serial")
	}
	if template.ThisUpdate.IsZero() || !template.NextUpdate.After(template.ThisUpdate) {
		return nil, errors.New("ca: OCSP response needs thisUpdate before nextUpdate")
	}
	switch template.Status {
	case ocsp.Good, ocsp.Unknown:
	case ocsp.Revoked:
		if template.RevokedAt.IsZero() {
			return nil, errors.New("ca: revoked OCSP response without revocation time")
		}
	default:
		return nil, fmt.Errorf("ca: OCSP status %d", template.Status)
	}
	// The issuer signs, so it is also the responder: no certificate in the
	// response, and the hash its key signs with is the one for its CRLs.
	template.Certificate = nil
	template.SignatureAlgorithm = defaultSigAlg(iss.signer.Public())
	der, err := ocsp.CreateResponse(iss.Cert, iss.Cert, template, iss.signer)
	if err != nil {
		return nil, fmt.Errorf("ca: OCSP response: %w", err)
	}
	return der, nil
}

// MatchOCSPIssuer finds the issuing intermediate a CertID names: its
// subject and public key hashed with the request's algorithm. ok is false
// for an unsupported hash or an issuer certorder does not have.
func (h *Hierarchy) MatchOCSPIssuer(alg crypto.Hash, nameHash, keyHash []byte) (*Issuer, bool) {
	supported := false
	for _, a := range ocspHashes {
		supported = supported || a == alg
	}
	if !supported || !alg.Available() {
		return nil, false
	}
	for _, iss := range h.issuers {
		n, k, err := certIDHashes(iss.Cert, alg)
		if err != nil {
			continue
		}
		if bytes.Equal(n, nameHash) && bytes.Equal(k, keyHash) {
			return iss, true
		}
	}
	return nil, false
}

// certIDHashes are the issuerNameHash and issuerKeyHash of RFC 6960
// section 4.1.1: the hash of the DER subject, and of the subjectPublicKey
// BIT STRING's value (not of the whole SubjectPublicKeyInfo).
func certIDHashes(cert *x509.Certificate, alg crypto.Hash) (nameHash, keyHash []byte, err error) {
	var spki struct {
		Algorithm asn1.RawValue
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(cert.RawSubjectPublicKeyInfo, &spki); err != nil {
		return nil, nil, err
	}
	hh := alg.New()
	hh.Write(cert.RawSubject)
	nameHash = hh.Sum(nil)
	hh.Reset()
	hh.Write(spki.PublicKey.RightAlign())
	keyHash = hh.Sum(nil)
	return nameHash, keyHash, nil
}
