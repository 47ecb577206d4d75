// Package pkilint checks the CRLs and OCSP responses tests obtain, as
// testenv.RequireLintClean checks certificates: zlint's lints (the CRL
// lints certorder signs with, and zlint's few OCSP lints), then the rules
// of RFC 5280, RFC 6960 and the Baseline Requirements that zlint v3.7.3
// does not check. It is apart from testenv, which starts whole servers,
// so that internal/revocation's own tests can use it (testenv imports
// internal/revocation); testenv re-exports both helpers for the API tests.
package pkilint

import (
	"bytes"
	"crypto"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"slices"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
	"golang.org/x/crypto/ocsp"

	"github.com/certorder/certorder/internal/ca"
)

// Limits of the Baseline Requirements (4.9.10): an OCSP response's
// validity interval, counted inclusively, from 8 hours to 10 days.
const (
	day               = 24 * time.Hour
	minOCSPValidity   = 8 * time.Hour
	maxOCSPValidity   = 10 * day
	unspecifiedReason = 0
)

// subscriberReasons are the CRLReasons the Baseline Requirements (7.2.2)
// let a subscriber certificate's revocation carry; unspecified is told by
// leaving the reason out.
var subscriberReasons = []int{ocsp.KeyCompromise, ocsp.AffiliationChanged, ocsp.Superseded,
	ocsp.CessationOfOperation, ocsp.PrivilegeWithdrawn}

var oidOCSPNoCheck = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 5}

// RequireCRLClean fails the test unless der is a CRL that issuer signed
// and that passes the lints certorder signs CRLs with (those of a CRL
// covering CA certificates when issuer is a self-signed root; every error
// and warning counts). zlint checks the numbers, reasons, revocation
// times and validity limits; this adds what it cannot know: the
// signature, and the issuer's name and key identifier.
func RequireCRLClean(t testing.TB, der []byte, issuer *x509.Certificate) *x509.RevocationList {
	t.Helper()
	rl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatalf("CRL: parse: %v", err)
	}
	if err := rl.CheckSignatureFrom(issuer); err != nil {
		t.Fatalf("CRL: signature does not verify under %s: %v", issuer.Subject, err)
	}
	root := bytes.Equal(issuer.RawSubject, issuer.RawIssuer) && issuer.CheckSignatureFrom(issuer) == nil
	errs, warns, err := ca.LintCRL(der, root)
	if err != nil {
		t.Fatalf("CRL: lint: %v", err)
	}
	if len(errs)+len(warns) > 0 {
		t.Fatalf("CRL: zlint errors %v, warnings %v", errs, warns)
	}
	var problems []string
	if !rl.NextUpdate.After(rl.ThisUpdate) {
		problems = append(problems, fmt.Sprintf("nextUpdate %s not after thisUpdate %s", rl.NextUpdate, rl.ThisUpdate))
	}
	if !bytes.Equal(rl.RawIssuer, issuer.RawSubject) {
		problems = append(problems, fmt.Sprintf("issuer name is not the subject of %s", issuer.Subject))
	}
	if !bytes.Equal(rl.AuthorityKeyId, issuer.SubjectKeyId) {
		problems = append(problems, fmt.Sprintf("authority key identifier %x, issuer's key identifier %x", rl.AuthorityKeyId, issuer.SubjectKeyId))
	}
	if len(problems) > 0 {
		t.Fatalf("CRL of %s: %v", issuer.Subject.CommonName, problems)
	}
	return rl
}

