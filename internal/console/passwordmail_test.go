package console_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/console"
	"github.com/certorder/certorder/internal/dcv/dcvtest"
	"github.com/certorder/certorder/internal/flex"
	"github.com/certorder/certorder/internal/mail"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/testenv"
	"github.com/certorder/certorder/internal/web/webtest"
)

// Every locale certorder writes mail in renders the password link
// message, with the user's name, username, link and expiry, and not in
// English but for en.
func TestPasswordMailEveryLocale(t *testing.T) {
	const link = "https://ca.example/console/password/abcdef"
	for _, locale := range []string{"en", "de", "fr", "es", "ja", "zh_CN"} {
		t.Run(locale, func(t *testing.T) {
			if !slices.Contains(mail.EmbeddedLocales(console.MailKindPassword), locale) {
				t.Fatalf("no %s template in %s", console.MailKindPassword, locale)
			}
			data := console.PasswordMail{FirstName: "Nia", Username: "new.hire", Link: link, ExpiresAt: "Mon, 01 Feb 2027 10:00:00 UTC"}
			m, err := mail.Render(console.MailKindPassword, locale, data)
			if err != nil {
				t.Fatal(err)
			}
			if m.Subject == "" || !strings.Contains(m.Subject, "certorder") {
				t.Errorf("subject %q", m.Subject)
			}
			for _, want := range []string{"Nia", "new.hire", link, "2027"} {
				if !strings.Contains(m.Body, want) {
					t.Errorf("body lacks %q:\n%s", want, m.Body)
				}
			}
			if !strings.Contains(m.HTML, `href="`+link+`"`) {
				t.Errorf("the HTML part does not link %s:\n%s", link, m.HTML)
			}
			if locale != "en" {
				en, _ := mail.Render(console.MailKindPassword, "en", data)
				if en.Subject == m.Subject || en.Body == m.Body {
					t.Error("the message is the English one")
				}
			}
		})
	}
}

// TestPasswordLinkLanguage: the password link goes out in its user's
// language (English without one), through the server's templates, so that
// an operator's template directory replaces the embedded text; the link of
// a translated message works.
func TestPasswordLinkLanguage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "fr"), 0o755); err != nil {
		t.Fatal(err)
	}
	override := `{{define "subject"}}[PKI ACME] mot de passe de {{.Username}}{{end}}{{define "body"}}Lien : {{.Link}} (expire le {{.ExpiresAt}}){{end}}`
	if err := os.WriteFile(filepath.Join(dir, "fr", console.MailKindPassword+".txt"), []byte(override), 0o644); err != nil {
		t.Fatal(err)
	}
	smtp := dcvtest.StartSMTP(t)
	f := start(t, testenv.Options{SMTPURL: smtp.URL(), MailTemplates: dir})
	b := f.signIn("admin")
	linkRE := regexp.MustCompile(`http://[^\s]+/console/password/[a-z2-7]+`)
	for _, c := range []struct {
		username, locale, subject string
	}{
		{"hans.de", "de", "Legen Sie Ihr Passwort für die certorder-Konsole fest"},
		{"yuki.ja", "ja", "certorder コンソールのパスワードを設定してください"},
		{"no.locale", "", "Set your password for the certorder console"},
		{"marie.fr", "fr", "[PKI ACME] mot de passe de marie.fr"},
	} {
		t.Run(c.username, func(t *testing.T) {
			u, _, err := f.srv.App.Console.Accounts.CreateUser(context.Background(), f.admin, &account.UserInput{Username: c.username,
				FirstName: "Test", LastName: "User", Email: c.username + "@example.com", Locale: c.locale,
				AccessRoles: []flex.IDInput{{ID: flex.NewInt(int64(store.RoleStandardUser))}}})
			if err != nil {
				t.Fatal(err)
			}
			p := post(t, b, f.url("/console/users/"+itoa(u.ID)), f.url("/console/users/"+itoa(u.ID)+"/password-link"), nil)
			requireStatus(t, p, 303, "mail a password link")
			msg := smtp.WaitFor(t, u.Email, 10*time.Second)
			if msg.Subject != c.subject {
				t.Errorf("subject %q, want %q", msg.Subject, c.subject)
			}
			link := linkRE.FindString(msg.Text)
			if link == "" {
				t.Fatalf("no link in %q", msg.Text)
			}
			if c.locale != "" && c.locale != "fr" && !strings.Contains(msg.HTML, `lang="`+c.locale+`"`) {
				t.Errorf("the HTML part is not marked %s", c.locale)
			}
			if p := webtest.New(t).Get(link); p.Status != 200 || !strings.Contains(p.Body, c.username) {
				t.Errorf("the mailed link's page: %d %s", p.Status, clip(p.Body))
			}
		})
	}
}
