// Package web is what every HTML page certorder serves shares: the
// emailed-link pages (domain and mailbox validation, approvals, CSR
// pickup) and the console. It holds the security headers, the
// cross-origin and form-token checks on state-changing requests, the page
// layout and the embedded assets, so that no page can forget one of them.
//
// Pages are server-rendered with html/template (every value escaped) and
// work without JavaScript; the little script there is comes from /assets
// on the same origin, which is all the Content-Security-Policy allows.
package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strings"
)

// ContentSecurityPolicy lets a page load only its own origin's scripts,
// styles and images, talk only to its own origin, post forms only there,
// and never be framed: nothing a page shows can reach a third party.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data:; connect-src 'self'; form-action 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'"

// SetHeaders puts the headers every page carries. Pages reached through a
// link carry the link's secret in their address: no-referrer keeps it
// from leaving with a click, and no-store keeps it out of caches.
func SetHeaders(h http.Header) {
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
}

// all: keeps the partials (_*.html), which go:embed leaves out by name.
//
//go:embed all:templates assets i18n
var files embed.FS

// Pages are the templates of a set of pages, each parsed together with the
// shared layout. A page file defines "title" and "main"; the layout
// ("layout.html") wraps them.
type Pages struct {
	byName map[string]*template.Template
	Log    *slog.Logger
}

// Funcs are available to every page.
var Funcs = template.FuncMap{
	"csrfField": func() string { return FormField },
	// tr LOCALE KEY VALUES… is a page string in the page's language.
	"tr":      Translate,
	"langTag": langTag,
}

// ParseFuncs is Parse with more functions for the pages of dir (the
// console's formatting helpers); Funcs stay available.
func ParseFuncs(fsys fs.FS, dir string, funcs template.FuncMap) (*Pages, error) {
	return parse(fsys, dir, funcs)
}

// Parse reads every dir/*.html of fsys as a page named by its file name
// without the extension, each with the partials of dir (_*.html). An error names the file: a broken page stops the
// server at start, never a request.
func Parse(fsys fs.FS, dir string) (*Pages, error) { return parse(fsys, dir, nil) }

func parse(fsys fs.FS, dir string, funcs template.FuncMap) (*Pages, error) {
	layout, err := template.New("layout.html").Funcs(Funcs).Funcs(funcs).ParseFS(files, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("page layout: %w", err)
	}
	names, err := fs.Glob(fsys, path.Join(dir, "*.html"))
	if err != nil {
		return nil, fmt.Errorf("pages in %s: %w", dir, err)
	}
	// Files named _*.html are partials (a navigation bar, shared forms):
	// parsed with every page of dir, never pages themselves. (Embed them
	// with "all:": go:embed leaves out names starting with "_".)
	partials, _ := fs.Glob(fsys, path.Join(dir, "_*.html"))
	if len(partials) > 0 {
		if layout, err = layout.ParseFS(fsys, partials...); err != nil {
			return nil, fmt.Errorf("partials in %s: %w", dir, err)
		}
	}
	p := &Pages{byName: map[string]*template.Template{}}
	for _, f := range names {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if name == "layout" || strings.HasPrefix(name, "_") {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(fsys, f)
		if err != nil {
			return nil, fmt.Errorf("page %s: %w", f, err)
		}
		for _, def := range []string{"title", "main"} {
			if t.Lookup(def) == nil {
				return nil, fmt.Errorf("page %s defines no %q", f, def)
			}
		}
		p.byName[name] = t
	}
	return p, nil
}

// MustParseFuncs is ParseFuncs for pages embedded in the binary.
func MustParseFuncs(fsys fs.FS, dir string, funcs template.FuncMap) *Pages {
	p, err := ParseFuncs(fsys, dir, funcs)
	if err != nil {
		panic(err)
	}
	return p
}

// MustParse is Parse for the pages embedded in the binary.
func MustParse(fsys fs.FS, dir string) *Pages {
	p, err := Parse(fsys, dir)
	if err != nil {
		panic(err)
	}
	return p
}

// LinkPages are the pages that emailed links open; they live here because
// several engines (validation, approvals, pickup) send such links.
var LinkPages = MustParse(files, "templates")

// Render writes page name with data and status. The page is rendered into
// a buffer first, so that a template failure is a clean 500, not half a
// page.
func (p *Pages) Render(w http.ResponseWriter, status int, name string, data any) {
	t := p.byName[name]
	var buf bytes.Buffer
	err := fmt.Errorf("no page %q", name)
	if t != nil {
		err = t.ExecuteTemplate(&buf, "layout.html", data)
	}
	SetHeaders(w.Header())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err != nil {
		if p.Log != nil {
			p.Log.Error("render page", "page", name, "err", err)
		}
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte("<!doctype html><title>Error</title><p>This page could not be shown; try again later.</p>\n"))
		return
	}
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// Has reports whether a page of that name was parsed.
func (p *Pages) Has(name string) bool { return p.byName[name] != nil }

// Message is the data of the plain "message" page: a heading and a line,
// and the page's locale (English when empty).
type Message struct {
	Title, Text string
	Lang        string
}

// Protect wraps the handler of every page: headers on every answer, and
// a state-changing request from another origin (by Sec-Fetch-Site or
// Origin) refused before the handler runs. Handlers still check their
// form token: browsers that send neither header are covered by it.
func Protect(h http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		LinkPages.Render(w, http.StatusForbidden, "message", Message{
			Title: "Request refused",
			Text:  "This form was sent from another site. Open the page again and send it from there.",
		})
	}))
	inner := cop.Handler(h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		SetHeaders(w.Header())
		inner.ServeHTTP(w, r)
	})
}

// Assets serves the embedded stylesheets and scripts under /assets/.
func Assets() http.Handler {
	sub, err := fs.Sub(files, "assets")
	if err != nil {
		panic(err)
	}
	fsrv := http.StripPrefix("/assets/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		SetHeaders(w.Header())
		// Assets change only with the binary; a day's caching is safe.
		w.Header().Set("Cache-Control", "public, max-age=86400")
		fsrv.ServeHTTP(w, r)
	})
}

// SecretPaths are the path prefixes whose last segment is a credential:
// an emailed link's secret is as good as the click of its recipient, so
// it never reaches a log.
var SecretPaths = []string{"/dcv/email/", "/order-approval/", "/mailbox/", "/pickup/", "/email-validation/", "/console/password/"}

// LogPath is the request's path as logs may show it: whatever follows a
// secret path's prefix, wherever it stands (a doubled slash, a prefix a
// proxy did not strip) and in any case (a secret opens its link in any
// case, so a link whose case a mail client changed still carries one),
// is redacted.
func LogPath(r *http.Request) string {
	// Byte by byte, ASCII only, so that an index into lower is one into
	// the path whatever else it holds.
	b := []byte(r.URL.Path)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	lower := string(b)
	for _, p := range SecretPaths {
		if i := strings.Index(lower, p); i >= 0 {
			return r.URL.Path[:i+len(p)] + "[redacted]"
		}
	}
	return r.URL.Path
}
