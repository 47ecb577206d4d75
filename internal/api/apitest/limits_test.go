package apitest

import (
	"crypto/elliptic"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/ratelimit"
	"github.com/certorder/certorder/internal/testenv"
)

// testClock is a server clock a test moves by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestRateLimit: a key over its budget gets 429 request_limit_exceeded in
// the envelope with Retry-After, on reads and writes alike, and a refused
// write writes nothing; requests without a valid key spend nothing; the
// budget comes back with time.
func TestRateLimit(t *testing.T) {
	t.Parallel()
	clock := &testClock{t: time.Now().UTC()}
	const budget = 10 // per minute: one request per 6 s once spent
	srv := testenv.Start(t, testenv.Options{Sandbox: true, Now: clock.now,
		RateLimits: []ratelimit.Rule{{N: budget, Per: time.Minute}, {N: 1000, Per: time.Hour}}})
	csr := testenv.CSR(t, testenv.ECKey(t, elliptic.P256()), "x")

	before := counts(t, srv) // three requests
	spent := 3
	for ; spent < budget; spent++ {
		if status, _, body := srv.Do("GET", "/services/v2/product", ""); status != http.StatusOK {
			t.Fatalf("request %d within the budget: %d %s", spent+1, status, clip(body))
		}
	}
	// An unknown key is refused as such and does not touch the budget.
	status, hdr, body := srv.DoKey("NOT-A-KEY", "GET", "/services/v2/product", "")
	requireErrors(t, status, hdr, body, http.StatusForbidden, "access_denied|access_denied_invalid_key")

	for _, tc := range []struct{ method, path, body string }{
		{"GET", "/services/v2/product", ""},
		{"GET", "/services/v2/order/certificate", ""},
		{"POST", orderPath + "ssl_securesite", mustJSON(t, baseBody(csr))},
	} {
		status, hdr, body := srv.Do(tc.method, tc.path, tc.body)
		requireErrors(t, status, hdr, body, http.StatusTooManyRequests, "request_limit_exceeded")
		if wait, err := strconv.Atoi(hdr.Get("Retry-After")); err != nil || wait < 1 || wait > 6 {
			t.Errorf("%s %s: Retry-After = %q, want 1–6 seconds", tc.method, tc.path, hdr.Get("Retry-After"))
		}
	}

	// A minute later the whole budget is back, and the refused order left
	// nothing behind.
	clock.add(time.Minute)
	requireTally(t, srv, before, tally{})
	createOK(t, srv, "ssl_securesite", mustJSON(t, baseBody(csr)))
}

// TestSkipApprovalDisallowed: with the account option off, skip_approval
// from an administrator is ignored and the order waits for approval
// (the one-step 201 variant), as CertCentral does.
func TestSkipApprovalDisallowed(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true, DisallowSkipApproval: true})
	csr := testenv.CSR(t, testenv.ECKey(t, elliptic.P256()), "x")
	m := baseBody(csr)
	m["skip_approval"] = true
	b := counts(t, srv)
	got := createOK(t, srv, "ssl_securesite", mustJSON(t, m))
	got.requirePending(t)
	requireTally(t, srv, b, tally{orders: 1, requests: 1})
	if info, _ := getOrder(t, srv, got.ID); info.Status != "needs_approval" {
		t.Errorf("order status %q, want needs_approval", info.Status)
	}

	// Restarting with the option on lets the same body skip approval.
	srv.Stop()
	srv2 := testenv.Start(t, testenv.Options{Sandbox: true, DataDir: srv.DataDir})
	got = createOK(t, srv2, "ssl_securesite", mustJSON(t, m))
	got.requireChain(t, "example.com")
}
