package console_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

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
	code := f.withTOTP(u, time.Now())
	b := webtestSignInWithCode(t, f, "careful", code(0))
	on := func() bool {
		c, err := f.srv.App.Store.Credential(ctx, u.AccountID, u.ID)
		return err == nil && c.TOTPEnabled
	}
	page := f.url("/console/account")
	for name, form := range map[string]url.Values{"no code": {"current_password": {password}}, "a wrong code": {"current_password": {password}, "code": {wrong(code(1))}},
		"a code used already": {"current_password": {password}, "code": {code(0)}}, "a current code without the password": {"code": {code(1)}}} {
		if p := post(t, b, page, f.url("/console/account/totp/off"), form); p.Status == http.StatusSeeOther || !on() {
			t.Fatalf("turning off the second factor with %s: %d, on afterwards: %v", name, p.Status, on())
		}
	}
	p := post(t, b, page, f.url("/console/account/totp/off"), url.Values{"current_password": {password}, "code": {code(1)}})
	requireStatus(t, p, http.StatusSeeOther, "turning off the second factor with a current code")
	if on() {
		t.Error("the second factor is still on")
	}
}

// TestOwnSecondFactorNotThroughUsersPage: an administrator's or manager's
// own second factor goes off on the account page only, with a code; the
// users page's form for another user's (password only) refuses their own,
// and does not offer it.
func TestOwnSecondFactorNotThroughUsersPage(t *testing.T) {
	t.Parallel()
	f := start(t, testenv.Options{})
	ctx := context.Background()
	for name, role := range map[string]int{"administrator": store.RoleAdministrator, "manager": store.RoleManager} {
		t.Run(name, func(t *testing.T) {
			u := f.user("own."+name, role, 0, "Own "+name)
			code := f.withTOTP(u, time.Now())
			b := webtestSignInWithCode(t, f, u.Username, code(0))
			page := f.url("/console/users/" + itoa(u.ID))
			if p := b.Get(page); contains(p.Body, "/totp-off") {
				t.Error("the user's own page offers the password-only form")
			}
			p := post(t, b, f.url("/console/users"), page+"/totp-off", url.Values{"current_password": {password}})
			c, err := f.srv.App.Store.Credential(ctx, u.AccountID, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if p.Status == http.StatusSeeOther || !c.TOTPEnabled {
				t.Fatalf("own second factor through the users page with the password alone: %d, on afterwards: %v", p.Status, c.TOTPEnabled)
			}
		})
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
