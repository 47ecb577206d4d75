package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/certorder/certorder/internal/testenv"
	"github.com/certorder/certorder/internal/web/webtest"
)

// TestSignInNameNoUserCanHave: the throttle keeps a row per name tried,
// for a day; a name no user can have (too long for a username, or with
// characters none has) is refused without one, so that nobody signed out
// fills the store with names of up to a request's size.
func TestSignInNameNoUserCanHave(t *testing.T) {
	t.Parallel()
	f := start(t, testenv.Options{Sandbox: true})
	for _, name := range []string{strings.Repeat("n", 200_000), strings.Repeat("x", 129), "admin\x00", "adm in", "admin\u200b", "<admin>"} {
		p := webtest.New(t).Submit(f.url("/console/signin"), url.Values{"username": {name}, "password": {"whatever it is"}})
		requireStatus(t, p, http.StatusUnauthorized, "a name no user can have")
		if !contains(p.Body, "username, password or code is wrong") {
			t.Errorf("%.20q: answered %s", name, clip(p.Body))
		}
		if n, _, err := f.srv.App.Store.SignInFailures(context.Background(), name); err != nil || n != 0 {
			t.Errorf("%.20q: %d failures kept (%v)", name, n, err)
		}
	}
}
