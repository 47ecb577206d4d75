package ca

import (
	"bytes"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"testing"
)

// TestDraftMatchesCreateCertificate: the TBSCertificate a draft signs is
// byte for byte what crypto/x509 makes when the issuer's own key signs the
// same template, for every issuer key and hash; the lint copy carries it
// with the issuer's algorithm; Sign returns a certificate that verifies.
func TestDraftMatchesCreateCertificate(t *testing.T) {
	for _, tc := range []struct {
		issuer KeyType
		hash   string
		alg    x509.SignatureAlgorithm
	}{
		{KeyRSA2048, "sha256", x509.SHA256WithRSA},
		{KeyRSA2048, "sha384", x509.SHA384WithRSA},
		{KeyRSA2048, "sha512", x509.SHA512WithRSA},
		{KeyP256, "", x509.ECDSAWithSHA256},
		{KeyP384, "sha384", x509.ECDSAWithSHA384},
	} {
		t.Run(string(tc.issuer)+"/"+tc.hash, func(t *testing.T) {
			h := sharedHierarchy(t, KeyP256, tc.issuer)
			req := leafRequest(t, h, ProfileOVTLS, ecKey(t, elliptic.P256()).Public(), tc.hash)
			tmpl, err := h.leafTemplate(req)
			if err != nil {
				t.Fatal(err)
			}
			want, err := x509.CreateCertificate(rand.Reader, tmpl, req.Issuer.Cert, req.PublicKey, req.Issuer.signer)
			if err != nil {
				t.Fatal(err)
			}
			wantCert, _ := x509.ParseCertificate(want)
			d, err := h.Draft(req)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(d.tbs, wantCert.RawTBSCertificate) {
				t.Fatalf("draft TBSCertificate differs from crypto/x509's:\n%x\n%x", d.tbs, wantCert.RawTBSCertificate)
			}
			lint, err := x509.ParseCertificate(d.lint)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(lint.RawTBSCertificate, d.tbs) || lint.SignatureAlgorithm != tc.alg {
				t.Fatalf("lint copy: algorithm %s, same TBS %v", lint.SignatureAlgorithm, bytes.Equal(lint.RawTBSCertificate, d.tbs))
			}
			if len(lint.Signature) != len(wantCert.Signature) && tc.alg != x509.ECDSAWithSHA256 && tc.alg != x509.ECDSAWithSHA384 {
				t.Errorf("placeholder signature is %d bytes, a real one %d", len(lint.Signature), len(wantCert.Signature))
			}
			if _, err := d.Lint(); err != nil {
				t.Fatal(err)
			}
			cert, err := d.Sign()
			if err != nil {
				t.Fatal(err)
			}
			if err := cert.CheckSignatureFrom(req.Issuer.Cert); err != nil || cert.SignatureAlgorithm != tc.alg {
				t.Fatalf("signed certificate: %v, %s", err, cert.SignatureAlgorithm)
			}
		})
	}
}

// TestSignRefusesBadSignature: a signer whose output does not verify
// yields no certificate.
func TestSignRefusesBadSignature(t *testing.T) {
	h := ecHierarchy(t, KeyP256, KeyP256)
	req := leafRequest(t, h, ProfileOVTLS, ecKey(t, elliptic.P256()).Public(), "")
	d, err := h.Draft(req)
	if err != nil {
		t.Fatal(err)
	}
	d.issuer = &Issuer{Cert: req.Issuer.Cert, signer: ecKey(t, elliptic.P256())} // the wrong key
	if _, err := d.Sign(); err == nil {
		t.Fatal("a signature by the wrong key was accepted")
	}
}
