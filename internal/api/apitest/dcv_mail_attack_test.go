package apitest

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/dcv/dcvtest"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/testenv"
	"github.com/certorder/certorder/internal/web/webtest"
)

// mailedTo lists the recipients the SMTP sink got messages for.
func (e *dcvEnv) mailedTo() []string {
	var out []string
	for _, m := range e.mail.Messages() {
		out = append(out, m.To...)
	}
	return out
}

// TestDCVEmailRecipientsOnlyFromTheBR: a validation link may only go to the
// addresses the Baseline Requirements allow (3.2.2.4.4 constructed, at the
// domain or a parent; 3.2.2.4.14 published in DNS TXT). A manager once
// validated a victim's domain with a link mailed to an address of their own
// choosing, through a domain's email_array or an order's dcv_emails. Each
// such address is now refused when it is given, and a link whose address
// stopped being allowed (the TXT contact was withdrawn) approves nothing.
func TestDCVEmailRecipientsOnlyFromTheBR(t *testing.T) {
	t.Parallel()
	e := startDCV(t, nil)
	manager := usrUser(t, e.srv, store.RoleManager, 1)
	_, key := usrKey(t, e.srv, manager, 0)

	domainCases := []struct {
		name   string
		emails []any
	}{
		{"an outside address", []any{"attacker@evil.org"}},
		{"another local part at the domain", []any{"random.user123@victim-bank1.com"}},
		{"a constructed address at a subdomain", []any{"admin@mail.victim-bank2.com"}},
		{"a constructed address at another domain", []any{"admin@evil.org"}},
		{"one bad among good", []any{"admin@victim-bank4.com", "attacker@evil.org"}},
		// Unicode case mapping lowers U+0130 to "i": the checked form and
		// the sent form would name another domain or another mailbox.
		{"a dotted capital I in the domain", []any{"admin@v\u0130ctim-bank5.com"}},
		{"a dotted capital I in the local part", []any{"adm\u0130n@victim-bank6.com"}},
	}
	for i, c := range domainCases {
		t.Run("domain email_array: "+c.name, func(t *testing.T) {
			b := domBody(fmt.Sprintf("victim-bank%d.com", i), 1, "email", "ov")
			b["email_array"] = c.emails
			status, hdr, body := e.srv.DoKey(key, "POST", domainPath, mustJSON(t, b))
			requireErrors(t, status, hdr, body, http.StatusBadRequest, "invalid_value:email_array")
		})
	}
	t.Run("domain validation resubmitted with an outside address", func(t *testing.T) {
		d := domAdd(t, e.srv, domBody("resubmit-victim.com", 1, "dns-txt-token", "ov"))
		status, hdr, body := e.srv.DoKey(key, "POST", fmt.Sprintf("%s/%d/validation", domainPath, d.ID),
			mustJSON(t, map[string]any{"validations": []any{map[string]any{"type": "ov"}}, "dcv_method": "email", "email_array": []any{"attacker@evil.org"}}))
		requireErrors(t, status, hdr, body, http.StatusBadRequest, "invalid_value:email_array")
	})
	t.Run("order dcv_emails", func(t *testing.T) {
		for _, email := range []string{"random.user123@victim-dv.com", "attacker@evil.org"} {
			status, hdr, body := dvcsPost(t, e.srv, "ssl_dv_geotrust", map[string]any{
				"certificate":    map[string]any{"common_name": "victim-dv.com", "csr": e.csr},
				"order_validity": map[string]any{"years": 1}, "dcv_method": "email", "skip_approval": true,
				"dcv_emails": []any{map[string]any{"dns_name": "victim-dv.com", "email_domain": "victim-dv.com", "email": email}},
			})
			requireErrors(t, status, hdr, body, http.StatusBadRequest, "invalid_value:dcv_emails")
		}
	})
	time.Sleep(300 * time.Millisecond) // anything queued would be out by now
	for _, to := range e.mailedTo() {
		if strings.Contains(to, "evil.org") || strings.Contains(to, "random.user") || strings.HasPrefix(to, "admin@mail.") {
			t.Fatalf("a validation message went to %s", to)
		}
	}

	t.Run("an address in capitals is sent as checked, in lower case", func(t *testing.T) {
		b := domBody("capitals-victim.com", 1, "email", "ov")
		b["email_array"] = []any{"ADMIN@Capitals-Victim.com"}
		domAdd(t, e.srv, b)
		e.mail.WaitFor(t, "admin@capitals-victim.com", 10*time.Second)
		for _, to := range e.mailedTo() {
			if strings.Contains(to, "ADMIN") || strings.Contains(to, "Capitals") {
				t.Fatalf("sent to %q, not the form that was checked", to)
			}
		}
	})
	t.Run("a withdrawn DNS TXT contact approves nothing", func(t *testing.T) {
		e.dns.SetTXT("_validation-contactemail.withdrawn-contact.com", "it@contractor.example")
		b := domBody("withdrawn-contact.com", 1, "email", "ov")
		b["email_array"] = []any{"it@contractor.example"}
		d := domAdd(t, e.srv, b)
		link := linkIn(t, e.mail.WaitFor(t, "it@contractor.example", 10*time.Second))
		e.dns.SetTXT("_validation-contactemail.withdrawn-contact.com")
		if p := webtest.New(t).Submit(link, nil); p.Status != http.StatusForbidden {
			t.Fatalf("approve after the contact was withdrawn: %d, want 403", p.Status)
		}
		if got := domGet(t, e.srv, d.ID); got.Validations[0].DCVStatus == "complete" {
			t.Fatal("the domain was validated by a withdrawn contact")
		}
	})
}

