package apitest

// EV approval by a verified contact, done for real: a server outside the
// sandbox, the DNS and SMTP servers of the DCV tests on loopback, and the
// emailed link's page driven like a browser.

import (
	"crypto/elliptic"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"mime"
	"mime/multipart"
	"net/http"
	"net/mail"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/dcv/dcvtest"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/testenv"
	"github.com/certorder/certorder/internal/web/webtest"
)

// The verified contacts of the EV organizations of these tests: the
// administrator (user 1 of a fresh server) and a contact who is no user.
const (
	evAdmin = "admin@example.com"
	evVera  = "vera@approvers.example"
)

type evEnv struct {
	*dcvEnv
	clock *testClock
	org   int64
}

// startEV starts a server outside the sandbox whose business clock the
// test moves, with an organization named orgName that holds an EV and an
// EV CS validation in force, each with the two verified contacts.
func startEV(t *testing.T, orgName string, mods ...func(*testenv.Options)) *evEnv {
	t.Helper()
	clock := &testClock{t: time.Now().UTC()}
	e := &evEnv{dcvEnv: startDCV(t, func(o *testenv.Options) {
		o.Now = clock.now
		for _, m := range mods {
			m(o)
		}
	}), clock: clock}
	users := []any{map[string]any{"id": 1},
		map[string]any{"first_name": "Vera", "last_name": "Approver", "email": evVera, "job_title": "CFO", "telephone": "+1 541 555 0102"}}
	e.org = orgCreate(t, e.srv, orgBody(orgName, map[string]any{"validations": []any{
		map[string]any{"type": "ev", "verified_users": users}, map[string]any{"type": "ev_cs", "verified_users": users}}}))
	for _, typ := range []string{"ev", "ev_cs"} {
		domNoContent(t, e.srv, "PUT", fmt.Sprintf("%s/%d/validation/%s", organizationPath, e.org, typ), "")
	}
	return e
}

// evContacts is organization.contacts naming approvers by address.
func evContacts(emails ...string) []any {
	out := []any{map[string]any{"contact_type": "technical_contact", "first_name": "Alan", "last_name": "Turing", "email": "alan@elsewhere.example"}}
	for _, e := range emails {
		out = append(out, map[string]any{"contact_type": "ev_approver", "email": e})
	}
	return out
}

// order places an EV TLS order that skips its request's approval, names
// approvers (none: every verified contact) and proves control of its
// names by DNS TXT, so that only the EV approval is left: check-dcv
// answers the names valid and the order pending. extra adds to the body.
func (e *evEnv) order(t *testing.T, names []string, contacts []any, extra ...map[string]any) int64 {
	t.Helper()
	cert := map[string]any{"common_name": names[0], "csr": e.csr, "signature_hash": "sha256"}
	if len(names) > 1 {
		cert["dns_names"] = names[1:]
	}
	org := map[string]any{"id": e.org}
	if contacts != nil {
		org["contacts"] = contacts
	}
	product := "ssl_ev_securesite"
	if len(names) > 2 {
		product = "ssl_ev_securesite_multi_domain"
	}
	req := map[string]any{"certificate": cert, "validity_years": 1, "organization": org,
		"dcv_method": "dns-txt-token", "skip_approval": true}
	for _, x := range extra {
		maps.Copy(req, x)
	}
	a := dvcsCreate(t, e.srv, product, req)
	info, _ := fam2GetOrder(t, e.srv, a.ID) // OV and EV answers carry no random value (seed 000)
	e.dns.SetTXT(strings.TrimPrefix(names[len(names)-1], "www."), info.DCVRandomValue)
	status, _, body := e.checkDCV(t, a.ID)
	var v checkDCVAnswer
	if status != http.StatusOK || json.Unmarshal(body, &v) != nil || v.DCVStatus != "valid" || v.OrderStatus != "pending" {
		t.Fatalf("check-dcv of EV order %d: %d %s, want 200, names valid, order pending", a.ID, status, clip(body))
	}
	return a.ID
}

