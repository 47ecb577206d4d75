package testenv

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"testing"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// RSAModulusSPKI is the SubjectPublicKeyInfo of an RSA public key whose
// modulus is a random odd number of exactly bits bits (no real key: its
// factors are unknown, which does not matter to a key that must be
// refused unread).
func RSAModulusSPKI(t testing.TB, bits int) []byte {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), uint(bits-1)))
	if err != nil {
		t.Fatal(err)
	}
	n.SetBit(n, bits-1, 1).SetBit(n, 0, 1)
	spki, err := x509.MarshalPKIXPublicKey(&rsa.PublicKey{N: n, E: 65537})
	if err != nil {
		t.Fatalf("RSAModulusSPKI: %v", err)
	}
	return spki
}

// JunkSignedCSR is a PEM CSR (RFC 2986), built by hand, for the
// SubjectPublicKeyInfo spki, with a signature of junk bytes that no key
// verifies: it carries keys no signer would sign with (a modulus of half
// a million bits), so that a test can show a key refused before any
// signature check. padding > 0 adds an attribute of that many bytes.
func JunkSignedCSR(t testing.TB, spki []byte, padding int) string {
	t.Helper()
	oid := func(s ...int) asn1.ObjectIdentifier { return asn1.ObjectIdentifier(s) }
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(req *cryptobyte.Builder) {
		req.AddASN1(cbasn1.SEQUENCE, func(info *cryptobyte.Builder) {
			info.AddASN1Int64(0)
			info.AddASN1(cbasn1.SEQUENCE, func(name *cryptobyte.Builder) {
				name.AddASN1(cbasn1.SET, func(rdn *cryptobyte.Builder) {
					rdn.AddASN1(cbasn1.SEQUENCE, func(atv *cryptobyte.Builder) {
						atv.AddASN1ObjectIdentifier(oid(2, 5, 4, 3))
						atv.AddASN1(cbasn1.UTF8String, func(v *cryptobyte.Builder) { v.AddBytes([]byte("ignored")) })
					})
				})
			})
			info.AddBytes(spki)
			info.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(attrs *cryptobyte.Builder) {
				if padding <= 0 {
					return
				}
				attrs.AddASN1(cbasn1.SEQUENCE, func(attr *cryptobyte.Builder) {
					// An unregistered private OID: nothing interprets it.
					attr.AddASN1ObjectIdentifier(oid(1, 3, 6, 1, 4, 1, 55555, 1))
					attr.AddASN1(cbasn1.SET, func(vals *cryptobyte.Builder) {
						vals.AddASN1OctetString(make([]byte, padding))
					})
				})
			})
		})
		req.AddASN1(cbasn1.SEQUENCE, func(alg *cryptobyte.Builder) {
			alg.AddASN1ObjectIdentifier(oid(1, 2, 840, 113549, 1, 1, 11)) // sha256WithRSAEncryption
			alg.AddASN1NULL()
		})
		sig := make([]byte, 256)
		for i := range sig {
			sig[i] = byte(i) | 0x80
		}
		req.AddASN1BitString(sig)
	})
	der, err := b.Bytes()
	if err != nil {
		t.Fatalf("JunkSignedCSR: %v", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}
