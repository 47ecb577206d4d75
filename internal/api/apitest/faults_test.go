package apitest

import (
	"context"
	"crypto/elliptic"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/certorder/certorder/client"
	"github.com/certorder/certorder/internal/ca"
	"github.com/certorder/certorder/internal/faults"
	"github.com/certorder/certorder/internal/testenv"
)

const sbFaultsPath = v2 + "/sandbox/faults"

type sbFaultView struct {
	ID       int64  `json:"id"`
	Route    string `json:"route"`
	Fault    string `json:"fault"`
	Scope    string `json:"scope"`
	EndsAt   string `json:"ends_at"`
	Hits     int64  `json:"hits"`
	Injected int64  `json:"injected"`
	Active   bool   `json:"active"`
}

// sbAddFault puts a rule in force and returns it.
func sbAddFault(t *testing.T, srv *testenv.Server, rule string) sbFaultView {
	t.Helper()
	status, hdr, body := srv.Do("POST", sbFaultsPath, rule)
	if status != http.StatusCreated {
		t.Fatalf("add fault %s: %d %s", rule, status, clip(body))
	}
	requireJSON(t, hdr)
	var v sbFaultView
	if err := json.Unmarshal(body, &v); err != nil || v.ID <= 0 {
		t.Fatalf("add fault: %v %s", err, clip(body))
	}
	return v
}

func sbListFaults(t *testing.T, srv *testenv.Server) (list []sbFaultView, injected map[string]int64) {
	t.Helper()
	var v struct {
		Faults   []sbFaultView    `json:"faults"`
		Injected map[string]int64 `json:"injected"`
	}
	status, hdr, body := srv.Do("GET", sbFaultsPath, "")
	sbDecode(t, status, hdr, body, &v)
	return v.Faults, v.Injected
}

// rawDo sends one request on a connection of its own (no keep-alive, so
// that a dropped connection is never retried by the transport on another)
// and returns the transport's error instead of failing.
func rawDo(t *testing.T, ctx context.Context, srv *testenv.Server, method, path, body string) (int, http.Header, []byte, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-DC-DEVKEY", srv.AdminKey)
	req.Header.Set("Content-Type", "application/json")
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b, err
}

// TestFaultRefusalsChangeNothing: an injected 429, 500 or 503 answers
// CertCentral's envelope (Retry-After where the real failure sends one)
// before the order rules run, so the refused order left nothing behind;
// the next call, past the rule's count, places it.
func TestFaultRefusalsChangeNothing(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	csr := testenv.CSR(t, testenv.ECKey(t, elliptic.P256()), "x")
	for _, tc := range []struct {
		rule       string
		status     int
		code       string
		retryAfter string
	}{
		{`{"fault":"rate_limit","retry_after":"2s"}`, http.StatusTooManyRequests, "request_limit_exceeded", "2"},
		{`{"fault":"rate_limit"}`, http.StatusTooManyRequests, "request_limit_exceeded", "5"},
		{`{"fault":"error","status":503}`, http.StatusServiceUnavailable, "service_unavailable", "10"},
		{`{"fault":"error","status":503,"retry_after":"0s"}`, http.StatusServiceUnavailable, "service_unavailable", ""},
		{`{"fault":"error","status":500}`, http.StatusInternalServerError, "internal_error", ""},
		{`{"fault":"error","status":500,"retry_after":"1500ms"}`, http.StatusInternalServerError, "internal_error", "2"},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			rule := strings.TrimSuffix(tc.rule, "}") + `,"route":"POST /order/certificate/{product}","count":1}`
			f := sbAddFault(t, srv, rule)
			before := counts(t, srv)
			status, hdr, body := srv.Do("POST", orderPath+"ssl_securesite", immediateBody(t, csr))
			requireErrors(t, status, hdr, body, tc.status, tc.code)
			if got := hdr.Get("Retry-After"); got != tc.retryAfter {
				t.Errorf("Retry-After = %q, want %q", got, tc.retryAfter)
			}
			requireTally(t, srv, before, tally{})
			createOK(t, srv, "ssl_securesite", immediateBody(t, csr))
			requireTally(t, srv, before, tally{orders: 1})
			for _, v := range must(sbListFaults(t, srv)) {
				if v.ID == f.ID && (v.Hits != 1 || v.Injected != 1 || v.Active) {
					t.Errorf("rule after its one fault: %+v", v)
				}
			}
		})
	}
	_, injected := sbListFaults(t, srv)
	if injected["rate_limit"] != 2 || injected["error"] != 4 || injected["delay"] != 0 || injected["drop"] != 0 {
		t.Errorf("injected = %v", injected)
	}
	// Operators see the same counts in the metrics.
	fams := scrape(t, srv.URL)
	for kind, want := range map[string]float64{"rate_limit": 2, "error": 4} {
		if got, _ := metricValue(fams, "certorder_faults_injected_total", "kind", kind); got != want {
			t.Errorf("certorder_faults_injected_total{kind=%q} = %v, want %v", kind, got, want)
		}
	}
}

