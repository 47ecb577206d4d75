package ca

import (
	"crypto/elliptic"
	"fmt"
	"testing"

	zx509 "github.com/zmap/zcrypto/x509"
)

// BenchmarkLeafLint measures the lint of a DV leaf under a P-256 issuer,
// each draft for new names with a new key and serial as orders are: the
// zcrypto parse of the copy alone, the whole lint (parse, memo, the
// variable lints), and the same lint of leaves crypto/x509 signed in the
// shape of the bench's minimal floor (LintAsDrafted), which should cost
// what a draft's lint costs for its rows to mean what they say.
func BenchmarkLeafLint(b *testing.B) {
	h := sharedHierarchy(b, KeyP256, KeyP256)
	const n = 64
	drafts := make([]*Draft, n)
	for i := range drafts {
		req := leafRequest(b, h, ProfileDVTLS, ecKey(b, elliptic.P256()).Public(), "")
		name := fmt.Sprintf("host-%d.example.com", i)
		req.Subject = Subject{CommonName: name}
		req.DNSNames = []string{name}
		d, err := h.Draft(req)
		if err != nil {
			b.Fatal(err)
		}
		drafts[i] = d
	}
	if _, err := drafts[0].Lint(); err != nil {
		b.Fatal(err)
	}
	b.Run("parse", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if _, err := zx509.ParseCertificate(drafts[i%n].lint); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("lint", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if _, err := drafts[i%n].Lint(); err != nil {
				b.Fatal(err)
			}
		}
	})
	iss := h.DefaultIssuer()
	signed := make([][]byte, n)
	for i := range signed {
		signed[i] = floorShapedLeaf(b, iss, fmt.Sprintf("floor-%d.example.com", i))
	}
	b.Run("as-drafted", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if errs, _, err := LintAsDrafted(signed[i%n], iss.Cert.PublicKey, iss.Purpose); err != nil || len(errs) > 0 {
				b.Fatal(err, errs)
			}
		}
	})
}
