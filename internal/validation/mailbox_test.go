package validation

import (
	"slices"
	"strings"
	"testing"

	"github.com/certorder/certorder/internal/mail"
)

// Every locale certorder writes mail in renders both link messages, with
// the link (and the mailbox token) in the text.
func TestLinkMailEveryLocale(t *testing.T) {
	const link, token = "https://ca.example/mailbox/abcdef", "abcdef"
	for _, kind := range []string{MailKindMailbox, MailKindPickup} {
		for _, locale := range []string{"en", "de", "fr", "es", "ja", "zh_CN"} {
			t.Run(kind+"/"+locale, func(t *testing.T) {
				if !slices.Contains(mail.Locales(kind), locale) {
					t.Fatalf("no %s template in %s", kind, locale)
				}
				var data any = PickupMailData{Email: "a@example.com", OrderID: 7, ProductName: "Premium", Link: link, Expires: "Mon, 01 Feb 2027 10:00:00 UTC"}
				if kind == MailKindMailbox {
					data = MailboxMailData{Email: "a@example.com", OrderID: 7, ProductName: "Premium", Link: link, Token: token, Expires: "Mon, 01 Feb 2027 10:00:00 UTC"}
				}
				m, err := mail.Render(kind, locale, data)
				if err != nil {
					t.Fatal(err)
				}
				if m.Subject == "" || !strings.Contains(m.Subject, "a@example.com") {
					t.Errorf("subject %q", m.Subject)
				}
				for _, want := range []string{link, "a@example.com", "7", "2027"} {
					if !strings.Contains(m.Body, want) {
						t.Errorf("body lacks %q:\n%s", want, m.Body)
					}
				}
				if locale != "en" {
					en, _ := mail.Render(kind, "en", data)
					if en.Body == m.Body {
						t.Error("the body is the English one")
					}
				}
			})
		}
	}
}

func TestSameMailbox(t *testing.T) {
	for _, c := range []struct {
		a, b string
		same bool
	}{
		{"alice@example.com", "alice@example.com", true},
		{"alice@example.com", "alice@EXAMPLE.com", true},
		{" alice@example.com ", "alice@example.com", true},
		{"Alice@example.com", "alice@example.com", false}, // a local part may be case-sensitive
		{"alice@example.com", "bob@example.com", false},
		{"alice@example.com", "alice@example.org", false},
		{"alice@example.com", "", false},
		{"@example.com", "@example.com", false},
		{"a@b@example.com", "a@b@example.com", true},
	} {
		if got := SameMailbox(c.a, c.b); got != c.same {
			t.Errorf("SameMailbox(%q, %q) = %v, want %v", c.a, c.b, got, c.same)
		}
	}
}