// RequireOCSPClean fails the test unless der is a successful OCSP
// response about serial, from issuer or a responder it delegated to,
// that passes zlint's OCSP lints (every error and warning counts) and
// these rules of RFC 6960 (and the RFC 5019 profile) and the BRs:
//   - one SingleResponse, version v1;
//   - the signature verifies under the responder, which is the issuer
//     itself or a certificate the issuer signed with id-kp-OCSPSigning
//     and id-pkix-ocsp-nocheck (BR 4.9.9), and the responder ID names it;
//   - the CertID's hashes are those of issuer's name and key under its
//     hash algorithm, which is SHA-1 or SHA-2;
//   - thisUpdate at or before producedAt, nextUpdate after thisUpdate,
//     the validity interval counted inclusively from 8 hours to 10 days;
//   - a revocation at or before producedAt with a BR reason or none
//     (never an encoded unspecified);
//   - no critical extension.
func RequireOCSPClean(t testing.TB, der []byte, issuer *x509.Certificate, serial *big.Int) *ocsp.Response {
	t.Helper()
	resp, err := ocsp.ParseResponse(der, issuer)
	if err != nil {
		t.Fatalf("OCSP: parse and verify under %s: %v", issuer.Subject, err)
	}
	errs, warns, err := ca.LintOCSP(der)
	if err != nil {
		t.Fatalf("OCSP: lint: %v", err)
	}
	if len(errs)+len(warns) > 0 {
		t.Fatalf("OCSP: zlint errors %v, warnings %v", errs, warns)
	}
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	// The responder.
	signer := issuer
	if resp.Certificate != nil {
		signer = resp.Certificate
		if err := signer.CheckSignatureFrom(issuer); err != nil {
			bad("delegated responder certificate not signed by the issuer: %v", err)
		}
		if !slices.Contains(signer.ExtKeyUsage, x509.ExtKeyUsageOCSPSigning) {
			bad("delegated responder certificate lacks id-kp-OCSPSigning")
		}
		if !slices.ContainsFunc(signer.Extensions, func(e pkix.Extension) bool { return e.Id.Equal(oidOCSPNoCheck) }) {
			bad("delegated responder certificate lacks id-pkix-ocsp-nocheck (BR 4.9.9)")
		}
	}
	switch {
	case resp.RawResponderName != nil:
		if !bytes.Equal(resp.RawResponderName, signer.RawSubject) {
			bad("responder ID byName does not name the signer %s", signer.Subject)
		}
	default:
		if want := keyHash(t, signer, crypto.SHA1); !bytes.Equal(resp.ResponderKeyHash, want) {
			bad("responder ID byKey %x, signer's key hash %x", resp.ResponderKeyHash, want)
		}
	}

	// The times.
	switch {
	case resp.ProducedAt.IsZero():
		bad("no producedAt")
	case resp.ThisUpdate.After(resp.ProducedAt):
		bad("thisUpdate %s after producedAt %s (RFC 6960 2.4)", resp.ThisUpdate, resp.ProducedAt)
	}
	if resp.NextUpdate.IsZero() {
		bad("no nextUpdate (BR 4.9.10 wants one)")
	} else if !resp.NextUpdate.After(resp.ThisUpdate) {
		bad("nextUpdate %s not after thisUpdate %s", resp.NextUpdate, resp.ThisUpdate)
	} else if v := resp.NextUpdate.Sub(resp.ThisUpdate) + time.Second; v < minOCSPValidity || v > maxOCSPValidity {
		bad("validity interval %s outside the BRs' 8 hours to 10 days", v)
	}

	// The single response, read again from the DER: x/crypto keeps
	// neither the CertID's hashes nor whether a reason was encoded.
	sr, err := readSingle(der)
	if err != nil {
		t.Fatalf("OCSP: %v", err)
	}
	if sr.count != 1 {
		bad("%d SingleResponses, RFC 5019 wants one", sr.count)
	}
	if sr.version != 0 {
		bad("version %d, want v1", sr.version)
	}
	if resp.SerialNumber.Cmp(serial) != 0 {
		bad("serial %x, asked about %x", resp.SerialNumber, serial)
	}
	if h, ok := certIDHashes[resp.IssuerHash]; !ok || !sr.hashOID.Equal(h) {
		bad("CertID hash algorithm %v (%v) is not SHA-1 or SHA-2", sr.hashOID, resp.IssuerHash)
	} else {
		nh := resp.IssuerHash.New()
		nh.Write(issuer.RawSubject)
		if !bytes.Equal(sr.nameHash, nh.Sum(nil)) {
			bad("CertID issuerNameHash does not match %s", issuer.Subject)
		}
		if !bytes.Equal(sr.keyHash, keyHash(t, issuer, resp.IssuerHash)) {
			bad("CertID issuerKeyHash does not match the key of %s", issuer.Subject)
		}
	}
	switch resp.Status {
	case ocsp.Good:
	case ocsp.Revoked:
		if resp.RevokedAt.After(resp.ProducedAt) {
			bad("revoked at %s, after producedAt %s", resp.RevokedAt, resp.ProducedAt)
		}
		switch {
		case !sr.reasonEncoded:
		case resp.RevocationReason == unspecifiedReason:
			bad("revocation reason unspecified is encoded (leave it out, as on the CRLs)")
		case !slices.Contains(subscriberReasons, resp.RevocationReason):
			bad("revocation reason %d is not one the BRs allow", resp.RevocationReason)
		}
	case ocsp.Unknown:
		// RFC 6960 allows it; certorder answers unauthorized instead
		// (docs/decisions.md), so a test that meets it says so itself.
		bad("status unknown")
	}
	if sr.criticalExt {
		bad("a critical extension in the response")
	}
	if len(problems) > 0 {
		t.Fatalf("OCSP response about %x: %v", serial, problems)
	}
	return resp
}

