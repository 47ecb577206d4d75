package console_test

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/testenv"
	"github.com/certorder/certorder/internal/web/webtest"
)

// TestSignInAddressThrottle: one address that tries a guess on each of
// many names (every name under its own limit) is slowed down after its
// free failures, even for a real user's right password, while that user
// signs in from elsewhere. Its successes take back only their own
// attempts; a new window forgets it. A forged X-Forwarded-For gives no
// fresh address; behind a trusted proxy each forwarded client counts
// apart. Attempts on a name that must wait cost the address nothing.
func TestSignInAddressThrottle(t *testing.T) {
	t.Parallel()
	clk := newClock()
	// The clock starts at a window's beginning, so that the test's few
	// minutes never cross into the next one.
	clk.t = clk.t.Truncate(account.AddressWindow).Add(time.Minute)
	proxy := netip.MustParsePrefix("127.0.3.9/32")
	f := start(t, testenv.Options{Sandbox: true, Now: clk.Now, ConsoleTrustedProxies: []netip.Prefix{proxy}})
	f.user("victim", store.RoleStandardUser, 0, "Vic")
	try := func(from, name, pw string, forwardedFor ...string) webtest.Page {
		t.Helper()
		b := webtest.New(t).From(from)
		form := b.Get(f.url("/console/signin")).Hidden()
		form.Set("username", name)
		form.Set("password", pw)
		req, err := http.NewRequest(http.MethodPost, f.url("/console/signin"), strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", f.base)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		for _, h := range forwardedFor {
			req.Header.Add("X-Forwarded-For", h)
		}
		resp, err := b.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return webtest.Page{Status: resp.StatusCode, Header: resp.Header}
	}
	guesses := func(from string, n int, forwardedFor ...string) {
		t.Helper()
		for i := range n {
			name := fmt.Sprintf("guess-%s-%d", strings.ReplaceAll(from, ".", "-"), i)
			requireStatus(t, try(from, name, "wrong password", forwardedFor...), http.StatusUnauthorized, "guess "+name)
		}
	}

	guesses("127.0.3.1", account.FreeAddressFailures)
	p := try("127.0.3.1", "victim", password)
	requireStatus(t, p, http.StatusTooManyRequests, "the right password from an address past its free failures")
	if p.Header.Get("Retry-After") == "" {
		t.Error("throttled without Retry-After")
	}
	requireStatus(t, try("127.0.3.2", "victim", password), http.StatusSeeOther, "the victim from another address")

	// Successes take back their own attempts only.
	guesses("127.0.3.3", account.FreeAddressFailures-1)
	for range 3 {
		requireStatus(t, try("127.0.3.3", "victim", password), http.StatusSeeOther, "a right password under the limit")
	}
	guesses("127.0.3.3", 1)
	requireStatus(t, try("127.0.3.3", "victim", password), http.StatusTooManyRequests, "after the free failures, successes between them")

	// The wait grows, and a new window forgets the address.
	clk.Add(account.AddressDelay(account.FreeAddressFailures) + time.Second)
	requireStatus(t, try("127.0.3.1", "victim", "wrong"), http.StatusUnauthorized, "a guess after the wait")
	requireStatus(t, try("127.0.3.1", "victim", password), http.StatusTooManyRequests, "within the doubled wait")
	clk.Add(account.AddressWindow)
	requireStatus(t, try("127.0.3.1", "victim", password), http.StatusSeeOther, "in the next window")

	// A client that is no trusted proxy names no other client.
	for i := range account.FreeAddressFailures {
		requireStatus(t, try("127.0.3.4", fmt.Sprintf("forger-%d", i), "wrong", fmt.Sprintf("198.51.100.%d", i+1)), http.StatusUnauthorized, "a forged header")
	}
	requireStatus(t, try("127.0.3.4", "victim", password, "203.0.113.77"), http.StatusTooManyRequests, "a fresh forged address")

	// Behind the trusted proxy, each forwarded client is its own.
	guesses("127.0.3.9", account.FreeAddressFailures, "192.0.2.1")
	requireStatus(t, try("127.0.3.9", "victim", password, "192.0.2.1"), http.StatusTooManyRequests, "a forwarded client past its limit")
	requireStatus(t, try("127.0.3.9", "victim", password, "192.0.2.2"), http.StatusSeeOther, "another forwarded client")
	// What the client put first is not believed: the proxy appended the
	// address it saw.
	requireStatus(t, try("127.0.3.9", "victim", password, "192.0.2.99, 192.0.2.1"), http.StatusTooManyRequests,
		"a client's own X-Forwarded-For before the proxy's entry")
	// A name someone else made wait is refused unchecked, and costs the
	// address that tries it nothing: its user, retrying from the office,
	// keeps the office's budget.
	f.user("hammered", store.RoleStandardUser, 0, "Ham")
	for range account.FreeSignInFailures {
		requireStatus(t, try("127.0.3.5", "hammered", "wrong"), http.StatusUnauthorized, "a guess at hammered")
	}
	for range account.FreeAddressFailures + 1 {
		requireStatus(t, try("127.0.3.6", "hammered", password), http.StatusTooManyRequests, "hammered's user while the name waits")
	}
	requireStatus(t, try("127.0.3.6", "victim", password), http.StatusSeeOther, "the office after its retries on a waiting name")
}
