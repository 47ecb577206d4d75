package apitest

import (
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/dcv/dcvtest"
	"github.com/certorder/certorder/internal/testenv"
	"github.com/certorder/certorder/internal/web/webtest"
)

// Mailbox control of client and S/MIME orders (S/MIME BR 3.2.2.2), with
// the sandbox off: every address is proven by its owner answering the
// random value mailed to it, through the emailed link's page or the API.

type mbEnv struct {
	*dcvEnv
	clock *testClock
}

func startMailbox(t *testing.T, mods ...func(*testenv.Options)) *mbEnv {
	t.Helper()
	clock := &testClock{t: time.Now().UTC()}
	e := &mbEnv{dcvEnv: startDCV(t, func(o *testenv.Options) {
		o.Now = clock.now
		for _, m := range mods {
			m(o)
		}
	}), clock: clock}
	if status, _, body := e.srv.Do("PUT", v2+"/organization/1/validation/ov", `{}`); status != http.StatusNoContent && status != http.StatusOK {
		t.Fatalf("grant ov: %d %s", status, clip(body))
	}
	return e
}

// order places a client order for emails that skips approval; csr "" asks
// for the pickup instead.
func (e *mbEnv) order(t *testing.T, product, csr string, emails ...string) created {
	t.Helper()
	m := clBody(csr)
	var list []any
	for _, a := range emails {
		list = append(list, a)
	}
	certOf(m)["emails"] = list
	if product == "class1_smime" {
		delete(certOf(m), "organization_units")
	}
	return createOK(t, e.srv, product, mustJSON(t, m))
}

// mbLinkIn is the link of path ("/mailbox/", "/pickup/") in a message.
func mbLinkIn(t *testing.T, m dcvtest.Message, path string) string {
	t.Helper()
	i := strings.Index(m.Body, path)
	if i < 0 {
		t.Fatalf("no %s link in the message to %v: %q", path, m.To, m.Body)
	}
	start := strings.LastIndex(m.Body[:i], "http")
	end := i + strings.IndexAny(m.Body[i:], " \r\n")
	return m.Body[start:end]
}

