package apitest

// Domain control validation done for real (issue 6): a DNS server, an HTTP
// server and an SMTP sink on loopback, and certorder looking the random
// values up through them.

import (
	"context"
	"crypto/elliptic"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/certorder/certorder/internal/dcv"
	"github.com/certorder/certorder/internal/dcv/dcvtest"
	"github.com/certorder/certorder/internal/testenv"
	"github.com/certorder/certorder/internal/validation"
	"github.com/certorder/certorder/internal/web/webtest"
)

// caaIdentity is the issuer domain name the test servers answer to in CAA.
const caaIdentity = "certorder.test"

type dcvEnv struct {
	opts testenv.Options
	srv  *testenv.Server
	dns  *dcvtest.DNS
	web  *dcvtest.HTTP
	mail *dcvtest.SMTP
	csr  string
}

// startDCV starts a server outside the sandbox whose lookups go to
// loopback servers; mod may change the options first.
func startDCV(t *testing.T, mod func(*testenv.Options)) *dcvEnv {
	t.Helper()
	e := &dcvEnv{dns: dcvtest.StartDNS(t), web: dcvtest.StartHTTP(t), mail: dcvtest.StartSMTP(t)}
	opts := testenv.Options{
		DCV: dcv.Config{Resolver: e.dns.Addr(), Timeout: time.Second, HTTPPort: e.web.Port(), HTTPSPort: e.web.TLSPort(),
			AllowPrivate: true, CAAIdentities: []string{caaIdentity}},
		SMTPURL: e.mail.URL(), DCVPoll: 100 * time.Millisecond,
	}
	if mod != nil {
		mod(&opts)
	}
	e.opts = opts
	e.srv = testenv.Start(t, opts)
	e.csr = testenv.CSR(t, testenv.ECKey(t, elliptic.P256()), "ignored.example")
	return e
}

// order places a DV order that skips approval, so that it waits only for
// its validation.
func (e *dcvEnv) order(t *testing.T, product, method string, names []string, extra map[string]any) dvcsAnswer {
	t.Helper()
	cert := map[string]any{"common_name": names[0], "csr": e.csr}
	if len(names) > 1 {
		cert["dns_names"] = names[1:]
	}
	body := map[string]any{"certificate": cert, "order_validity": map[string]any{"years": 1}, "dcv_method": method, "skip_approval": true}
	for k, v := range extra {
		body[k] = v
	}
	return dvcsCreate(t, e.srv, product, body)
}

type checkDCVAnswer struct {
	OrderStatus        string `json:"order_status"`
	CertificateID      int64  `json:"certificate_id"`
	DCVStatus          string `json:"dcv_status"`
	DNSNameValidations []struct {
		DNSName string `json:"dns_name"`
		Status  string `json:"status"`
	} `json:"dns_name_validations"`
}

func (e *dcvEnv) checkDCV(t *testing.T, id int64) (int, http.Header, []byte) {
	t.Helper()
	return e.srv.Do("PUT", fmt.Sprintf("%s%d/check-dcv", orderPath, id), "")
}

// requireCheckRefused: check-dcv answers the error code and the order is
// still pending without a certificate.
func (e *dcvEnv) requireCheckRefused(t *testing.T, id int64, code, msgPart string) {
	t.Helper()
	status, hdr, body := e.checkDCV(t, id)
	requireErrors(t, status, hdr, body, http.StatusBadRequest, code)
	if msgPart != "" && !strings.Contains(string(body), msgPart) {
		t.Errorf("check-dcv error %s does not mention %q", clip(body), msgPart)
	}
	if o, _ := fam2GetOrder(t, e.srv, id); o.Status != "pending" {
		t.Fatalf("order %d is %s after a failed check, want pending", id, o.Status)
	}
}

// requireCheckIssues: check-dcv answers 200 with every name approved and
// the order issued, and the certificate names exactly names.
func (e *dcvEnv) requireCheckIssues(t *testing.T, id int64, names ...string) {
	t.Helper()
	status, hdr, body := e.checkDCV(t, id)
	if status != http.StatusOK {
		t.Fatalf("check-dcv: %d %s, want 200", status, clip(body))
	}
	requireJSON(t, hdr)
	var a checkDCVAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		t.Fatalf("decode check-dcv: %v", err)
	}
	if a.OrderStatus != "issued" || a.DCVStatus != "valid" || a.CertificateID == 0 || len(a.DNSNameValidations) != len(names) {
		t.Fatalf("check-dcv = %s, want issued, valid, a certificate and %d names", clip(body), len(names))
	}
	for _, n := range a.DNSNameValidations {
		if n.Status != "approved" {
			t.Errorf("name %s is %s, want approved", n.DNSName, n.Status)
		}
	}
	domRequireLeaf(t, fam2IssuedChain(t, e.srv, id), names...)
}

