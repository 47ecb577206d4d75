package mail

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"text/template"
)

// Each file templates/<locale>/<kind>.txt defines two templates, "subject"
// and "body", executed on the kind's typed data. en is every kind's
// fallback, so a kind needs at least templates/en/<kind>.txt. Beside it,
// templates/<locale>/<kind>.html may define "body" as HTML (html/template,
// so every value is escaped); without one, the HTML part is made from the
// text body (escaped, paragraphs kept, links made clickable). Every
// message goes out as multipart/alternative, text first.
//
//go:embed templates
var templateFS embed.FS

// FallbackLocale is the locale of a message whose own has no template.
const FallbackLocale = "en"

// Locales are the locale codes accepted for DCV and notification mail
// (spec §7.3, [not found] in CertCentral's documentation: the spec's
// list), and the names a template directory's locale folders may have.
var Locales = map[string]bool{
	"cs": true, "de": true, "en": true, "es": true, "fr": true, "it": true, "ja": true, "ko": true, "nl": true,
	"pl": true, "pt": true, "ru": true, "tr": true, "vi": true, "zh_CN": true, "zh_TW": true,
}

// kinds holds each mail kind's sample data, which every template of the
// kind is rendered with when templates are loaded: a template naming a
// field its data lacks fails the start, not a send.
var (
	kindsMu sync.RWMutex
	kinds   = map[string][]any{}
)

// DefineKind declares a mail kind and the sample data its templates must
// render (one value of the kind's typed struct per branch worth checking).
// The package that owns the kind calls it from init.
func DefineKind(kind string, samples ...any) {
	if len(samples) == 0 {
		panic("mail: kind " + kind + " defined without sample data")
	}
	kindsMu.Lock()
	defer kindsMu.Unlock()
	kinds[kind] = samples
}