// lastTo waits for the n-th message (1-based) to rcpt and returns it.
func (e *mbEnv) nthTo(t *testing.T, rcpt string, n int) dcvtest.Message {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var got []dcvtest.Message
		for _, m := range e.mail.Messages() {
			for _, to := range m.To {
				if to == rcpt {
					got = append(got, m)
				}
			}
		}
		if len(got) >= n {
			return got[n-1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d messages to %s, want %d", len(got), rcpt, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func tokenOf(link string) string { return link[strings.LastIndex(link, "/")+1:] }

type emailValidations struct {
	DeliveryOptions []string `json:"delivery_options"`
	Emails          []struct {
		Email       string `json:"email"`
		Status      string `json:"status"`
		DateEmailed string `json:"date_emailed"`
	} `json:"emails"`
}

func (e *mbEnv) validations(t *testing.T, key string, id int64) emailValidations {
	t.Helper()
	status, _, body := e.srv.DoKey(key, "GET", fmt.Sprintf("%s%d/email-validation", orderPath, id), "")
	if status != http.StatusOK {
		t.Fatalf("GET email-validation: %d %s", status, clip(body))
	}
	var v emailValidations
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func (e *mbEnv) status(t *testing.T, id int64) string {
	t.Helper()
	o, _ := fam2GetOrder(t, e.srv, id)
	return o.Status
}

// validate is the API's PUT .../email-validation/{token}?email=.
func (e *mbEnv) validate(key string, orderID int64, token, email string) (int, http.Header, []byte) {
	return e.srv.DoKey(key, "PUT", fmt.Sprintf("%s%d/email-validation/%s?email=%s", orderPath, orderID, token, url.QueryEscape(email)), "")
}

func TestMailboxValidation(t *testing.T) {
	t.Parallel()
	e := startMailbox(t)
	key := e.srv.AdminKey
	csr := testenv.CSR(t, testenv.ECKey(t, elliptic.P256()), "ignored")
	o := e.order(t, "class1_smime", csr, "alice@mailbox.example.com", "bob@mailbox.example.com")
	if s := e.status(t, o.ID); s != "pending" {
		t.Fatalf("order is %s, want pending until its addresses are confirmed", s)
	}
	alice := mbLinkIn(t, e.nthTo(t, "alice@mailbox.example.com", 1), "/mailbox/")
	bob := mbLinkIn(t, e.nthTo(t, "bob@mailbox.example.com", 1), "/mailbox/")
	if tokenOf(alice) == tokenOf(bob) {
		t.Fatal("two addresses share one random value")
	}
	for _, m := range e.mail.Messages() {
		if len(m.To) != 1 {
			t.Fatalf("a validation message went to %v: one address per message", m.To)
		}
	}
	v := e.validations(t, key, o.ID)
	today := e.clock.now().Format("2006-01-02")
	if len(v.Emails) != 2 || v.Emails[0].Status != "unvalidated" || v.Emails[0].DateEmailed != today || len(v.DeliveryOptions) == 0 {
		t.Fatalf("email-validation before any answer: %+v", v)
	}

	b := webtest.New(t)
	for range 3 { // a mail scanner opens the link, repeatedly: nothing is confirmed
		if p := b.Get(alice); p.Status != http.StatusOK || !strings.Contains(p.Body, "alice@mailbox.example.com") {
			t.Fatalf("GET %s: %d", alice, p.Status)
		}
	}
	if v := e.validations(t, key, o.ID); v.Emails[0].Status != "unvalidated" {
		t.Fatal("opening the link confirmed the address")
	}
	if p := b.Submit(alice, nil); p.Status != http.StatusOK || !strings.Contains(p.Body, "confirmed") {
		t.Fatalf("confirm alice: %d %s", p.Status, clip([]byte(p.Body)))
	}
	if s := e.status(t, o.ID); s != "pending" {
		t.Fatalf("order is %s with bob unconfirmed, want pending", s)
	}
	if p := b.Submit(alice, nil); p.Status != http.StatusNotFound {
		t.Fatalf("a used link answers %d, want 404", p.Status)
	}
	status, _, body := e.validate(key, o.ID, tokenOf(bob), "bob@mailbox.example.com")
	if status != http.StatusNoContent {
		t.Fatalf("PUT email-validation: %d %s", status, clip(body))
	}
	fam2WaitStatus(t, e.srv, o.ID, "issued")
	chain := fam2IssuedChain(t, e.srv, o.ID)
	clCheckLeaf(t, "class1_smime", chain, []string{"alice@mailbox.example.com", "bob@mailbox.example.com"}, "alice@mailbox.example.com", clOrgName(t, e.srv), "")
	for _, ev := range e.validations(t, key, o.ID).Emails {
		if ev.Status != "validated" {
			t.Errorf("%s is %s after its confirmation", ev.Email, ev.Status)
		}
	}

	t.Run("reused for 30 days", func(t *testing.T) {
		again := e.order(t, "client_email_security_plus", csr, "alice@mailbox.example.com")
		if len(again.CertificateChain) == 0 {
			t.Fatalf("an address confirmed today is not reused: order %d waits", again.ID)
		}
	})
	t.Run("not after 30 days", func(t *testing.T) {
		e.clock.add(31 * 24 * time.Hour)
		late := e.order(t, "client_email_security_plus", csr, "alice@mailbox.example.com")
		if len(late.CertificateChain) != 0 || e.status(t, late.ID) != "pending" {
			t.Fatal("a mailbox validation older than 30 days was reused")
		}
		link := mbLinkIn(t, e.nthTo(t, "alice@mailbox.example.com", 2), "/mailbox/")
		// The random value lives 24 hours (3.2.2.2).
		e.clock.add(24*time.Hour + time.Second)
		if p := webtest.New(t).Get(link); p.Status != http.StatusNotFound {
			t.Fatalf("GET of an expired link: %d, want 404", p.Status)
		}
		status, hdr, body := e.validate(key, late.ID, tokenOf(link), "alice@mailbox.example.com")
		requireErrors(t, status, hdr, body, http.StatusNotFound, "not_found|email_validation")
		// A resend mails a new value; it works, and replaced the old.
		if status, _, body := e.srv.Do("PUT", fmt.Sprintf("%s%d/resend-emails", orderPath, late.ID), ""); status != http.StatusNoContent {
			t.Fatalf("resend: %d %s", status, clip(body))
		}
		fresh := mbLinkIn(t, e.nthTo(t, "alice@mailbox.example.com", 3), "/mailbox/")
		if p := webtest.New(t).Submit(fresh, nil); p.Status != http.StatusOK {
			t.Fatalf("confirm with the resent link: %d", p.Status)
		}
		fam2WaitStatus(t, e.srv, late.ID, "issued")
		fam2IssuedChain(t, e.srv, late.ID)
	})
}

// TestMailboxResendReplaces: a resend replaces the earlier link of the
// address, and a resend soon after the last one is refused.
func TestMailboxResendReplaces(t *testing.T) {
	t.Parallel()
	e := startMailbox(t)
	csr := testenv.CSR(t, testenv.ECKey(t, elliptic.P256()), "ignored")
	o := e.order(t, "client_premium", csr, "carol@resend.example.com")
	first := mbLinkIn(t, e.nthTo(t, "carol@resend.example.com", 1), "/mailbox/")
	resend := func() (int, http.Header, []byte) {
		return e.srv.Do("PUT", fmt.Sprintf("%s%d/resend-emails", orderPath, o.ID), `{"emails":["carol@resend.example.com"]}`)
	}
	status, hdr, body := resend()
	requireErrors(t, status, hdr, body, http.StatusTooManyRequests, "request_limit_exceeded")
	e.clock.add(6 * time.Minute)
	if status, _, body := resend(); status != http.StatusNoContent {
		t.Fatalf("resend: %d %s", status, clip(body))
	}
	second := mbLinkIn(t, e.nthTo(t, "carol@resend.example.com", 2), "/mailbox/")
	if p := webtest.New(t).Submit(first, nil); p.Status != http.StatusNotFound {
		t.Fatalf("the replaced link answers %d, want 404", p.Status)
	}
	if s := e.status(t, o.ID); s != "pending" {
		t.Fatalf("order is %s after a replaced link was used", s)
	}
	status, hdr, body = e.srv.Do("PUT", fmt.Sprintf("%s%d/resend-emails", orderPath, o.ID), `{"emails":["mallory@evil.example.com"]}`)
	requireErrors(t, status, hdr, body, http.StatusBadRequest, "invalid_value:emails")
	if p := webtest.New(t).Submit(second, nil); p.Status != http.StatusOK {
		t.Fatalf("confirm with the new link: %d", p.Status)
	}
	fam2WaitStatus(t, e.srv, o.ID, "issued")
	fam2IssuedChain(t, e.srv, o.ID)
}

// TestMailboxAttacks: the CA never issues for a mailbox its requester does
// not control. Every way around the owner's answer is refused and leaves
// the order pending and the address unvalidated.
func TestMailboxAttacks(t *testing.T) {
	t.Parallel()
	e := startMailbox(t)
	key := e.srv.AdminKey
	csr := testenv.CSR(t, testenv.ECKey(t, elliptic.P256()), "ignored")
	victim := e.order(t, "class1_smime", csr, "ceo@victim.example.com", "cfo@victim.example.com")
	other := e.order(t, "class1_smime", csr, "me@attacker.example.com")
	ceo := tokenOf(mbLinkIn(t, e.nthTo(t, "ceo@victim.example.com", 1), "/mailbox/"))
	cfoLink := mbLinkIn(t, e.nthTo(t, "cfo@victim.example.com", 1), "/mailbox/")
	mine := tokenOf(mbLinkIn(t, e.nthTo(t, "me@attacker.example.com", 1), "/mailbox/"))
	otherKey := bkOtherAccount(t, e.srv)

	refused := []struct {
		name   string
		key    string
		order  int64
		token  string
		email  string
		status int
		code   string
	}{
		{"no token at all", key, victim.ID, "guess", "ceo@victim.example.com", http.StatusNotFound, "not_found|email_validation"},
		{"another address's token on this order", key, victim.ID, mine, "ceo@victim.example.com", http.StatusNotFound, "not_found|email_validation"},
		{"a token of this order for its other address", key, victim.ID, ceo, "cfo@victim.example.com", http.StatusNotFound, "not_found|email_validation"},
		{"a token used on another order", key, other.ID, ceo, "ceo@victim.example.com", http.StatusNotFound, "not_found|email_validation"},
		{"another account", otherKey, victim.ID, ceo, "ceo@victim.example.com", http.StatusNotFound, "not_found|order"},
		{"the address left out", key, victim.ID, ceo, "", http.StatusBadRequest, "missing_field:email"},
	}
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			status, hdr, body := e.validate(c.key, c.order, c.token, c.email)
			requireErrors(t, status, hdr, body, c.status, c.code)
		})
	}
	t.Run("another account through the short path", func(t *testing.T) {
		status, hdr, body := e.srv.DoKey(otherKey, "PUT", "/services/v2/email-validation/"+ceo+"?email=ceo@victim.example.com", "")
		requireErrors(t, status, hdr, body, http.StatusNotFound, "not_found|email_validation")
		status, hdr, body = e.srv.DoKey(otherKey, "GET", fmt.Sprintf("%s%d/email-validation", orderPath, victim.ID), "")
		requireErrors(t, status, hdr, body, http.StatusNotFound, "not_found|order")
	})
	t.Run("a form without its token", func(t *testing.T) {
		b := webtest.New(t)
		b.Get(cfoLink)
		if p := b.Post(cfoLink, url.Values{}); p.Status != http.StatusForbidden {
			t.Fatalf("post without the form token: %d, want 403", p.Status)
		}
		if p := webtest.New(t).Post(cfoLink, url.Values{"csrf_token": {"forged"}}); p.Status != http.StatusForbidden {
			t.Fatalf("post with a forged token and no cookie: %d, want 403", p.Status)
		}
	})
	t.Run("a form from another origin", func(t *testing.T) {
		b := webtest.New(t)
		form := b.Get(cfoLink).Hidden()
		if p := b.PostFrom(cfoLink, "https://evil.example", form); p.Status != http.StatusForbidden {
			t.Fatalf("cross-origin post: %d, want 403", p.Status)
		}
	})
	t.Run("a TLS order has no email validations", func(t *testing.T) {
		tls := e.dcvEnv.order(t, "ssl_dv_geotrust", "dns-txt-token", []string{"no-mailbox.com"}, nil)
		status, hdr, body := e.srv.Do("GET", fmt.Sprintf("%s%d/email-validation", orderPath, tls.ID), "")
		requireErrors(t, status, hdr, body, http.StatusBadRequest, "invalid_product")
	})
	t.Run("a link scanner", func(t *testing.T) {
		for range 5 {
			webtest.New(t).Get(cfoLink)
		}
	})
	t.Run("the DCV approval page does not take a mailbox link", func(t *testing.T) {
		dcvURL := strings.Replace(cfoLink, "/mailbox/", "/dcv/email/", 1)
		if p := webtest.New(t).Submit(dcvURL, nil); p.Status == http.StatusOK {
			t.Fatal("a mailbox secret approved something on the DCV page")
		}
	})
	if s := e.status(t, victim.ID); s != "pending" {
		t.Fatalf("the victim's order is %s, want pending", s)
	}
	for _, ev := range e.validations(t, key, victim.ID).Emails {
		if ev.Status != "unvalidated" {
			t.Fatalf("%s became %s", ev.Email, ev.Status)
		}
	}
	status, _, _ := e.srv.Do("GET", fmt.Sprintf("/services/v2/certificate/download/order/%d", victim.ID), "")
	if status == http.StatusOK {
		t.Fatal("a certificate for the victim's mailboxes can be downloaded")
	}

	t.Run("the owner's own answers still work after the attempts", func(t *testing.T) {
		if status, _, body := e.validate(key, victim.ID, ceo, "ceo@VICTIM.example.com"); status != http.StatusNoContent {
			t.Fatalf("the owner's token: %d %s", status, clip(body))
		}
		if status, hdr, body := e.validate(key, victim.ID, ceo, "ceo@victim.example.com"); status != http.StatusNotFound {
			requireErrors(t, status, hdr, body, http.StatusNotFound, "not_found|email_validation")
		}
	})
}

// TestPickupUpload: a client order placed without a CSR gets, once its
// address is confirmed, a pickup link whose page takes a CSR the recipient
// made (the page's script, which makes the key in the browser, is tested
// in a real Chromium: internal/testenv/browser). The link works once and
// only through its page's form.
func TestPickupUpload(t *testing.T) {
	t.Parallel()
	e := startMailbox(t)
	o := e.order(t, "client_premium", "", "dave@pickup.example.com")
	if s := e.status(t, o.ID); s != "needs_csr" {
		t.Fatalf("order without a CSR is %s, want needs_csr", s)
	}
	mbox := mbLinkIn(t, e.nthTo(t, "dave@pickup.example.com", 1), "/mailbox/")
	if strings.Contains(e.nthTo(t, "dave@pickup.example.com", 1).Body, "/pickup/") {
		t.Fatal("the pickup link went out before the address was confirmed")
	}
	if p := webtest.New(t).Submit(mbox, nil); p.Status != http.StatusOK {
		t.Fatalf("confirm: %d", p.Status)
	}
	pickup := mbLinkIn(t, e.nthTo(t, "dave@pickup.example.com", 2), "/pickup/")
	key := testenv.ECKey(t, elliptic.P256())
	csr := testenv.CSR(t, key, "ignored")

	b := webtest.New(t)
	page := b.Get(pickup)
	if page.Status != http.StatusOK || !strings.Contains(page.Body, `src="/assets/pickup.js"`) || strings.Contains(page.Body, "still being validated") {
		t.Fatalf("pickup page: %d %s", page.Status, clip([]byte(page.Body)))
	}
	if csp := page.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Fatalf("pickup page CSP %q", csp)
	}
	if s := e.status(t, o.ID); s != "needs_csr" {
		t.Fatalf("opening the pickup page moved the order to %s", s)
	}
	if p := b.PostFrom(pickup, "https://evil.example", url.Values{"csr": {csr}, "csrf_token": {page.Hidden().Get("csrf_token")}}); p.Status != http.StatusForbidden {
		t.Fatalf("cross-origin pickup: %d, want 403", p.Status)
	}
	if p := b.Post(pickup, url.Values{"csr": {csr}}); p.Status != http.StatusForbidden {
		t.Fatalf("pickup without the form token: %d, want 403", p.Status)
	}
	weakKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	weak := testenv.CSR(t, weakKey, "weak")
	if p := b.Submit(pickup, url.Values{"csr": {weak}}); p.Status != http.StatusBadRequest {
		t.Fatalf("a weak key: %d, want 400", p.Status)
	}
	done := b.Submit(pickup, url.Values{"csr": {csr}})
	if done.Status != http.StatusOK || !strings.Contains(done.Body, "BEGIN CERTIFICATE") {
		t.Fatalf("pickup: %d %s", done.Status, clip([]byte(done.Body)))
	}
	chain := fam2IssuedChain(t, e.srv, o.ID)
	fam2SameKey(t, chain[0], key.Public())
	if p := webtest.New(t).Submit(pickup, url.Values{"csr": {csr}}); p.Status != http.StatusNotFound {
		t.Fatalf("a used pickup link: %d, want 404", p.Status)
	}

	t.Run("expired", func(t *testing.T) {
		o := e.order(t, "client_premium", "", "dave@pickup.example.com") // the address is reused: the pickup link goes out at once
		link := mbLinkIn(t, e.nthTo(t, "dave@pickup.example.com", 3), "/pickup/")
		e.clock.add(7*24*time.Hour + time.Second)
		if p := webtest.New(t).Get(link); p.Status != http.StatusNotFound {
			t.Fatalf("an expired pickup link: %d, want 404", p.Status)
		}
		if s := e.status(t, o.ID); s != "needs_csr" {
			t.Fatalf("order is %s", s)
		}
	})
}

