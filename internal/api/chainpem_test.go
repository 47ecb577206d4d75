package api

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"strings"
	"testing"
	"time"
)

// TestChainElemsKeepsOnlyCAs: the PEM forms kept across answers are
// those of the CA certificates; each leaf is encoded for its own answer
// and forgotten, so that the cache does not grow by one entry per order.
func TestChainElemsKeepsOnlyCAs(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cert := func(cn string) *x509.Certificate {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	count := func() int {
		n := 0
		caPEMs.Range(func(any, any) bool { n++; return true })
		return n
	}
	issuer, root := cert("issuer"), cert("root")
	before := count()
	for i := range 20 {
		leaf := cert("leaf")
		got := chainElems([]*x509.Certificate{leaf, issuer, root})
		if len(got) != 3 || got[0].SubjectCommonName != "leaf" || got[2].SubjectCommonName != "root" ||
			!strings.HasPrefix(got[0].PEM, "-----BEGIN CERTIFICATE-----") || got[0].PEM != pemOf(leaf.Raw) || got[1].PEM != pemOf(issuer.Raw) {
			t.Fatalf("answer %d: %+v", i, got)
		}
	}
	if n := count() - before; n != 2 {
		t.Errorf("the PEM cache grew by %d entries over 20 answers, want the 2 CA certificates", n)
	}
}
