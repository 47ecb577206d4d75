package ca

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
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
// ProducedAt (ThisUpdate when zero), RevokedAt, RevocationReason and
// IssuerHash (the request's CertID hash, SHA-1 when zero) are used; the
// responder ID is the issuer's name. Times are encoded to the second.
//
// The response is encoded here rather than by golang.org/x/crypto/ocsp,
// whose CreateResponse sets producedAt itself from the machine's clock
// truncated to the minute: a thisUpdate of the same moment, truncated to
// the second, then came up to 59 seconds after producedAt (RFC 6960
// section 2.4 wants it at or before), and an injected clock was ignored.
// Here both come from the caller's one clock reading.
func (h *Hierarchy) SignOCSP(iss *Issuer, template ocsp.Response) ([]byte, error) {
	if iss == nil || !h.owns(iss) {
		return nil, errors.New("ca: issuer is not part of this hierarchy")
	}
	if template.SerialNumber == nil || template.SerialNumber.Sign() <= 0 {
		return nil, errors.New("ca: OCSP response needs a positive serial")
	}
	thisUpdate := template.ThisUpdate.UTC().Truncate(time.Second)
	nextUpdate := template.NextUpdate.UTC().Truncate(time.Second)
	producedAt := template.ProducedAt.UTC().Truncate(time.Second)
	if template.ProducedAt.IsZero() {
		producedAt = thisUpdate
	}
	if template.ThisUpdate.IsZero() || !nextUpdate.After(thisUpdate) {
		return nil, errors.New("ca: OCSP response needs thisUpdate before nextUpdate")
	}
	if thisUpdate.After(producedAt) {
		return nil, errors.New("ca: OCSP response needs thisUpdate at or before producedAt")
	}
	switch template.Status {
	case ocsp.Good, ocsp.Unknown:
	case ocsp.Revoked:
		if template.RevokedAt.IsZero() {
			return nil, errors.New("ca: revoked OCSP response without revocation time")
		}
		if template.RevocationReason < 0 || template.RevocationReason > ocsp.AACompromise || template.RevocationReason == 7 {
			return nil, fmt.Errorf("ca: OCSP revocation reason %d", template.RevocationReason)
		}
	default:
		return nil, fmt.Errorf("ca: OCSP status %d", template.Status)
	}
	hash := template.IssuerHash
	if hash == 0 {
		hash = crypto.SHA1
	}
	hashOID, ok := ocspHashOIDs[hash]
	if !ok {
		return nil, fmt.Errorf("ca: OCSP CertID hash %v", hash)
	}
	nameHash, keyHash, err := certIDHashes(iss.Cert, hash)
	if err != nil {
		return nil, fmt.Errorf("ca: OCSP CertID: %w", err)
	}
	// The issuer signs, so it is also the responder: no certificate in the
	// response, and the algorithm its key signs with is the one of its CRLs.
	alg, ok := ocspSigAlgs[defaultSigAlg(iss.signer.Public())]
	if !ok {
		return nil, fmt.Errorf("ca: no OCSP signature algorithm for the key of %s", iss.ID)
	}

	// ResponseData (RFC 6960 section 4.2.1), version v1 left out as DER
	// wants for a DEFAULT value.
	var tbs cryptobyte.Builder
	tbs.AddASN1(cbasn1.SEQUENCE, func(rd *cryptobyte.Builder) {
		rd.AddASN1(cbasn1.Tag(1).ContextSpecific().Constructed(), func(id *cryptobyte.Builder) { // byName
			id.AddBytes(iss.Cert.RawSubject)
		})
		rd.AddASN1GeneralizedTime(producedAt)
		rd.AddASN1(cbasn1.SEQUENCE, func(list *cryptobyte.Builder) {
			list.AddASN1(cbasn1.SEQUENCE, func(single *cryptobyte.Builder) {
				single.AddASN1(cbasn1.SEQUENCE, func(certID *cryptobyte.Builder) {
					certID.AddASN1(cbasn1.SEQUENCE, func(a *cryptobyte.Builder) {
						a.AddASN1ObjectIdentifier(hashOID)
						a.AddASN1NULL()
					})
					certID.AddASN1OctetString(nameHash)
					certID.AddASN1OctetString(keyHash)
					certID.AddASN1BigInt(template.SerialNumber)
				})
				switch template.Status {
				case ocsp.Good:
					single.AddASN1(cbasn1.Tag(0).ContextSpecific(), func(*cryptobyte.Builder) {})
				case ocsp.Revoked:
					single.AddASN1(cbasn1.Tag(1).ContextSpecific().Constructed(), func(ri *cryptobyte.Builder) {
						ri.AddASN1GeneralizedTime(template.RevokedAt.UTC().Truncate(time.Second))
						// Unspecified carries no reason, as on the CRLs.
						if template.RevocationReason != ocsp.Unspecified {
							ri.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(r *cryptobyte.Builder) {
								r.AddASN1Enum(int64(template.RevocationReason))
							})
						}
					})
				case ocsp.Unknown:
					single.AddASN1(cbasn1.Tag(2).ContextSpecific(), func(*cryptobyte.Builder) {})
				}
				single.AddASN1GeneralizedTime(thisUpdate)
				single.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(n *cryptobyte.Builder) {
					n.AddASN1GeneralizedTime(nextUpdate)
				})
			})
		})
	})
	tbsDER, err := tbs.Bytes()
	if err != nil {
		return nil, fmt.Errorf("ca: OCSP response data: %w", err)
	}
	hh := alg.hash.New()
	hh.Write(tbsDER)
	sig, err := iss.signer.Sign(h.cfg.Rand, hh.Sum(nil), alg.hash)
	if err != nil {
		return nil, fmt.Errorf("ca: OCSP response: sign: %w", err)
	}
	var basic cryptobyte.Builder
	basic.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(tbsDER)
		b.AddASN1(cbasn1.SEQUENCE, func(a *cryptobyte.Builder) {
			a.AddASN1ObjectIdentifier(alg.oid)
			if alg.nullParams {
				a.AddASN1NULL()
			}
		})
		b.AddASN1BitString(sig)
	})
	basicDER, err := basic.Bytes()
	if err != nil {
		return nil, fmt.Errorf("ca: OCSP basic response: %w", err)
	}
	var resp cryptobyte.Builder
	resp.AddASN1(cbasn1.SEQUENCE, func(r *cryptobyte.Builder) {
		r.AddASN1Enum(0) // successful
		r.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(rb *cryptobyte.Builder) {
			rb.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(oidOCSPBasic)
				b.AddASN1OctetString(basicDER)
			})
		})
	})
	return resp.Bytes()
}