func TestDCVTokenMethods(t *testing.T) {
	t.Parallel()
	e := startDCV(t, nil)
	const file = "/.well-known/pki-validation/fileauth.txt"
	// Every case has its own base domain: a validation, once recorded, is
	// reused by later orders of the account.
	cases := []struct {
		name, method, missCode string
		names                  []string
		wrong, right           func(names []string, token string)
	}{
		{name: "TXT at the base domain", method: "dns-txt-token", missCode: "invalid_dns_txt",
			names: []string{"txt.dcv-txt.com", "www.txt.dcv-txt.com"},
			wrong: func(_ []string, _ string) { e.dns.SetTXT("dcv-txt.com", "not-the-random-value") },
			right: func(_ []string, token string) { e.dns.SetTXT("dcv-txt.com", "unrelated", token) }},
		{name: "TXT at _dnsauth", method: "dns-txt-token", missCode: "invalid_dns_txt",
			names: []string{"dcv-dnsauth.com"},
			wrong: func(_ []string, _ string) { e.dns.SetTXT("_dnsauth.dcv-dnsauth.com", "stale-value") },
			right: func(_ []string, token string) { e.dns.SetTXT("_dnsauth.dcv-dnsauth.com", token) }},
		{name: "CNAME _<random> to the target", method: "dns-cname-token", missCode: "invalid_dns_txt",
			names: []string{"www.dcv-cname.com"},
			wrong: func(_ []string, token string) { e.dns.SetCNAME("_"+token+".dcv-cname.com", "elsewhere.example") },
			right: func(_ []string, token string) { e.dns.SetCNAME("_"+token+".dcv-cname.com", dcv.DefaultCNAMETarget) }},
		{name: "CNAME _dnsauth to <random>.target", method: "dns-cname-token", missCode: "invalid_dns_txt",
			names: []string{"www.dcv-cname2.com"},
			wrong: func(_ []string, _ string) { e.dns.SetCNAME("_dnsauth.dcv-cname2.com", "other."+dcv.DefaultCNAMETarget) },
			right: func(_ []string, token string) {
				e.dns.SetCNAME("_dnsauth.dcv-cname2.com", token+"."+dcv.DefaultCNAMETarget)
			}},
		{name: "HTTP file on every name, one behind a redirect", method: "http-token", missCode: "file_random_value_not_found",
			names: []string{"dcv-http.com", "www.dcv-http.com"},
			wrong: func(names []string, token string) {
				for _, n := range names {
					e.dns.SetA(n, "127.0.0.1")
				}
				e.web.SetFile(names[0], file, token) // the second name lacks it
			},
			right: func(names []string, _ string) {
				e.web.Redirect(names[1], file, "http://"+names[0]+file, http.StatusMovedPermanently)
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := e.order(t, "ssl_dv_geotrust", tc.method, tc.names, nil)
			dvcsRequireRandomValue(t, o.DCVRandomValue)
			e.requireCheckRefused(t, o.ID, tc.missCode, "")
			tc.wrong(tc.names, o.DCVRandomValue)
			e.requireCheckRefused(t, o.ID, tc.missCode, "")
			tc.right(tc.names, o.DCVRandomValue)
			e.requireCheckIssues(t, o.ID, tc.names...)
		})
	}
}

