package console_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/certorder/certorder/internal/secret"
	"github.com/certorder/certorder/internal/testenv"
)

// TestFormTokenNeedsTheSessionSecret: a form token is bound to the
// session by something only the session's browser holds. Whoever could
// plant the browser's form nonce (a cookie written from a sibling host or
// over plain HTTP) and knows the session's number, which counts up, still
// cannot make a token the console takes, from a browser old enough to
// send neither Sec-Fetch-Site nor Origin.
func TestFormTokenNeedsTheSessionSecret(t *testing.T) {
	t.Parallel()
	f := start(t, testenv.Options{Sandbox: true})
	b := f.signIn("admin")
	ctx := context.Background()
	sess, err := f.srv.App.Store.SessionByHash(ctx, secret.Hash(sessionCookie(t, b, f.base).Value))
	if err != nil {
		t.Fatal(err)
	}
	nonce := strings.Repeat("n", 43)
	u, _ := url.Parse(f.base + "/")
	b.Client.Jar.SetCookies(u, []*http.Cookie{{Name: "certorder_form", Value: nonce, Path: "/"}})
	keysBefore, _ := f.srv.App.Store.APIKeys(ctx, f.admin.Account.ID, 0)
	for _, scope := range []string{"console\x00" + strconv.FormatInt(sess.ID, 10)} {
		m := hmac.New(sha256.New, []byte(nonce))
		m.Write([]byte("certorder form\x00"))
		m.Write([]byte(scope))
		form := url.Values{"name": {"planted"}, "role": {"0"}, "csrf_token": {base64.RawURLEncoding.EncodeToString(m.Sum(nil))}}
		req, _ := http.NewRequest(http.MethodPost, f.url("/console/keys"), strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := b.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("a token made from a planted nonce and what the session's number tells: %d, want 403", resp.StatusCode)
		}
	}
	if keys, _ := f.srv.App.Store.APIKeys(ctx, f.admin.Account.ID, 0); len(keys) != len(keysBefore) {
		t.Errorf("a forged form made a key: %d keys, had %d", len(keys), len(keysBefore))
	}
	// The page's own token, with the planted nonce, still works: the
	// browser's form is what it is.
	p := post(t, b, f.url("/console/keys"), f.url("/console/keys"), url.Values{"name": {"mine"}, "role": {"0"}})
	requireStatus(t, p, http.StatusCreated, "create key from the console")
}
