package ca

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// A Draft is a leaf certificate built but not yet signed: the exact
// TBSCertificate the issuer will sign, and a copy of the whole
// certificate for the linter. Issue is Draft, then Lint, then Sign; the
// stages are apart so that each can be measured (see bench_test.go).
//
// The TBSCertificate is encoded by certorder (tbs.go) with the issuer's
// name, key identifier and signature algorithm, byte for byte what
// crypto/x509 makes of the same template; the copy is that TBSCertificate
// with a placeholder signature of the size the issuer's key produces. So
// the linter sees the very bytes the issuer signs, the issuer's key signs
// only what passed, and the copy costs no signature at all. No lint
// certorder runs over a copy verifies a certificate's signature; the one
// zlint lint that does is left out for this reason (see leafExclusions).
type Draft struct {
	issuer *Issuer
	sigAlg x509.SignatureAlgorithm
	tbs    []byte // the TBSCertificate the issuer signs
	lint   []byte // the copy linted: tbs, sigAlg and a placeholder signature
	rand   io.Reader
}

// sigAlgInfo is what Sign and the copy need of each signature algorithm
// an issuer may use: its DER AlgorithmIdentifier and the hash (the
// placeholder signature's size comes from the key: placeholderSignature).
type sigAlgInfo struct {
	algID []byte
	hash  crypto.Hash
}

var sigAlgs = map[x509.SignatureAlgorithm]sigAlgInfo{
	// RFC 4055: the RSA identifiers carry an explicit NULL parameter.
	x509.SHA256WithRSA: {[]byte{0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00}, crypto.SHA256},
	x509.SHA384WithRSA: {[]byte{0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c, 0x05, 0x00}, crypto.SHA384},
	x509.SHA512WithRSA: {[]byte{0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d, 0x05, 0x00}, crypto.SHA512},
	// RFC 5758: the ECDSA identifiers have no parameters.
	x509.ECDSAWithSHA256: {[]byte{0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02}, crypto.SHA256},
	x509.ECDSAWithSHA384: {[]byte{0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03}, crypto.SHA384},
}

// placeholderSignature has the size and shape of a signature by key:
// the modulus length for RSA, a DER ECDSA-Sig-Value with full-length r
// and s for ECDSA (Mozilla's ECDSA lint infers the curve from the size).
func placeholderSignature(key crypto.PublicKey) ([]byte, error) {
	switch k := key.(type) {
	case *rsa.PublicKey:
		return bytes.Repeat([]byte{0x5a}, k.Size()), nil
	case *ecdsa.PublicKey:
		n := (k.Curve.Params().BitSize + 7) / 8
		if k.Curve == elliptic.P521() {
			return nil, errors.New("ca: P-521 issuers are not supported")
		}
		part := bytes.Repeat([]byte{0x5a}, n)
		var b cryptobyte.Builder
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.INTEGER, func(b *cryptobyte.Builder) { b.AddBytes(part) })
			b.AddASN1(cbasn1.INTEGER, func(b *cryptobyte.Builder) { b.AddBytes(part) })
		})
		return b.Bytes()
	}
	return nil, fmt.Errorf("ca: unsupported issuer key %T", key)
}

// draft makes the TBSCertificate of tmpl as iss signs it, and the lint copy.
func (iss *Issuer) draft(r io.Reader, tmpl *x509.Certificate, pub crypto.PublicKey) (*Draft, error) {
	sigAlg := tmpl.SignatureAlgorithm
	if sigAlg == x509.UnknownSignatureAlgorithm {
		sigAlg = defaultSigAlg(iss.Cert.PublicKey)
	}
	info, ok := sigAlgs[sigAlg]
	if !ok {
		return nil, fmt.Errorf("ca: signature algorithm %s is not supported", sigAlg)
	}
	tbs, err := tbsCertificate(tmpl, iss.Cert, info.algID, pub)
	if err != nil {
		return nil, fmt.Errorf("ca: building certificate: %w", err)
	}
	sig, err := placeholderSignature(iss.Cert.PublicKey)
	if err != nil {
		return nil, err
	}
	lint, err := assemble(tbs, info.algID, sig)
	if err != nil {
		return nil, err
	}
	return &Draft{issuer: iss, sigAlg: sigAlg, tbs: tbs, lint: lint, rand: r}, nil
}

