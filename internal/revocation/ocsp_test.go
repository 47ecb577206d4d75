package revocation

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"math/big"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/certorder/certorder/internal/ca"
	"github.com/certorder/certorder/internal/testenv/pkilint"
)

func ocspRequest(t *testing.T, serial *big.Int, issuer *x509.Certificate, hash crypto.Hash) []byte {
	t.Helper()
	der, err := ocsp.CreateRequest(&x509.Certificate{SerialNumber: serial}, issuer, &ocsp.RequestOptions{Hash: hash})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestOCSPStatuses(t *testing.T) {
	e := newEnv(t)
	clk := &clock{t: time.Now().UTC().Truncate(time.Second)}
	p := e.publisher(clk.Now, nil)
	tls := e.h.DefaultIssuer()
	smime := e.h.DefaultIssuerFor(ca.PurposeSMIME)
	certs := e.certs(tls, 3)
	other := e.certs(smime, 1)[0]
	revokedAt := time.Date(2026, 11, 28, 17, 4, 5, 0, time.UTC)
	e.revoke(certs[1:2], 1, revokedAt)
	e.revoke(certs[2:3], 0, revokedAt)
	tests := []struct {
		name       string
		serial     *big.Int
		issuer     *x509.Certificate
		hash       crypto.Hash
		raw        []byte // sent as is instead of a request
		wantStatus int
		wantError  []byte
		reason     int
	}{
		{name: "good", serial: serialOf(t, certs[0]), issuer: tls.Cert, hash: crypto.SHA1, wantStatus: ocsp.Good},
		{name: "good SHA-256 CertID", serial: serialOf(t, certs[0]), issuer: tls.Cert, hash: crypto.SHA256, wantStatus: ocsp.Good},
		{name: "good SHA-512 CertID", serial: serialOf(t, certs[0]), issuer: tls.Cert, hash: crypto.SHA512, wantStatus: ocsp.Good},
		{name: "revoked keyCompromise", serial: serialOf(t, certs[1]), issuer: tls.Cert, hash: crypto.SHA1, wantStatus: ocsp.Revoked, reason: ocsp.KeyCompromise},
		{name: "revoked unspecified", serial: serialOf(t, certs[2]), issuer: tls.Cert, hash: crypto.SHA1, wantStatus: ocsp.Revoked, reason: ocsp.Unspecified},
		// A serial the issuer never assigned: unauthorized, unsigned
		// (never good, and no signature spent on made-up serials).
		{name: "never issued", serial: big.NewInt(0x1234567), issuer: tls.Cert, hash: crypto.SHA1, wantError: ocsp.UnauthorizedErrorResponse},
		{name: "issued by another intermediate", serial: serialOf(t, other), issuer: tls.Cert, hash: crypto.SHA1, wantError: ocsp.UnauthorizedErrorResponse},
		{name: "own issuer of the other", serial: serialOf(t, other), issuer: smime.Cert, hash: crypto.SHA384, wantStatus: ocsp.Good},
		{name: "root is no OCSP issuer", serial: serialOf(t, certs[0]), issuer: e.h.Root(), hash: crypto.SHA1, wantError: ocsp.UnauthorizedErrorResponse},
		{name: "garbage", raw: []byte("not an OCSP request"), wantError: ocsp.MalformedRequestErrorResponse},
		{name: "empty", raw: []byte{}, wantError: ocsp.MalformedRequestErrorResponse},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.raw
			if req == nil {
				req = ocspRequest(t, tc.serial, tc.issuer, tc.hash)
			}
			ans := respond(t, p, req, tc.issuer, tc.serial)
			if tc.wantError != nil {
				if ans.Status != StatusError || !bytes.Equal(ans.DER, tc.wantError) || ans.MaxAge != 0 {
					t.Fatalf("answer %+v, want error %x", ans, tc.wantError)
				}
				return
			}
			resp, err := ocsp.ParseResponseForCert(ans.DER, &x509.Certificate{SerialNumber: tc.serial}, tc.issuer)
			if err != nil {
				t.Fatalf("parse response: %v", err)
			}
			if resp.Status != tc.wantStatus || ans.Status != tc.wantStatus || resp.SerialNumber.Cmp(tc.serial) != 0 {
				t.Fatalf("status %d (answer %d) serial %x, want %d %x", resp.Status, ans.Status, resp.SerialNumber, tc.wantStatus, tc.serial)
			}
			if resp.IssuerHash != tc.hash {
				t.Fatalf("CertID hash %v, want the request's %v", resp.IssuerHash, tc.hash)
			}
			if !resp.ThisUpdate.Equal(clk.Now()) || !resp.ProducedAt.Equal(clk.Now()) || resp.NextUpdate.Sub(resp.ThisUpdate) != 24*time.Hour {
				t.Fatalf("producedAt %s thisUpdate %s nextUpdate %s", resp.ProducedAt, resp.ThisUpdate, resp.NextUpdate)
			}
			if tc.wantStatus == ocsp.Revoked && (!resp.RevokedAt.Equal(revokedAt) || resp.RevocationReason != tc.reason) {
				t.Fatalf("revoked at %s reason %d, want %s %d", resp.RevokedAt, resp.RevocationReason, revokedAt, tc.reason)
			}
			if ans.MaxAge <= 0 || ans.MaxAge > OCSPMaxAge {
				t.Fatalf("max-age %v for status %d", ans.MaxAge, tc.wantStatus)
			}
		})
	}
	// Good and revoked answers are cached (one per serial and CertID
	// hash); errors are not.
	if n := p.OCSP.cached(); n != 6 {
		t.Fatalf("%d cached responses, want 6", n)
	}
}

