package ca

import (
	"crypto/rand"
	"testing"

	zx509 "github.com/zmap/zcrypto/x509"
)

// smallKeyLintName is the name zlint registers its small-private-key lint under.
const smallKeyLintName = "e_ecdsa_small_private_key"

// BenchmarkSmallKeyLint: e_ecdsa_small_private_key over an OV TLS leaf
// with a random P-256 or P-384 key, as zlint runs it (zlint) and as
// certorder's loop does (certorder), and the whole pre-issuance lint of
// that leaf (leaf). Run: go test ./internal/ca -run '^$' -bench SmallKeyLint
func BenchmarkSmallKeyLint(b *testing.B) {
	regs, err := lintRegistries()
	if err != nil {
		b.Fatal(err)
	}
	reg := regs.leaves[PurposeTLS]
	set := lintSetOf(reg)
	var l configuredLint
	for _, cl := range set.lints {
		if cl.Name == smallKeyLintName {
			l = cl
		}
	}
	if l.CertificateLint == nil {
		b.Fatalf("no %s in the TLS leaf registry", smallKeyLintName)
	}
	h := sharedHierarchy(b, KeyP256, KeyP256)
	for _, kt := range []KeyType{KeyP256, KeyP384} {
		key, err := freshKey(kt, rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		d, err := h.Draft(leafRequest(b, h, ProfileOVTLS, key.Public(), ""))
		if err != nil {
			b.Fatal(err)
		}
		c, err := zx509.ParseCertificate(d.lint)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(string(kt)+"/zlint", func(b *testing.B) {
			for b.Loop() {
				l.Execute(c, set.cfg)
			}
		})
		b.Run(string(kt)+"/certorder", func(b *testing.B) {
			for b.Loop() {
				set.run(l, c)
			}
		})
		b.Run(string(kt)+"/leaf", func(b *testing.B) {
			for b.Loop() {
				if _, _, err := lintLeaf(d.lint, PurposeTLS); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