// TestMailboxLinkSecretsNotLogged: a mailbox or pickup secret is as good
// as its recipient's answer, so no log line carries one, whether it came
// in a page's path or the API's.
func TestMailboxLinkSecretsNotLogged(t *testing.T) {
	t.Parallel()
	logs := &recordedLogs{}
	e := startMailbox(t, func(o *testenv.Options) { o.Log = slog.New(logs) })
	o := e.order(t, "client_premium", "", "henry@logged.example.com")
	mbox := mbLinkIn(t, e.nthTo(t, "henry@logged.example.com", 1), "/mailbox/")
	e.validate(e.srv.AdminKey, o.ID, "unknownsecretvalue", "henry@logged.example.com")
	e.srv.Do("PUT", "/services/v2/email-validation/unknownsecretvalue2?email=x@example.com", "")
	if p := webtest.New(t).Submit(mbox, nil); p.Status != http.StatusOK {
		t.Fatalf("confirm: %d", p.Status)
	}
	pickup := mbLinkIn(t, e.nthTo(t, "henry@logged.example.com", 2), "/pickup/")
	webtest.New(t).Get(pickup)
	webtest.New(t).Get(e.srv.URL + "/pickup/unknownsecretvalue3")
	if !logs.has(slog.LevelDebug, "request") {
		t.Fatal("no request was logged at debug level; the test shows nothing")
	}
	s := logs.String()
	for _, secret := range []string{tokenOf(mbox), tokenOf(pickup), "unknownsecretvalue"} {
		if strings.Contains(s, secret) {
			t.Fatalf("a link's secret is in the logs:\n%s", s)
		}
	}
}
