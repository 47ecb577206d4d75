package console_test

import (
	"context"
	"net/http"
	"net/url"
	"sync"
	"testing"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/testenv"
	"github.com/certorder/certorder/internal/web/webtest"
)

// burst posts the forms at once, each from its own browser, and counts
// the answers that checked what was sent (401, not 429 unchecked).
func burst(t *testing.T, target string, browsers []*webtest.Browser, forms []url.Values) (checked int) {
	t.Helper()
	statuses := make([]int, len(forms))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range forms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			statuses[i] = browsers[i].Post(target, forms[i]).Status
		}()
	}
	close(start)
	wg.Wait()
	for _, s := range statuses {
		if s == http.StatusUnauthorized {
			checked++
		}
	}
	return checked
}

// TestSignInBurstThrottled: guesses sent at once are throttled as guesses
// sent one after another. Of a burst of wrong passwords for a name, no
// more are checked than its free failures; once it must wait, one per
// wait; and so for the codes of a user with a second factor, whose
// password the guesser knows.
func TestSignInBurstThrottled(t *testing.T) {
	t.Parallel()
	clk := newClock()
	f := start(t, testenv.Options{Sandbox: true, Now: clk.Now})
	f.user("victim", store.RoleStandardUser, 0, "Vic")
	const size = 60
	passwords := func() (checked int) {
		bs, forms := make([]*webtest.Browser, size), make([]url.Values, size)
		for i := range forms {
			bs[i] = webtest.New(t)
			forms[i] = bs[i].Get(f.url("/console/signin")).Hidden()
			forms[i].Set("username", "victim")
			forms[i].Set("password", "wrong password "+itoa(int64(i)))
		}
		return burst(t, f.url("/console/signin"), bs, forms)
	}
	if n := passwords(); n > account.FreeSignInFailures {
		t.Errorf("a burst of %d wrong passwords: %d checked, want at most %d", size, n, account.FreeSignInFailures)
	}
	clk.Add(account.MaxSignInDelay)
	if n := passwords(); n > 1 {
		t.Errorf("a burst of %d wrong passwords after the wait: %d checked, want at most 1", size, n)
	}

	// The codes of a TOTP user whose password the guesser knows: one
	// sign-in waiting for its code, wrong codes sent at once.
	u := f.user("totp.victim", store.RoleStandardUser, 0, "Tom")
	ctx := context.Background()
	seed, err := f.srv.App.Console.Accounts.StartTOTP(ctx, f.actor(u))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.srv.App.Console.Accounts.ConfirmTOTP(ctx, f.actor(u), account.TOTPCode(seed, account.TOTPStep(clk.Now())), clk.Now()); err != nil {
		t.Fatal(err)
	}
	b := webtest.New(t)
	requireStatus(t, b.Submit(f.url("/console/signin"), url.Values{"username": {"totp.victim"}, "password": {password}}),
		http.StatusSeeOther, "the password of the TOTP user")
	token := b.Get(f.url("/console/signin/code")).Hidden().Get("csrf_token")
	codes := func() (checked int) {
		good := map[string]bool{}
		for d := int64(-1); d <= 1; d++ {
			good[account.TOTPCode(seed, account.TOTPStep(clk.Now())+d)] = true
		}
		bs, forms := make([]*webtest.Browser, size), make([]url.Values, size)
		code := 100000
		for i := range forms {
			for good[itoa(int64(code))] {
				code++
			}
			bs[i], forms[i] = b, url.Values{"csrf_token": {token}, "code": {itoa(int64(code))}}
			code++
		}
		return burst(t, f.url("/console/signin/code"), bs, forms)
	}
	// The password counted as an attempt, which only a code completes.
	if n := codes(); n > account.FreeSignInFailures-1 {
		t.Errorf("a burst of %d wrong codes: %d checked, want at most %d", size, n, account.FreeSignInFailures-1)
	}
	clk.Add(account.SignInDelay(account.FreeSignInFailures))
	if n := codes(); n > 1 {
		t.Errorf("a burst of %d wrong codes after the wait: %d checked, want at most 1", size, n)
	}
}
