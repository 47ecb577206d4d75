package pkilint

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"
)

// recorder is a testing.TB whose Fatalf ends only the goroutine that
// calls it, so a test can see what the helpers refuse.
type recorder struct {
	testing.TB
	msg string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// refusal runs check with a recorder and returns what it refused ("" for
// nothing).
func refusal(t *testing.T, check func(testing.TB)) string {
	r := &recorder{TB: t}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		check(r)
	}()
	wg.Wait()
	return r.msg
}

// pki is a root and an intermediate of certorder's shape (an issuer
// with a key identifier), built here so that the tests can sign what
// certorder never would.
type pki struct {
	root, inter       *x509.Certificate
	rootKey, interKey *ecdsa.PrivateKey
}

func newPKI(t *testing.T) pki {
	t.Helper()
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	var p pki
	p.rootKey, p.interKey = key(), key()
	issue := func(cn string, serial int64, pub crypto.PublicKey, parent *x509.Certificate, signer crypto.Signer, eku []x509.ExtKeyUsage, ca bool) *x509.Certificate {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn, Organization: []string{"pkilint"}},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0), BasicConstraintsValid: true, IsCA: ca,
			KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature, ExtKeyUsage: eku}
		if parent == nil {
			parent = tmpl
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	p.root = issue("root", 1, p.rootKey.Public(), nil, p.rootKey, nil, true)
	p.inter = issue("inter", 2, p.interKey.Public(), p.root, p.rootKey, nil, true)
	return p
}

// TestRequireOCSPClean: the helper passes a clean response and refuses
// each rule's breach (responses made with x/crypto/ocsp, whose encoder
// certorder no longer uses).
func TestRequireOCSPClean(t *testing.T) {
	p := newPKI(t)
	serial := big.NewInt(0x5eed)
	// x/crypto sets producedAt to the machine's minute.
	minute := time.Now().UTC().Truncate(time.Minute)
	ok := ocsp.Response{Status: ocsp.Good, SerialNumber: serial, ThisUpdate: minute.Add(-time.Minute), NextUpdate: minute.Add(23 * time.Hour)}
	delegate := func(eku []x509.ExtKeyUsage) (*x509.Certificate, *ecdsa.PrivateKey) {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{SerialNumber: big.NewInt(9), Subject: pkix.Name{CommonName: "responder"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), ExtKeyUsage: eku,
			KeyUsage: x509.KeyUsageDigitalSignature}, p.inter, k.Public(), p.interKey)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := x509.ParseCertificate(der)
		return c, k
	}
	unflagged, unflaggedKey := delegate([]x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth})
	for _, tc := range []struct {
		name   string
		mutate func(*ocsp.Response)
		signer *x509.Certificate // delegated responder; nil: the issuer
		key    crypto.Signer
		serial *big.Int
		want   string // "" passes
	}{
		{name: "clean", mutate: func(*ocsp.Response) {}},
		{name: "clean SHA-256 CertID", mutate: func(r *ocsp.Response) { r.IssuerHash = crypto.SHA256 }},
		{name: "revoked keyCompromise", mutate: func(r *ocsp.Response) {
			r.Status, r.RevokedAt, r.RevocationReason = ocsp.Revoked, minute.Add(-time.Hour), ocsp.KeyCompromise
		}},
		{name: "thisUpdate after producedAt", mutate: func(r *ocsp.Response) {
			r.ThisUpdate, r.NextUpdate = minute.Add(time.Hour), minute.Add(25*time.Hour)
		}, want: "this_update_not_after_produced_at"},
		{name: "no nextUpdate", mutate: func(r *ocsp.Response) { r.NextUpdate = time.Time{} }, want: "no nextUpdate"},
		{name: "validity over 10 days", mutate: func(r *ocsp.Response) { r.NextUpdate = r.ThisUpdate.Add(11 * day) }, want: "validity interval"},
		{name: "validity under 8 hours", mutate: func(r *ocsp.Response) { r.NextUpdate = r.ThisUpdate.Add(time.Hour) }, want: "validity interval"},
		{name: "status unknown", mutate: func(r *ocsp.Response) { r.Status = ocsp.Unknown }, want: "status unknown"},
		{name: "revoked for a reason the BRs forbid", mutate: func(r *ocsp.Response) {
			r.Status, r.RevokedAt, r.RevocationReason = ocsp.Revoked, minute.Add(-time.Hour), ocsp.CACompromise
		}, want: "reason 2"},
		{name: "revoked after producedAt", mutate: func(r *ocsp.Response) {
			r.Status, r.RevokedAt, r.RevocationReason = ocsp.Revoked, minute.Add(time.Hour), ocsp.KeyCompromise
		}, want: "after producedAt"},
		{name: "another serial", mutate: func(*ocsp.Response) {}, serial: big.NewInt(7), want: "asked about 7"},
		{name: "delegated responder without id-kp-OCSPSigning", mutate: func(*ocsp.Response) {}, signer: unflagged, key: unflaggedKey,
			want: "lacks id-kp-OCSPSigning"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmpl := ok
			tc.mutate(&tmpl)
			responder, key := p.inter, crypto.Signer(p.interKey)
			if tc.signer != nil {
				responder, key = tc.signer, tc.key
				tmpl.Certificate = tc.signer
			}
			der, err := ocsp.CreateResponse(p.inter, responder, tmpl, key)
			if err != nil {
				t.Fatal(err)
			}
			asked := serial
			if tc.serial != nil {
				asked = tc.serial
			}
			got := refusal(t, func(tb testing.TB) { RequireOCSPClean(tb, der, p.inter, asked) })
			if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
				t.Fatalf("refused %q, want %q", got, tc.want)
			}
		})
	}
}

