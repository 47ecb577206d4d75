// Package apitest holds black-box HTTP tests of the CertCentral order
// endpoint: real servers from testenv, raw JSON bodies, exact envelopes.
package apitest

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/certorder/certorder/internal/testenv"
)

const orderPath = "/services/v2/order/certificate/"

// envelope is CertCentral's error body.
type envelope struct {
	Errors []struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"errors"`
}

// chainElem is one entry of certificate_chain in a 201 answer.
type chainElem struct {
	SubjectCommonName string `json:"subject_common_name"`
	PEM               string `json:"pem"`
}

// created is the 201 answer of an order.
type created struct {
	ID           int64 `json:"id"`
	Organization *struct {
		ID int64 `json:"id"`
	} `json:"organization"`
	Requests []struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
	} `json:"requests"`
	CertificateID    int64       `json:"certificate_id"`
	CertificateChain []chainElem `json:"certificate_chain"`

	keys []string // top-level keys present, sorted
}

// orderInfo is the part of GET /order/certificate/{id} the tests read.
type orderInfo struct {
	ID          int64 `json:"id"`
	Status      string
	Certificate struct {
		Thumbprint string   `json:"thumbprint"`
		CommonName string   `json:"common_name"`
		DNSNames   []string `json:"dns_names"`
	} `json:"certificate"`
	IsRenewal        bool   `json:"is_renewal"`
	IsRenewed        bool   `json:"is_renewed"`
	RenewedOrderID   int64  `json:"renewed_order_id"`
	RenewalOfOrderID int64  `json:"renewal_of_order_id"`
	PaymentMethod    string `json:"payment_method"`
	CardLastFour     string `json:"card_last_four"`
	Organization     *struct {
		ID int64 `json:"id"`
	} `json:"organization"`
}

// requireJSON checks the exact Content-Type of an answer.
func requireJSON(t *testing.T, hdr http.Header) {
	t.Helper()
	if got := hdr.Values("Content-Type"); len(got) != 1 || got[0] != "application/json" {
		t.Fatalf("Content-Type = %q, want exactly [application/json]", got)
	}
}

// requireErrors checks status, Content-Type and the exact multiset of error
// codes, each with a non-empty message.
func requireErrors(t *testing.T, status int, hdr http.Header, body []byte, wantStatus int, wantCodes ...string) {
	t.Helper()
	if status != wantStatus {
		t.Fatalf("status = %d, want %d; body: %s", status, wantStatus, clip(body))
	}
	requireJSON(t, hdr)
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatalf("error body is not JSON: %v: %s", err, clip(body))
	}
	var keys map[string]json.RawMessage
	_ = json.Unmarshal(body, &keys)
	if len(keys) != 1 || keys["errors"] == nil {
		t.Fatalf("error body must hold only \"errors\": %s", clip(body))
	}
	var got []string
	for _, e := range env.Errors {
		got = append(got, e.Code)
		if strings.TrimSpace(e.Message) == "" {
			t.Errorf("error %q has an empty message", e.Code)
		}
	}
	want := slices.Clone(wantCodes)
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Fatalf("error codes = %q, want %q; body: %s", got, want, clip(body))
	}
}

func clip(b []byte) string {
	if len(b) > 600 {
		return string(b[:600]) + "..."
	}
	return string(b)
}

// requireCreated checks a 201 answer and decodes it.
func requireCreated(t *testing.T, status int, hdr http.Header, body []byte) created {
	t.Helper()
	if status != http.StatusCreated {
		t.Fatalf("status = %d, want 201; body: %s", status, clip(body))
	}
	requireJSON(t, hdr)
	var c created
	if err := json.Unmarshal(body, &c); err != nil {
		t.Fatalf("decode 201 body: %v: %s", err, clip(body))
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(body, &keys); err != nil {
		t.Fatalf("decode 201 body: %v", err)
	}
	for k := range keys {
		c.keys = append(c.keys, k)
	}
	sort.Strings(c.keys)
	if c.ID <= 0 {
		t.Fatalf("201 without an order id: %s", clip(body))
	}
	return c
}

// requireKeys checks the exact set of top-level keys of a 201 answer.
func (c created) requireKeys(t *testing.T, want ...string) {
	t.Helper()
	w := slices.Clone(want)
	sort.Strings(w)
	if !slices.Equal(c.keys, w) {
		t.Fatalf("201 keys = %q, want %q", c.keys, w)
	}
}

// requirePending checks the one-step variant: {id, requests:[{id, pending}]}.
func (c created) requirePending(t *testing.T) {
	t.Helper()
	c.requireKeys(t, "id", "requests")
	if len(c.Requests) != 1 || c.Requests[0].ID <= 0 || c.Requests[0].Status != "pending" {
		t.Fatalf("requests = %+v, want one pending request with an id", c.Requests)
	}
}

// requireChain checks the immediate variant and returns the parsed chain
// (leaf first); every certificate is linted.
func (c created) requireChain(t *testing.T, cn string) []*x509.Certificate {
	t.Helper()
	if c.CertificateID <= 0 {
		t.Fatalf("immediate issuance without certificate_id")
	}
	if len(c.CertificateChain) != 3 {
		t.Fatalf("certificate_chain has %d elements, want 3", len(c.CertificateChain))
	}
	var certs []*x509.Certificate
	for i, e := range c.CertificateChain {
		blocks := testenv.ParsePEMChain(t, []byte(e.PEM))
		if len(blocks) != 1 {
			t.Fatalf("chain element %d holds %d certificates", i, len(blocks))
		}
		cert := blocks[0]
		if e.SubjectCommonName != cert.Subject.CommonName {
			t.Errorf("chain element %d: subject_common_name %q, certificate CN %q", i, e.SubjectCommonName, cert.Subject.CommonName)
		}
		testenv.RequireLintClean(t, cert.Raw)
		certs = append(certs, cert)
	}
	if c.CertificateChain[0].SubjectCommonName != cn {
		t.Errorf("leaf subject_common_name = %q, want %q", c.CertificateChain[0].SubjectCommonName, cn)
	}
	requireChainShape(t, certs)
	return certs
}

// requireChainShape: each element signs the one before, the last is a
// self-signed root, the first is no CA.
func requireChainShape(t *testing.T, chain []*x509.Certificate) {
	t.Helper()
	for i := 0; i+1 < len(chain); i++ {
		if err := chain[i].CheckSignatureFrom(chain[i+1]); err != nil {
			t.Errorf("chain element %d is not signed by element %d: %v", i, i+1, err)
		}
	}
	root := chain[len(chain)-1]
	if !root.IsCA || root.CheckSignatureFrom(root) != nil || string(root.RawSubject) != string(root.RawIssuer) {
		t.Errorf("last chain element %q is not a self-signed root", root.Subject.CommonName)
	}
	if chain[0].IsCA {
		t.Errorf("leaf is a CA certificate")
	}
}

// tally is page.total of the order, request and organization lists.
type tally struct{ orders, requests, orgs int }

func (a tally) String() string {
	return fmt.Sprintf("orders %d, requests %d, organizations %d", a.orders, a.requests, a.orgs)
}

// counts reads the three totals.
func counts(t *testing.T, srv *testenv.Server) tally {
	t.Helper()
	get := func(path string) int {
		status, hdr, body := srv.Do("GET", path, "")
		if status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, status, clip(body))
		}
		requireJSON(t, hdr)
		var v struct {
			Page *struct {
				Total int `json:"total"`
			} `json:"page"`
		}
		if err := json.Unmarshal(body, &v); err != nil || v.Page == nil {
			t.Fatalf("GET %s: no page.total: %v %s", path, err, clip(body))
		}
		return v.Page.Total
	}
	return tally{
		orders:   get("/services/v2/order/certificate?limit=1"),
		requests: get("/services/v2/request?limit=1"),
		orgs:     get("/services/v2/organization?limit=1"),
	}
}

// requireTally fails when the totals moved other than by want.
func requireTally(t *testing.T, srv *testenv.Server, before, want tally) {
	t.Helper()
	got := counts(t, srv)
	want = tally{before.orders + want.orders, before.requests + want.requests, before.orgs + want.orgs}
	if got != want {
		t.Errorf("after the request: %v; before: %v; want %v", got, before, want)
	}
}

// getOrder reads order info and returns it with the raw body.
func getOrder(t *testing.T, srv *testenv.Server, id int64) (orderInfo, []byte) {
	t.Helper()
	status, hdr, body := srv.Do("GET", fmt.Sprintf("%s%d", orderPath, id), "")
	if status != http.StatusOK {
		t.Fatalf("GET order %d: %d %s", id, status, clip(body))
	}
	requireJSON(t, hdr)
	var o orderInfo
	if err := json.Unmarshal(body, &o); err != nil {
		t.Fatalf("decode order %d: %v", id, err)
	}
	if o.ID != id {
		t.Fatalf("GET order %d answered order %d", id, o.ID)
	}
	return o, body
}

// baseBody is a valid order body for ssl_securesite and org 1.
func baseBody(csr string) map[string]any {
	return map[string]any{
		"certificate": map[string]any{
			"common_name":    "example.com",
			"csr":            csr,
			"signature_hash": "sha256",
		},
		"validity_years": 1,
		"organization":   map[string]any{"id": 1},
	}
}

func certOf(m map[string]any) map[string]any { return m["certificate"].(map[string]any) }

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return string(b)
}

// csrWith makes a PEM CSR whose subject and SANs the server must ignore.
func csrWith(t *testing.T, key crypto.Signer, cn string, dnsNames ...string) string {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: cn}, DNSNames: dnsNames}, key)
	if err != nil {
		t.Fatalf("create csr: %v", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}

// corruptSignature flips bytes in the middle of the CSR's signature BIT
// STRING and re-encodes it, so that it still parses but no longer verifies.
func corruptSignature(t *testing.T, csrPEM string) string {
	t.Helper()
	b, _ := pem.Decode([]byte(csrPEM))
	if b == nil {
		t.Fatalf("corruptSignature: not PEM")
	}
	var raw struct {
		Info asn1.RawValue
		Alg  asn1.RawValue
		Sig  asn1.BitString
	}
	if rest, err := asn1.Unmarshal(b.Bytes, &raw); err != nil || len(rest) != 0 {
		t.Fatalf("corruptSignature: parse: %v", err)
	}
	raw.Sig.Bytes[len(raw.Sig.Bytes)/2] ^= 0xff
	der, err := asn1.Marshal(raw)
	if err != nil {
		t.Fatalf("corruptSignature: marshal: %v", err)
	}
	if _, err := x509.ParseCertificateRequest(der); err != nil {
		t.Fatalf("corrupted CSR no longer parses: %v", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// callRefusal is one call to any endpoint that must be refused with an
// exact status and codes.
type callRefusal struct {
	name   string
	method string
	path   string
	body   any // a raw string or a map sent as JSON
	status int
	codes  []string
}

// sendRefusals runs each call as a subtest and checks its envelope; the
// caller checks afterwards that nothing was written.
func sendRefusals(t *testing.T, srv *testenv.Server, cases []callRefusal) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var body string
			switch b := tc.body.(type) {
			case string:
				body = b
			case map[string]any:
				body = mustJSON(t, b)
			}
			status, hdr, resp := srv.Do(tc.method, tc.path, body)
			requireErrors(t, status, hdr, resp, tc.status, tc.codes...)
		})
	}
}