func TestDCVWorkerIssuesWithoutACall(t *testing.T) {
	t.Parallel()
	e := startDCV(t, nil)
	o := e.order(t, "ssl_dv_geotrust", "dns-txt-token", []string{"worker-dcv.com", "www.worker-dcv.com"}, nil)
	// The worker looks (and finds nothing) on its own; under load its
	// first round can take a while, so wait for the lookup, not a time.
	for deadline := time.Now().Add(20 * time.Second); e.dns.Queries("worker-dcv.com", dns.TypeTXT) == 0; {
		if time.Now().After(deadline) {
			t.Fatalf("the worker never looked up the TXT record of worker-dcv.com")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if info, _ := fam2GetOrder(t, e.srv, o.ID); info.Status != "pending" {
		t.Fatalf("order is %s before its record exists, want pending", info.Status)
	}
	e.dns.SetTXT("worker-dcv.com", o.DCVRandomValue)
	fam2WaitStatus(t, e.srv, o.ID, "issued")
	domRequireLeaf(t, fam2IssuedChain(t, e.srv, o.ID), "worker-dcv.com", "www.worker-dcv.com")

	t.Run("validation is reused by the next order", func(t *testing.T) {
		e.dns.SetTXT("worker-dcv.com") // gone: reuse needs no record
		again := e.order(t, "ssl_dv_geotrust", "dns-txt-token", []string{"api.worker-dcv.com"}, nil)
		again.requireKeys(t, "id", "certificate_id", "certificate_chain", "dcv_random_value")
	})
}

// linkIn finds the approval link of a validation email.
func linkIn(t *testing.T, m dcvtest.Message) string {
	t.Helper()
	i := strings.Index(m.Body, "/dcv/email/")
	if i < 0 {
		t.Fatalf("no approval link in the message to %v: %q", m.To, m.Body)
	}
	start := strings.LastIndex(m.Body[:i], "http")
	end := i + strings.IndexAny(m.Body[i:], " \r\n")
	return m.Body[start:end]
}

func TestDCVEmail(t *testing.T) {
	t.Parallel()
	e := startDCV(t, nil)
	e.dns.SetTXT("_validation-contactemail.mail-dcv.com", "owner@contact.example", "not an address")
	o := e.order(t, "ssl_dv_geotrust", "email", []string{"mail-dcv.com", "www.mail-dcv.com"}, nil)
	if o.DCVRandomValue != "" {
		t.Errorf("email order has dcv_random_value %q", o.DCVRandomValue)
	}
	for _, local := range validation.ConstructedEmailLocals {
		m := e.mail.WaitFor(t, local+"@mail-dcv.com", 10*time.Second)
		if !strings.Contains(m.Subject, "mail-dcv.com") {
			t.Errorf("subject %q does not name the domain", m.Subject)
		}
	}
	contact := e.mail.WaitFor(t, "owner@contact.example", 10*time.Second)
	link := linkIn(t, contact)
	if !strings.HasPrefix(link, e.srv.URL+"/dcv/email/") {
		t.Fatalf("link %q does not point at the server %s", link, e.srv.URL)
	}

	status, hdr, body := e.checkDCV(t, o.ID)
	requireErrors(t, status, hdr, body, http.StatusBadRequest, "invalid_dcv_method")

	// Opening the link approves nothing: only the button (a POST) does.
	resp, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	page := readAll(t, resp)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "<form method=\"post\">") || !strings.Contains(page, "mail-dcv.com") {
		t.Fatalf("GET link: %d %q", resp.StatusCode, page)
	}
	if info, _ := fam2GetOrder(t, e.srv, o.ID); info.Status != "pending" {
		t.Fatalf("order is %s after the link was only opened, want pending", info.Status)
	}
	for _, h := range []string{"Content-Security-Policy", "X-Frame-Options", "Referrer-Policy"} {
		if resp.Header.Get(h) == "" {
			t.Errorf("link page without %s", h)
		}
	}
	// A post that did not come from the page approves nothing: without the
	// page's form token, with another browser's, or from another site.
	b := webtest.New(t)
	form := b.Get(link).Hidden()
	forged := []struct {
		name string
		do   func() webtest.Page
	}{
		{"no token, no cookie", func() webtest.Page { return webtest.New(t).Post(link, nil) }},
		{"the token without its cookie", func() webtest.Page { return webtest.New(t).Post(link, form) }},
		{"another site's form", func() webtest.Page { return b.PostFrom(link, "https://attacker.example", form) }},
	}
	for _, f := range forged {
		if p := f.do(); p.Status != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", f.name, p.Status)
		}
	}
	if info, _ := fam2GetOrder(t, e.srv, o.ID); info.Status != "pending" {
		t.Fatalf("order is %s after forged posts, want pending", info.Status)
	}
	post := func(link string) (int, string) {
		p := webtest.New(t).Submit(link, nil)
		return p.Status, p.Body
	}
	if code, page := post(link); code != http.StatusOK || !strings.Contains(page, "Approved") {
		t.Fatalf("POST link: %d %q", code, page)
	}
	fam2WaitStatus(t, e.srv, o.ID, "issued")
	domRequireLeaf(t, fam2IssuedChain(t, e.srv, o.ID), "mail-dcv.com", "www.mail-dcv.com")

	t.Run("links work once", func(t *testing.T) {
		other := linkIn(t, e.mail.WaitFor(t, "admin@mail-dcv.com", time.Second))
		for _, l := range []string{link, other, e.srv.URL + "/dcv/email/notasecret"} {
			if code, _ := post(l); code != http.StatusNotFound {
				t.Errorf("POST %s after approval: %d, want 404", l, code)
			}
		}
	})
	t.Run("resend and its refusals", func(t *testing.T) {
		clock := &testClock{t: time.Now().UTC()}
		e := startDCV(t, func(o *testenv.Options) { o.Now = clock.now })
		p := e.order(t, "ssl_dv_geotrust", "email", []string{"resend-dcv.com"}, nil)
		for _, local := range validation.ConstructedEmailLocals { // the first round is complete
			e.mail.WaitFor(t, local+"@resend-dcv.com", 10*time.Second)
		}
		before := len(e.mail.Messages())
		path := fmt.Sprintf("%s%d/resend-emails", orderPath, p.ID)
		one := `{"domain_approval_emails":[{"domain":"resend-dcv.com","email":"webmaster@resend-dcv.com"}]}`
		// Too soon after the first round: 429 with Retry-After, nothing sent.
		status, hdr, body := e.srv.Do("PUT", path, one)
		requireErrors(t, status, hdr, body, http.StatusTooManyRequests, "request_limit_exceeded")
		if hdr.Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
		clock.add(5*time.Minute + time.Second)
		status, _, body = e.srv.Do("PUT", path, one)
		if status != http.StatusNoContent {
			t.Fatalf("resend-emails: %d %s, want 204", status, clip(body))
		}
		e.mail.WaitFor(t, "webmaster@resend-dcv.com", 10*time.Second)
		time.Sleep(200 * time.Millisecond)
		if got := len(e.mail.Messages()); got != before+1 {
			t.Errorf("resend sent %d messages, want 1", got-before)
		}
		clock.add(5*time.Minute + time.Second)
		sendRefusals(t, e.srv, []callRefusal{
			{"address not allowed", "PUT", path, `{"domain_approval_emails":[{"domain":"resend-dcv.com","email":"someone@resend-dcv.com"}]}`, 400, []string{"invalid_value:domain_approval_emails"}},
			{"domain not on the order", "PUT", path, `{"domain_approval_emails":[{"domain":"other.com","email":"admin@other.com"}]}`, 400, []string{"invalid_value:domain_approval_emails"}},
			{"token method", "PUT", fmt.Sprintf("%s%d/resend-emails", orderPath, e.order(t, "ssl_dv_geotrust", "dns-txt-token", []string{"tok-dcv.com"}, nil).ID), "", 400, []string{"invalid_dcv_method"}},
		})
	})
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return string(b)
}