// evMail waits for the n-th approval email (from 1) of order id to rcpt
// and returns its decoded text part and link.
func (e *evEnv) evMail(t *testing.T, rcpt string, id int64, n int) (string, string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		seen := 0
		for _, m := range e.mail.Messages() {
			if len(m.To) != 1 || !strings.EqualFold(m.To[0], rcpt) || !strings.Contains(m.Subject, fmt.Sprintf(" %d ", id)) {
				continue
			}
			if seen++; seen == n {
				text := evText(t, m)
				return text, evLinkIn(t, text)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no approval email %d of order %d to %s", n, id, rcpt)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// evMails counts the approval emails of order id that rcpt received.
func (e *evEnv) evMails(rcpt string, id int64) int {
	n := 0
	for _, m := range e.mail.Messages() {
		// The approval emails only: the order's own lifecycle mail (its
		// request, its issuance) goes to the administrator too.
		if len(m.To) == 1 && strings.EqualFold(m.To[0], rcpt) && strings.HasPrefix(m.Subject, "Approval needed: certificate order "+fmt.Sprint(id)+" ") {
			n++
		}
	}
	return n
}

// evText is the text part of a multipart/alternative message, decoded.
func evText(t *testing.T, m dcvtest.Message) string {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(m.Data))
	if err != nil {
		t.Fatalf("parse message: %v", err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("approval email is %q, want multipart/alternative", msg.Header.Get("Content-Type"))
	}
	r := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := r.NextPart()
		if err != nil {
			t.Fatalf("approval email without a text part: %v", err)
		}
		if pt, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type")); pt == "text/plain" {
			b, err := io.ReadAll(p)
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
	}
}

func evLinkIn(t *testing.T, text string) string {
	t.Helper()
	i := strings.Index(text, "/order-approval/")
	if i < 0 {
		t.Fatalf("no approval link in %q", text)
	}
	start := strings.LastIndex(text[:i], "http")
	end := i + strings.IndexAny(text[i:], " \r\n")
	return text[start:end]
}

// decide submits the link's page with decision, as a browser would.
func evDecide(t *testing.T, link, decision string) webtest.Page {
	t.Helper()
	return webtest.New(t).Submit(link, url.Values{"decision": {decision}})
}

func evRequireStatus(t *testing.T, srv *testenv.Server, id int64, want string) {
	t.Helper()
	if o, _ := fam2GetOrder(t, srv, id); o.Status != want {
		t.Fatalf("order %d is %s, want %s", id, o.Status, want)
	}
}

// evContactStatuses reads the verified contacts' statuses in GET
// .../validation, by address.
func evContactStatuses(t *testing.T, srv *testenv.Server, id int64) map[string]string {
	t.Helper()
	status, _, b := srv.Do("GET", fmt.Sprintf("%s%d/validation", orderPath, id), "")
	var v struct {
		OrgValidations []struct {
			VerifiedContacts []struct {
				Email  string `json:"email"`
				Status string `json:"status"`
			} `json:"verified_contacts"`
		} `json:"organization_validations"`
	}
	if status != http.StatusOK || json.Unmarshal(b, &v) != nil || len(v.OrgValidations) != 1 {
		t.Fatalf("order validation: %d %s", status, clip(b))
	}
	out := map[string]string{}
	for _, c := range v.OrgValidations[0].VerifiedContacts {
		out[c.Email] = c.Status
	}
	return out
}

func TestEVApproval(t *testing.T) {
	t.Parallel()
	e := startEV(t, "Acme & Sons <EV>")
	id := e.order(t, []string{"ev-approve.com", "www.ev-approve.com"}, evContacts(evVera))
	text, link := e.evMail(t, evVera, id, 1)
	for _, part := range []string{"Acme & Sons <EV>", "ev-approve.com", "Secure Site EV SSL", e.srv.URL + "/order-approval/"} {
		if !strings.Contains(text, part) {
			t.Errorf("approval email lacks %q: %s", part, text)
		}
	}
	time.Sleep(200 * time.Millisecond)
	if n := e.evMails(evAdmin, id); n != 0 {
		t.Errorf("the administrator, a verified contact the order did not name, got %d approval emails", n)
	}
	evRequireStatus(t, e.srv, id, "pending")
	if got := evContactStatuses(t, e.srv, id); got[evVera] != "pending" || got[evAdmin] != "pending" {
		t.Errorf("verified contacts while the approval is missing = %v, want both pending", got)
	}

	// Opening the link shows the order, escaped, and decides nothing: mail
	// scanners follow links.
	b := webtest.New(t)
	page := b.Get(link)
	if page.Status != http.StatusOK || !strings.Contains(page.Body, `<form method="post">`) ||
		!strings.Contains(page.Body, "Acme &amp; Sons &lt;EV&gt;") || strings.Contains(page.Body, "<EV>") ||
		!strings.Contains(page.Body, "www.ev-approve.com") || !strings.Contains(page.Body, evVera) {
		t.Fatalf("GET link: %d %s", page.Status, page.Body)
	}
	for _, h := range []string{"Content-Security-Policy", "X-Frame-Options", "Referrer-Policy"} {
		if page.Header.Get(h) == "" {
			t.Errorf("link page without %s", h)
		}
	}
	for range 3 {
		if p := webtest.New(t).Get(link); p.Status != http.StatusOK {
			t.Fatalf("GET link again: %d", p.Status)
		}
	}
	evRequireStatus(t, e.srv, id, "pending")

	// A post that did not come from the page approves nothing.
	form := page.Hidden()
	form.Set("decision", "approve")
	forged := []struct {
		name string
		do   func() webtest.Page
	}{
		{"no token, no cookie", func() webtest.Page { return webtest.New(t).Post(link, url.Values{"decision": {"approve"}}) }},
		{"the token without its cookie", func() webtest.Page { return webtest.New(t).Post(link, form) }},
		{"the cookie without the token", func() webtest.Page { return b.Post(link, url.Values{"decision": {"approve"}}) }},
		{"another site's form", func() webtest.Page { return b.PostFrom(link, "https://attacker.example", form) }},
	}
	for _, f := range forged {
		if p := f.do(); p.Status != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", f.name, p.Status)
		}
	}
	if p := b.Post(link, url.Values{"csrf_token": {form.Get("csrf_token")}}); p.Status != http.StatusBadRequest {
		t.Errorf("the form without a decision: %d, want 400", p.Status)
	}
	evRequireStatus(t, e.srv, id, "pending")

	p := b.Post(link, form)
	if p.Status != http.StatusOK || !strings.Contains(p.Body, "You approved order") {
		t.Fatalf("approve: %d %s", p.Status, p.Body)
	}
	fam2WaitStatus(t, e.srv, id, "issued")
	chain := fam2IssuedChain(t, e.srv, id) // linted
	domRequireLeaf(t, chain, "ev-approve.com", "www.ev-approve.com")
	if got := chain[0].Subject.Organization; len(got) != 1 || got[0] != "Acme & Sons <EV>" {
		t.Errorf("leaf organization = %q", got)
	}
	if got := evContactStatuses(t, e.srv, id); got[evVera] != "active" || got[evAdmin] != "pending" {
		t.Errorf("verified contacts after Vera approved = %v, want her active", got)
	}

	t.Run("links work once", func(t *testing.T) {
		if p := evDecide(t, link, "approve"); p.Status != http.StatusNotFound {
			t.Errorf("the used link again: %d, want 404", p.Status)
		}
		if p := webtest.New(t).Get(e.srv.URL + "/order-approval/notasecret"); p.Status != http.StatusNotFound {
			t.Errorf("an unknown link: %d, want 404", p.Status)
		}
	})
	t.Run("every verified contact when none is named", func(t *testing.T) {
		id := e.order(t, []string{"ev-all.com"}, nil)
		_, admin := e.evMail(t, evAdmin, id, 1)
		_, vera := e.evMail(t, evVera, id, 1)
		if p := evDecide(t, admin, "approve"); p.Status != http.StatusOK {
			t.Fatalf("the administrator approves: %d %s", p.Status, p.Body)
		}
		fam2WaitStatus(t, e.srv, id, "issued")
		if p := evDecide(t, vera, "reject"); p.Status != http.StatusNotFound {
			t.Errorf("the other contact's link after the approval: %d, want 404", p.Status)
		}
		evRequireStatus(t, e.srv, id, "issued")
	})
	t.Run("two contacts decide at once", func(t *testing.T) {
		id := e.order(t, []string{"ev-race.com"}, nil)
		_, admin := e.evMail(t, evAdmin, id, 1)
		_, vera := e.evMail(t, evVera, id, 1)
		// Both pages are open before either is sent.
		ba, bv := webtest.New(t), webtest.New(t)
		fa, fv := ba.Get(admin).Hidden(), bv.Get(vera).Hidden()
		fa.Set("decision", "approve")
		fv.Set("decision", "reject")
		pages := make(chan webtest.Page, 2)
		go func() { pages <- ba.Post(admin, fa) }()
		go func() { pages <- bv.Post(vera, fv) }()
		p1, p2 := <-pages, <-pages
		ok := 0
		for _, p := range []webtest.Page{p1, p2} {
			switch p.Status {
			case http.StatusOK:
				ok++
			case http.StatusNotFound:
			default:
				t.Errorf("a racing decision: %d %s", p.Status, p.Body)
			}
		}
		if ok != 1 {
			t.Fatalf("%d of two racing decisions counted, want 1", ok)
		}
		want := "rejected"
		if strings.Contains(p1.Body+p2.Body, "You approved order") {
			want = "issued"
		}
		fam2WaitStatus(t, e.srv, id, want)
	})
	t.Run("EV code signing", func(t *testing.T) {
		body := csSeedBody(testenv.CSR(t, testenv.ECKey(t, elliptic.P256()), "ignored"))
		body["organization"] = map[string]any{"id": e.org, "contacts": []any{map[string]any{"contact_type": "verified_contact", "user_id": 1}}}
		id := dvcsCreate(t, e.srv, "code_signing_ev", body).ID
		_, link := e.evMail(t, evAdmin, id, 1)
		evRequireStatus(t, e.srv, id, "pending")
		if p := evDecide(t, link, "approve"); p.Status != http.StatusOK {
			t.Fatalf("approve: %d %s", p.Status, p.Body)
		}
		fam2WaitStatus(t, e.srv, id, "issued")
		fam2IssuedChain(t, e.srv, id)
	})
}

func TestEVApprovalReject(t *testing.T) {
	t.Parallel()
	e := startEV(t, "Reject Co")
	before := dvcsBalance(t, e.srv)
	id := e.order(t, []string{"ev-reject.com"}, nil)
	if dvcsBalance(t, e.srv) >= before {
		t.Fatal("the order was not charged")
	}
	_, vera := e.evMail(t, evVera, id, 1)
	_, admin := e.evMail(t, evAdmin, id, 1)
	p := evDecide(t, vera, "reject")
	if p.Status != http.StatusOK || !strings.Contains(p.Body, "You rejected order") {
		t.Fatalf("reject: %d %s", p.Status, p.Body)
	}
	evRequireStatus(t, e.srv, id, "rejected")
	if got := dvcsBalance(t, e.srv); got != before {
		t.Errorf("balance after the rejection = %d, want the %d before the order", got, before)
	}
	if p := evDecide(t, admin, "approve"); p.Status != http.StatusNotFound {
		t.Errorf("the other contact's link after the rejection: %d, want 404", p.Status)
	}
	status, _, body := e.srv.Do("GET", fmt.Sprintf("/services/v2/certificate/download/order/%d/format/pem_all", id), "")
	if status == http.StatusOK {
		t.Errorf("a rejected order has a certificate: %s", clip(body))
	}
	evRequireStatus(t, e.srv, id, "rejected")
}

func TestEVApprovalExpiry(t *testing.T) {
	t.Parallel()
	e := startEV(t, "Expiry Co")
	id := e.order(t, []string{"ev-expiry.com"}, evContacts(evVera))
	_, link := e.evMail(t, evVera, id, 1)
	e.clock.add(30*24*time.Hour - time.Minute)
	if p := webtest.New(t).Get(link); p.Status != http.StatusOK {
		t.Fatalf("the link a minute before it expires: %d", p.Status)
	}
	b := webtest.New(t)
	form := b.Get(link).Hidden()
	form.Set("decision", "approve")
	e.clock.add(2 * time.Minute)
	if p := webtest.New(t).Get(link); p.Status != http.StatusNotFound || !strings.Contains(p.Body, "expired") {
		t.Errorf("GET the expired link: %d %s, want 404", p.Status, p.Body)
	}
	if p := b.Post(link, form); p.Status != http.StatusNotFound {
		t.Errorf("POST the expired link with its page's form: %d, want 404", p.Status)
	}
	evRequireStatus(t, e.srv, id, "pending")
	// The order still waits: a resend makes a link that works.
	domNoContent(t, e.srv, "PUT", fmt.Sprintf("%s%d/order-approval/resend-emails", orderPath, id), "")
	_, fresh := e.evMail(t, evVera, id, 2)
	if p := evDecide(t, fresh, "approve"); p.Status != http.StatusOK {
		t.Fatalf("approve through the new link: %d %s", p.Status, p.Body)
	}
	fam2WaitStatus(t, e.srv, id, "issued")
	fam2IssuedChain(t, e.srv, id)
}

func TestEVApprovalResend(t *testing.T) {
	t.Parallel()
	e := startEV(t, "Resend Co")
	id := e.order(t, []string{"ev-resend.com"}, evContacts(evVera))
	_, old := e.evMail(t, evVera, id, 1)
	path := fmt.Sprintf("%s%d/order-approval/resend-emails", orderPath, id)

	// Within five minutes of the first round: 429 with Retry-After, and
	// nothing sent; the old link still works.
	status, hdr, body := e.srv.Do("PUT", path, `{"emails":["`+evVera+`"]}`)
	requireErrors(t, status, hdr, body, http.StatusTooManyRequests, "request_limit_exceeded")
	if hdr.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	if p := webtest.New(t).Get(old); p.Status != http.StatusOK {
		t.Fatalf("the first link after a refused resend: %d", p.Status)
	}

	e.clock.add(5*time.Minute + time.Second)
	sendRefusals(t, e.srv, []callRefusal{
		{"an address that is no verified contact", "PUT", path, `{"emails":["mallory@evil.example"]}`, 400, []string{"invalid_value:emails"}},
		{"a verified contact of another organization's name", "PUT", path, `{"emails":["ada@widgets.example.com"]}`, 400, []string{"invalid_value:emails"}},
		{"emails not a list", "PUT", path, `{"emails":"` + evVera + `"}`, 400, []string{"invalid_value:emails"}},
		{"an OV order", "PUT", fmt.Sprintf("%s%d/order-approval/resend-emails", orderPath, domOrder(t, e.srv, e.csr, 1, false, "ev-resend.com").ID), "", 400, []string{"invalid_order_status"}},
		{"an unknown order", "PUT", orderPath + "999999/order-approval/resend-emails", "", 404, []string{"not_found|order"}},
	})
	if n := e.evMails(evVera, id); n != 1 {
		t.Fatalf("refused resends sent %d emails in all, want only the first", n)
	}
	status, _, body = e.srv.Do("PUT", path, `{"emails":["VERA@approvers.example"]}`)
	if status != http.StatusNoContent || len(body) != 0 {
		t.Fatalf("resend: %d %s, want 204", status, clip(body))
	}
	_, fresh := e.evMail(t, evVera, id, 2)
	if fresh == old {
		t.Fatal("the resend sent the same link")
	}
	time.Sleep(200 * time.Millisecond)
	if n := e.evMails(evAdmin, id); n != 0 {
		t.Errorf("a resend to Vera wrote to the administrator %d times", n)
	}
	// The resend replaced the first link.
	if p := evDecide(t, old, "approve"); p.Status != http.StatusNotFound {
		t.Errorf("the replaced link: %d, want 404", p.Status)
	}
	evRequireStatus(t, e.srv, id, "pending")
	if p := evDecide(t, fresh, "approve"); p.Status != http.StatusOK {
		t.Fatalf("approve through the new link: %d %s", p.Status, p.Body)
	}
	fam2WaitStatus(t, e.srv, id, "issued")
	e.clock.add(5*time.Minute + time.Second)
	status, hdr, body = e.srv.Do("PUT", path, "")
	requireErrors(t, status, hdr, body, http.StatusBadRequest, "invalid_order_status")
}

// TestEVApprovalAttacks: nothing approves an EV order but its own link's
// page, posted by a browser that opened it.
func TestEVApprovalAttacks(t *testing.T) {
	t.Parallel()
	e := startEV(t, "Attack Co")
	a := e.order(t, []string{"ev-attack-a.com"}, evContacts(evVera))
	bID := e.order(t, []string{"ev-attack-b.com"}, evContacts(evVera))
	_, linkA := e.evMail(t, evVera, a, 1)
	_, linkB := e.evMail(t, evVera, bID, 1)

	t.Run("one order's form on another's link", func(t *testing.T) {
		br := webtest.New(t)
		form := br.Get(linkA).Hidden()
		form.Set("decision", "approve")
		br.Get(linkB) // the browser holds both pages
		if p := br.Post(linkB, form); p.Status != http.StatusForbidden {
			t.Errorf("order A's form token posted to order B's link: %d, want 403", p.Status)
		}
		evRequireStatus(t, e.srv, a, "pending")
		evRequireStatus(t, e.srv, bID, "pending")
		if p := evDecide(t, linkA, "approve"); p.Status != http.StatusOK {
			t.Fatalf("approve A: %d", p.Status)
		}
		fam2WaitStatus(t, e.srv, a, "issued")
		evRequireStatus(t, e.srv, bID, "pending") // A's approval approves A only
	})

	t.Run("the requester through the API", func(t *testing.T) {
		// The request's approval is the account's, not the organization's:
		// the administrator approving their own request, granting the
		// organization again or validating the domain leaves the order
		// waiting for its verified contact.
		m := map[string]any{"certificate": map[string]any{"common_name": "ev-attack-b.com", "csr": e.csr, "signature_hash": "sha256"},
			"validity_years": 1, "organization": map[string]any{"id": e.org, "contacts": evContacts(evAdmin)}, "dcv_method": "dns-txt-token"}
		c := dvcsCreate(t, e.srv, "ssl_ev_securesite", m)
		if len(c.Requests) != 1 {
			t.Fatalf("order without a request: %+v", c)
		}
		fam2PutRequest(t, e.srv, c.Requests[0].ID, "approved")
		domNoContent(t, e.srv, "PUT", fmt.Sprintf("%s/%d/validation/ev", organizationPath, e.org), "")
		_, link := e.evMail(t, evAdmin, c.ID, 1)
		for _, call := range []struct{ method, path, body string }{
			{"PUT", fmt.Sprintf("%s%d/order-approval", orderPath, c.ID), `{"status":"approved"}`},
			{"PUT", fmt.Sprintf("%s%d/order-approval/approve", orderPath, c.ID), ""},
			{"PUT", fmt.Sprintf("%s%d/status", orderPath, c.ID), `{"status":"approved"}`},
		} {
			if status, _, body := e.srv.Do(call.method, call.path, call.body); status < 400 {
				t.Errorf("%s %s: %d %s, want a refusal", call.method, call.path, status, clip(body))
			}
		}
		// The API key is no credential for the page either.
		req, _ := http.NewRequest("POST", link, strings.NewReader("decision=approve"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-DC-DEVKEY", e.srv.AdminKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST the link with the API key and no form token: %d, want 403", resp.StatusCode)
		}
		evRequireStatus(t, e.srv, c.ID, "pending")
		// Through the link, the administrator (a verified contact) may.
		if p := evDecide(t, link, "approve"); p.Status != http.StatusOK {
			t.Fatalf("approve through the link: %d %s", p.Status, p.Body)
		}
		fam2WaitStatus(t, e.srv, c.ID, "issued")
	})

	t.Run("approvers that are no verified contact", func(t *testing.T) {
		ev := func(org any, contacts ...any) map[string]any {
			o := map[string]any{"id": org, "contacts": contacts}
			if m, ok := org.(map[string]any); ok {
				o = m
				o["contacts"] = contacts
			}
			return map[string]any{"certificate": map[string]any{"common_name": "ev-attack-c.com", "csr": e.csr, "signature_hash": "sha256"},
				"validity_years": 1, "organization": o, "skip_approval": true}
		}
		approver := func(k string, v any) map[string]any { return map[string]any{"contact_type": "ev_approver", k: v} }
		before := counts(t, e.srv)
		sendRefusals(t, e.srv, []callRefusal{
			{"an address of the request", "POST", orderPath + "ssl_ev_securesite", ev(e.org, approver("email", "mallory@evil.example")), 400, []string{"invalid_value:organization"}},
			{"a user who is no verified contact", "POST", orderPath + "ssl_ev_securesite", ev(e.org, approver("user_id", usrUser(t, e.srv, 1, 1))), 400, []string{"invalid_value:organization"}},
			{"verified_contact label, unknown address", "POST", orderPath + "ssl_ev_securesite",
				ev(e.org, map[string]any{"contact_type": "verified_contact", "email": "vera@approvers.example.evil"}), 400, []string{"invalid_value:organization"}},
			{"a contact of the organization that is not verified", "POST", orderPath + "ssl_ev_securesite", ev(e.org, approver("email", "ada@widgets.example.com")), 400, []string{"invalid_value:organization"}},
			{"a verified contact of another organization", "POST", orderPath + "ssl_ev_securesite", ev(1, approver("email", evVera)), 400, []string{"invalid_value:organization"}},
			{"an organization made with the order", "POST", orderPath + "ssl_ev_securesite", ev(orgBody("Brand New EV Org", nil), approver("email", evVera)), 400, []string{"invalid_value:organization"}},
			{"neither user_id nor email", "POST", orderPath + "ssl_ev_securesite", ev(e.org, map[string]any{"contact_type": "ev_approver"}), 400, []string{"invalid_value:organization"}},
		})
		if after := counts(t, e.srv); after != before {
			t.Errorf("refused orders wrote: %+v → %+v", before, after)
		}
		// On an OV order the same contact is not read: clients send it.
		m := ev(e.org, approver("email", "mallory@evil.example"))
		m["organization"] = map[string]any{"id": 1, "contacts": []any{approver("email", "mallory@evil.example")}}
		createOK(t, e.srv, "ssl_securesite", mustJSON(t, m))
	})

	t.Run("another account", func(t *testing.T) {
		other := otherAccount(t, e.srv)
		for _, c := range []struct{ method, path, body, code string }{
			{"PUT", fmt.Sprintf("/order/certificate/%d/order-approval/resend-emails", bID), "", "not_found|order"},
			{"GET", fmt.Sprintf("/order/certificate/%d/validation", bID), "", "not_found|order"},
		} {
			status, hdr, body := e.srv.DoKey(other, c.method, "/services/v2"+c.path, c.body)
			requireErrors(t, status, hdr, body, http.StatusNotFound, c.code)
		}
		m := map[string]any{"certificate": map[string]any{"common_name": "ev-other.com", "csr": e.csr, "signature_hash": "sha256"},
			"validity_years": 1, "organization": map[string]any{"id": e.org, "contacts": evContacts(evVera)}, "skip_approval": true}
		status, hdr, body := e.srv.DoKey(other, "POST", orderPath+"ssl_ev_securesite", mustJSON(t, m))
		requireErrors(t, status, hdr, body, http.StatusBadRequest, "invalid_value:organization")
		evRequireStatus(t, e.srv, bID, "pending")
	})
}

// TestEVApprovalSecretNotLogged: an approval link's secret is as good as
// its verified contact's click; no log line carries it, whether the link
// is shown, decided or unknown.
func TestEVApprovalSecretNotLogged(t *testing.T) {
	t.Parallel()
	logs := &recordedLogs{}
	e := startEV(t, "Quiet Co", func(o *testenv.Options) { o.Log = slog.New(logs) })
	id := e.order(t, []string{"ev-logged.com"}, evContacts(evVera))
	_, link := e.evMail(t, evVera, id, 1)
	secret := link[strings.LastIndex(link, "/")+1:]
	for _, u := range []string{link, e.srv.URL + "/order-approval/unknownsecretvalue", e.srv.URL + "//order-approval/unknownsecretvalue"} {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if p := evDecide(t, link, "approve"); p.Status != http.StatusOK {
		t.Fatalf("approve: %d %s", p.Status, p.Body)
	}
	fam2WaitStatus(t, e.srv, id, "issued")
	if !logs.has(slog.LevelDebug, "request") {
		t.Fatal("no request was logged at debug level; the test shows nothing")
	}
	if s := logs.String(); strings.Contains(s, secret) || strings.Contains(s, "unknownsecretvalue") {
		t.Fatalf("an approval link's secret is in the logs:\n%s", s)
	}
}

// TestEVApprovalSandbox: approval is immediate in the sandbox, except for
// an order a sandbox rule holds back, which waits (and whose resend is
// checked and mails nothing).
func TestEVApprovalSandbox(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	csr := testenv.CSR(t, testenv.ECKey(t, elliptic.P256()), "ignored")
	body := func(cn string) string {
		m := baseBody(csr)
		certOf(m)["common_name"] = cn
		m["skip_approval"] = true
		m["organization"] = map[string]any{"id": 1, "contacts": evContacts("nobody@anywhere.example")}
		return mustJSON(t, m)
	}
	createOK(t, srv, "ssl_ev_securesite", body("ev-sandbox.example.com")).requireChain(t, "ev-sandbox.example.com")

	held := createOK(t, srv, "ssl_ev_securesite", body("shop.ev-pending.example.com"))
	if held.CertificateChain != nil {
		t.Fatalf("an order the ev-pending rule holds issued at once")
	}
	time.Sleep(300 * time.Millisecond)
	evRequireStatus(t, srv, held.ID, "pending")
	domNoContent(t, srv, "PUT", fmt.Sprintf("%s%d/order-approval/resend-emails", orderPath, held.ID), "")
	status, hdr, b := srv.Do("PUT", fmt.Sprintf("%s%d/order-approval/resend-emails", orderPath, held.ID), `{"emails":["nobody@anywhere.example"]}`)
	requireErrors(t, status, hdr, b, http.StatusBadRequest, "invalid_value:emails")
	status, _, b = srv.Do("GET", "/services/v2/sandbox/mail?kind=ev_approval", "")
	if status != http.StatusOK || !strings.Contains(string(b), `"mails":[]`) {
		t.Errorf("sandbox outbox of approval emails: %d %s, want none", status, clip(b))
	}
	status, _, b = srv.Do("GET", fmt.Sprintf("%s%d/validation", orderPath, held.ID), "")
	if status != http.StatusOK || !strings.Contains(string(b), `"status":"approved"`) {
		t.Errorf("the held order's names: %d %s, want approved (DCV passes)", status, clip(b))
	}
}

// TestEVApprovalContactResubmitted: a verified contact is one the CA
// verified (here an administrator's grant), so a manager, who may submit
// organizations but not grant their validations, cannot make a mailbox of
// their own an approver by submitting a validation in force again with it.
// The validation stays in force with the contacts it had; the new one
// waits for the administrator's grant, and until then no order names it
// and no approval email goes to it. Both routes that submit validations
// are tried: the organization's own and POST /organization with an
// identical organization.
func TestEVApprovalContactResubmitted(t *testing.T) {
	t.Parallel()
	const mallory = "mallory@evil.example"
	resubmit := []struct {
		name string
		send func(e *evEnv, key string, validations []any) (int, http.Header, []byte)
	}{
		{"POST /organization/{id}/validation", func(e *evEnv, key string, vals []any) (int, http.Header, []byte) {
			return e.srv.DoKey(key, "POST", fmt.Sprintf("%s/%d/validation", organizationPath, e.org), mustJSON(t, map[string]any{"validations": vals}))
		}},
		{"POST /organization with an identical organization", func(e *evEnv, key string, vals []any) (int, http.Header, []byte) {
			return e.srv.DoKey(key, "POST", organizationPath, mustJSON(t, orgBody("Resubmit Co", map[string]any{"validations": vals})))
		}},
	}
	for _, r := range resubmit {
		t.Run(r.name, func(t *testing.T) {
			t.Parallel()
			e := startEV(t, "Resubmit Co")
			_, key := usrKey(t, e.srv, usrUser(t, e.srv, store.RoleManager, 1), 0)
			vals := []any{map[string]any{"type": "ev", "verified_users": []any{
				map[string]any{"first_name": "Vera", "last_name": "Approver", "email": evVera},
				map[string]any{"first_name": "Mal", "last_name": "Lory", "email": mallory, "job_title": "CFO", "telephone": "+1 541 555 0199"},
			}}}
			if status, _, body := r.send(e, key, vals); status >= 300 {
				t.Fatalf("the manager's resubmission: %d %s", status, clip(body))
			}
			status, _, body := e.srv.Do("GET", fmt.Sprintf("%s/%d/validation", organizationPath, e.org), "")
			if status != http.StatusOK || !strings.Contains(string(body), `"status":"active"`) {
				t.Fatalf("the EV validation after the resubmission: %d %s, want still active", status, clip(body))
			}

			// The manager's own order, naming the new contact as approver.
			order := func(contacts []any) (int, http.Header, []byte) {
				m := map[string]any{"certificate": map[string]any{"common_name": "ev-resubmit.com", "csr": e.csr, "signature_hash": "sha256"},
					"validity_years": 1, "organization": map[string]any{"id": e.org, "contacts": contacts},
					"dcv_method": "dns-txt-token", "skip_approval": true}
				return e.srv.DoKey(key, "POST", orderPath+"ssl_ev_securesite", mustJSON(t, m))
			}
			status, hdr, body := order(evContacts(mallory))
			requireErrors(t, status, hdr, body, http.StatusBadRequest, "invalid_value:organization")

			// An order naming no approver writes to the verified contacts
			// only: Vera, whom the resubmission kept.
			id := e.order(t, []string{"ev-resubmit.com"}, nil)
			_, link := e.evMail(t, evVera, id, 1)
			time.Sleep(300 * time.Millisecond)
			if n := e.evMails(mallory, id); n != 0 {
				t.Fatalf("the contact the manager added got %d approval emails", n)
			}
			status, hdr, body = e.srv.DoKey(key, "PUT", fmt.Sprintf("%s%d/order-approval/resend-emails", orderPath, id), `{"emails":["`+mallory+`"]}`)
			requireErrors(t, status, hdr, body, http.StatusBadRequest, "invalid_value:emails")
			if got := evContactStatuses(t, e.srv, id); got[mallory] != "pending" {
				t.Errorf("the unverified contact in order validation: %v, want pending", got)
			}

			// The administrator's grant verifies the new contact: from then
			// on it is an approver like the others.
			domNoContent(t, e.srv, "PUT", fmt.Sprintf("%s/%d/validation/ev", organizationPath, e.org), "")
			e.clock.add(6 * time.Minute)
			domNoContent(t, e.srv, "PUT", fmt.Sprintf("%s%d/order-approval/resend-emails", orderPath, id), `{"emails":["`+mallory+`"]}`)
			_, granted := e.evMail(t, mallory, id, 1)
			if p := evDecide(t, link, "approve"); p.Status != http.StatusNotFound {
				t.Errorf("Vera's link of the replaced round: %d, want 404", p.Status)
			}
			if p := evDecide(t, granted, "approve"); p.Status != http.StatusOK {
				t.Fatalf("the granted contact approves: %d %s", p.Status, p.Body)
			}
			fam2WaitStatus(t, e.srv, id, "issued")
			fam2IssuedChain(t, e.srv, id)
		})
	}
}
