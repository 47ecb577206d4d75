package apitest

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/testenv"
)

// httpGet fetches a URL and returns status, Content-Type and body.
func httpGet(t *testing.T, u string) (int, string, []byte) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}

// fetchCRL fetches a CRL from the URL a certificate names, verifies and
// lints it (testenv.RequireCRLClean).
func fetchCRL(t *testing.T, u string, issuer *x509.Certificate) *x509.RevocationList {
	t.Helper()
	status, ct, body := httpGet(t, u)
	if status != http.StatusOK || ct != "application/pkix-crl" {
		t.Fatalf("GET %s: %d %q", u, status, ct)
	}
	rl := testenv.RequireCRLClean(t, body, issuer)
	if !rl.NextUpdate.After(time.Now()) {
		t.Fatal("CRL is stale")
	}
	return rl
}

// ocspVia asks the responder at u about leaf by GET or POST and returns
// the raw answer.
func ocspVia(t *testing.T, method, u string, leaf, issuer *x509.Certificate) []byte {
	t.Helper()
	req, err := ocsp.CreateRequest(leaf, issuer, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ocspRaw(t, method, u, req)
}

// ocspClean verifies and lints a signed OCSP response about leaf
// (testenv.RequireOCSPClean) and parses it.
func ocspClean(t *testing.T, der []byte, leaf, issuer *x509.Certificate) *ocsp.Response {
	t.Helper()
	return testenv.RequireOCSPClean(t, der, issuer, leaf.SerialNumber)
}

func ocspRaw(t *testing.T, method, u string, req []byte) []byte {
	t.Helper()
	var resp *http.Response
	var err error
	if method == http.MethodGet {
		resp, err = http.Get(u + "/" + url.PathEscape(base64.StdEncoding.EncodeToString(req)))
	} else {
		resp, err = http.Post(u, "application/ocsp-request", bytes.NewReader(req))
	}
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/ocsp-response" {
		t.Fatalf("%s OCSP: %d %q %s", method, resp.StatusCode, resp.Header.Get("Content-Type"), clip(body))
	}
	return body
}

func writePEMFile(t *testing.T, dir, name string, certs ...*x509.Certificate) string {
	t.Helper()
	var buf bytes.Buffer
	for _, c := range certs {
		pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// opensslCRL verifies a DER CRL with `openssl crl -verify`.
func opensslCRL(t *testing.T, der []byte, chain ...*x509.Certificate) string {
	t.Helper()
	bin, err := exec.LookPath("openssl")
	if err != nil {
		t.Log("openssl not installed; CRL verified with crypto/x509 only")
		return ""
	}
	dir := t.TempDir()
	crl := filepath.Join(dir, "crl.der")
	if err := os.WriteFile(crl, der, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "crl", "-inform", "DER", "-in", crl, "-CAfile", writePEMFile(t, dir, "ca.pem", chain...), "-verify", "-noout", "-text").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "verify OK") {
		t.Fatalf("openssl crl -verify: %v\n%s", err, out)
	}
	return string(out)
}

// opensslOCSP asks the responder with `openssl ocsp` and returns its
// report, after checking the response verified.
func opensslOCSP(t *testing.T, u string, leaf, inter, root *x509.Certificate) string {
	t.Helper()
	bin, err := exec.LookPath("openssl")
	if err != nil {
		t.Log("openssl not installed; OCSP verified with x/crypto/ocsp only")
		return ""
	}
	dir := t.TempDir()
	out, err := exec.Command(bin, "ocsp", "-issuer", writePEMFile(t, dir, "inter.pem", inter), "-cert", writePEMFile(t, dir, "leaf.pem", leaf),
		"-url", u, "-CAfile", writePEMFile(t, dir, "root.pem", root), "-no_nonce").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Response verify OK") {
		t.Fatalf("openssl ocsp: %v\n%s", err, out)
	}
	return string(out)
}