// oidOCSPBasic is id-pkix-ocsp-basic, the only response type certorder
// sends (RFC 6960 section 4.2.1).
var oidOCSPBasic = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 1}

// ocspHashOIDs name the CertID hash algorithms of ocspHashes.
var ocspHashOIDs = map[crypto.Hash]asn1.ObjectIdentifier{
	crypto.SHA1:   {1, 3, 14, 3, 2, 26},
	crypto.SHA256: {2, 16, 840, 1, 101, 3, 4, 2, 1},
	crypto.SHA384: {2, 16, 840, 1, 101, 3, 4, 2, 2},
	crypto.SHA512: {2, 16, 840, 1, 101, 3, 4, 2, 3},
}

// ocspSig is how an issuer key signs a response: the AlgorithmIdentifier
// in the encodings the Baseline Requirements (7.1.3.2) allow — NULL
// parameters for RSA, none for ECDSA — and the hash.
type ocspSig struct {
	oid        asn1.ObjectIdentifier
	nullParams bool
	hash       crypto.Hash
}

var ocspSigAlgs = map[x509.SignatureAlgorithm]ocspSig{
	x509.SHA256WithRSA:   {asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}, true, crypto.SHA256},
	x509.ECDSAWithSHA256: {asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}, false, crypto.SHA256},
	x509.ECDSAWithSHA384: {asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}, false, crypto.SHA384},
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
