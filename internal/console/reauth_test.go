package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/testenv"
	"github.com/certorder/certorder/internal/web/webtest"
)

// TestCredentialChangesNeedThePassword: whoever holds a session's cookie
// (stolen, or a session found open) but not its user's password changes
// nothing about how the user signs in: no new password, no second factor
// of theirs enrolled (which would lock the user out), none removed, their
// own or, from an administrator's session, another user's, and no API key
// (which outlives the session and a new password). With the
// password each change goes through, and a wrong one is shown under the
// input of the form that was sent.
func TestCredentialChangesNeedThePassword(t *testing.T) {
	t.Parallel()
	f := start(t, testenv.Options{})
	ctx := context.Background()
	cred := func(u *store.User) *store.Credential {
		c, err := f.srv.App.Store.Credential(ctx, u.AccountID, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	pat := f.user("pat", store.RoleStandardUser, 0, "Pat")
	eve := f.user("eve.victim", store.RoleStandardUser, 0, "Eve")
	tia := f.user("tia", store.RoleStandardUser, 0, "Tia")
	tom := f.user("tom", store.RoleStandardUser, 0, "Tom")
	kim := f.user("kim", store.RoleManager, 0, "Kim")
	tiaCode := f.withTOTP(tia, time.Now())
	f.withTOTP(tom, time.Now())
	const newPassword = "a brand new passphrase"

	for _, c := range []struct {
		name       string
		signIn     func() *webtest.Browser // the session that is stolen
		page, path string
		form       url.Values // the form but the password
		errorInput string     // where a wrong password is shown
		changed    func() bool
	}{
		{name: "change the password", signIn: func() *webtest.Browser { return f.signIn("pat") },
			page: "/console/account", path: "/console/account/password",
			form: url.Values{"password": {newPassword}, "confirm": {newPassword}}, errorInput: "current_password",
			changed: func() bool {
				return webtest.New(t).Submit(f.url("/console/signin"), url.Values{"username": {pat.Username}, "password": {newPassword}}).Status == http.StatusSeeOther
			}},
		{name: "enrol a second factor", signIn: func() *webtest.Browser { return f.signIn("eve.victim") },
			page: "/console/account", path: "/console/account/totp", form: url.Values{}, errorInput: "totp_on_password",
			changed: func() bool { return len(cred(eve).TOTPSeed) > 0 }},
		{name: "turn off one's second factor", signIn: func() *webtest.Browser { return webtestSignInWithCode(t, f, "tia", tiaCode(0)) },
			page: "/console/account", path: "/console/account/totp/off", form: url.Values{"code": {tiaCode(1)}}, errorInput: "totp_off_password",
			changed: func() bool { return !cred(tia).TOTPEnabled }},
		{name: "create an API key", signIn: func() *webtest.Browser { return f.signIn("kim") },
			page: "/console/keys", path: "/console/keys", form: url.Values{"name": {"thief's"}, "role": {"0"}}, errorInput: "current_password",
			changed: func() bool {
				keys, err := f.srv.App.Store.APIKeys(ctx, kim.AccountID, kim.ID)
				if err != nil {
					t.Fatal(err)
				}
				return len(keys) > 0
			}},
		{name: "turn off another user's second factor", signIn: func() *webtest.Browser { return f.signIn("admin") },
			page: "/console/users/" + itoa(tom.ID), path: "/console/users/" + itoa(tom.ID) + "/totp-off", form: url.Values{}, errorInput: "current_password",
			changed: func() bool { return !cred(tom).TOTPEnabled }},
	} {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			owner := c.signIn()
			thief := withCookie(t, f.base, sessionCookie(t, owner, f.base))
			page, path := f.url(c.page), f.url(c.path)
			for _, pw := range []string{"", "not the password at all"} {
				form := url.Values{"current_password": {pw}}
				for k, v := range c.form {
					form[k] = v
				}
				p := post(t, thief, page, path, form)
				if p.Status == http.StatusSeeOther || c.changed() {
					t.Fatalf("the cookie with password %q: %d, changed %v", pw, p.Status, c.changed())
				}
				requireStatus(t, p, http.StatusBadRequest, "the cookie without the password")
				if !contains(p.Body, `id="err-`+c.errorInput+`"><p class="field-error">`) {
					t.Errorf("password %q: no error under %s:\n%s", pw, c.errorInput, clip(p.Body))
				}
				if contains(p.Body, `id="totp-key"`) {
					t.Fatal("a seed was shown to a session that did not give the password")
				}
			}
			form := url.Values{"current_password": {password}}
			for k, v := range c.form {
				form[k] = v
			}
			p := post(t, owner, page, path, form)
			if path == f.url("/console/keys") {
				requireStatus(t, p, http.StatusCreated, "create a key with the password")
			} else if path == f.url("/console/account/totp") {
				requireStatus(t, p, http.StatusOK, "start enrolment with the password")
				if !contains(p.Body, `id="totp-key"`) {
					t.Fatalf("no key shown: %s", clip(p.Body))
				}
			} else {
				requireStatus(t, p, http.StatusSeeOther, c.name+" with the password")
			}
			if !c.changed() {
				t.Errorf("%s with the password changed nothing", c.name)
			}
		})
	}
}
