package console_test

import (
	"context"
	"encoding/base32"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/console"
	"github.com/certorder/certorder/internal/dcv/dcvtest"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/testenv"
	"github.com/certorder/certorder/internal/web"
	"github.com/certorder/certorder/internal/web/webtest"
)

// sessionCookie is the browser's console cookie.
func sessionCookie(t *testing.T, b *webtest.Browser, base string) *http.Cookie {
	t.Helper()
	u, _ := url.Parse(base + "/console/")
	for _, c := range b.Client.Jar.Cookies(u) {
		if c.Name == "certorder_console" {
			return c
		}
	}
	t.Fatal("no session cookie")
	return nil
}

// withCookie is a fresh browser holding a copy of a session cookie: what
// someone who stole it would hold.
func withCookie(t *testing.T, base string, c *http.Cookie) *webtest.Browser {
	b := webtest.New(t)
	u, _ := url.Parse(base + "/console/")
	b.Client.Jar.SetCookies(u, []*http.Cookie{{Name: c.Name, Value: c.Value, Path: "/console/"}})
	return b
}

func TestSignInSetsASafeCookie(t *testing.T) {
	t.Parallel()
	f := start(t, testenv.Options{Sandbox: true})
	b := webtest.New(t)
	p := b.Get(f.url("/console/orders?filters[status]=issued"))
	requireStatus(t, p, http.StatusSeeOther, "a page signed out")
	if loc := p.Header.Get("Location"); !strings.HasPrefix(loc, "/console/signin?next=") {
		t.Fatalf("signed out, redirected to %q", loc)
	}
	page := b.Get(f.url(p.Header.Get("Location")))
	requireStatus(t, page, http.StatusOK, "sign-in page")
	form := page.Hidden()
	form.Set("username", "admin")
	form.Set("password", password)
	p = b.Post(f.url("/console/signin"), form)
	requireStatus(t, p, http.StatusSeeOther, "sign in")
	if loc := p.Header.Get("Location"); loc != "/console/orders?filters[status]=issued" {
		t.Errorf("after sign-in, sent to %q, want the page asked for", loc)
	}
	var c *http.Cookie
	for _, sc := range (&http.Response{Header: p.Header}).Cookies() {
		if sc.Name == "certorder_console" {
			c = sc
		}
	}
	if c == nil || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/console/" || c.Expires.IsZero() {
		t.Fatalf("session cookie %+v: want HttpOnly, Secure, SameSite=Lax, path /console/, expiring", c)
	}
	// The store keeps only the cookie's digest.
	var plain int
	ctx := context.Background()
	if sess, err := f.srv.App.Store.SessionByHash(ctx, []byte(c.Value)); err == nil && sess != nil {
		plain++
	}
	if plain != 0 {
		t.Error("the session is found by the cookie's value itself")
	}
	for _, path := range []string{"/console/", "/console/orders", "/console/users", "/console/audit", "/console/sandbox"} {
		p := b.Get(f.url(path))
		requireStatus(t, p, http.StatusOK, path)
		for h, want := range map[string]string{"Content-Security-Policy": web.ContentSecurityPolicy, "X-Frame-Options": "DENY",
			"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"} {
			if got := p.Header.Get(h); got != want {
				t.Errorf("%s: %s = %q, want %q", path, h, got, want)
			}
		}
	}
	// An address off the console is never where a sign-in continues.
	for _, next := range []string{"https://evil.example/", "//evil.example/", "/services/v2/user/me", "/console/\\evil"} {
		b := webtest.New(t)
		page := b.Get(f.url("/console/signin?next=" + url.QueryEscape(next)))
		form := page.Hidden()
		form.Set("username", "admin")
		form.Set("password", password)
		if loc := b.Post(f.url("/console/signin"), form).Header.Get("Location"); loc != "/console/" {
			t.Errorf("next=%q: sent to %q", next, loc)
		}
	}
}

