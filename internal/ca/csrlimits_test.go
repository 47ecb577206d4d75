package ca_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"github.com/certorder/certorder/internal/ca"
	"github.com/certorder/certorder/internal/testenv"
)

// TestParseCSRChecksKeyBeforeSignature: every CSR here has a junk
// signature, so a signature check would refuse it with ErrCSRSignature.
// A key CheckKey refuses, or a CSR over the size limits, must be refused
// for that reason instead: proof that the signature check, whose cost
// grows with the modulus (seconds for half a million bits), never ran.
func TestParseCSRChecksKeyBeforeSignature(t *testing.T) {
	spki := func(t *testing.T, pub any) []byte {
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	p224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p256 := testenv.ECKey(t, elliptic.P256())
	for _, tc := range []struct {
		name    string
		csr     func(t *testing.T) string
		want    error
		message string
	}{
		{"RSA modulus of 524,288 bits", func(t *testing.T) string {
			return testenv.JunkSignedCSR(t, testenv.RSAModulusSPKI(t, 524288), 0)
		}, ca.ErrWeakKey, "larger than any allowed key"},
		{"RSA modulus of 16,384 bits", func(t *testing.T) string {
			return testenv.JunkSignedCSR(t, testenv.RSAModulusSPKI(t, 16384), 0)
		}, ca.ErrWeakKey, "larger than any allowed key"},
		{"RSA modulus of 12,288 bits", func(t *testing.T) string {
			return testenv.JunkSignedCSR(t, testenv.RSAModulusSPKI(t, 12288), 0)
		}, ca.ErrWeakKey, "at most 8192 allowed"},
		{"RSA modulus of 1024 bits", func(t *testing.T) string {
			return testenv.JunkSignedCSR(t, testenv.RSAModulusSPKI(t, 1024), 0)
		}, ca.ErrWeakKey, "at least 2048 required"},
		{"ECDSA P-224", func(t *testing.T) string {
			return testenv.JunkSignedCSR(t, spki(t, p224.Public()), 0)
		}, ca.ErrWeakKey, "only P-256 and P-384"},
		{"DER over 64 KiB", func(t *testing.T) string {
			return testenv.JunkSignedCSR(t, spki(t, p256.Public()), ca.MaxCSRDER)
		}, ca.ErrCSRTooLarge, "bytes of DER"},
		{"text over 128 KiB", func(t *testing.T) string {
			return testenv.JunkSignedCSR(t, spki(t, p256.Public()), 0) + strings.Repeat(" ", ca.MaxCSRText)
		}, ca.ErrCSRTooLarge, "bytes of text"},
		// The control: an allowed key with the same junk signature is
		// refused by the signature check.
		{"RSA-2048", func(t *testing.T) string {
			return testenv.JunkSignedCSR(t, spki(t, testenv.RSAKey(t).Public()), 0)
		}, ca.ErrCSRSignature, "verification error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.csr(t)
			_, err := ca.ParseCSR(in)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.message) {
				t.Fatalf("ParseCSR: %v; want %v saying %q", err, tc.want, tc.message)
			}
			if tc.want != ca.ErrCSRSignature && errors.Is(err, ca.ErrCSRSignature) {
				t.Fatalf("ParseCSR reached the signature check: %v", err)
			}
			// Binary DER takes the same path as PEM.
			if b, _ := pem.Decode([]byte(in)); b != nil && len(in) <= ca.MaxCSRText {
				if _, err := ca.ParseCSR(string(b.Bytes)); !errors.Is(err, tc.want) {
					t.Fatalf("ParseCSR of the DER: %v; want %v", err, tc.want)
				}
			}
		})
	}
}
