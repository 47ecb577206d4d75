package app

import (
	"slices"
	"strings"
	"testing"

	"github.com/certorder/certorder/internal/mail"
)

// The locales every mail kind is written in, and a word of each that its
// messages carry: "certificate" or "order" in that language.
var translated = map[string][]string{
	"en":    {"certificate", "order"},
	"de":    {"zertifikat", "auftrag"},
	"fr":    {"certificat", "commande"},
	"es":    {"certificado", "pedido"},
	"ja":    {"証明書", "注文"},
	"zh_CN": {"证书", "订单"},
}

// TestEmbeddedTemplates: with every package linked (as in the server),
// the embedded templates load and check; every embedded template is of a
// defined kind; every kind has its own template in en, de, fr, es, ja and
// zh_CN (a real translation: not the English text, and in its language);
// every sample of every kind renders in each, with a one-line subject.
func TestEmbeddedTemplates(t *testing.T) {
	t.Parallel()
	tpl, err := mail.Load("")
	if err != nil {
		t.Fatal(err)
	}
	kinds := mail.Kinds()
	for _, k := range []string{"dcv_link", "request_pending", "request_approved", "request_rejected", "certificate_issued", "reissue_issued",
		"duplicate_issued", "certificate_revoked", "renewal_notice", "auto_renewal"} {
		if !slices.Contains(kinds, k) {
			t.Errorf("kind %s is not defined", k)
		}
	}
	for _, k := range tpl.Kinds() {
		if !slices.Contains(kinds, k) {
			t.Errorf("embedded templates of kind %s, which nothing defines", k)
		}
	}
	for _, kind := range kinds {
		en := map[int]mail.Message{}
		for _, locale := range []string{"en", "de", "fr", "es", "ja", "zh_CN"} {
			if !tpl.Has(kind, locale) {
				t.Errorf("%s has no %s template", kind, locale)
				continue
			}
			for i, sample := range mail.Samples(kind) {
				m, err := tpl.Render(kind, locale, sample)
				if err != nil {
					t.Errorf("%s/%s sample %d: %v", locale, kind, i+1, err)
					continue
				}
				if m.Subject == "" || strings.ContainsAny(m.Subject, "\r\n") || m.HTML == "" {
					t.Errorf("%s/%s sample %d: subject %q, HTML %d bytes", locale, kind, i+1, m.Subject, len(m.HTML))
				}
				text := strings.ToLower(m.Subject + "\n" + m.Body)
				if !slices.ContainsFunc(translated[locale], func(w string) bool { return strings.Contains(text, w) }) {
					t.Errorf("%s/%s sample %d says none of %q:\n%s", locale, kind, i+1, translated[locale], text)
				}
				if locale == "en" {
					en[i] = m
				} else if m.Subject == en[i].Subject || m.Body == en[i].Body {
					t.Errorf("%s/%s sample %d is the English text", locale, kind, i+1)
				}
			}
		}
	}
}