var certIDHashes = map[crypto.Hash]asn1.ObjectIdentifier{
	crypto.SHA1:   {1, 3, 14, 3, 2, 26},
	crypto.SHA256: {2, 16, 840, 1, 101, 3, 4, 2, 1},
	crypto.SHA384: {2, 16, 840, 1, 101, 3, 4, 2, 2},
	crypto.SHA512: {2, 16, 840, 1, 101, 3, 4, 2, 3},
}

// keyHash hashes the subjectPublicKey BIT STRING's value of c (RFC 6960
// 4.1.1 and the byKey responder ID).
func keyHash(t testing.TB, c *x509.Certificate, h crypto.Hash) []byte {
	t.Helper()
	var spki struct {
		Algorithm asn1.RawValue
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(c.RawSubjectPublicKeyInfo, &spki); err != nil {
		t.Fatalf("OCSP: public key of %s: %v", c.Subject, err)
	}
	if h == crypto.SHA1 {
		sum := sha1.Sum(spki.PublicKey.RightAlign())
		return sum[:]
	}
	hh := h.New()
	hh.Write(spki.PublicKey.RightAlign())
	return hh.Sum(nil)
}

// single is what readSingle finds in a response.
type single struct {
	count             int // SingleResponses
	version           int64
	hashOID           asn1.ObjectIdentifier
	nameHash, keyHash []byte
	reasonEncoded     bool
	criticalExt       bool
}

var (
	tag0C = cbasn1.Tag(0).ContextSpecific().Constructed()
	tag1C = cbasn1.Tag(1).ContextSpecific().Constructed()
)

// readSingle walks a successful OCSPResponse (RFC 6960 4.2.1) down to its
// first SingleResponse.
func readSingle(der []byte) (single, error) {
	var out single
	in := cryptobyte.String(der)
	var resp, rb, rbSeq, basicOctets, basic, tbs, responses, sr, certID, alg cryptobyte.String
	var status int
	if !in.ReadASN1(&resp, cbasn1.SEQUENCE) || !resp.ReadASN1Enum(&status) || status != 0 ||
		!resp.ReadASN1(&rb, tag0C) || !rb.ReadASN1(&rbSeq, cbasn1.SEQUENCE) ||
		!rbSeq.SkipASN1(cbasn1.OBJECT_IDENTIFIER) || !rbSeq.ReadASN1(&basicOctets, cbasn1.OCTET_STRING) {
		return out, fmt.Errorf("not a successful OCSPResponse")
	}
	if !basicOctets.ReadASN1(&basic, cbasn1.SEQUENCE) || !basic.ReadASN1(&tbs, cbasn1.SEQUENCE) {
		return out, fmt.Errorf("no ResponseData")
	}
	if tbs.PeekASN1Tag(tag0C) {
		var v cryptobyte.String
		if !tbs.ReadASN1(&v, tag0C) || !v.ReadASN1Integer(&out.version) {
			return out, fmt.Errorf("bad version")
		}
	}
	if !tbs.SkipASN1(tbsResponderTag(tbs)) || !tbs.SkipASN1(cbasn1.GeneralizedTime) ||
		!tbs.ReadASN1(&responses, cbasn1.SEQUENCE) {
		return out, fmt.Errorf("bad ResponseData")
	}
	if tbs.PeekASN1Tag(tag1C) {
		var exts cryptobyte.String
		if !tbs.ReadASN1(&exts, tag1C) {
			return out, fmt.Errorf("bad responseExtensions")
		}
		out.criticalExt = out.criticalExt || hasCritical(exts)
	}
	for rest := responses; !rest.Empty(); out.count++ {
		var s cryptobyte.String
		if !rest.ReadASN1(&s, cbasn1.SEQUENCE) {
			return out, fmt.Errorf("bad SingleResponse")
		}
		if out.count == 0 {
			sr = s
		}
	}
	if out.count == 0 {
		return out, fmt.Errorf("no SingleResponse")
	}
	if !sr.ReadASN1(&certID, cbasn1.SEQUENCE) || !certID.ReadASN1(&alg, cbasn1.SEQUENCE) ||
		!alg.ReadASN1ObjectIdentifier(&out.hashOID) ||
		!certID.ReadASN1Bytes(&out.nameHash, cbasn1.OCTET_STRING) || !certID.ReadASN1Bytes(&out.keyHash, cbasn1.OCTET_STRING) {
		return out, fmt.Errorf("bad CertID")
	}
	// Parameters, when present, must be one NULL.
	if !alg.Empty() && (!alg.SkipASN1(cbasn1.NULL) || !alg.Empty()) {
		return out, fmt.Errorf("CertID hash algorithm parameters neither absent nor NULL")
	}
	if sr.PeekASN1Tag(tag1C) {
		var revoked cryptobyte.String
		if !sr.ReadASN1(&revoked, tag1C) || !revoked.SkipASN1(cbasn1.GeneralizedTime) {
			return out, fmt.Errorf("bad RevokedInfo")
		}
		out.reasonEncoded = revoked.PeekASN1Tag(tag0C)
	} else {
		var tag cbasn1.Tag
		if !sr.ReadAnyASN1(new(cryptobyte.String), &tag) {
			return out, fmt.Errorf("no certStatus")
		}
	}
	if !sr.SkipASN1(cbasn1.GeneralizedTime) || !sr.SkipOptionalASN1(tag0C) {
		return out, fmt.Errorf("bad thisUpdate or nextUpdate")
	}
	if sr.PeekASN1Tag(tag1C) {
		var exts cryptobyte.String
		if !sr.ReadASN1(&exts, tag1C) {
			return out, fmt.Errorf("bad singleExtensions")
		}
		out.criticalExt = out.criticalExt || hasCritical(exts)
	}
	return out, nil
}

// tbsResponderTag is the tag of the ResponderID CHOICE: [1] byName or
// [2] byKey, both explicit.
func tbsResponderTag(tbs cryptobyte.String) cbasn1.Tag {
	if tbs.PeekASN1Tag(tag1C) {
		return tag1C
	}
	return cbasn1.Tag(2).ContextSpecific().Constructed()
}

// hasCritical reads an [n] EXPLICIT Extensions wrapper's content.
func hasCritical(wrapped cryptobyte.String) bool {
	var exts cryptobyte.String
	if !wrapped.ReadASN1(&exts, cbasn1.SEQUENCE) {
		return true // unreadable counts against the response
	}
	for !exts.Empty() {
		var ext cryptobyte.String
		var id asn1.ObjectIdentifier
		critical := false
		if !exts.ReadASN1(&ext, cbasn1.SEQUENCE) || !ext.ReadASN1ObjectIdentifier(&id) ||
			!ext.ReadOptionalASN1Boolean(&critical, cbasn1.BOOLEAN, false) {
			return true
		}
		if critical {
			return true
		}
	}
	return false
}
