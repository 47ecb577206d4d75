package web

import (
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
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

// TestPageCatalogues: every locale's catalogue has exactly the English
// keys, each string shows the same values ({1}, {2}, …) as its English one
// and holds no markup but <b>, and the longer strings are translated.
func TestPageCatalogues(t *testing.T) {
	en := catalogue[PageFallbackLocale]
	markup := regexp.MustCompile(`</?[a-zA-Z][^>]*>`)
	for _, locale := range []string{"en", "de", "fr", "es", "ja", "zh_CN"} {
		m := catalogue[locale]
		if m == nil {
			t.Errorf("no page strings for %s", locale)
			continue
		}
		for key, s := range m {
			e, ok := en[key]
			if !ok {
				t.Errorf("%s has %q, which English lacks", locale, key)
				continue
			}
			got, want := placeholder.FindAllString(s, -1), placeholder.FindAllString(e, -1)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("%s %q shows %v, English %v", locale, key, got, want)
			}
			for _, tag := range markup.FindAllString(s, -1) {
				if tag != "<b>" && tag != "</b>" {
					t.Errorf("%s %q holds markup %s", locale, key, tag)
				}
			}
			if locale != "en" && len(e) > 20 && s == e {
				t.Errorf("%s %q is the English string", locale, key)
			}
		}
		for key := range en {
			if _, ok := m[key]; !ok {
				t.Errorf("%s lacks %q", locale, key)
			}
		}
	}
}

func TestTranslate(t *testing.T) {
	for _, c := range []struct {
		locale, key string
		args        []any
		want        string
		err         bool
	}{
		{"en", "dcv.done", []any{`<script>x</script>&`}, "Control of <b>&lt;script&gt;x&lt;/script&gt;&amp;</b> is confirmed. You can close this page.", false},
		{"de", "pickup.done", []any{int64(42)}, "Das Zertifikat des Auftrags 42 ist ausgestellt.", false},
		{"ja", "ev.approved", []any{7, "A&B"}, "<b>A&amp;B</b> の注文 7 を承認しました。", false},
		{"it", "button.approve", nil, "Approve", false}, // no Italian catalogue: English
		{"", "button.approve", nil, "Approve", false},
		{"en", "no.such.key", nil, "", true},
		{"en", "dcv.done", nil, "", true}, // names {1}, given nothing
	} {
		got, err := Translate(c.locale, c.key, c.args...)
		if (err != nil) != c.err || !strings.HasPrefix(string(got), c.want) {
			t.Errorf("Translate(%s, %s, %v) = %q, %v; want %q (error %v)", c.locale, c.key, c.args, got, err, c.want, c.err)
		}
	}
}

// TestLinkPagesEveryLocale renders each state of every link page in every
// locale: it renders (every string it names exists), says so in its lang
// attribute, escapes the values it shows, and is not the English page.
func TestLinkPagesEveryLocale(t *testing.T) {
	const hostile = `<script>alert(1)</script>`
	base := map[string]any{"Target": "example.com", "Email": "jane@example.com", "OrderID": int64(1234567), "Product": "Secure Site",
		"Organization": hostile, "CSRF": "tok", "ProductName": "Secure Site EV", "Approver": "vera@example.com", "CommonName": "example.com",
		"DNSNames": []string{"example.com", "www.example.com"}, "RequestedBy": "Ada", "ExpiresOn": "Mon, 04 Jan 2027 10:00:00 UTC",
		"Ready": false, "Chain": "-----BEGIN CERTIFICATE-----"}
	states := []struct {
		page string
		set  map[string]any
	}{
		{"dcv_email", nil}, {"dcv_email", map[string]any{"Done": true}}, {"dcv_email", map[string]any{"OrderID": int64(0)}},
		{"ev_approval", nil}, {"ev_approval", map[string]any{"Approved": true}}, {"ev_approval", map[string]any{"Rejected": true}},
		{"mailbox", nil}, {"mailbox", map[string]any{"Done": true}},
		{"pickup", nil}, {"pickup", map[string]any{"Done": true}}, {"pickup", map[string]any{"Ready": true}},
	}
	render := func(page, locale string, set map[string]any) (int, string) {
		d := maps.Clone(base)
		maps.Copy(d, set)
		d["Lang"] = locale
		rec := httptest.NewRecorder()
		LinkPages.Render(rec, http.StatusOK, page, d)
		return rec.Code, rec.Body.String()
	}
	for _, st := range states {
		_, en := render(st.page, "en", st.set)
		for _, locale := range []string{"en", "de", "fr", "es", "ja", "zh_CN", "it", ""} {
			code, body := render(st.page, locale, st.set)
			if code != http.StatusOK {
				t.Errorf("%s %v in %q: %d %s", st.page, st.set, locale, code, body)
				continue
			}
			tag := strings.ReplaceAll(PageLocale(locale), "_", "-")
			if !strings.Contains(body, `<html lang="`+tag+`">`) {
				t.Errorf("%s %v in %q: not marked lang=%s", st.page, st.set, locale, tag)
			}
			if strings.Contains(body, hostile) {
				t.Errorf("%s %v in %q: a value is not escaped", st.page, st.set, locale)
			}
			if translated := PageLocale(locale) != "en"; translated == (body == en) {
				t.Errorf("%s %v in %q: translated %v, but the page is the English one: %v", st.page, st.set, locale, translated, body == en)
			}
		}
	}
}