func TestDCVCAA(t *testing.T) {
	t.Parallel()
	e := startDCV(t, nil)
	type caa = dcvtest.CAA
	cases := []struct {
		name, product string
		names         []string
		records       map[string][]caa
		code          string // "" = issues
	}{
		{"no CAA anywhere", "ssl_dv_geotrust", []string{"caa-none.com"}, nil, ""},
		{"issue names us", "ssl_dv_geotrust", []string{"caa-us.com"},
			map[string][]caa{"caa-us.com": {{Tag: "issue", Value: caaIdentity}}}, ""},
		{"issue names another CA", "ssl_dv_geotrust", []string{"caa-other.com"},
			map[string][]caa{"caa-other.com": {{Tag: "issue", Value: "other-ca.example"}}}, "caa_check_failed|not_authorized"},
		{"parent's record governs the subdomain", "ssl_dv_geotrust", []string{"deep.sub.caa-parent.com"},
			map[string][]caa{"caa-parent.com": {{Tag: "issue", Value: ";"}}}, "caa_check_failed|not_authorized"},
		{"closer record wins over the parent", "ssl_dv_geotrust", []string{"sub.caa-closer.com"},
			map[string][]caa{"caa-closer.com": {{Tag: "issue", Value: ";"}}, "sub.caa-closer.com": {{Tag: "issue", Value: caaIdentity}}}, ""},
		{"issuewild refuses the wildcard", "wildcard_dv_geotrust", []string{"*.caa-wild.com"},
			map[string][]caa{"caa-wild.com": {{Tag: "issue", Value: caaIdentity}, {Tag: "issuewild", Value: "other-ca.example"}}}, "caa_check_failed|not_authorized"},
		{"unknown critical tag", "ssl_dv_geotrust", []string{"caa-critical.com"},
			map[string][]caa{"caa-critical.com": {{Tag: "issue", Value: caaIdentity}, {Flag: 128, Tag: "futuretag", Value: "x"}}}, "caa_check_failed|not_authorized"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for name, recs := range tc.records {
				e.dns.SetCAA(name, recs...)
			}
			o := e.order(t, tc.product, "dns-txt-token", tc.names, nil)
			base := strings.TrimPrefix(tc.names[0], "*.")
			if i := strings.LastIndex(base, ".caa-"); i >= 0 {
				base = base[i+1:]
			}
			e.dns.SetTXT(base, o.DCVRandomValue)
			if tc.code == "" {
				want := tc.names
				if tc.product == "wildcard_dv_geotrust" {
					want = append(want, base)
				}
				e.requireCheckIssues(t, o.ID, want...)
				return
			}
			e.requireCheckRefused(t, o.ID, tc.code, "CAA")
		})
	}
	t.Run("lookup failure refuses, and the order issues once the record allows it", func(t *testing.T) {
		o := e.order(t, "ssl_dv_geotrust", "dns-cname-token", []string{"caa-servfail.com"}, nil)
		e.dns.SetCNAME("_"+o.DCVRandomValue+".caa-servfail.com", dcv.DefaultCNAMETarget)
		e.dns.Fail("caa-servfail.com", dns.RcodeServerFailure) // the CAA lookup, not the CNAME
		e.requireCheckRefused(t, o.ID, "caa_not_found|lookup_failed", "could not be looked up")
		e.dns.Fail("caa-servfail.com", 0)
		e.dns.SetCAA("caa-servfail.com", caa{Tag: "issue", Value: "other-ca.example"})
		e.requireCheckRefused(t, o.ID, "caa_check_failed|not_authorized", "other-ca.example")
		e.dns.SetCAA("caa-servfail.com", caa{Tag: "issue", Value: strings.ToUpper(caaIdentity)})
		fam2WaitStatus(t, e.srv, o.ID, "issued") // the worker retries CAA on its own
	})
}