// TestSignOutEndsTheSession: after sign-out a copy of the cookie opens
// nothing and sends no form.
func TestSignOutEndsTheSession(t *testing.T) {
	t.Parallel()
	f := start(t, testenv.Options{Sandbox: true})
	b := f.signIn("admin")
	stolen := sessionCookie(t, b, f.base)
	thief := withCookie(t, f.base, stolen)
	requireStatus(t, thief.Get(f.url("/console/")), http.StatusOK, "a copied cookie before sign-out")
	p := post(t, b, f.url("/console/"), f.url("/console/signout"), nil)
	requireStatus(t, p, http.StatusSeeOther, "sign out")
	for _, br := range []*webtest.Browser{b, thief} {
		p := br.Get(f.url("/console/"))
		if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Header.Get("Location"), "/console/signin") {
			t.Errorf("after sign-out: %d %s", p.Status, p.Header.Get("Location"))
		}
	}
	// Even with a valid form token of the ended session, a form is refused.
	p = thief.Post(f.url("/console/keys"), url.Values{"name": {"x"}, "csrf_token": {"anything"}})
	requireStatus(t, p, http.StatusForbidden, "a form after sign-out")
	if keys, _ := f.srv.App.Store.APIKeys(context.Background(), f.admin.Account.ID, 0); len(keys) != 1 {
		t.Errorf("%d keys after a refused form, want the bootstrap key only", len(keys))
	}
}

// TestSessionExpiry: a session idle for longer than the idle timeout, or
// older than its life, is refused.
func TestSessionExpiry(t *testing.T) {
	t.Parallel()
	clk := newClock()
	f := start(t, testenv.Options{Sandbox: true, Now: clk.Now})
	b := f.signIn("admin")
	requireStatus(t, b.Get(f.url("/console/")), http.StatusOK, "fresh session")
	clk.Add(console.DefaultIdleTimeout - time.Minute)
	requireStatus(t, b.Get(f.url("/console/")), http.StatusOK, "a session used within its idle timeout")
	clk.Add(console.DefaultIdleTimeout + time.Second)
	requireStatus(t, b.Get(f.url("/console/")), http.StatusSeeOther, "an idle session")

	b = f.signIn("admin")
	for spent := time.Duration(0); spent < console.DefaultSessionLife-20*time.Minute; spent += 20 * time.Minute {
		clk.Add(20 * time.Minute)
		requireStatus(t, b.Get(f.url("/console/")), http.StatusOK, "a busy session within its life")
	}
	clk.Add(21 * time.Minute)
	requireStatus(t, b.Get(f.url("/console/")), http.StatusSeeOther, "a session past its life")
}

// TestSignInThrottle: after ten failures for a name, the next attempt
// waits, even with the right password, and the wait grows; unknown names
// are throttled the same way (no answer tells which names exist).
func TestSignInThrottle(t *testing.T) {
	t.Parallel()
	clk := newClock()
	f := start(t, testenv.Options{Sandbox: true, Now: clk.Now})
	f.user("victim", store.RoleStandardUser, 0, "Vic")
	try := func(name, pw string) webtest.Page {
		b := webtest.New(t)
		return b.Submit(f.url("/console/signin"), url.Values{"username": {name}, "password": {pw}})
	}
	for _, name := range []string{"victim", "nobody-here"} {
		for i := 1; i <= account.FreeSignInFailures; i++ {
			p := try(name, "wrong password "+itoa(int64(i)))
			requireStatus(t, p, http.StatusUnauthorized, name+": a wrong password")
			if !contains(p.Body, "username, password or code is wrong") {
				t.Fatalf("%s: failure page says %s", name, clip(p.Body))
			}
		}
		p := try(name, password)
		requireStatus(t, p, http.StatusTooManyRequests, name+": the right password right after ten failures")
		if p.Header.Get("Retry-After") == "" {
			t.Errorf("%s: throttled without Retry-After", name)
		}
	}
	clk.Add(2 * time.Second)
	requireStatus(t, try("victim", "wrong again"), http.StatusUnauthorized, "the eleventh failure, after the wait")
	requireStatus(t, try("victim", password), http.StatusTooManyRequests, "the right password within the doubled wait")
	clk.Add(3 * time.Second)
	if p := try("victim", password); p.Status != http.StatusSeeOther {
		t.Fatalf("the right password after the wait: %d", p.Status)
	}
	// A success forgets the failures.
	for i := 0; i < 3; i++ {
		requireStatus(t, try("victim", "wrong"), http.StatusUnauthorized, "a failure after a success")
	}
	if p := try("victim", password); p.Status != http.StatusSeeOther {
		t.Fatalf("three failures after a success throttled: %d", p.Status)
	}
}