// Kinds lists the defined kinds, sorted.
func Kinds() []string {
	kindsMu.RLock()
	defer kindsMu.RUnlock()
	out := make([]string, 0, len(kinds))
	for k := range kinds {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Samples are the sample data kind was defined with.
func Samples(kind string) []any {
	s, _ := samplesOf(kind)
	return s
}

func samplesOf(kind string) ([]any, bool) {
	kindsMu.RLock()
	defer kindsMu.RUnlock()
	s, ok := kinds[kind]
	return s, ok
}

// Templates are the templates of every kind by locale: the embedded ones,
// each locale and kind possibly replaced by an operator's directory.
type Templates struct {
	text  map[string]map[string]*template.Template
	html  map[string]map[string]*htmltemplate.Template
	files map[string]map[string]string // where each text template came from, for errors
	// overrides marks the locales and kinds an operator's directory gave.
	overrides map[[2]string]bool
}

// Default is the embedded set, parsed once. A broken embedded template
// fails every test that renders mail; Load also renders each against its
// kind's samples at start.
var Default = sync.OnceValue(func() *Templates {
	t := &Templates{}
	sub, err := fs.Sub(templateFS, "templates")
	if err != nil {
		panic(err)
	}
	if err := t.add(sub, "internal/mail/templates", false); err != nil {
		panic(err)
	}
	return t
})

// Load is the embedded templates with the directory dir (empty: none)
// laid over them: dir/<locale>/<kind>.txt, and optionally beside it
// <kind>.html, replaces the embedded templates of that locale and kind
// (both: an override without .html sends an HTML part made from its text).
// Every template, embedded or not, must parse, define what its kind needs
// ("subject" and "body"; "body" for HTML) and render each sample of its
// kind; a file of an unknown locale or kind, or anything else in dir, is
// refused. The error names each file at fault.
func Load(dir string) (*Templates, error) {
	base := Default()
	t := &Templates{text: map[string]map[string]*template.Template{}, html: map[string]map[string]*htmltemplate.Template{},
		files: map[string]map[string]string{}}
	for l, ks := range base.text {
		for k, tt := range ks {
			t.put(l, k, tt, base.html[l][k], base.files[l][k])
		}
	}
	if dir != "" {
		fi, err := os.Stat(dir)
		if err != nil {
			return nil, fmt.Errorf("mail templates: %w", err)
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("mail templates: %s is not a directory", dir)
		}
		if err := t.add(os.DirFS(dir), dir, true); err != nil {
			return nil, err
		}
	}
	if err := t.check(); err != nil {
		return nil, err
	}
	return t, nil
}

var kindName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// add parses every <locale>/<kind>.txt and .html of fsys (named root in
// errors); strict refuses anything else in it.
func (t *Templates) add(fsys fs.FS, root string, strict bool) error {
	if t.text == nil {
		t.text, t.html, t.files = map[string]map[string]*template.Template{}, map[string]map[string]*htmltemplate.Template{}, map[string]map[string]string{}
	}
	var problems []error
	bad := func(file, format string, args ...any) {
		problems = append(problems, fmt.Errorf("mail template %s: %s", filepath.Join(root, filepath.FromSlash(file)), fmt.Sprintf(format, args...)))
	}
	type pair struct{ text, html string }
	found := map[[2]string]*pair{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == "." {
			return nil
		}
		depth := strings.Count(p, "/")
		if d.IsDir() {
			if depth > 0 {
				if strict {
					bad(p, "unexpected directory (the layout is <locale>/<kind>.txt and .html)")
				}
				return fs.SkipDir
			}
			if !Locales[p] && strict {
				bad(p, "unknown locale %q (one of %s)", p, strings.Join(localeList(), ", "))
				return fs.SkipDir
			}
			return nil
		}
		if depth != 1 {
			if strict {
				bad(p, "unexpected file (the layout is <locale>/<kind>.txt and .html)")
			}
			return nil
		}
		locale, name := path.Dir(p), path.Base(p)
		ext := path.Ext(name)
		kind := strings.TrimSuffix(name, ext)
		if (ext != ".txt" && ext != ".html") || !kindName.MatchString(kind) {
			if strict {
				bad(p, "unexpected file (a template is <kind>.txt or <kind>.html)")
			}
			return nil
		}
		if strict {
			if _, ok := samplesOf(kind); !ok {
				bad(p, "unknown mail kind %q (one of %s)", kind, strings.Join(Kinds(), ", "))
				return nil
			}
		}
		key := [2]string{locale, kind}
		if found[key] == nil {
			found[key] = &pair{}
		}
		if ext == ".txt" {
			found[key].text = p
		} else {
			found[key].html = p
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("mail templates %s: %w", root, err)
	}
	keys := make([][2]string, 0, len(found))
	for k := range found {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [2]string) int { return strings.Compare(a[0]+"/"+a[1], b[0]+"/"+b[1]) })
	for _, key := range keys {
		f := found[key]
		locale, kind := key[0], key[1]
		if f.text == "" {
			bad(f.html, "has no text twin %s.txt in the same directory", kind)
			continue
		}
		tt, err := parseText(fsys, f.text, kind)
		if err != nil {
			bad(f.text, "%v", err)
			continue
		}
		var ht *htmltemplate.Template
		if f.html != "" {
			if ht, err = parseHTML(fsys, f.html, kind); err != nil {
				bad(f.html, "%v", err)
				continue
			}
		}
		t.put(locale, kind, tt, ht, filepath.Join(root, filepath.FromSlash(f.text)))
		if strict {
			if t.overrides == nil {
				t.overrides = map[[2]string]bool{}
			}
			t.overrides[key] = true
		}
	}
	return errors.Join(problems...)
}

func (t *Templates) put(locale, kind string, tt *template.Template, ht *htmltemplate.Template, file string) {
	if t.text[locale] == nil {
		t.text[locale], t.html[locale], t.files[locale] = map[string]*template.Template{}, map[string]*htmltemplate.Template{}, map[string]string{}
	}
	t.text[locale][kind], t.files[locale][kind] = tt, file
	if ht != nil {
		t.html[locale][kind] = ht
	} else {
		delete(t.html[locale], kind)
	}
}

func parseText(fsys fs.FS, file, kind string) (*template.Template, error) {
	b, err := fs.ReadFile(fsys, file)
	if err != nil {
		return nil, err
	}
	t, err := template.New(kind).Option("missingkey=error").Parse(string(b))
	if err != nil {
		return nil, err
	}
	for _, name := range []string{"subject", "body"} {
		if t.Lookup(name) == nil {
			return nil, fmt.Errorf("defines no %q (a text template defines \"subject\" and \"body\")", name)
		}
	}
	return t, nil
}

func parseHTML(fsys fs.FS, file, kind string) (*htmltemplate.Template, error) {
	b, err := fs.ReadFile(fsys, file)
	if err != nil {
		return nil, err
	}
	t, err := htmltemplate.New(kind).Option("missingkey=error").Parse(string(b))
	if err != nil {
		return nil, err
	}
	if t.Lookup("body") == nil {
		return nil, errors.New(`defines no "body" (an HTML template defines "body")`)
	}
	return t, nil
}

// check renders every template with each sample of its kind: a template
// that names a field its data lacks, or renders an empty subject or body,
// is reported with its file. A kind without an en template is reported
// too: en is every kind's fallback. An embedded template of a kind this
// binary does not define (a test linking only some packages) is passed
// over; a program linking every package defines them all, which the app
// package's test checks.
func (t *Templates) check() error {
	var problems []error
	for _, kind := range Kinds() {
		if t.text[FallbackLocale][kind] == nil {
			problems = append(problems, fmt.Errorf("mail kind %s has no %s template (every kind's fallback)", kind, FallbackLocale))
		}
	}
	for _, locale := range t.locales() {
		for _, kind := range sortedKeys(t.text[locale]) {
			file := t.files[locale][kind]
			samples, ok := samplesOf(kind)
			if !ok {
				if t.overrides[[2]string{locale, kind}] {
					problems = append(problems, fmt.Errorf("mail template %s: unknown mail kind %q", file, kind))
				}
				continue
			}
			for i, s := range samples {
				m, err := t.render(kind, locale, s)
				switch {
				case err != nil:
					problems = append(problems, fmt.Errorf("mail template %s (sample %d of %s): %w", file, i+1, kind, err))
				case m.Subject == "" || strings.TrimSpace(m.Body) == "":
					problems = append(problems, fmt.Errorf("mail template %s (sample %d of %s): renders an empty subject or body", file, i+1, kind))
				}
			}
		}
	}
	return errors.Join(problems...)
}

func (t *Templates) locales() []string { return sortedKeys(t.text) }

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func localeList() []string { return sortedKeys(Locales) }

// Locales lists the locales that have a template of kind.
func (t *Templates) Locales(kind string) []string {
	var out []string
	for _, l := range t.locales() {
		if t.text[l][kind] != nil {
			out = append(out, l)
		}
	}
	return out
}

// Kinds lists every kind that has a template in some locale, sorted.
func (t *Templates) Kinds() []string {
	seen := map[string]bool{}
	for _, ks := range t.text {
		for k := range ks {
			seen[k] = true
		}
	}
	return sortedKeys(seen)
}

// Has reports whether locale has its own template of kind (no fallback).
func (t *Templates) Has(kind, locale string) bool { return t.text[locale][kind] != nil }

// Render makes the message of kind in locale (en when locale has no
// template of kind) from data, the kind's typed struct: its subject, its
// text body and its HTML body.
func (t *Templates) Render(kind, locale string, data any) (Message, error) {
	if t == nil {
		t = Default()
	}
	return t.render(kind, locale, data)
}

func (t *Templates) render(kind, locale string, data any) (Message, error) {
	tt := t.text[locale][kind]
	if tt == nil {
		locale = FallbackLocale
		if tt = t.text[locale][kind]; tt == nil {
			return Message{}, fmt.Errorf("mail: no template of kind %q", kind)
		}
	}
	var s, b bytes.Buffer
	if err := tt.ExecuteTemplate(&s, "subject", data); err != nil {
		return Message{}, fmt.Errorf("mail: subject of %s: %w", kind, err)
	}
	if err := tt.ExecuteTemplate(&b, "body", data); err != nil {
		return Message{}, fmt.Errorf("mail: body of %s: %w", kind, err)
	}
	// A template's line breaks around its actions are layout, not text;
	// a subject is one line whatever the values in it.
	m := Message{Subject: strings.Join(strings.Fields(s.String()), " "), Body: strings.TrimSpace(b.String()) + "\n"}
	if h := t.html[locale][kind]; h != nil {
		var hb bytes.Buffer
		if err := h.ExecuteTemplate(&hb, "body", data); err != nil {
			return Message{}, fmt.Errorf("mail: HTML body of %s: %w", kind, err)
		}
		m.HTML = strings.TrimSpace(hb.String()) + "\n"
	} else {
		m.HTML = TextHTML(locale, m.Subject, m.Body)
	}
	return m, nil
}

// Render renders with the embedded templates.
func Render(kind, locale string, data any) (Message, error) {
	return Default().Render(kind, locale, data)
}

// EmbeddedLocales lists the locales whose embedded templates include kind.
func EmbeddedLocales(kind string) []string { return Default().Locales(kind) }

var linkRE = regexp.MustCompile(`https?://[^\s<>"]+`)

// TextHTML is the HTML twin of a text body: every character escaped,
// paragraphs (blank-line separated) as <p>, line breaks kept, http(s)
// links clickable. It lets a kind or an override have one text template
// per locale and still go out as multipart/alternative.
func TextHTML(locale, subject, text string) string {
	var b strings.Builder
	lang := strings.ReplaceAll(locale, "_", "-")
	b.WriteString("<!DOCTYPE html>\n<html lang=\"" + htmltemplate.HTMLEscapeString(lang) + "\"><head><meta charset=\"utf-8\"><title>" +
		htmltemplate.HTMLEscapeString(subject) + "</title></head>\n<body>\n")
	for _, para := range strings.Split(strings.ReplaceAll(strings.TrimSpace(text), "\r\n", "\n"), "\n\n") {
		para = strings.Trim(para, "\n")
		if para == "" {
			continue
		}
		lines := strings.Split(para, "\n")
		for i, l := range lines {
			lines[i] = linkify(l)
		}
		b.WriteString("<p>" + strings.Join(lines, "<br>\n") + "</p>\n")
	}
	b.WriteString("</body></html>\n")
	return b.String()
}

func linkify(line string) string {
	var b strings.Builder
	last := 0
	for _, loc := range linkRE.FindAllStringIndex(line, -1) {
		b.WriteString(htmltemplate.HTMLEscapeString(line[last:loc[0]]))
		u := strings.TrimRight(line[loc[0]:loc[1]], ".,;:)")
		esc := htmltemplate.HTMLEscapeString(u)
		b.WriteString(`<a href="` + esc + `">` + esc + `</a>`)
		last = loc[0] + len(u)
	}
	b.WriteString(htmltemplate.HTMLEscapeString(line[last:]))
	return b.String()
}