func TestDCVRandomValueLifecycle(t *testing.T) {
	t.Parallel()
	var offset atomic.Int64 // how far the server's clock runs ahead
	e := startDCV(t, func(o *testenv.Options) {
		o.Now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	})
	o := e.order(t, "ssl_dv_geotrust", "dns-txt-token", []string{"expiry-dcv.com"}, nil)
	path := fmt.Sprintf("%s%d/", orderPath, o.ID)

	offset.Store(int64(31 * 24 * time.Hour))
	e.dns.SetTXT("expiry-dcv.com", o.DCVRandomValue)
	e.requireCheckRefused(t, o.ID, "invalid_dns_txt", "expired")

	status, _, body := e.srv.Do("PUT", path+"dcv-random-value", "")
	var rv struct {
		DCVRandomValue string `json:"dcv_random_value"`
		ExpirationDate string `json:"expiration_date"`
	}
	if status != http.StatusOK || json.Unmarshal(body, &rv) != nil {
		t.Fatalf("dcv-random-value: %d %s", status, clip(body))
	}
	dvcsRequireRandomValue(t, rv.DCVRandomValue)
	if rv.DCVRandomValue == o.DCVRandomValue {
		t.Fatalf("dcv-random-value kept the expired value")
	}
	exp, err := time.Parse(time.RFC3339, rv.ExpirationDate)
	if want := time.Now().Add(time.Duration(offset.Load()) + 30*24*time.Hour); err != nil || exp.Sub(want).Abs() > time.Minute {
		t.Errorf("expiration_date %q, want about %s", rv.ExpirationDate, want.UTC().Format(time.RFC3339))
	}
	e.requireCheckRefused(t, o.ID, "invalid_dns_txt", "expiry-dcv.com") // the record holds the old value
	e.dns.SetTXT("expiry-dcv.com", rv.DCVRandomValue)
	offset.Store(0) // certificates valid from the real now verify against it
	e.requireCheckIssues(t, o.ID, "expiry-dcv.com")
}