// TestDCVEmailBounds: one order's first round mails at most 50 addresses,
// a resend that would mail more is refused, and an account's orders mail
// at most 200 validation messages an hour (the next round waits).
func TestDCVEmailBounds(t *testing.T) {
	t.Parallel()
	clock := &testClock{t: time.Now().UTC()}
	e := startDCV(t, func(o *testenv.Options) { o.Now = clock.now })
	names := func(prefix string) []any {
		var out []any
		for i := range 11 { // 11 registrable domains × 5 constructed addresses = 55
			out = append(out, fmt.Sprintf("%s%d.com", prefix, i))
		}
		return out
	}
	order := func(prefix string) int64 {
		n := names(prefix)
		return dvcsCreate(t, e.srv, "ssl_securesite_multi_domain", map[string]any{
			"certificate":    map[string]any{"common_name": n[0], "dns_names": n[1:], "csr": e.csr, "signature_hash": "sha256"},
			"organization":   map[string]any{"id": 1},
			"validity_years": 1, "dcv_method": "email", "skip_approval": true,
		}).ID
	}
	waitCount := func(want int) {
		t.Helper()
		deadline := time.Now().Add(dcvtest.MinWait)
		for len(e.mail.Messages()) < want && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(300 * time.Millisecond)
		if got := len(e.mail.Messages()); got != want {
			t.Fatalf("the relay got %d messages, want %d", got, want)
		}
	}
	first := order("bound-a")
	waitCount(50)
	clock.add(5*time.Minute + time.Second)
	status, hdr, body := e.srv.Do("PUT", fmt.Sprintf("%s%d/resend-emails", orderPath, first), "")
	requireErrors(t, status, hdr, body, http.StatusBadRequest, "invalid_value:domain_approval_emails")

	for _, p := range []string{"bound-b", "bound-c", "bound-d", "bound-e"} {
		order(p)
	}
	waitCount(200) // the fifth order's round would pass the account's 200 an hour

	// Switching the method away from email and back starts a new automatic
	// round: it waits for the interval like a resend.
	clock.add(time.Hour + time.Second)
	waitCount(250) // an hour on, the held round goes out
	o := e.order(t, "ssl_dv_geotrust", "email", []string{"switch-back.com"}, nil)
	waitCount(255)
	for _, m := range []string{"dns-txt-token", "email", "dns-txt-token", "email"} {
		status, _, body := e.srv.Do("PUT", fmt.Sprintf("%s%d/dcv-method", orderPath, o.ID), fmt.Sprintf(`{"dcv_method":%q}`, m))
		if status != http.StatusOK && status != http.StatusNoContent {
			t.Fatalf("dcv-method %s: %d %s", m, status, clip(body))
		}
	}
	time.Sleep(time.Second) // the worker's next looks
	waitCount(255)
}

// TestEmailLinkSecretNotLogged: the secret of an emailed link is as good
// as its recipient's click, so no log line (the debug request log
// included) carries it, whether the link is shown, approved or unknown.
func TestEmailLinkSecretNotLogged(t *testing.T) {
	t.Parallel()
	logs := &recordedLogs{}
	e := startDCV(t, func(o *testenv.Options) { o.Log = slog.New(logs) })
	o := e.order(t, "ssl_dv_geotrust", "email", []string{"logged-link.com"}, nil)
	link := linkIn(t, e.mail.WaitFor(t, "admin@logged-link.com", 10*time.Second))
	secret := link[strings.LastIndex(link, "/")+1:]
	for _, u := range []string{link, e.srv.URL + "/dcv/email/unknownsecretvalue", e.srv.URL + "//dcv/email/unknownsecretvalue", e.srv.URL + "/prefix/dcv/email/unknownsecretvalue"} {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if p := webtest.New(t).Submit(link, nil); p.Status != http.StatusOK {
		t.Fatalf("approve: %d %s", p.Status, p.Body)
	}
	fam2WaitStatus(t, e.srv, o.ID, "issued")
	if !logs.has(slog.LevelDebug, "request") {
		t.Fatal("no request was logged at debug level; the test shows nothing")
	}
	if s := logs.String(); strings.Contains(s, secret) || strings.Contains(s, "unknownsecretvalue") {
		t.Fatalf("a link's secret is in the logs:\n%s", s)
	}
}