func must[T, U any](v T, _ U) T { return v }

// immediateBody is an order that issues at once and makes no request.
func immediateBody(t *testing.T, csr string) string {
	m := baseBody(csr)
	m["skip_approval"] = true
	return mustJSON(t, m)
}

// TestFaultDelay: a delayed call waits, then does exactly what it says
// (the order is placed and issued); a client that gives up during the
// wait leaves nothing behind, because the call never started.
func TestFaultDelay(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	csr := testenv.CSR(t, testenv.ECKey(t, elliptic.P256()), "x")
	sbAddFault(t, srv, `{"route":"POST /order/certificate/*","fault":"delay","delay":"400ms","count":2}`)

	before := counts(t, srv)
	start := time.Now()
	status, hdr, body := srv.Do("POST", orderPath+"ssl_securesite", immediateBody(t, csr))
	if el := time.Since(start); el < 400*time.Millisecond {
		t.Errorf("answered after %s, want at least the 400ms delay", el)
	}
	requireCreated(t, status, hdr, body).requireChain(t, "example.com")
	requireTally(t, srv, before, tally{orders: 1})

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, _, _, err := rawDo(t, ctx, srv, "POST", orderPath+"ssl_securesite", immediateBody(t, csr)); err == nil {
		t.Fatal("the client's timeout did not end the call")
	}
	time.Sleep(700 * time.Millisecond) // past the delay: a call that went on would have placed its order
	requireTally(t, srv, before, tally{orders: 1})
}

// TestFaultDrop: the connection closes without an answer after the whole
// request was read. Without run_handler nothing happened; with it the
// order was placed and only its answer is lost (what an integrator's
// retry logic must cope with: alternative_order_id finds it).
func TestFaultDrop(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	csr := testenv.CSR(t, testenv.ECKey(t, elliptic.P256()), "x")
	for _, tc := range []struct {
		rule string
		want tally
	}{
		{`{"route":"POST /order/certificate/{product}","fault":"drop","count":1}`, tally{}},
		{`{"route":"POST /order/certificate/{product}","fault":"drop","run_handler":true,"count":1}`, tally{orders: 1}},
	} {
		sbAddFault(t, srv, tc.rule)
		before := counts(t, srv)
		m := baseBody(csr)
		m["skip_approval"] = true
		m["alternative_order_id"] = "drop-" + strconv.Itoa(tc.want.orders)
		status, _, body, err := rawDo(t, context.Background(), srv, "POST", orderPath+"ssl_securesite", mustJSON(t, m))
		if err == nil || !errors.Is(err, io.EOF) && !strings.Contains(err.Error(), "EOF") && !strings.Contains(err.Error(), "reset") {
			t.Fatalf("%s: answer %d %s, err %v; want the connection closed", tc.rule, status, clip(body), err)
		}
		requireTally(t, srv, before, tc.want)
	}
}

