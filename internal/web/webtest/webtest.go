// Package webtest drives certorder's HTML pages the way a browser without
// JavaScript does: it keeps cookies, reads a page's form and posts it back
// with its hidden fields. Tests that need scripts use a real Chromium.
package webtest

import (
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Browser is a cookie-keeping HTTP client.
type Browser struct {
	T      testing.TB
	Client *http.Client
}

// New returns a browser with an empty cookie jar that does not follow
// redirects (tests look at them).
func New(t testing.TB) *Browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &Browser{T: t, Client: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// From is a browser sharing b's cookies that connects from the local
// address ip (a loopback address such as 127.0.0.2: Linux answers the
// whole 127.0.0.0/8 on the loopback interface), as another machine behind
// the same session would; what counts by client address sees it apart.
func (b *Browser) From(ip string) *Browser {
	a := net.ParseIP(ip)
	if a == nil {
		b.T.Fatalf("From(%q): not an IP address", ip)
	}
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: a}, Timeout: 30 * time.Second}
	c := *b.Client
	c.Transport = &http.Transport{DialContext: d.DialContext}
	return &Browser{T: b.T, Client: &c}
}

// Page is one answer.
type Page struct {
	Status int
	Header http.Header
	Body   string
}

func (b *Browser) do(req *http.Request) Page {
	b.T.Helper()
	resp, err := b.Client.Do(req)
	if err != nil {
		b.T.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.T.Fatalf("%s %s: read: %v", req.Method, req.URL, err)
	}
	return Page{Status: resp.StatusCode, Header: resp.Header, Body: string(body)}
}

// Get loads a page.
func (b *Browser) Get(u string) Page {
	b.T.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		b.T.Fatal(err)
	}
	return b.do(req)
}

// Post sends a form as a same-origin browser would (Sec-Fetch-Site and
// Origin set to the target's origin).
func (b *Browser) Post(u string, form url.Values) Page {
	b.T.Helper()
	return b.PostFrom(u, "", form)
}

// PostFrom sends a form as if a page of origin had submitted it; "" is
// the target's own origin.
func (b *Browser) PostFrom(u, origin string, form url.Values) Page {
	b.T.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		b.T.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin == "" {
		origin = req.URL.Scheme + "://" + req.URL.Host
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	} else {
		req.Header.Set("Sec-Fetch-Site", "cross-site")
	}
	req.Header.Set("Origin", origin)
	return b.do(req)
}

var hiddenField = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)"`)

// Hidden returns the hidden fields of the page's forms.
func (p Page) Hidden() url.Values {
	v := url.Values{}
	for _, m := range hiddenField.FindAllStringSubmatch(p.Body, -1) {
		v.Set(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	return v
}

// Submit loads the page at u and posts its form back to u with its hidden
// fields and extra, returning the answer to the post.
func (b *Browser) Submit(u string, extra url.Values) Page {
	b.T.Helper()
	p := b.Get(u)
	if p.Status != http.StatusOK {
		return p
	}
	form := p.Hidden()
	for k, vs := range extra {
		form[k] = vs
	}
	return b.Post(u, form)
}

// Origin is the scheme and host of u.
func Origin(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return p.Scheme + "://" + p.Host
}
