package revocation

import (
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/ca"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/testenv/pkilint"
)

var oidReasonCode = asn1.ObjectIdentifier{2, 5, 29, 21}

// parseCRL lints and verifies a CRL against its issuer (pkilint) and
// checks that it is what c says.
func parseCRL(t *testing.T, c *CRL, issuer *x509.Certificate) *x509.RevocationList {
	t.Helper()
	rl := pkilint.RequireCRLClean(t, c.DER, issuer)
	if rl.Number.Cmp(c.Number) != 0 || !rl.ThisUpdate.Equal(c.ThisUpdate) || !rl.NextUpdate.Equal(c.NextUpdate) || len(rl.RevokedCertificateEntries) != c.Entries {
		t.Fatalf("CRL header %s %s %s %d does not match %+v", rl.Number, rl.ThisUpdate, rl.NextUpdate, len(rl.RevokedCertificateEntries), c)
	}
	return rl
}

func TestCRLGetEveryIssuer(t *testing.T) {
	e := newEnv(t)
	p := e.publisher(nil, nil)
	type target struct {
		id     string
		issuer *x509.Certificate
	}
	targets := []target{{"root", e.h.Root()}, {"ROOT", e.h.Root()}}
	for _, iss := range e.h.Issuers() {
		targets = append(targets, target{iss.ID, iss.Cert}, target{strings.ToLower(iss.ID), iss.Cert})
	}
	for _, tc := range targets {
		t.Run(tc.id, func(t *testing.T) {
			c, err := e.crl(t, p, tc.id)
			if err != nil {
				t.Fatal(err)
			}
			rl := parseCRL(t, c, tc.issuer)
			if len(rl.RevokedCertificateEntries) != 0 {
				t.Fatalf("fresh CRL lists %d entries", len(rl.RevokedCertificateEntries))
			}
			if rl.Number.Cmp(big.NewInt(crlNumberBase)) <= 0 {
				t.Fatalf("CRL number %s not above the old Unix-time numbers", rl.Number)
			}
			if got := rl.NextUpdate.Sub(rl.ThisUpdate); got != ca.DefaultCRLValidity {
				t.Fatalf("validity %v", got)
			}
			// Served again as it is: no new number for a second reader.
			again, err := e.crl(t, p, tc.id)
			if err != nil || again != c {
				t.Fatalf("second Get signed anew: %v", err)
			}
		})
	}
	for _, bad := range []string{"", "nope", "0011223344556677", "root.crl"} {
		if _, err := e.crl(t, p, bad); !errors.Is(err, ErrUnknownIssuer) {
			t.Errorf("Get(%q) = %v, want ErrUnknownIssuer", bad, err)
		}
	}
}

func TestCRLWorkerRebuildsAfterRevocation(t *testing.T) {
	e := newEnv(t)
	p := e.publisher(nil, nil)
	p.Start()
	tls := e.h.DefaultIssuer()
	smime := e.h.DefaultIssuerFor(ca.PurposeSMIME)
	first, err := e.crl(t, p, tls.ID)
	if err != nil {
		t.Fatal(err)
	}
	otherFirst, err := e.crl(t, p, smime.ID)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)
	certs := e.certs(tls, 3)
	tests := []struct {
		cert   *store.Certificate
		reason int
	}{
		{certs[0], 0}, // unspecified: no reasonCode extension (RFC 5280 5.3.1)
		{certs[1], 1}, // keyCompromise
		{certs[2], 4}, // superseded
	}
	for i, tc := range tests {
		e.revoke([]*store.Certificate{tc.cert}, tc.reason, at.Add(time.Duration(i)*time.Minute))
	}
	p.Revoked([]string{strings.ToLower(tls.ID)})
	var got *CRL
	eventually(t, "CRL lists the revocations", func() (bool, string) {
		got, err = e.crl(t, p, tls.ID)
		return err == nil && got.Entries == len(tests), numberString(got)
	})
	if got.Number.Cmp(first.Number) <= 0 {
		t.Fatalf("CRL number %s did not grow from %s", got.Number, first.Number)
	}
	rl := parseCRL(t, got, tls.Cert)
	for i, tc := range tests {
		t.Run(tc.cert.SerialNumber, func(t *testing.T) {
			ent := rl.RevokedCertificateEntries[i]
			if ent.SerialNumber.Cmp(serialOf(t, tc.cert)) != 0 || !ent.RevocationTime.Equal(at.Add(time.Duration(i)*time.Minute)) || ent.ReasonCode != tc.reason {
				t.Fatalf("entry %x %s %d, want %s %d", ent.SerialNumber, ent.RevocationTime, ent.ReasonCode, tc.cert.SerialNumber, tc.reason)
			}
			hasReason := false
			for _, ext := range ent.Extensions {
				hasReason = hasReason || ext.Id.Equal(oidReasonCode)
			}
			if hasReason != (tc.reason != 0) {
				t.Fatalf("reasonCode extension present = %v for reason %d", hasReason, tc.reason)
			}
		})
	}
	// The other issuers' CRLs were not touched.
	if other, _ := e.crl(t, p, smime.ID); other != otherFirst {
		t.Fatalf("S/MIME CRL rebuilt without a revocation: %s", numberString(other))
	}
}

