package console_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/testenv"
	"github.com/certorder/certorder/internal/web/webtest"
)

// TestOwnSecondFactorOffNeedsACode: like a new password, which needs the
// current one, turning off one's own second factor needs a current code:
// whoever finds a session open on a shared screen and knows the password
// does not make the password alone sign in from then on.
func TestOwnSecondFactorOffNeedsACode(t *testing.T) {
	t.Parallel()
	f := start(t, testenv.Options{Sandbox: true})
	u := f.user("careful", store.RoleStandardUser, 0, "Cal")
	ctx := context.Background()
	now := time.Now()
	seed, err := f.srv.App.Console.Accounts.StartTOTP(ctx, f.actor(u))
	if err != nil {
		t.Fatal(err)
	}
	code := func(d int64) string { return account.TOTPCode(seed, account.TOTPStep(now)+d) }
	if err := f.srv.App.Console.Accounts.ConfirmTOTP(ctx, f.actor(u), code(-1), now); err != nil {
		t.Fatal(err)
	}
	b := webtestSignInWithCode(t, f, "careful", code(0))
	on := func() bool {
		c, err := f.srv.App.Store.Credential(ctx, u.AccountID, u.ID)
		return err == nil && c.TOTPEnabled
	}
	page := f.url("/console/account")
	for name, form := range map[string]url.Values{"no code": nil, "a wrong code": {"code": {wrong(code(1))}}, "a code used already": {"code": {code(0)}}} {
		if p := post(t, b, page, f.url("/console/account/totp/off"), form); p.Status == http.StatusSeeOther || !on() {
			t.Fatalf("turning off the second factor with %s: %d, on afterwards: %v", name, p.Status, on())
		}
	}
	p := post(t, b, page, f.url("/console/account/totp/off"), url.Values{"code": {code(1)}})
	requireStatus(t, p, http.StatusSeeOther, "turning off the second factor with a current code")
	if on() {
		t.Error("the second factor is still on")
	}
}

// webtestSignInWithCode signs a TOTP user in with a new browser.
func webtestSignInWithCode(t *testing.T, f *fixture, username, code string) *webtest.Browser {
	t.Helper()
	b := webtest.New(t)
	requireStatus(t, b.Submit(f.url("/console/signin"), url.Values{"username": {username}, "password": {password}}), http.StatusSeeOther, "password")
	requireStatus(t, b.Submit(f.url("/console/signin/code"), url.Values{"code": {code}}), http.StatusSeeOther, "code")
	return b
}
