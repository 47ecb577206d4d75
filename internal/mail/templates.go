package mail

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"text/template"
)

// Each file templates/<locale>/<kind>.txt defines two templates, "subject"
// and "body", executed on the kind's typed data. en is every kind's
// fallback, so a kind needs at least templates/en/<kind>.txt.
//
//go:embed templates
var templateFS embed.FS

// FallbackLocale is the locale of a message whose own has no template.
const FallbackLocale = "en"

// templates by locale and kind, parsed once when the package loads (a
// broken template fails every test, never a send).
var templates = mustParse(templateFS)

func mustParse(fsys fs.FS) map[string]map[string]*template.Template {
	out := map[string]map[string]*template.Template{}
	files, err := fs.Glob(fsys, "templates/*/*.txt")
	if err != nil {
		panic(err)
	}
	for _, f := range files {
		locale, kind := path.Base(path.Dir(f)), strings.TrimSuffix(path.Base(f), ".txt")
		b, err := fs.ReadFile(fsys, f)
		if err != nil {
			panic(err)
		}
		t := template.Must(template.New(kind).Option("missingkey=error").Parse(string(b)))
		for _, name := range []string{"subject", "body"} {
			if t.Lookup(name) == nil {
				panic(fmt.Sprintf("mail template %s defines no %q", f, name))
			}
		}
		if out[locale] == nil {
			out[locale] = map[string]*template.Template{}
		}
		out[locale][kind] = t
	}
	return out
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

// Render makes the subject and body of a message of kind in locale (en
// when locale has no template of kind) from data, the kind's typed struct.
func Render(kind, locale string, data any) (subject, body string, err error) {
	t := templates[locale][kind]
	if t == nil {
		if t = templates[FallbackLocale][kind]; t == nil {
			return "", "", fmt.Errorf("mail: no template of kind %q", kind)
		}
	}
	var s, b bytes.Buffer
	if err := t.ExecuteTemplate(&s, "subject", data); err != nil {
		return "", "", fmt.Errorf("mail: subject of %s: %w", kind, err)
	}
	if err := t.ExecuteTemplate(&b, "body", data); err != nil {
		return "", "", fmt.Errorf("mail: body of %s: %w", kind, err)
	}
	// A template's line breaks around its actions are layout, not text.
	return strings.Join(strings.Fields(s.String()), " "), strings.TrimSpace(b.String()) + "\n", nil
}
