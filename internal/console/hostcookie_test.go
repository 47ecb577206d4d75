package console_test

import (
	"net/http"
	"net/netip"
	"net/url"
	"testing"

	"github.com/certorder/certorder/internal/testenv"
	"github.com/certorder/certorder/internal/web/webtest"
)

// proto is a transport that says, as a TLS-ending proxy does, which
// scheme the browser used.
type proto struct {
	rt     http.RoundTripper
	scheme string
}

func (p proto) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Forwarded-Proto", p.scheme)
	return p.rt.RoundTrip(r)
}

// setCookie is the cookie of that name a page set, nil when none.
func setCookie(p webtest.Page, name string) *http.Cookie {
	for _, c := range (&http.Response{Header: p.Header}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// TestHostCookiesOverHTTPS: behind a trusted proxy that ended TLS, the
// console's cookies take the __Host- prefix (Secure, path /, no Domain),
// which a browser lets no sibling host set; a session or form cookie under
// the plain name, as a sibling host could plant one for the parent
// domain, is not read there: it signs the browser in to nobody's session.
// A client that is no trusted proxy is not believed about its scheme.
func TestHostCookiesOverHTTPS(t *testing.T) {
	t.Parallel()
	f := start(t, testenv.Options{Sandbox: true, ConsoleTrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.4.9/32")}})
	behind := func(from string) *webtest.Browser {
		b := webtest.New(t).From(from)
		b.Client.Transport = proto{b.Client.Transport, "https"}
		return b
	}

	b := behind("127.0.4.9")
	page := b.Get(f.url("/console/signin"))
	requireStatus(t, page, http.StatusOK, "the sign-in page over HTTPS")
	if c := setCookie(page, "__Host-certorder_form"); c == nil || !c.Secure || c.Path != "/" || c.Domain != "" {
		t.Fatalf("form cookie over HTTPS: %+v", c)
	}
	if setCookie(page, "certorder_form") != nil {
		t.Error("the plain form cookie was set over HTTPS")
	}
	form := page.Hidden()
	form.Set("username", "admin")
	form.Set("password", password)
	p := b.Post(f.url("/console/signin"), form)
	requireStatus(t, p, http.StatusSeeOther, "sign in over HTTPS")
	c := setCookie(p, "__Host-certorder_console")
	if c == nil || !c.Secure || !c.HttpOnly || c.Path != "/" || c.Domain != "" || c.SameSite != http.SameSiteLaxMode {
		t.Fatalf("session cookie over HTTPS: %+v", c)
	}
	requireStatus(t, b.Get(f.url("/console/")), http.StatusOK, "a page with the __Host- session")

	// Cookie tossing: a session of the attacker's own, planted under the
	// plain name, is no session over HTTPS.
	attacker := f.signIn("admin")
	var planted *http.Cookie
	u, _ := url.Parse(f.base + "/console/")
	for _, c := range attacker.Client.Jar.Cookies(u) {
		if c.Name == "certorder_console" {
			planted = c
		}
	}
	if planted == nil {
		t.Fatal("no plain session cookie over HTTP")
	}
	victim := behind("127.0.4.9")
	victim.Client.Jar.SetCookies(u, []*http.Cookie{{Name: planted.Name, Value: planted.Value, Path: "/console/"}})
	p = victim.Get(f.url("/console/"))
	if p.Status != http.StatusSeeOther {
		t.Errorf("a planted plain session cookie over HTTPS: %d, want the sign-in page", p.Status)
	}

	// Not a trusted proxy: its X-Forwarded-Proto is not believed.
	liar := behind("127.0.4.10")
	page = liar.Get(f.url("/console/signin"))
	if setCookie(page, "__Host-certorder_form") != nil || setCookie(page, "certorder_form") == nil {
		t.Errorf("an untrusted client's scheme was believed: %v", page.Header.Values("Set-Cookie"))
	}
}