// TestOCSPEveryIssuerKey: the responses of every intermediate (RSA 2048,
// RSA 3072, P-256, P-384 keys) are clean, good and revoked, with each
// CertID hash.
func TestOCSPEveryIssuerKey(t *testing.T) {
	e := newEnv(t)
	p := e.publisher(nil, nil)
	for _, iss := range e.h.Issuers() {
		t.Run(iss.Name+" "+iss.ID, func(t *testing.T) {
			certs := e.certs(iss, 2)
			e.revoke(certs[1:], ocsp.Superseded, time.Now().UTC().Add(-time.Minute))
			for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA256, crypto.SHA384, crypto.SHA512} {
				for i, want := range []int{ocsp.Good, ocsp.Revoked} {
					serial := serialOf(t, certs[i])
					if ans := respond(t, p, ocspRequest(t, serial, iss.Cert, h), iss.Cert, serial); ans.Status != want {
						t.Fatalf("%v CertID: status %d, want %d", h, ans.Status, want)
					}
				}
			}
		})
	}
}

// TestOCSPTimes: thisUpdate and producedAt are one reading of the
// responder's clock, to the second, whatever that clock says against the
// machine's (x/crypto/ocsp's own encoder took producedAt from the machine,
// truncated to the minute, so thisUpdate came after it); pkilint checks
// thisUpdate <= producedAt and the rest of RFC 6960 on each.
func TestOCSPTimes(t *testing.T) {
	e := newEnv(t)
	tls := e.h.DefaultIssuer()
	c := e.certs(tls, 1)[0]
	now := time.Now().UTC()
	for _, tc := range []struct {
		name string
		at   time.Time
	}{
		{"the machine's clock", now},
		{"last second of a minute", now.Truncate(time.Minute).Add(59*time.Second + 900*time.Millisecond)},
		{"an hour ahead of the machine", now.Add(time.Hour)},
		{"a day behind the machine", now.Add(-24 * time.Hour)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := e.publisher(func() time.Time { return tc.at }, nil)
			ans := respond(t, p, ocspRequest(t, serialOf(t, c), tls.Cert, crypto.SHA1), tls.Cert, serialOf(t, c))
			resp, err := ocsp.ParseResponse(ans.DER, tls.Cert)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.at.Truncate(time.Second)
			if !resp.ThisUpdate.Equal(want) || !resp.ProducedAt.Equal(want) || !ans.ThisUpdate.Equal(want) {
				t.Fatalf("producedAt %s thisUpdate %s (answer %s), want both %s", resp.ProducedAt, resp.ThisUpdate, ans.ThisUpdate, want)
			}
		})
	}
}