// TestFaultMatching: every Nth call, by key, by product (and its alias
// resolved), and never the sandbox's own routes, so a rule that picks
// every call can still be listed and deleted.
func TestFaultMatching(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	uid := usrUser(t, srv, 1, 1) // administrator
	keyID, key := usrKey(t, srv, uid, 0)

	everyOther := sbAddFault(t, srv, fmt.Sprintf(`{"route":"GET /product","api_key_id":%d,"fault":"error","every":2}`, keyID))
	var got []int
	for range 4 {
		status, _, _ := srv.DoKey(key, "GET", v2+"/product", "")
		got = append(got, status)
		if status, _, body := srv.Do("GET", v2+"/product", ""); status != http.StatusOK { // the admin key: another key
			t.Fatalf("another key: %d %s", status, clip(body))
		}
	}
	if want := []int{200, 503, 200, 503}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("statuses %v, want %v", got, want)
	}
	srv.Do("DELETE", fmt.Sprintf("%s/%d", sbFaultsPath, everyOther.ID), "")

	// By product: placing ssl_plus is refused; the product's info too;
	// another product is not.
	sbAddFault(t, srv, `{"product":"ssl_plus","fault":"rate_limit","retry_after":"1s"}`)
	csr := testenv.CSR(t, testenv.ECKey(t, elliptic.P256()), "x")
	status, hdr, body := srv.Do("POST", orderPath+"ssl_plus", immediateBody(t, csr))
	requireErrors(t, status, hdr, body, http.StatusTooManyRequests, "request_limit_exceeded")
	status, hdr, body = srv.Do("GET", v2+"/product/ssl_plus", "")
	requireErrors(t, status, hdr, body, http.StatusTooManyRequests, "request_limit_exceeded")
	createOK(t, srv, "ssl_securesite", immediateBody(t, csr))

	// A rule for every call: the sandbox's routes still answer.
	all := sbAddFault(t, srv, `{"fault":"error"}`)
	if status, _, _ := srv.Do("GET", v2+"/user/me", ""); status != http.StatusServiceUnavailable {
		t.Errorf("a call under a rule for every call: %d", status)
	}
	list, _ := sbListFaults(t, srv)
	if len(list) != 2 || list[1].ID != all.ID || list[1].Scope != "account" {
		t.Errorf("rules %+v", list)
	}
	if status, _, body := srv.Do("DELETE", fmt.Sprintf("%s/%d", sbFaultsPath, all.ID), ""); status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", status, clip(body))
	}
	status, hdr, body = srv.Do("DELETE", fmt.Sprintf("%s/%d", sbFaultsPath, all.ID), "")
	requireErrors(t, status, hdr, body, http.StatusNotFound, "not_found|fault")
	if status, _, _ := srv.Do("GET", v2+"/user/me", ""); status != http.StatusOK {
		t.Errorf("after the delete: %d", status)
	}
}

// TestFaultRuleRefusals: a rule the server cannot apply is refused in the
// envelope and nothing is put in force.
func TestFaultRuleRefusals(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	other := testenv.Start(t, testenv.Options{Sandbox: true, AdminKey: "OTHERADMIN" + strings.Repeat("1", 40)})
	otherKey, _ := usrKey(t, other, usrUser(t, other, 1, 1), 0)
	for _, tc := range []struct{ body, code string }{
		{`{}`, "missing_field:fault"},
		{`{"fault":"teapot"}`, "invalid_value:fault"},
		{`{"fault":"error","status":502}`, "invalid_value:status"},
		{`{"fault":"delay"}`, "missing_field:delay"},
		{`{"fault":"delay","delay":"1m"}`, "invalid_value:delay"},
		{`{"fault":"drop","retry_after":"1s"}`, "invalid_value:retry_after"},
		{`{"fault":"error","route":"DELETE /sandbox/faults/{id}"}`, "invalid_value:route"},
		{`{"fault":"error","every":"2"}`, "invalid_value:every"},
		{`{"fault":"error","api_key_id":999999}`, "invalid_value:api_key_id"},
		{fmt.Sprintf(`{"fault":"error","api_key_id":%d}`, otherKey+1000), "invalid_value:api_key_id"},
		{`not json`, "bad_request_format"},
	} {
		status, hdr, body := srv.Do("POST", sbFaultsPath, tc.body)
		requireErrors(t, status, hdr, body, http.StatusBadRequest, tc.code)
	}
	if list, _ := sbListFaults(t, srv); len(list) != 0 {
		t.Errorf("refused rules in force: %+v", list)
	}
	status, hdr, body := srv.Do("DELETE", sbFaultsPath+"/x", "")
	requireErrors(t, status, hdr, body, http.StatusNotFound, "not_found|fault")
}

// TestFaultFlag: rules of --sandbox-fault are in force from the start, for
// every account, listed as the server's; a window from "for" ends them.
func TestFaultFlag(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true, SandboxFaults: []faults.Spec{
		{Route: "GET /user/me", Fault: faults.Error, Status: 500, For: "1h"},
	}})
	status, hdr, body := srv.Do("GET", v2+"/user/me", "")
	requireErrors(t, status, hdr, body, http.StatusInternalServerError, "internal_error")
	list, _ := sbListFaults(t, srv)
	if len(list) != 1 || list[0].Scope != "server" || list[0].EndsAt == "" || list[0].Injected != 1 {
		t.Errorf("flag rules %+v", list)
	}
}