func TestDCVMethodChange(t *testing.T) {
	t.Parallel()
	e := startDCV(t, nil)
	o := e.order(t, "ssl_dv_geotrust", "email", []string{"switch-dcv.com"}, nil)
	e.mail.WaitFor(t, "admin@switch-dcv.com", 10*time.Second)
	path := fmt.Sprintf("%s%d/", orderPath, o.ID)

	status, _, body := e.srv.Do("PUT", path+"dcv-method", `{"dcv_method":"dns-txt-token"}`)
	var rv struct {
		DCVRandomValue string `json:"dcv_random_value"`
	}
	if status != http.StatusOK || json.Unmarshal(body, &rv) != nil {
		t.Fatalf("dcv-method to dns-txt-token: %d %s, want 200 with the random value", status, clip(body))
	}
	dvcsRequireRandomValue(t, rv.DCVRandomValue)
	wild := e.order(t, "wildcard_dv_geotrust", "dns-txt-token", []string{"*.switch-wild.com"}, nil)
	sendRefusals(t, e.srv, []callRefusal{
		{"unknown method", "PUT", path + "dcv-method", `{"dcv_method":"carrier-pigeon"}`, 400, []string{"invalid_value:dcv_method"}},
		{"no method", "PUT", path + "dcv-method", `{}`, 400, []string{"missing_field:dcv_method"}},
		{"http-token for a wildcard", "PUT", fmt.Sprintf("%s%d/dcv-method", orderPath, wild.ID), `{"dcv_method":"http-token"}`, 400, []string{"invalid_value:dcv_method"}},
		{"unknown order", "PUT", orderPath + "999999/dcv-method", `{"dcv_method":"email"}`, 404, []string{"not_found|order"}},
	})
	e.dns.SetTXT("switch-dcv.com", rv.DCVRandomValue)
	e.requireCheckIssues(t, o.ID, "switch-dcv.com")
	sendRefusals(t, e.srv, []callRefusal{
		{"issued order", "PUT", path + "dcv-method", `{"dcv_method":"email"}`, 400, []string{"invalid_order_status"}},
		{"issued order's random value", "PUT", path + "dcv-random-value", "", 400, []string{"invalid_order_status"}},
	})

	t.Run("back to email answers 204 and mails again", func(t *testing.T) {
		p := e.order(t, "ssl_dv_geotrust", "dns-txt-token", []string{"back-dcv.com"}, nil)
		status, _, body := e.srv.Do("PUT", fmt.Sprintf("%s%d/dcv-method", orderPath, p.ID), `{"dcv_method":"email"}`)
		if status != http.StatusNoContent || len(body) != 0 {
			t.Fatalf("dcv-method to email: %d %q, want 204 empty", status, body)
		}
		e.mail.WaitFor(t, "postmaster@back-dcv.com", 10*time.Second)
	})
}

func TestDCVScopeAndPrivateAddresses(t *testing.T) {
	t.Parallel()
	e := startDCV(t, nil)
	t.Run("fqdn scope wants the record at the name", func(t *testing.T) {
		o := e.order(t, "ssl_dv_geotrust", "dns-txt-token", []string{"shop.scope-dcv.com"}, map[string]any{"certificate_dcv_scope": "fqdn"})
		e.dns.SetTXT("scope-dcv.com", o.DCVRandomValue)
		e.requireCheckRefused(t, o.ID, "invalid_dns_txt", "shop.scope-dcv.com")
		e.dns.SetTXT("shop.scope-dcv.com", o.DCVRandomValue)
		e.requireCheckIssues(t, o.ID, "shop.scope-dcv.com")
		// Only the FQDN was proven: a sibling is not covered.
		sib := e.order(t, "ssl_dv_geotrust", "dns-txt-token", []string{"blog.scope-dcv.com"}, map[string]any{"certificate_dcv_scope": "fqdn"})
		e.requireCheckRefused(t, sib.ID, "invalid_dns_txt", "blog.scope-dcv.com")
	})
	t.Run("http-token refuses private addresses unless allowed", func(t *testing.T) {
		strict := startDCV(t, func(o *testenv.Options) { o.DCV.AllowPrivate = false })
		o := strict.order(t, "ssl_dv_geotrust", "http-token", []string{"private-dcv.com"}, nil)
		strict.dns.SetA("private-dcv.com", "127.0.0.1")
		strict.web.SetFile("private-dcv.com", "/.well-known/pki-validation/fileauth.txt", o.DCVRandomValue)
		strict.requireCheckRefused(t, o.ID, "file_random_value_not_found", "public")
		if n := strict.web.Hits("private-dcv.com", "/.well-known/pki-validation/fileauth.txt"); n != 0 {
			t.Errorf("the file was fetched %d times from a loopback address", n)
		}
	})
}

