package apitest

import (
	"context"
	"crypto/elliptic"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/certorder/certorder/client"
	"github.com/certorder/certorder/internal/conformance"
	"github.com/certorder/certorder/internal/testenv"
)

const sbConformancePath = v2 + "/sandbox/conformance"

func sbReport(t *testing.T, srv *testenv.Server, keyID int64) conformance.KeyReport {
	t.Helper()
	var rep conformance.Report
	status, hdr, body := srv.Do("GET", fmt.Sprintf("%s?api_key_id=%d", sbConformancePath, keyID), "")
	sbDecode(t, status, hdr, body, &rep)
	if len(rep.Keys) != 1 || rep.Keys[0].APIKeyID != keyID {
		t.Fatalf("report of key %d: %s", keyID, clip(body))
	}
	return rep.Keys[0]
}

// sloppy sends what a careless client sends: the key it is given, any
// method, a body or none, headers as given (no Content-Type unless set).
func sloppy(t *testing.T, srv *testenv.Server, key, method, path, body string, hdr map[string]string) int {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-DC-DEVKEY", key)
	req.Header.Set("User-Agent", "sloppy-client/0.1")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// TestConformanceReportsKnownMistakes: a client that makes ten known
// mistakes, each once, gets a report that lists exactly those ten, each
// with the request that showed it and what to change, and nothing secret.
func TestConformanceReportsKnownMistakes(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	keyID, key := usrKey(t, srv, usrUser(t, srv, 1, 1), 0)
	csr := testenv.CSR(t, testenv.ECKey(t, elliptic.P256()), "x")
	ct := map[string]string{"Content-Type": "application/json"}

	// 1–5: one order of a replaced product, with a deprecated top-level
	// validity, the organization's id and skip_approval as strings, a field
	// nobody reads, and no Content-Type.
	body := mustJSON(t, map[string]any{
		"certificate":    map[string]any{"common_name": "sloppy.example.com", "csr": csr, "signature_hash": "sha256", "colour": "blue"},
		"validity_years": 1, "organization": map[string]any{"id": "1"}, "skip_approval": "true",
	})
	if status := sloppy(t, srv, key, "POST", orderPath+"ssl_plus", body, nil); status != http.StatusCreated {
		t.Fatalf("the sloppy order: %d", status)
	}
	// 6: a GET with a body.
	if status := sloppy(t, srv, key, "GET", v2+"/product/ssl_securesite", `{"fields":"all"}`, nil); status != http.StatusOK {
		t.Fatalf("GET with a body: %d", status)
	}
	// 7: an order sent again, without alternative_order_id, after a 503.
	sbAddFault(t, srv, `{"route":"POST /order/certificate/{product}","fault":"error","status":503,"count":1}`)
	order := immediateBody(t, csr)
	if status := sloppy(t, srv, key, "POST", orderPath+"ssl_securesite", order, ct); status != http.StatusServiceUnavailable {
		t.Fatalf("the injected 503: %d", status)
	}
	if status := sloppy(t, srv, key, "POST", orderPath+"ssl_securesite", order, ct); status != http.StatusCreated {
		t.Fatalf("the retry: %d", status)
	}
	// 8: a call right after a 429 that asked for 30 seconds.
	sbAddFault(t, srv, `{"route":"GET /user/me","fault":"rate_limit","retry_after":"30s","count":1}`)
	if status := sloppy(t, srv, key, "GET", v2+"/user/me", "", nil); status != http.StatusTooManyRequests {
		t.Fatalf("the injected 429: %d", status)
	}
	// 9: the same order read again and again at once.
	for range 4 {
		if status := sloppy(t, srv, key, "GET", orderPath+"1", "", nil); status != http.StatusOK {
			t.Fatalf("order info: %d", status)
		}
	}

	k := sbReport(t, srv, keyID)
	var got []string
	for _, f := range k.Findings {
		got = append(got, f.Kind+" "+f.Field)
		if f.Message == "" || f.Advice == "" || f.Request.Method == "" || f.Request.Path == "" || f.Count != 1 {
			t.Errorf("finding without its request or advice: %+v", f)
		}
	}
	slices.Sort(got)
	want := []string{
		"deprecated_field validity_years",
		"deprecated_product ssl_plus",
		"get_with_body ",
		"ignored_retry_after ",
		"missing_content_type ",
		"polling_too_fast ",
		"retry_without_alternative_order_id alternative_order_id",
		"string_for_boolean skip_approval",
		"string_for_number organization.id",
		"unknown_field certificate.colour",
	}
	if !slices.Equal(got, want) {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The summary of what the client sent.
	if k.Requests != 9 || !slices.Equal(k.UserAgents, []string{"sloppy-client/0.1"}) {
		t.Errorf("requests %d, user agents %q", k.Requests, k.UserAgents)
	}
	var placed *conformance.RouteUse
	for i, r := range k.Routes {
		if r.Method == "POST" && r.Route == "/order/certificate/{product}" {
			placed = &k.Routes[i]
		}
	}
	if placed == nil || placed.Count != 3 || !slices.ContainsFunc(placed.Fields, func(f conformance.FieldUse) bool {
		return f.Field == "organization.id" && slices.Equal(f.Types, []string{"number", "string"})
	}) {
		t.Errorf("order placement route: %+v", placed)
	}
	b, _ := json.Marshal(k)
	csrBody := strings.Split(csr, "\n")[1]
	for _, secret := range []string{key, csrBody} {
		if strings.Contains(string(b), secret) {
			t.Errorf("the report holds a secret (%.12s...)", secret)
		}
	}

	// A reset empties the key's report.
	if status, _, body := srv.Do("DELETE", fmt.Sprintf("%s?api_key_id=%d", sbConformancePath, keyID), ""); status != http.StatusNoContent {
		t.Fatalf("reset: %d %s", status, clip(body))
	}
	var rep conformance.Report
	status, hdr, rb := srv.Do("GET", fmt.Sprintf("%s?api_key_id=%d", sbConformancePath, keyID), "")
	sbDecode(t, status, hdr, rb, &rep)
	if len(rep.Keys) != 0 {
		t.Errorf("after the reset: %s", clip(rb))
	}
	status, hdr, rb = srv.Do("GET", sbConformancePath+"?api_key_id=x", "")
	requireErrors(t, status, hdr, rb, http.StatusBadRequest, "invalid_value:api_key_id")
}

// TestConformanceOwnClientIsClean: the project's own Go client, through a
// whole order's life and a 429 it waits out, gives no finding.
func TestConformanceOwnClientIsClean(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	keyID, key := usrKey(t, srv, usrUser(t, srv, 1, 1), 0)
	c := client.New(srv.URL, key)
	ctx := context.Background()
	sbAddFault(t, srv, `{"route":"POST /order/certificate/{product}","fault":"rate_limit","retry_after":"1s","count":1}`)
	res, err := c.OrderCertificate(ctx, "ssl_securesite", &client.OrderRequest{
		Certificate:   client.CertificateSpec{CommonName: "clean.example.com", CSR: testenv.CSR(t, testenv.ECKey(t, elliptic.P256()), "x"), SignatureHash: "sha256"},
		ValidityYears: 1, SkipApproval: true, Organization: &client.OrderOrganization{ID: 1}, Container: &client.IDRef{ID: 1},
		AlternativeOrderID: "clean-1",
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetOrder(ctx, fmt.Sprint(res.ID)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListOrders(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListProducts(ctx); err != nil {
		t.Fatal(err)
	}
	k := sbReport(t, srv, keyID)
	if len(k.Findings) != 0 {
		b, _ := json.MarshalIndent(k.Findings, "", "  ")
		t.Errorf("findings for the project's own client: %s", b)
	}
	if k.Requests < 5 {
		t.Errorf("requests %d, want the 429, the order and three reads", k.Requests)
	}
}
