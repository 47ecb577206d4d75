package jobs_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/certorder/certorder/internal/jobs"
	"github.com/certorder/certorder/internal/mail"
)

// TestAutoReissueMailEveryLocale: the auto_reissue mail has a text and an
// HTML template in en, de, fr, es, ja and zh_CN, and each renders the
// issued certificate and both ways of waiting, with the names, dates and
// numbers, every value escaped in the HTML part; a locale without a
// template of its own falls back to en.
func TestAutoReissueMailEveryLocale(t *testing.T) {
	t.Parallel()
	want := []string{"de", "en", "es", "fr", "ja", "zh_CN"}
	locales := mail.Locales(jobs.MailKindAutoReissue)
	slices.Sort(locales)
	if !slices.Equal(locales, want) {
		t.Fatalf("locales of auto_reissue = %v, want %v", locales, want)
	}
	base := jobs.AutoReissue{OrderID: 4711, ProductName: "Secure <Site>", CommonName: "a.example",
		Names: []string{"a.example", "www.a.example"}, MoreNames: 3, ReplacedEnds: "2027-01-10", PlanEnds: "2028-06-30"}
	issued := base
	issued.Status, issued.CertificateID, issued.ValidTill = "issued", 815, "2027-07-09"
	approval := base
	approval.Status, approval.Waiting = "reissue_pending", "approval"
	validation := base
	validation.Status, validation.Waiting = "reissue_pending", "validation"
	for _, l := range append(want, "it") {
		var bodies []string
		for _, d := range []jobs.AutoReissue{issued, approval, validation} {
			m, err := mail.Render(jobs.MailKindAutoReissue, l, d)
			if err != nil {
				t.Fatalf("%s %s/%s: %v", l, d.Status, d.Waiting, err)
			}
			if m.Subject == "" || strings.ContainsAny(m.Subject, "\r\n") || !strings.Contains(m.Subject, "4711") || !strings.Contains(m.Subject, "a.example") {
				t.Errorf("%s %s: subject %q", l, d.Status, m.Subject)
			}
			for _, s := range []string{"4711", "www.a.example", "3", "2027-01-10", "2028-06-30", "Secure <Site>", "auto_reissue"} {
				if !strings.Contains(m.Body, s) {
					t.Errorf("%s %s/%s: text body lacks %q:\n%s", l, d.Status, d.Waiting, s, m.Body)
				}
			}
			if !strings.Contains(m.HTML, "Secure &lt;Site&gt;") || strings.Contains(m.HTML, "<Site>") || !strings.Contains(m.HTML, "<li>www.a.example</li>") {
				t.Errorf("%s %s/%s: HTML %q", l, d.Status, d.Waiting, m.HTML)
			}
			if d.Status == "issued" {
				for _, s := range []string{"815", "2027-07-09"} {
					if !strings.Contains(m.Subject+m.Body, s) || !strings.Contains(m.HTML, s) {
						t.Errorf("%s issued: no %q in %q / %q", l, s, m.Subject, m.Body)
					}
				}
			}
			bodies = append(bodies, m.Body)
		}
		// Issued, waiting for approval and waiting for validation say three
		// different things.
		if bodies[0] == bodies[1] || bodies[1] == bodies[2] || bodies[0] == bodies[2] {
			t.Errorf("%s: the three cases render alike", l)
		}
		if l == "it" {
			en, _ := mail.Render(jobs.MailKindAutoReissue, "en", issued)
			it, _ := mail.Render(jobs.MailKindAutoReissue, "it", issued)
			if en.Subject != it.Subject {
				t.Errorf("it does not fall back to en: %q", it.Subject)
			}
		}
	}
}
