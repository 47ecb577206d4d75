package mail

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"path"
	"strings"
	"text/template"
)

// Each file templates/<locale>/<kind>.txt defines two templates, "subject"
// and "body", executed on the kind's typed data. en is every kind's
// fallback, so a kind needs at least templates/en/<kind>.txt. Beside it,
// templates/<locale>/<kind>.html may define "body" as HTML (html/template,
// so every value is escaped): the message then goes out as
// multipart/alternative, text first.
//
//go:embed templates
var templateFS embed.FS

// FallbackLocale is the locale of a message whose own has no template.
const FallbackLocale = "en"

// templates by locale and kind, parsed once when the package loads (a
// broken template fails every test, never a send).
var templates = mustParse(templateFS)

// htmlTemplates are the HTML bodies, by locale and kind.
var htmlTemplates = mustParseHTML(templateFS)

// parseAll parses every templates/<locale>/<kind>.<ext> of fsys with
// parse, which must check that the template defines what it must, and
// files them by locale and kind.
func parseAll[T any](fsys fs.FS, ext string, parse func(file, kind, src string) T) map[string]map[string]T {
	out := map[string]map[string]T{}
	files, err := fs.Glob(fsys, "templates/*/*."+ext)
	if err != nil {
		panic(err)
	}
	for _, f := range files {
		locale, kind := path.Base(path.Dir(f)), strings.TrimSuffix(path.Base(f), "."+ext)
		b, err := fs.ReadFile(fsys, f)
		if err != nil {
			panic(err)
		}
		if out[locale] == nil {
			out[locale] = map[string]T{}
		}
		out[locale][kind] = parse(f, kind, string(b))
	}
	return out
}

func mustParse(fsys fs.FS) map[string]map[string]*template.Template {
	return parseAll(fsys, "txt", func(file, kind, src string) *template.Template {
		t := template.Must(template.New(kind).Option("missingkey=error").Parse(src))
		for _, name := range []string{"subject", "body"} {
			if t.Lookup(name) == nil {
				panic(fmt.Sprintf("mail template %s defines no %q", file, name))
			}
		}
		return t
	})
}

func mustParseHTML(fsys fs.FS) map[string]map[string]*htmltemplate.Template {
	return parseAll(fsys, "html", func(file, kind, src string) *htmltemplate.Template {
		t := htmltemplate.Must(htmltemplate.New(kind).Option("missingkey=error").Parse(src))
		if t.Lookup("body") == nil {
			panic(fmt.Sprintf("mail template %s defines no \"body\"", file))
		}
		locale := path.Base(path.Dir(file))
		if templates[locale][kind] == nil {
			panic(fmt.Sprintf("mail template %s has no text twin %s.txt", file, kind))
		}
		return t
	})
}

// Locales lists the locales that have a template of kind.
func Locales(kind string) []string {
	var out []string
	for l, ks := range templates {
		if ks[kind] != nil {
			out = append(out, l)
		}
	}
	return out
}

// Render makes the message of kind in locale (en when locale has no
// template of kind) from data, the kind's typed struct: its subject, its
// text body and, when the locale's template has one, its HTML body.
func Render(kind, locale string, data any) (Message, error) {
	t := templates[locale][kind]
	if t == nil {
		locale = FallbackLocale
		if t = templates[locale][kind]; t == nil {
			return Message{}, fmt.Errorf("mail: no template of kind %q", kind)
		}
	}
	var s, b bytes.Buffer
	if err := t.ExecuteTemplate(&s, "subject", data); err != nil {
		return Message{}, fmt.Errorf("mail: subject of %s: %w", kind, err)
	}
	if err := t.ExecuteTemplate(&b, "body", data); err != nil {
		return Message{}, fmt.Errorf("mail: body of %s: %w", kind, err)
	}
	// A template's line breaks around its actions are layout, not text.
	m := Message{Subject: strings.Join(strings.Fields(s.String()), " "), Body: strings.TrimSpace(b.String()) + "\n"}
	if h := htmlTemplates[locale][kind]; h != nil {
		var hb bytes.Buffer
		if err := h.ExecuteTemplate(&hb, "body", data); err != nil {
			return Message{}, fmt.Errorf("mail: HTML body of %s: %w", kind, err)
		}
		m.HTML = strings.TrimSpace(hb.String()) + "\n"
	}
	return m, nil
}