// TestCrossOriginPostsRefused: a page of another origin cannot post any
// console form, signed in or not; nor can a form without the session's
// token.
func TestCrossOriginPostsRefused(t *testing.T) {
	t.Parallel()
	f := start(t, testenv.Options{Sandbox: true})
	b := f.signIn("admin")
	token := b.Get(f.url("/console/keys")).Hidden().Get("csrf_token")
	keysBefore, _ := f.srv.App.Store.APIKeys(context.Background(), f.admin.Account.ID, 0)
	for _, c := range []struct {
		name, path string
		form       url.Values
	}{
		{"create key", "/console/keys", url.Values{"name": {"evil"}, "role": {"0"}, "csrf_token": {token}}},
		{"sign out", "/console/signout", url.Values{"csrf_token": {token}}},
		{"sign in", "/console/signin", url.Values{"username": {"admin"}, "password": {password}}},
	} {
		p := b.PostFrom(f.url(c.path), "https://evil.example", c.form)
		requireStatus(t, p, http.StatusForbidden, c.name+" from another origin")
	}
	// Same origin but no token, or another session's token.
	other := f.signIn("admin")
	otherToken := other.Get(f.url("/console/keys")).Hidden().Get("csrf_token")
	for name, tok := range map[string]string{"no token": "", "another session's token": otherToken} {
		p := b.Post(f.url("/console/keys"), url.Values{"name": {"evil"}, "role": {"0"}, "csrf_token": {tok}})
		requireStatus(t, p, http.StatusForbidden, name)
	}
	if keys, _ := f.srv.App.Store.APIKeys(context.Background(), f.admin.Account.ID, 0); len(keys) != len(keysBefore) {
		t.Errorf("a refused form made a key: %d keys, had %d", len(keys), len(keysBefore))
	}
	requireStatus(t, b.Get(f.url("/console/")), http.StatusOK, "still signed in after the refused sign-out")
	// The same form, sent properly, works.
	p := b.Post(f.url("/console/keys"), url.Values{"name": {"mine"}, "role": {"0"}, "current_password": {password}, "csrf_token": {token}})
	requireStatus(t, p, http.StatusCreated, "create key from the console")
}

var keyField = regexp.MustCompile(`id="totp-key" value="([A-Z2-7]+)"`)