func TestOCSPCacheInvalidationAndRefresh(t *testing.T) {
	e := newEnv(t)
	clk := &clock{t: time.Now().UTC().Truncate(time.Second)}
	p := e.publisher(clk.Now, nil)
	tls := e.h.DefaultIssuer()
	smime := e.h.DefaultIssuerFor(ca.PurposeSMIME)
	c := e.certs(tls, 1)
	s := e.certs(smime, 1)
	req := ocspRequest(t, serialOf(t, c[0]), tls.Cert, crypto.SHA1)
	sreq := ocspRequest(t, serialOf(t, s[0]), smime.Cert, crypto.SHA1)
	status := func(der []byte, issuer *x509.Certificate, serial *big.Int) *ocsp.Response {
		t.Helper()
		return pkilint.RequireOCSPClean(t, der, issuer, serial)
	}
	first := respond(t, p, req, tls.Cert, serialOf(t, c[0]))
	sFirst := respond(t, p, sreq, smime.Cert, serialOf(t, s[0]))
	steps := []struct {
		name       string
		act        func()
		wantStatus int
		wantSame   bool // the cached DER comes back
	}{
		{"cached", func() { clk.Add(time.Hour) }, ocsp.Good, true},
		// Recorded but not signalled: the cache still answers good.
		{"revoked without hook", func() { e.revoke(c, 4, clk.Now()) }, ocsp.Good, true},
		{"hook for another issuer", func() { p.Revoked([]string{smime.ID}) }, ocsp.Good, true},
		{"hook for its issuer", func() { p.Revoked([]string{tls.ID}) }, ocsp.Revoked, false},
		{"revoked is cached", func() {}, ocsp.Revoked, true},
		{"half the validity passed", func() { clk.Add(12 * time.Hour) }, ocsp.Revoked, false},
	}
	prev := first
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			st.act()
			ans := respond(t, p, req, tls.Cert, serialOf(t, c[0]))
			r := status(ans.DER, tls.Cert, serialOf(t, c[0]))
			if r.Status != st.wantStatus || bytes.Equal(ans.DER, prev.DER) != st.wantSame {
				t.Fatalf("status %d same %v, want %d %v", r.Status, bytes.Equal(ans.DER, prev.DER), st.wantStatus, st.wantSame)
			}
			prev = ans
		})
	}
	// The S/MIME response was dropped by its issuer's hook but is still
	// good.
	if again := respond(t, p, sreq, smime.Cert, serialOf(t, s[0])); bytes.Equal(again.DER, sFirst.DER) || status(again.DER, smime.Cert, serialOf(t, s[0])).Status != ocsp.Good {
		t.Fatal("S/MIME response not re-signed after its issuer's hook")
	}
}

func TestOCSPCacheBounded(t *testing.T) {
	e := newEnv(t)
	p := e.publisher(nil, func(c *Config) { c.OCSPMaxCache = 4 })
	tls := e.h.DefaultIssuer()
	for _, c := range e.certs(tls, 12) {
		ans := respond(t, p, ocspRequest(t, serialOf(t, c), tls.Cert, crypto.SHA1), tls.Cert, serialOf(t, c))
		if ans.Status != ocsp.Good {
			t.Fatalf("status %d", ans.Status)
		}
		if n := p.OCSP.cached(); n > 4 {
			t.Fatalf("%d cached responses, bound is 4", n)
		}
	}
}

func TestSignOCSPRejects(t *testing.T) {
	h := hierarchy(t)
	iss := h.DefaultIssuer()
	now := time.Now().UTC()
	ok := ocsp.Response{Status: ocsp.Good, SerialNumber: big.NewInt(5), ThisUpdate: now, NextUpdate: now.Add(time.Hour)}
	tests := []struct {
		name   string
		iss    *ca.Issuer
		mutate func(*ocsp.Response)
	}{
		{"foreign issuer", &ca.Issuer{ID: "X", Cert: iss.Cert}, func(*ocsp.Response) {}},
		{"no serial", iss, func(r *ocsp.Response) { r.SerialNumber = nil }},
		{"zero serial", iss, func(r *ocsp.Response) { r.SerialNumber = big.NewInt(0) }},
		{"nextUpdate not after thisUpdate", iss, func(r *ocsp.Response) { r.NextUpdate = r.ThisUpdate }},
		{"thisUpdate after producedAt", iss, func(r *ocsp.Response) { r.ProducedAt = r.ThisUpdate.Add(-time.Second) }},
		{"reason the BRs do not know", iss, func(r *ocsp.Response) { r.Status, r.RevokedAt, r.RevocationReason = ocsp.Revoked, now, 7 }},
		{"CertID hash MD5", iss, func(r *ocsp.Response) { r.IssuerHash = crypto.MD5 }},
		{"revoked without time", iss, func(r *ocsp.Response) { r.Status = ocsp.Revoked }},
		{"bad status", iss, func(r *ocsp.Response) { r.Status = 7 }},
	}
	if _, err := h.SignOCSP(iss, ok); err != nil {
		t.Fatalf("valid template: %v", err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tmpl := ok
			tc.mutate(&tmpl)
			if _, err := h.SignOCSP(tc.iss, tmpl); err == nil {
				t.Fatal("signed")
			}
		})
	}
}