// assemble is Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }.
func assemble(tbs, algID, sig []byte) ([]byte, error) {
	b := cryptobyte.NewBuilder(make([]byte, 0, len(tbs)+len(algID)+len(sig)+16))
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(tbs)
		b.AddBytes(algID)
		b.AddASN1BitString(sig)
	})
	return b.Bytes()
}

// Lint runs zlint over the copy: errors fail the draft (a *LintError),
// warnings are returned.
func (d *Draft) Lint() (warnings []string, err error) {
	errs, warns, err := lintLeaf(d.lint, d.issuer.Purpose)
	if err != nil {
		return nil, err
	}
	if len(errs) > 0 {
		return warns, &LintError{Lints: errs}
	}
	return warns, nil
}

// Sign has the issuer's key sign the TBSCertificate and checks the result:
// it parses, carries the linted TBSCertificate, and verifies under the
// issuer's certificate (a faulty signer must not produce a certificate
// nobody can verify). The parsed certificate comes back with its DER.
func (d *Draft) Sign() (*x509.Certificate, error) {
	info := sigAlgs[d.sigAlg]
	h := info.hash.New()
	h.Write(d.tbs)
	sig, err := d.issuer.signer.Sign(d.rand, h.Sum(nil), info.hash)
	if err != nil {
		return nil, fmt.Errorf("ca: signing certificate: %w", err)
	}
	der, err := assemble(d.tbs, info.algID, sig)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("ca: parsing issued certificate: %w", err)
	}
	if !bytes.Equal(cert.RawTBSCertificate, d.tbs) {
		return nil, errors.New("ca: issued TBSCertificate differs from the linted one")
	}
	if err := cert.CheckSignatureFrom(d.issuer.Cert); err != nil {
		return nil, fmt.Errorf("ca: issued certificate does not verify: %w", err)
	}
	return cert, nil
}

// WarmLinter lints one throwaway draft, so that the first order does not
// pay for what zlint builds on first use (its registries, and the table of
// small discrete logs behind e_ecdsa_small_private_key, about a third of a
// second of CPU). Nothing is signed by a CA key; the outcome is dropped.
func (h *Hierarchy) WarmLinter() {
	iss := h.DefaultIssuer()
	if iss == nil {
		return
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return
	}
	serial, err := NewSerial(rand.Reader)
	if err != nil {
		return
	}
	nb := h.cfg.Now().UTC().Truncate(time.Second)
	if nb.Before(iss.Cert.NotBefore) {
		nb = iss.Cert.NotBefore
	}
	d, err := h.Draft(LeafRequest{Issuer: iss, Profile: ProfileDVTLS, PublicKey: key.Public(),
		Subject: Subject{CommonName: "warm.example.com"}, DNSNames: []string{"warm.example.com"},
		NotBefore: nb, NotAfter: nb.Add(24 * time.Hour), Serial: serial})
	if err == nil {
		d.Lint()
	}
}

// LintAsDrafted lints a leaf already signed by a key of type issuer, for an
// issuer of purpose p, as a Draft's copy is linted: its TBSCertificate and
// signature algorithm with the placeholder signature (lintCopy), through
// the lint memo. Certificates certorder issues never take this path (they
// are linted before they are signed); the bench's minimal floor does, to
// measure what the lint costs an issuer that does nothing else.
func LintAsDrafted(der []byte, issuer crypto.PublicKey, p Purpose) (errs, warns []string, err error) {
	c, err := lintCopy(der, issuer)
	if err != nil {
		return nil, nil, err
	}
	return lintLeaf(c, p)
}

// lintCopy is the copy a Draft of the signed leaf der would have had:
// der with the placeholder signature of an issuer key of issuer's type.
func lintCopy(der []byte, issuer crypto.PublicKey) ([]byte, error) {
	in := cryptobyte.String(der)
	var cert, tbs, algID, signature cryptobyte.String
	if !in.ReadASN1(&cert, cbasn1.SEQUENCE) || !in.Empty() ||
		!cert.ReadASN1Element(&tbs, cbasn1.SEQUENCE) || !cert.ReadASN1Element(&algID, cbasn1.SEQUENCE) ||
		!cert.ReadASN1(&signature, cbasn1.BIT_STRING) || !cert.Empty() {
		return nil, errors.New("ca: not a DER certificate")
	}
	sig, err := placeholderSignature(issuer)
	if err != nil {
		return nil, err
	}
	return assemble(tbs, algID, sig)
}
