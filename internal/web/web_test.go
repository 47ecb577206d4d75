package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"testing/fstest"
)

func TestRenderEscapesAndSetsHeaders(t *testing.T) {
	rec := httptest.NewRecorder()
	LinkPages.Render(rec, http.StatusTeapot, "message", Message{Title: `<script>alert(1)</script>`, Text: `"quoted" & <b>`})
	if rec.Code != http.StatusTeapot {
		t.Fatalf("status %d", rec.Code)
	}
	body := rec.Body.String()
	if strings.Contains(body, "<script>alert") || strings.Contains(body, "<b>") || !strings.Contains(body, "&lt;script&gt;") {
		t.Fatalf("values not escaped: %s", body)
	}
	for h, want := range map[string]string{
		"Content-Security-Policy": ContentSecurityPolicy,
		"X-Frame-Options":         "DENY",
		"Referrer-Policy":         "no-referrer",
		"Content-Type":            "text/html; charset=utf-8",
		"Cache-Control":           "no-store",
	} {
		if got := rec.Header().Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	rec = httptest.NewRecorder()
	LinkPages.Render(rec, http.StatusOK, "no-such-page", nil)
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("unknown page: %d, want 500", rec.Code)
	}
}

func TestParseNamesTheBrokenPage(t *testing.T) {
	for name, src := range map[string]string{
		"p/broken.html":  `{{define "title"}}x{{end}}{{define "main"}}{{if}}{{end}}`,
		"p/notitle.html": `{{define "main"}}x{{end}}`,
	} {
		_, err := Parse(fstest.MapFS{name: {Data: []byte(src)}}, "p")
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: error %v does not name the file", name, err)
		}
	}
}

func TestFormTokens(t *testing.T) {
	get := httptest.NewRequest("GET", "/x", nil)
	rec := httptest.NewRecorder()
	token := FormToken(rec, get, "scope-a")
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteStrictMode {
		t.Fatalf("form cookie %+v: want one HttpOnly SameSite=Strict cookie", cookies)
	}
	other := httptest.NewRecorder()
	otherToken := FormToken(other, httptest.NewRequest("GET", "/x", nil), "scope-a")
	post := func(cookie *http.Cookie, token string) *http.Request {
		r := httptest.NewRequest("POST", "/x", strings.NewReader(url.Values{FormField: {token}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if cookie != nil {
			r.AddCookie(cookie)
		}
		return r
	}
	for _, c := range []struct {
		name  string
		r     *http.Request
		scope string
		want  bool
	}{
		{"its own cookie and scope", post(cookies[0], token), "scope-a", true},
		{"another scope", post(cookies[0], token), "scope-b", false},
		{"no cookie", post(nil, token), "scope-a", false},
		{"another browser's token", post(cookies[0], otherToken), "scope-a", false},
		{"no token", post(cookies[0], ""), "scope-a", false},
	} {
		if got := CheckForm(c.r, c.scope); got != c.want {
			t.Errorf("%s: CheckForm = %v, want %v", c.name, got, c.want)
		}
	}
	// A browser that has the cookie keeps it: its tokens stay valid.
	again := httptest.NewRequest("GET", "/x", nil)
	again.AddCookie(cookies[0])
	rec2 := httptest.NewRecorder()
	if FormToken(rec2, again, "scope-a") != token || len(rec2.Result().Cookies()) != 0 {
		t.Error("a second page load changed the browser's form nonce")
	}
}

func TestProtectRefusesCrossSitePosts(t *testing.T) {
	ran := false
	h := Protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { ran = true }))
	for _, c := range []struct {
		method, site string
		want         bool
	}{
		{"GET", "cross-site", true},
		{"POST", "same-origin", true},
		{"POST", "cross-site", false},
		{"POST", "same-site", false},
	} {
		ran = false
		r := httptest.NewRequest(c.method, "http://certorder.test/x", nil)
		r.Header.Set("Sec-Fetch-Site", c.site)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if ran != c.want {
			t.Errorf("%s from %s: handler ran = %v, want %v", c.method, c.site, ran, c.want)
		}
		if rec.Header().Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s from %s: no X-Frame-Options", c.method, c.site)
		}
	}
}

func TestParsePartials(t *testing.T) {
	p, err := Parse(fstest.MapFS{
		"p/_nav.html": {Data: []byte(`{{define "nav"}}<nav>{{.}}</nav>{{end}}`)},
		"p/one.html":  {Data: []byte(`{{define "title"}}One{{end}}{{define "main"}}one{{end}}`)},
	}, "p")
	if err != nil {
		t.Fatal(err)
	}
	if p.Has("_nav") || !p.Has("one") {
		t.Fatalf("a partial became a page, or the page is missing")
	}
	rec := httptest.NewRecorder()
	p.Render(rec, http.StatusOK, "one", "<x>")
	if !strings.Contains(rec.Body.String(), "<nav>&lt;x&gt;</nav>") {
		t.Errorf("the partial's nav is not in the page: %s", rec.Body.String())
	}
}