func TestDCVSandboxRules(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true,
		SandboxRules: []validation.SandboxRule{{Match: "slow.example.net", Outcome: validation.SandboxPending}}})
	e := &dcvEnv{srv: srv, csr: testenv.CSR(t, testenv.ECKey(t, elliptic.P256()), "ignored.example")}

	passes := e.order(t, "ssl_dv_geotrust", "dns-txt-token", []string{"sandbox-pass.com"}, nil)
	passes.requireKeys(t, "id", "certificate_id", "certificate_chain", "dcv_random_value")

	fails := e.order(t, "ssl_dv_geotrust", "dns-txt-token", []string{"www.dcv-fail.example.com"}, nil)
	e.requireCheckRefused(t, fails.ID, "invalid_dns_txt", "sandbox rule")

	for _, name := range []string{"api.dcv-pending.example.com", "www.slow.example.net"} {
		p := e.order(t, "ssl_dv_geotrust", "http-token", []string{name}, nil)
		status, _, body := e.checkDCV(t, p.ID)
		var a checkDCVAnswer
		if status != http.StatusOK || json.Unmarshal(body, &a) != nil || a.OrderStatus != "pending" || a.DCVStatus != "pending" ||
			len(a.DNSNameValidations) != 1 || a.DNSNameValidations[0].Status != "pending" {
			t.Errorf("check-dcv of %s: %d %s, want 200 with the name pending", name, status, clip(body))
		}
		status, _, body = srv.Do("GET", fmt.Sprintf("%s%d/validation", orderPath, p.ID), "")
		var v struct {
			DNS []struct {
				NameScope string `json:"name_scope"`
				Status    string `json:"status"`
			} `json:"dns_name_validations"`
		}
		if status != http.StatusOK || json.Unmarshal(body, &v) != nil || len(v.DNS) != 1 || v.DNS[0].Status != "pending" || v.DNS[0].NameScope != name {
			t.Errorf("validation of %s: %d %s, want the exact name pending", name, status, clip(body))
		}
	}

	b := counts(t, srv)
	status, hdr, body := dvcsPost(t, srv, "ssl_dv_geotrust", map[string]any{
		"certificate":    map[string]any{"common_name": "www.caa-fail.example.com", "csr": e.csr},
		"order_validity": map[string]any{"years": 1}, "dcv_method": "dns-txt-token", "skip_approval": true})
	requireErrors(t, status, hdr, body, http.StatusBadRequest, "caa_check_failed|not_authorized")
	requireTally(t, srv, b, tally{})
}