// Refresh signals that arrive while a build runs coalesce into one more
// build, whatever their number.
func TestCRLRefreshCoalesces(t *testing.T) {
	e := newEnv(t)
	p := e.publisher(nil, nil)
	p.Start()
	tls := e.h.DefaultIssuer()
	first, err := e.crl(t, p, tls.ID)
	if err != nil {
		t.Fatal(err)
	}
	st := p.CRLs.states[tls.ID]
	st.build.Lock() // a long build in progress
	// The worker takes the first signal and waits for the build; the
	// other 49 leave one pending signal.
	p.Revoked([]string{tls.ID})
	eventually(t, "worker took the signal", func() (bool, string) { return len(st.kick) == 0, "" })
	for range 49 {
		p.Revoked([]string{tls.ID})
	}
	if len(st.kick) != 1 {
		t.Fatalf("%d pending signals, want 1", len(st.kick))
	}
	st.build.Unlock()
	want := new(big.Int).Add(first.Number, big.NewInt(2))
	eventually(t, "two more builds", func() (bool, string) {
		c, _ := e.crl(t, p, tls.ID)
		return c.Number.Cmp(want) == 0, numberString(c)
	})
	time.Sleep(100 * time.Millisecond)
	if c, _ := e.crl(t, p, tls.ID); c.Number.Cmp(want) != 0 {
		t.Fatalf("50 signals made %s builds, want 2", new(big.Int).Sub(c.Number, first.Number))
	}
}

func TestCRLScheduledRefresh(t *testing.T) {
	e := newEnv(t)
	p := e.publisher(nil, func(c *Config) { c.CRLRefresh = 200 * time.Millisecond })
	p.Start()
	first, err := e.crl(t, p, "root")
	if err != nil {
		t.Fatal(err)
	}
	want := new(big.Int).Add(first.Number, big.NewInt(2))
	eventually(t, "root CRL re-signed on schedule", func() (bool, string) {
		c, _ := e.crl(t, p, "root")
		return c.Number.Cmp(want) >= 0, numberString(c)
	})
}

// Without workers (a server that is not serving), a pending revocation
// or an expired CRL is built in the request instead.
func TestCRLWithoutWorkers(t *testing.T) {
	e := newEnv(t)
	clk := &clock{t: time.Now().UTC()}
	setCANow(clk.Now)
	t.Cleanup(func() { setCANow(time.Now) })
	p := e.publisher(clk.Now, nil)
	tls := e.h.DefaultIssuer()
	tests := []struct {
		name    string
		act     func()
		entries int
		rebuilt bool
	}{
		{"nothing pending", func() {}, 0, false},
		{"revocation signalled", func() {
			e.revoke(e.certs(tls, 2), 5, clk.Now())
			p.Revoked([]string{tls.ID})
		}, 2, true},
		{"revocation recorded but not signalled", func() { e.revoke(e.certs(tls, 1), 1, clk.Now()) }, 2, false},
		{"expired", func() { clk.Add(ca.DefaultCRLValidity) }, 3, true},
	}
	prev, err := e.crl(t, p, tls.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.act()
			c, err := e.crl(t, p, tls.ID)
			if err != nil {
				t.Fatal(err)
			}
			if (c != prev) != tc.rebuilt || c.Entries != tc.entries {
				t.Fatalf("rebuilt %v with %d entries, want %v with %d", c != prev, c.Entries, tc.rebuilt, tc.entries)
			}
			if !clk.Now().Before(c.NextUpdate) {
				t.Fatalf("served a CRL past its nextUpdate")
			}
			prev = c
		})
	}
}

// A build that fails leaves the last CRL in service, and is retried.
func TestCRLBuildFailureKeepsServing(t *testing.T) {
	e := newEnv(t)
	p := e.publisher(nil, func(c *Config) { c.CRLRetry = 20 * time.Millisecond })
	p.Start()
	tls := e.h.DefaultIssuer()
	first, err := e.crl(t, p, tls.ID)
	if err != nil {
		t.Fatal(err)
	}
	// An entry the CA cannot sign: a serial that is not hex.
	bad := e.certs(tls, 1)
	bad[0].SerialNumber = "NOT-HEX"
	e.revoke(bad, 0, time.Now())
	p.Revoked([]string{tls.ID})
	st := p.CRLs.states[tls.ID]
	eventually(t, "failed build recorded", func() (bool, string) {
		st.mu.Lock()
		defer st.mu.Unlock()
		return !st.retryAt.IsZero(), ""
	})
	if c, err := e.crl(t, p, tls.ID); err != nil || c != first {
		t.Fatalf("after a failed build Get = %v, %v; want the previous CRL", numberString(c), err)
	}
}