// TestRequireCRLClean: the helper passes a clean CRL and refuses each
// rule's breach.
func TestRequireCRLClean(t *testing.T) {
	p := newPKI(t)
	now := time.Now().UTC().Truncate(time.Second)
	entry := func(serial int64, reason int) x509.RevocationListEntry {
		return x509.RevocationListEntry{SerialNumber: big.NewInt(serial), RevocationTime: now.Add(-time.Hour), ReasonCode: reason}
	}
	for _, tc := range []struct {
		name   string
		root   bool // the root's CRL, covering the intermediate
		mutate func(*x509.RevocationList)
		want   string
	}{
		{name: "clean", mutate: func(*x509.RevocationList) {}},
		{name: "clean with entries", mutate: func(l *x509.RevocationList) {
			l.RevokedCertificateEntries = []x509.RevocationListEntry{entry(42, 0), entry(43, ocsp.KeyCompromise)}
		}},
		{name: "root CRL of 300 days", root: true, mutate: func(l *x509.RevocationList) { l.NextUpdate = l.ThisUpdate.Add(300 * day) }},
		{name: "subscriber CRL of 11 days", mutate: func(l *x509.RevocationList) { l.NextUpdate = l.ThisUpdate.Add(11 * day) }, want: "crl_next_update_invalid"},
		{name: "reason the BRs forbid", mutate: func(l *x509.RevocationList) {
			l.RevokedCertificateEntries = []x509.RevocationListEntry{entry(42, ocsp.CACompromise)}
		}, want: "has_valid_reason_code"},
		{name: "revoked after thisUpdate", mutate: func(l *x509.RevocationList) {
			e := entry(42, ocsp.Superseded)
			e.RevocationTime = now.Add(time.Hour)
			l.RevokedCertificateEntries = []x509.RevocationListEntry{e}
		}, want: "revocation_time_after_this_update"},
		{name: "signed by another issuer", mutate: func(*x509.RevocationList) {}, want: "signature does not verify"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmpl := &x509.RevocationList{Number: big.NewInt(1 << 31), ThisUpdate: now, NextUpdate: now.Add(7 * day)}
			tc.mutate(tmpl)
			issuer, key := p.inter, p.interKey
			if tc.root {
				issuer, key = p.root, p.rootKey
			}
			der, err := x509.CreateRevocationList(rand.Reader, tmpl, issuer, key)
			if err != nil {
				t.Fatal(err)
			}
			claimed := issuer
			if strings.HasPrefix(tc.name, "signed by another") {
				claimed = p.root
			}
			got := refusal(t, func(tb testing.TB) { RequireCRLClean(tb, der, claimed) })
			if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
				t.Fatalf("refused %q, want %q", got, tc.want)
			}
		})
	}
}