func TestCRLAndOCSPSeeRevocations(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	ctx := context.Background()
	csr := testenv.CSR(t, testenv.RSAKey(t), "ignored")
	type issued struct {
		created
		leaf, inter, root *x509.Certificate
	}
	var certs []issued
	for range 3 {
		body := baseBody(csr)
		body["skip_approval"] = true
		c := createOK(t, srv, "ssl_securesite", mustJSON(t, body))
		chain := c.requireChain(t, "example.com")
		certs = append(certs, issued{c, chain[0], chain[1], chain[2]})
	}
	leaf, inter, root := certs[0].leaf, certs[0].inter, certs[0].root
	crlURL, ocspURL := leaf.CRLDistributionPoints[0], leaf.OCSPServer[0]
	if ocspURL != srv.URL+"/ocsp" {
		t.Fatalf("OCSP URL %s", ocspURL)
	}

	// Before any revocation: an empty CRL, good everywhere.
	before := fetchCRL(t, crlURL, inter)
	if len(before.RevokedCertificateEntries) != 0 {
		t.Fatalf("fresh CRL lists %d entries", len(before.RevokedCertificateEntries))
	}
	opensslCRL(t, before.Raw, inter, root)
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		if r := ocspClean(t, ocspVia(t, m, ocspURL, leaf, inter), leaf, inter); r.Status != ocsp.Good {
			t.Fatalf("%s before revocation: %+v", m, r)
		}
	}
	if out := opensslOCSP(t, ocspURL, leaf, inter, root); out != "" && !strings.Contains(out, "leaf.pem: good") {
		t.Fatalf("openssl ocsp before revocation:\n%s", out)
	}

	// Revoke two of the three through the store, as the revoke endpoint
	// does, then signal as the order engine does after its commit.
	acct, err := srv.App.Store.FirstAccount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	revokedAt := time.Now().UTC().Truncate(time.Second).Add(-time.Minute)
	reasons := []int{-1, ocsp.KeyCompromise, ocsp.Unspecified} // -1: stays good
	var issuerID string
	err = srv.App.Store.InTx(ctx, func(tx store.Tx) error {
		for i, c := range certs {
			if reasons[i] < 0 {
				continue
			}
			sc, err := tx.Certificate(ctx, acct.ID, c.CertificateID)
			if err != nil {
				return err
			}
			issuerID = sc.IssuerID
			if err := tx.CreateRevocation(ctx, &store.Revocation{CertificateID: sc.ID, AccountID: acct.ID, OrderID: c.ID,
				SerialNumber: sc.SerialNumber, IssuerID: sc.IssuerID, Reason: reasons[i], RevokedAt: revokedAt}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.App.Orders.OnRevoke([]string{issuerID})

	// The CRL is rebuilt in the background, promptly.
	var after *x509.RevocationList
	deadline := time.Now().Add(10 * time.Second)
	for {
		after = fetchCRL(t, crlURL, inter)
		if len(after.RevokedCertificateEntries) == 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if after.Number.Cmp(before.Number) <= 0 {
		t.Fatalf("CRL number %s did not grow from %s", after.Number, before.Number)
	}
	byserial := map[string]x509.RevocationListEntry{}
	for _, e := range after.RevokedCertificateEntries {
		byserial[e.SerialNumber.String()] = e
	}
	if len(byserial) != 2 {
		t.Fatalf("CRL lists %d entries, want 2", len(byserial))
	}
	text := opensslCRL(t, after.Raw, inter, root)
	tests := []struct {
		name   string
		cert   issued
		reason int
	}{
		{"good", certs[0], -1},
		{"keyCompromise", certs[1], ocsp.KeyCompromise},
		{"unspecified", certs[2], ocsp.Unspecified},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			serial := tc.cert.leaf.SerialNumber
			e, listed := byserial[serial.String()]
			if listed != (tc.reason >= 0) {
				t.Fatalf("listed on the CRL = %v", listed)
			}
			if listed && (!e.RevocationTime.Equal(revokedAt) || e.ReasonCode != tc.reason) {
				t.Fatalf("CRL entry at %s reason %d, want %s %d", e.RevocationTime, e.ReasonCode, revokedAt, tc.reason)
			}
			if listed && text != "" && !strings.Contains(text, strings.ToUpper(fmt.Sprintf("%X", serial.Bytes()))) {
				t.Fatalf("openssl's CRL text lacks serial %X", serial.Bytes())
			}
			wantStatus := ocsp.Good
			if tc.reason >= 0 {
				wantStatus = ocsp.Revoked
			}
			for _, m := range []string{http.MethodGet, http.MethodPost} {
				r := ocspClean(t, ocspVia(t, m, ocspURL, tc.cert.leaf, inter), tc.cert.leaf, inter)
				if r.Status != wantStatus || r.SerialNumber.Cmp(serial) != 0 || !r.NextUpdate.After(time.Now()) {
					t.Fatalf("%s: status %d serial %x nextUpdate %s, want %d", m, r.Status, r.SerialNumber, r.NextUpdate, wantStatus)
				}
				if wantStatus == ocsp.Revoked && (!r.RevokedAt.Equal(revokedAt) || r.RevocationReason != tc.reason) {
					t.Fatalf("%s: revoked at %s reason %d", m, r.RevokedAt, r.RevocationReason)
				}
			}
			out := opensslOCSP(t, ocspURL, tc.cert.leaf, inter, root)
			switch {
			case out == "":
			case wantStatus == ocsp.Good && !strings.Contains(out, "leaf.pem: good"),
				wantStatus == ocsp.Revoked && !strings.Contains(out, "leaf.pem: revoked"),
				tc.reason == ocsp.KeyCompromise && !strings.Contains(out, "keyCompromise"):
				t.Fatalf("openssl ocsp:\n%s", out)
			}
		})
	}

	t.Run("unknown issuer, unassigned serial and malformed requests", func(t *testing.T) {
		// A CertID naming the root: certorder's root answers no OCSP.
		foreign, err := ocsp.CreateRequest(leaf, root, nil)
		if err != nil {
			t.Fatal(err)
		}
		// A serial the intermediate never assigned: unauthorized, never
		// good (BR 4.9.9), and no signature spent on it.
		unassigned, err := ocsp.CreateRequest(&x509.Certificate{SerialNumber: big.NewInt(0x7e57)}, inter, nil)
		if err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			name   string
			method string
			req    []byte
			want   ocsp.ResponseStatus
		}{
			{"unknown issuer GET", http.MethodGet, foreign, ocsp.Unauthorized},
			{"unknown issuer POST", http.MethodPost, foreign, ocsp.Unauthorized},
			{"unassigned serial GET", http.MethodGet, unassigned, ocsp.Unauthorized},
			{"unassigned serial POST", http.MethodPost, unassigned, ocsp.Unauthorized},
			{"garbage GET", http.MethodGet, []byte("garbage"), ocsp.Malformed},
			{"garbage POST", http.MethodPost, []byte("garbage"), ocsp.Malformed},
		}
		for _, tc := range cases {
			_, err := ocsp.ParseResponse(ocspRaw(t, tc.method, ocspURL, tc.req), inter)
			var re ocsp.ResponseError
			if !errors.As(err, &re) || re.Status != tc.want {
				t.Errorf("%s: %v, want status %v", tc.name, err, tc.want)
			}
		}
		// A GET whose path is not base64 at all.
		status, ct, body := httpGet(t, ocspURL+"/%25%25%25")
		if _, err := ocsp.ParseResponse(body, inter); status != 200 || ct != "application/ocsp-response" || !errors.As(err, new(ocsp.ResponseError)) {
			t.Errorf("non-base64 GET: %d %q %v", status, ct, err)
		}
	})

	t.Run("GET without URL-encoding", func(t *testing.T) {
		// A serial whose request's base64 holds "//" (a few dozen tries):
		// the path must reach the responder uncleaned and unredirected.
		// The serial was never issued, so the answer is unauthorized; a
		// path cleaned of its "//" would no longer decode to a request
		// (malformedRequest).
		var req []byte
		for i := int64(1); req == nil; i++ {
			r, err := ocsp.CreateRequest(&x509.Certificate{SerialNumber: big.NewInt(i)}, inter, nil)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(base64.StdEncoding.EncodeToString(r), "//") {
				req = r
			}
		}
		revokedReq, err := ocsp.CreateRequest(certs[1].leaf, inter, nil)
		if err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			name      string
			req       []byte
			leaf      *x509.Certificate // nil: an error answer
			want      int
			wantError ocsp.ResponseStatus
		}{
			{name: "base64 with //", req: req, wantError: ocsp.Unauthorized},
			{name: "revoked certificate", req: revokedReq, leaf: certs[1].leaf, want: ocsp.Revoked},
		}
		for _, tc := range cases {
			status, ct, body := httpGet(t, ocspURL+"/"+base64.StdEncoding.EncodeToString(tc.req))
			if status != http.StatusOK || ct != "application/ocsp-response" {
				t.Fatalf("%s: %d %q", tc.name, status, ct)
			}
			if tc.leaf == nil {
				var re ocsp.ResponseError
				if _, err := ocsp.ParseResponse(body, inter); !errors.As(err, &re) || re.Status != tc.wantError {
					t.Fatalf("%s: %v, want status %v", tc.name, err, tc.wantError)
				}
				continue
			}
			if r := ocspClean(t, body, tc.leaf, inter); r.Status != tc.want {
				t.Fatalf("%s: status %d, want %d", tc.name, r.Status, tc.want)
			}
		}
	})

	t.Run("root CRL and unknown CRL", func(t *testing.T) {
		rl := fetchCRL(t, inter.CRLDistributionPoints[0], root)
		if len(rl.RevokedCertificateEntries) != 0 {
			t.Fatalf("root CRL lists %d entries", len(rl.RevokedCertificateEntries))
		}
		opensslCRL(t, rl.Raw, root)
		if status, _, _ := httpGet(t, srv.URL+"/crl/0011223344556677.crl"); status != http.StatusNotFound {
			t.Fatalf("unknown issuer CRL: %d", status)
		}
	})

	// Numbers and revocations survive a restart.
	srv.Restart()
	restarted := fetchCRL(t, crlURL, inter)
	if restarted.Number.Cmp(after.Number) <= 0 || len(restarted.RevokedCertificateEntries) != 2 {
		t.Fatalf("after restart: number %s (was %s), %d entries", restarted.Number, after.Number, len(restarted.RevokedCertificateEntries))
	}
	if restarted.Number.Cmp(new(big.Int).Lsh(big.NewInt(1), 31)) <= 0 {
		t.Fatalf("CRL number %s not above the former Unix-time numbers", restarted.Number)
	}
}