// TestTOTP: a user turns on a second factor; signing in then needs a
// current code, once; a wrong code counts toward the throttle.
func TestTOTP(t *testing.T) {
	t.Parallel()
	f := start(t, testenv.Options{Sandbox: true})
	u := f.user("totp.user", store.RoleStandardUser, 0, "Tia")
	b := f.signIn("totp.user")
	p := post(t, b, f.url("/console/account"), f.url("/console/account/totp"), url.Values{"current_password": {password}})
	requireStatus(t, p, http.StatusOK, "start enrolment")
	m := keyField.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no key shown: %s", clip(p.Body))
	}
	seed := decodeKey(t, m[1])
	code := func(at time.Time) string { return account.TOTPCode(seed, account.TOTPStep(at)) }
	p = b.Post(f.url("/console/account/totp/confirm"), url.Values{"csrf_token": {p.Hidden().Get("csrf_token")}, "code": {"000000"}})
	if p.Status != http.StatusBadRequest && code(time.Now()) != "000000" {
		t.Fatalf("a wrong enrolment code: %d", p.Status)
	}
	p = b.Post(f.url("/console/account/totp/confirm"), url.Values{"csrf_token": {p.Hidden().Get("csrf_token")}, "code": {code(time.Now())}})
	requireStatus(t, p, http.StatusSeeOther, "confirm enrolment")
	if c, err := f.srv.App.Store.Credential(context.Background(), u.AccountID, u.ID); err != nil || !c.TOTPEnabled || strings.Contains(string(c.TOTPSeed), string(seed)) {
		t.Fatalf("credential after enrolment: %+v %v (want on, seed sealed)", c, err)
	}

	// Signing in now stops at the code.
	nb := webtest.New(t)
	p = nb.Submit(f.url("/console/signin"), url.Values{"username": {"totp.user"}, "password": {password}})
	requireStatus(t, p, http.StatusSeeOther, "password of a TOTP user")
	if !strings.HasPrefix(p.Header.Get("Location"), "/console/signin/code") {
		t.Fatalf("a TOTP user sent to %q", p.Header.Get("Location"))
	}
	requireStatus(t, nb.Get(f.url("/console/")), http.StatusSeeOther, "a page before the code")
	p = nb.Submit(f.url("/console/signin/code"), url.Values{"code": {wrong(code(time.Now()))}})
	requireStatus(t, p, http.StatusUnauthorized, "a wrong code")
	// The code used to enrol was used: it does not sign in again.
	p = nb.Submit(f.url("/console/signin/code"), url.Values{"code": {code(time.Now().Add(account.TOTPPeriod * time.Second))}})
	requireStatus(t, p, http.StatusSeeOther, "the next step's code")
	requireStatus(t, nb.Get(f.url("/console/")), http.StatusOK, "signed in with the code")

	again := webtest.New(t)
	again.Submit(f.url("/console/signin"), url.Values{"username": {"totp.user"}, "password": {password}})
	p = again.Submit(f.url("/console/signin/code"), url.Values{"code": {code(time.Now().Add(account.TOTPPeriod * time.Second))}})
	requireStatus(t, p, http.StatusUnauthorized, "a code used before")
}

func wrong(code string) string {
	if code == "123456" {
		return "654321"
	}
	return "123456"
}

// decodeKey reads a key as account.TOTPKey writes it.
func decodeKey(t *testing.T, k string) []byte {
	t.Helper()
	b, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(k)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPasswordLink: an administrator mails a user a link; the link sets
// the password once, and the password signs in.
func TestPasswordLink(t *testing.T) {
	t.Parallel()
	smtp := dcvtest.StartSMTP(t)
	var logs syncBuffer
	f := start(t, testenv.Options{SMTPURL: smtp.URL(), Log: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	u := f.user("new.hire", store.RoleStandardUser, 0, "Nia")
	b := f.signIn("admin")
	p := post(t, b, f.url("/console/users/"+itoa(u.ID)), f.url("/console/users/"+itoa(u.ID)+"/password-link"), nil)
	requireStatus(t, p, http.StatusSeeOther, "mail a password link")
	msg := smtp.WaitFor(t, u.Email, 10*time.Second)
	link := regexp.MustCompile(`http://[^\s]+/console/password/[a-z2-7]+`).FindString(msg.Body)
	if link == "" {
		t.Fatalf("no link in %q", msg.Body)
	}
	if outbox, _, _ := f.srv.App.Store.ListMail(context.Background(), store.MailFilter{AccountID: u.AccountID}); len(outbox) == 0 ||
		strings.Contains(outbox[0].Payload+outbox[0].Body, "/console/password/") {
		t.Errorf("the outbox keeps the link: %+v", outbox)
	}
	nb := webtest.New(t)
	p = nb.Submit(link, url.Values{"password": {"short"}, "confirm": {"short"}})
	requireStatus(t, p, http.StatusBadRequest, "a short password")
	p = nb.Submit(link, url.Values{"password": {"a brand new secret"}, "confirm": {"a brand new secret"}})
	requireStatus(t, p, http.StatusSeeOther, "set the password")
	requireStatus(t, nb.Get(link), http.StatusNotFound, "the link, used")
	p = nb.Submit(f.url("/console/signin"), url.Values{"username": {"new.hire"}, "password": {"a brand new secret"}})
	requireStatus(t, p, http.StatusSeeOther, "sign in with the new password")
	secret := link[strings.LastIndex(link, "/")+1:]
	if !contains(logs.String(), "/console/password/[redacted]") || contains(logs.String(), secret) {
		t.Errorf("the request log does not redact the link's secret")
	}
}

// syncBuffer is a log sink the server's goroutines write to at once.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
