package mail_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certorder/certorder/internal/mail"
	"github.com/certorder/certorder/internal/notify" // defines the event kinds and their samples
)

// writeTree makes a template directory of files (path → content).
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, content := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const goodIssued = `{{define "subject"}}Zertifikat {{.CommonName}} bereit{{end}}
{{define "body"}}Hallo {{.CommonName}}, Auftrag {{.OrderID}}.{{end}}`

// TestLoadOverrides: a directory's template replaces the embedded one of
// its locale and kind (text and HTML both), other locales and kinds keep
// theirs, and a new locale of a known kind is taken.
func TestLoadOverrides(t *testing.T) {
	t.Parallel()
	dir := writeTree(t, map[string]string{
		"de/certificate_issued.txt":  goodIssued,
		"it/certificate_issued.txt":  strings.ReplaceAll(goodIssued, "Hallo", "Ciao"),
		"it/certificate_issued.html": `{{define "body"}}<p>Ciao {{.CommonName}}</p>{{end}}`,
	})
	tpl, err := mail.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	d := notify.IssuedMail{Order: notify.Order{OrderID: 7, CommonName: "<b>x.example</b>"}}
	de, err := tpl.Render(notify.KindCertificateIssued, "de", d)
	if err != nil || de.Subject != "Zertifikat <b>x.example</b> bereit" || de.Body != "Hallo <b>x.example</b>, Auftrag 7.\n" {
		t.Fatalf("de override: %+v, %v", de, err)
	}
	// No HTML of its own: made from the text, escaped.
	if !strings.Contains(de.HTML, "Hallo &lt;b&gt;x.example&lt;/b&gt;, Auftrag 7.") || !strings.Contains(de.HTML, `lang="de"`) {
		t.Errorf("de HTML: %q", de.HTML)
	}
	it, err := tpl.Render(notify.KindCertificateIssued, "it", d)
	if err != nil || it.HTML != "<p>Ciao &lt;b&gt;x.example&lt;/b&gt;</p>\n" {
		t.Errorf("it override: %+v, %v", it, err)
	}
	fr, err := tpl.Render(notify.KindCertificateIssued, "fr", d)
	if err != nil || !strings.Contains(fr.Subject, "Votre certificat") {
		t.Errorf("fr keeps the embedded template: %+v, %v", fr, err)
	}
	if emb, err := mail.Render(notify.KindCertificateIssued, "de", d); err != nil || !strings.Contains(emb.Subject, "Ihr Zertifikat") {
		t.Errorf("the embedded set changed: %+v, %v", emb, err)
	}
	// A locale without templates falls back to en.
	if ko, err := tpl.Render(notify.KindCertificateIssued, "ko", d); err != nil || !strings.Contains(ko.Subject, "Your certificate") {
		t.Errorf("ko falls back to en: %+v, %v", ko, err)
	}
}

// TestLoadRefuses: every mistake in a template directory stops the load
// with an error naming the file: a template that does not parse, one that
// lacks "subject" or "body", one that names a field its kind's data does
// not have (found by rendering the kind's samples, not at send time), an
// HTML template without its text twin, an unknown kind or locale, a stray
// file. Mistakes are reported together.
func TestLoadRefuses(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		files map[string]string
		want  []string // each in the error, file names relative to the directory
	}{
		{"does not parse", map[string]string{"de/certificate_issued.txt": `{{define "subject"}}{{.CommonName}{{end}}`},
			[]string{"de/certificate_issued.txt"}},
		{"no subject", map[string]string{"fr/request_pending.txt": `{{define "body"}}x{{end}}`},
			[]string{"fr/request_pending.txt", `defines no "subject"`}},
		{"no HTML body", map[string]string{"fr/request_pending.txt": goodIssued, "fr/request_pending.html": `{{define "page"}}x{{end}}`},
			[]string{"fr/request_pending.html", `defines no "body"`}},
		{"a field the kind lacks", map[string]string{"ja/certificate_revoked.txt": `{{define "subject"}}{{.CommonName}}{{end}}{{define "body"}}{{.SerialNumber}}{{end}}`},
			[]string{"ja/certificate_revoked.txt", "SerialNumber"}},
		{"a field of only some samples", map[string]string{"es/request_rejected.txt": `{{define "subject"}}x{{end}}{{define "body"}}{{index .Names 1}}{{end}}`},
			[]string{"es/request_rejected.txt", "sample 2"}},
		{"an empty subject", map[string]string{"de/certificate_issued.txt": `{{define "subject"}} {{end}}{{define "body"}}x{{end}}`},
			[]string{"de/certificate_issued.txt", "empty subject"}},
		{"HTML without text", map[string]string{"de/duplicate_issued.html": `{{define "body"}}x{{end}}`},
			[]string{"de/duplicate_issued.html", "no text twin"}},
		{"unknown kind", map[string]string{"de/certificate_isued.txt": goodIssued}, []string{"de/certificate_isued.txt", "unknown mail kind"}},
		{"unknown locale", map[string]string{"german/certificate_issued.txt": goodIssued}, []string{"german", "unknown locale"}},
		{"stray file", map[string]string{"de/README.md": "notes", "de/certificate_issued.txt": goodIssued}, []string{"de/README.md", "unexpected file"}},
		{"file at the top", map[string]string{"certificate_issued.txt": goodIssued}, []string{"certificate_issued.txt", "unexpected file"}},
		{"two mistakes", map[string]string{"de/certificate_issued.txt": `{{define "body"}}x{{end}}`, "fr/certificate_issued.txt": `{{.Nope`},
			[]string{"de/certificate_issued.txt", "fr/certificate_issued.txt"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := writeTree(t, c.files)
			_, err := mail.Load(dir)
			if err == nil {
				t.Fatal("loaded")
			}
			for _, w := range c.want {
				if strings.HasSuffix(w, ".txt") || strings.HasSuffix(w, ".html") || strings.HasSuffix(w, ".md") || w == "german" {
					w = filepath.Join(dir, filepath.FromSlash(w))
				}
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
	if _, err := mail.Load(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("a missing directory loaded")
	}
}

// TestTextHTML: the HTML made from a text body escapes every character,
// keeps paragraphs and line breaks and makes http(s) links clickable
// without taking the punctuation after them.
func TestTextHTML(t *testing.T) {
	t.Parallel()
	got := mail.TextHTML("zh_CN", `a <b> & "c"`, "Hello <you>,\n\nsee https://ca.example/x?a=1&b=2.\nnext\n\n\n\nend")
	for _, want := range []string{`<html lang="zh-CN">`, `<title>a &lt;b&gt; &amp; &#34;c&#34;</title>`, "<p>Hello &lt;you&gt;,</p>",
		`<p>see <a href="https://ca.example/x?a=1&amp;b=2">https://ca.example/x?a=1&amp;b=2</a>.<br>` + "\nnext</p>", "<p>end</p>"} {
		if !strings.Contains(got, want) {
			t.Errorf("lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "<you>") || strings.Contains(got, "<p></p>") {
		t.Errorf("unescaped or empty paragraph:\n%s", got)
	}
}