func TestDomainTokenValidation(t *testing.T) {
	t.Parallel()
	e := startDCV(t, nil)
	org := orgCreate(t, e.srv, orgBody("Token Domains Ltd", nil))
	sub := domAdd(t, e.srv, domBody("token-domain.com", org, "dns-txt-token", "ov"))
	path := fmt.Sprintf("%s/%d/dcv/validate-token", domainPath, sub.ID)
	status, hdr, body := e.srv.Do("PUT", path, "")
	requireErrors(t, status, hdr, body, http.StatusBadRequest, "invalid_dns_txt")
	e.dns.SetTXT("token-domain.com", sub.DCVToken.Token)
	status, _, body = e.srv.Do("PUT", path, "")
	if status != http.StatusOK || !strings.Contains(string(body), `"status":"active"`) {
		t.Fatalf("validate-token with the record: %d %s, want 200 active", status, clip(body))
	}
	if d := domGet(t, e.srv, sub.ID); d.IsPendingValidation || len(d.Validations) != 1 || d.Validations[0].DCVStatus != "complete" {
		t.Errorf("domain after validate-token = %+v, want complete", d)
	}

	t.Run("the worker validates a submitted domain by itself", func(t *testing.T) {
		d := domAdd(t, e.srv, domBody("quiet-domain.com", org, "dns-cname-token", "ov"))
		e.dns.SetCNAME("_"+d.DCVToken.Token+".quiet-domain.com", dcv.DefaultCNAMETarget)
		deadline := time.Now().Add(10 * time.Second)
		for !(domGet(t, e.srv, d.ID).Validations[0].DCVStatus == "complete") {
			if time.Now().After(deadline) {
				t.Fatalf("domain %d never validated by the worker", d.ID)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
	t.Run("email submission mails its email_array", func(t *testing.T) {
		// Beside the constructed addresses only a contact the domain
		// publishes in DNS may be named.
		e.dns.SetTXT("_validation-contactemail.mailed-domain.com", "owner@mailed-domain.com")
		b := domBody("mailed-domain.com", org, "email", "ov")
		b["email_array"] = []any{"owner@mailed-domain.com"}
		d := domAdd(t, e.srv, b)
		link := linkIn(t, e.mail.WaitFor(t, "owner@mailed-domain.com", 10*time.Second))
		if p := webtest.New(t).Submit(link, nil); p.Status != http.StatusOK {
			t.Fatalf("approve: %d %s", p.Status, p.Body)
		}
		if got := domGet(t, e.srv, d.ID); got.Validations[0].DCVStatus != "complete" {
			t.Errorf("domain after the click = %+v, want complete", got)
		}
	})
}

// Two servers on one store act as one CA: orders placed on either are
// validated by whichever worker claims them, and each issues exactly once.
func TestDCVTwoServersOneStore(t *testing.T) {
	t.Parallel()
	e := startDCV(t, nil)
	opts := e.opts
	opts.DataDir = e.srv.DataDir
	second := testenv.Start(t, opts)
	var ids []int64
	first := ""
	for i := range 8 {
		srv := e.srv
		if i%2 == 1 {
			srv = second
		}
		o := (&dcvEnv{srv: srv, csr: e.csr}).order(t, "ssl_dv_geotrust", "dns-cname-token",
			[]string{fmt.Sprintf("host%d.shared-store.com", i)}, nil)
		ids = append(ids, o.ID)
		if first == "" {
			first = o.DCVRandomValue
		}
	}
	// One record proves the base domain for every order at once: both
	// workers find all eight ready together.
	e.dns.SetCNAME("_"+first+".shared-store.com", dcv.DefaultCNAMETarget)
	for _, id := range ids {
		fam2WaitStatus(t, e.srv, id, "issued")
	}
	requireIssuedOnce(t, e.srv, ids)
}

// requireIssuedOnce: the audit log shows each order issued exactly once,
// at creation or later.
func requireIssuedOnce(t *testing.T, srv *testenv.Server, ids []int64) {
	t.Helper()
	ctx := context.Background()
	acct, err := srv.App.Store.FirstAccount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	events, err := srv.App.Store.AuditEvents(ctx, acct.ID, 100000)
	if err != nil {
		t.Fatal(err)
	}
	issued := map[string]int{}
	for _, ev := range events {
		if ev.Action == "certificate.issued" || ev.Action == "order.created" && strings.Contains(ev.Detail, "serial_number") {
			issued[ev.Object]++
		}
	}
	for _, id := range ids {
		if n := issued[fmt.Sprintf("order:%d", id)]; n != 1 {
			t.Errorf("order %d was issued %d times, want once", id, n)
		}
	}
}

// DNSSEC (ballot SC-085): with the loopback zones signed and validation on
// from their root, a TXT record whose signature is broken or expired proves
// nothing (the order stays pending and check-dcv says why), a forged denial
// hiding a CAA record refuses issuance as a failed lookup, and the order
// issues once the answers verify. A zone the signed root delegates without
// DS is unsigned and validates as before.
func TestDCVDNSSEC(t *testing.T) {
	t.Parallel()
	var d *dcvtest.DNS
	e := startDCV(t, func(o *testenv.Options) {
		d = dcvtest.StartDNS(t)
		o.DCV.Resolver = d.Addr()
		o.DCV.DNSSEC = dcv.DNSSECValidate
		o.DCV.TrustAnchors = []dns.RR{d.SignZone(".").DS()}
	})
	e.dns = d
	d.SignZone("dnssec-dcv.com")
	const txtAt = "_dnsauth.dnssec-dcv.com"

	o := e.order(t, "ssl_dv_geotrust", "dns-txt-token", []string{"dnssec-dcv.com"}, nil)
	d.SetTXT(txtAt, o.DCVRandomValue)
	for _, b := range []dcvtest.Breakage{dcvtest.BadSignature, dcvtest.ExpiredSignature, dcvtest.NoSignature} {
		d.BreakDNSSEC(txtAt, dns.TypeTXT, b)
		e.requireCheckRefused(t, o.ID, "invalid_dns_txt", "DNSSEC validation")
	}
	// The CAA record is hidden first, so that the worker never sees a moment
	// with the TXT record valid and no CAA record to hide.
	d.SetCAA("dnssec-dcv.com", dcvtest.CAA{Tag: "issue", Value: "other-ca.example"})
	d.BreakDNSSEC("dnssec-dcv.com", dns.TypeCAA, dcvtest.ForgedDenial)
	d.BreakDNSSEC(txtAt, dns.TypeTXT, 0)
	e.requireCheckRefused(t, o.ID, "caa_not_found|lookup_failed", "DNSSEC validation")
	d.SetCAA("dnssec-dcv.com", dcvtest.CAA{Tag: "issue", Value: caaIdentity})
	d.BreakDNSSEC("dnssec-dcv.com", dns.TypeCAA, 0)
	fam2WaitStatus(t, e.srv, o.ID, "issued") // the worker looks again on its own

	d.Delegate("plain-dcv.com")
	p := e.order(t, "ssl_dv_geotrust", "dns-txt-token", []string{"plain-dcv.com"}, nil)
	d.SetTXT("plain-dcv.com", p.DCVRandomValue)
	e.requireCheckIssues(t, p.ID, "plain-dcv.com")
}
