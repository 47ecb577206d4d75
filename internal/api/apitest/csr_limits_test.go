package apitest

import (
	"crypto/elliptic"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"strings"
	"testing"

	"github.com/certorder/certorder/internal/testenv"
)

// TestCSRKeyRefusedBeforeSignature: on every call that takes a CSR (new
// order, reissue, duplicate, PUT .../csr; X9 also takes a bare public
// key) a key certorder does not allow is refused as csr_invalid_key, and a
// CSR over the size limit as csr_invalid_cannot_parse, although every CSR
// here also has a junk signature: the answer names the key, never the
// signature, so the costly signature check (seconds for a modulus of half
// a million bits) was never reached. Nothing is written.
func TestCSRKeyRefusedBeforeSignature(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	_, csr := lcKey(t)
	issued := lcIssuedAnswer(t, srv, "ssl_securesite", baseBody(csr)).ID
	waiting := createOK(t, srv, "ssl_securesite", mustJSON(t, baseBody(csr))).ID
	uid := x9UserID(t, srv)

	p256, err := x509.MarshalPKIXPublicKey(testenv.ECKey(t, elliptic.P256()).Public())
	if err != nil {
		t.Fatal(err)
	}
	huge := testenv.RSAModulusSPKI(t, 524288)
	bad := []struct {
		name, csr, code, says string
	}{
		{"RSA modulus of 524,288 bits", testenv.JunkSignedCSR(t, huge, 0), "csr_invalid_key", "larger than any allowed key"},
		{"RSA modulus of 12,288 bits", testenv.JunkSignedCSR(t, testenv.RSAModulusSPKI(t, 12288), 0), "csr_invalid_key", "at most 8192 allowed"},
		{"RSA modulus of 1024 bits", testenv.JunkSignedCSR(t, testenv.RSAModulusSPKI(t, 1024), 0), "csr_invalid_key", "at least 2048 required"},
		{"CSR over 64 KiB", testenv.JunkSignedCSR(t, p256, 64<<10), "csr_invalid_cannot_parse", "too large"},
	}
	type route struct {
		name, method, path string
		body               func(csr string) map[string]any
	}
	routes := []route{
		{"new order", "POST", orderPath + "ssl_securesite", func(csr string) map[string]any { return baseBody(csr) }},
		{"new code signing order", "POST", orderPath + "code_signing", func(csr string) map[string]any { return csBase(csr) }},
		{"new X9 order", "POST", orderPath + "x9_pki", func(csr string) map[string]any { m, _ := x9GoodBody(csr, uid); return m }},
		{"reissue", "POST", orderPath + itoa(issued) + "/reissue", func(csr string) map[string]any {
			return map[string]any{"certificate": map[string]any{"csr": csr}, "skip_approval": true}
		}},
		{"duplicate", "POST", orderPath + itoa(issued) + "/duplicate", func(csr string) map[string]any {
			return map[string]any{"certificate": map[string]any{"csr": csr}, "skip_approval": true}
		}},
		{"PUT csr", "PUT", orderPath + itoa(waiting) + "/csr", func(csr string) map[string]any { return map[string]any{"csr": csr} }},
	}
	before := counts(t, srv)
	for _, r := range routes {
		for _, b := range bad {
			t.Run(r.name+"/"+b.name, func(t *testing.T) {
				status, hdr, body := srv.Do(r.method, r.path, mustJSON(t, r.body(b.csr)))
				requireErrors(t, status, hdr, body, http.StatusBadRequest, b.code)
				var env envelope
				if err := json.Unmarshal(body, &env); err != nil || !strings.Contains(env.Errors[0].Message, b.says) {
					t.Fatalf("message %q does not say %q", env.Errors[0].Message, b.says)
				}
			})
		}
	}
	// X9 takes a bare public key too; no signature there, the same rule.
	t.Run("new X9 order/public key of 524,288 bits", func(t *testing.T) {
		pub := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: huge}))
		m, _ := x9GoodBody(pub, uid)
		status, hdr, body := srv.Do("POST", orderPath+"x9_pki", mustJSON(t, m))
		requireErrors(t, status, hdr, body, http.StatusBadRequest, "csr_invalid_key")
	})
	requireTally(t, srv, before, tally{})
	if info, _ := getOrder(t, srv, waiting); info.Status != "needs_approval" {
		t.Errorf("order %d is %s after refused CSRs, want needs_approval", waiting, info.Status)
	}
}