// TestClientHonoursRetryAfter: the project's own Go client waits out an
// injected 429's Retry-After and sends the order again, once per refusal,
// so one order is placed; told not to retry, it returns the 429.
func TestClientHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	f := sbAddFault(t, srv, `{"route":"POST /order/certificate/{product}","fault":"rate_limit","retry_after":"1s","count":2}`)
	req := &client.OrderRequest{
		Certificate:   client.CertificateSpec{CommonName: "retry.example.com", CSR: testenv.CSR(t, testenv.ECKey(t, elliptic.P256()), "x"), SignatureHash: "sha256"},
		ValidityYears: 1, SkipApproval: true, Organization: &client.OrderOrganization{ID: 1},
	}
	before := counts(t, srv)
	start := time.Now()
	res, err := client.New(srv.URL, srv.AdminKey).OrderCertificate(context.Background(), "ssl_securesite", req)
	if err != nil {
		t.Fatalf("order through two 429s: %v", err)
	}
	if el := time.Since(start); el < 2*time.Second {
		t.Errorf("placed after %s; two Retry-After: 1 make at least 2s", el)
	}
	if res.ID <= 0 || len(res.CertificateChain) != 3 {
		t.Errorf("answer %+v", res)
	}
	requireTally(t, srv, before, tally{orders: 1})
	for _, v := range must(sbListFaults(t, srv)) {
		if v.ID == f.ID && (v.Hits != 2 || v.Injected != 2) {
			t.Errorf("rule %+v: want 2 refusals", v)
		}
	}

	sbAddFault(t, srv, `{"route":"POST /order/certificate/{product}","fault":"rate_limit","retry_after":"1s","count":1}`)
	_, err = client.New(srv.URL, srv.AdminKey, client.WithRateLimitRetries(0, 0)).OrderCertificate(context.Background(), "ssl_securesite", req)
	if e := client.AsAPIError(err); e == nil || e.StatusCode != http.StatusTooManyRequests || !e.Has("request_limit_exceeded") {
		t.Errorf("without retries: %v", err)
	}
	// A Retry-After longer than the client waits for is returned at once.
	sbAddFault(t, srv, `{"route":"POST /order/certificate/{product}","fault":"rate_limit","retry_after":"1h","count":1}`)
	start = time.Now()
	_, err = client.New(srv.URL, srv.AdminKey).OrderCertificate(context.Background(), "ssl_securesite", req)
	if e := client.AsAPIError(err); e == nil || e.StatusCode != http.StatusTooManyRequests || time.Since(start) > 10*time.Second {
		t.Errorf("Retry-After 1h: %v after %s", err, time.Since(start))
	}
	requireTally(t, srv, before, tally{orders: 1})
}

// TestSandboxSeed: two sandboxes started with one --sandbox-seed give the
// same DCV random values and the same first half of each serial, call for
// call; the second half of a serial is the CSPRNG's and differs. Another
// seed gives other values.
func TestSandboxSeed(t *testing.T) {
	t.Parallel()
	csr := testenv.CSR(t, testenv.ECKey(t, elliptic.P256()), "x")
	type run struct {
		values  []string
		serials []string
	}
	replay := func(seed string) run {
		srv := testenv.Start(t, testenv.Options{Sandbox: true, SandboxSeed: seed})
		var r run
		for i := range 2 {
			m := dvBase(csr)
			m["dcv_method"] = "dns-txt-token"
			m["skip_approval"] = true
			certOf(m)["common_name"] = fmt.Sprintf("seed%d.example.com", i)
			a := dvcsCreate(t, srv, "ssl_dv_geotrust", m)
			dvcsRequireRandomValue(t, a.DCVRandomValue)
			chain := a.requireChain(t, fmt.Sprintf("seed%d.example.com", i))
			r.values = append(r.values, a.DCVRandomValue)
			r.serials = append(r.serials, ca.SerialHex(chain[0].SerialNumber))
		}
		return r
	}
	a, b, c := replay("integration-run-7"), replay("integration-run-7"), replay("another")
	for i := range a.values {
		if a.values[i] != b.values[i] {
			t.Errorf("call %d: random values %s and %s under one seed", i, a.values[i], b.values[i])
		}
		if a.values[i] == c.values[i] {
			t.Errorf("call %d: random value %s under two seeds", i, a.values[i])
		}
		if a.serials[i][:16] != b.serials[i][:16] || a.serials[i][16:] == b.serials[i][16:] {
			t.Errorf("call %d: serials %s and %s: want the first 64 bits equal, the CSPRNG's last 64 not", i, a.serials[i], b.serials[i])
		}
		if a.serials[i][:16] == c.serials[i][:16] {
			t.Errorf("call %d: serial prefix %s under two seeds", i, a.serials[i][:16])
		}
	}
	if a.values[0] == a.values[1] || a.serials[0][:16] == a.serials[1][:16] {
		t.Errorf("one run repeated itself: %v %v", a.values, a.serials)
	}
}
