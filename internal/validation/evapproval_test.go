package validation_test

import (
	"strings"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/catalog"
	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/mail"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/validation"
)

func TestEVApprovalType(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ product, want string }{
		{"ssl_ev_securesite", "ev"},
		{"ssl_ev_securesite_flex", "ev"},
		{"ssl_ev_basic", "ev"},
		{"code_signing_ev", "ev_cs"},
		{"code_signing", ""},
		{"ssl_securesite", ""},
		{"ssl_dv_geotrust", ""},
		{"client_premium", ""},
	} {
		p, ok := catalog.Lookup(tc.product)
		if !ok {
			t.Fatalf("no product %s", tc.product)
		}
		if got := validation.EVApprovalType(p); got != tc.want {
			t.Errorf("EVApprovalType(%s) = %q, want %q", tc.product, got, tc.want)
		}
	}
}

// TestEVApproved: outside the sandbox only a recorded approval counts; in
// the sandbox approval is immediate unless an ev-pending rule matches a
// name (or, for code signing, a word of the organization's name).
func TestEVApproved(t *testing.T) {
	t.Parallel()
	ev, _ := catalog.Lookup("ssl_ev_securesite")
	evcs, _ := catalog.Lookup("code_signing_ev")
	ov, _ := catalog.Lookup("ssl_securesite")
	now := time.Now()
	approved := store.OrderExtra{EVApprovedBy: "vera@example.com", EVApprovedAt: &now}
	rule := []validation.SandboxRule{{Match: "hold.example", Outcome: validation.SandboxEVPending}}
	for _, tc := range []struct {
		name    string
		sandbox bool
		rules   []validation.SandboxRule
		product catalog.Product
		order   store.Order
		want    bool
	}{
		{"OV needs none", false, nil, ov, store.Order{DNSNames: []string{"example.com"}}, true},
		{"EV waits", false, nil, ev, store.Order{DNSNames: []string{"example.com"}}, false},
		{"EV approved", false, nil, ev, store.Order{DNSNames: []string{"example.com"}, Extra: approved}, true},
		{"EV CS waits", false, nil, evcs, store.Order{CommonName: "Acme Inc."}, false},
		{"sandbox EV at once", true, nil, ev, store.Order{DNSNames: []string{"example.com"}}, true},
		{"sandbox default rule", true, nil, ev, store.Order{DNSNames: []string{"www.ev-pending.example.com"}}, false},
		{"sandbox configured rule", true, rule, ev, store.Order{DNSNames: []string{"a.hold.example"}}, false},
		{"sandbox rule on another name", true, rule, ev, store.Order{DNSNames: []string{"holdings.example"}}, true},
		{"sandbox code signing by org name", true, nil, evcs, store.Order{CommonName: "Acme ev-pending Inc."}, false},
		{"sandbox code signing, no word matches", true, nil, evcs, store.Order{CommonName: "Acme ev-pendingly Inc."}, true},
		{"sandbox rule, approved anyway", true, nil, ev, store.Order{DNSNames: []string{"ev-pending.example"}, Extra: approved}, true},
	} {
		s := &validation.Service{Sandbox: tc.sandbox, SandboxRules: tc.rules}
		if got := s.EVApproved(tc.product, &tc.order); got != tc.want {
			t.Errorf("%s: EVApproved = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestEVApprovers: an order's ev_approver contacts must be verified
// contacts of its organization for the product's type, by user id or
// address; anything else is invalid_value:organization.
func TestEVApprovers(t *testing.T) {
	t.Parallel()
	now := time.Now()
	org := &store.Organization{ID: 7, Name: "Acme", Validations: []store.OrgValidation{
		{Type: "ev", Status: "active", ValidatedUntil: now.Add(time.Hour), VerifiedContacts: []store.Contact{
			{UserID: 3, Email: "Vera@Acme.example"}, {Email: "eve@acme.example"}, {Email: "bad\u00e9@acme.example"}}},
		{Type: "cs", Status: "active", ValidatedUntil: now.Add(time.Hour), VerifiedContacts: []store.Contact{{Email: "cs@acme.example"}}},
	}}
	s := &validation.Service{Now: func() time.Time { return now }}
	for _, tc := range []struct {
		name string
		org  *store.Organization
		typ  string
		refs []validation.ApproverRef
		want []string
		bad  string // a part of the refusal, "" when accepted
	}{
		{"none named", org, "ev", nil, nil, ""},
		{"by user id and address, once each", org, "ev",
			[]validation.ApproverRef{{UserID: 3}, {Email: " EVE@acme.example "}, {Email: "vera@acme.example"}},
			[]string{"vera@acme.example", "eve@acme.example"}, ""},
		{"an address that is no contact", org, "ev", []validation.ApproverRef{{Email: "mallory@evil.example"}}, nil, "not a verified contact of organization 7"},
		{"a user that is no contact", org, "ev", []validation.ApproverRef{{UserID: 4}}, nil, "user 4"},
		{"a contact of another type", org, "ev", []validation.ApproverRef{{Email: "cs@acme.example"}}, nil, "not a verified contact"},
		{"an address links cannot go to", org, "ev", []validation.ApproverRef{{Email: "bad\u00e9@acme.example"}}, nil, "cannot be sent to"},
		{"a new organization has none", &store.Organization{}, "ev", []validation.ApproverRef{{Email: "vera@acme.example"}}, nil, "created with the order"},
	} {
		got, err := s.EVApprovers(tc.org, tc.typ, tc.refs)
		switch {
		case tc.bad == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.bad != "":
			e := errs.As(err)
			if err == nil || e.Kind != errs.Invalid || e.Details[0].Code != "invalid_value:organization" || !strings.Contains(e.Details[0].Message, tc.bad) {
				t.Errorf("%s: error %v, want invalid_value:organization mentioning %q", tc.name, err, tc.bad)
			}
		case strings.Join(got, ",") != strings.Join(tc.want, ","):
			t.Errorf("%s: approvers %q, want %q", tc.name, got, tc.want)
		}
	}
	sandbox := &validation.Service{Sandbox: true}
	if got, err := sandbox.EVApprovers(org, "ev", []validation.ApproverRef{{Email: "mallory@evil.example"}}); err != nil || got != nil {
		t.Errorf("sandbox: %q, %v; want nothing recorded and no error (it mails nothing)", got, err)
	}
}

// TestEVApprovalMailLocales renders the approval email in every locale it
// has, with a value that must be escaped in HTML.
func TestEVApprovalMailLocales(t *testing.T) {
	t.Parallel()
	want := []string{"de", "en", "es", "fr", "ja", "zh_CN"}
	for _, l := range want {
		d := validation.EVApprovalMail{OrderID: 42, ProductName: "Secure Site EV SSL", Organization: "Acme <b>&</b> Sons",
			CommonName: "example.com", DNSNames: []string{"example.com", "www.example.com"}, RequestedBy: "Ada Lovelace <ada@example.com>",
			Approver: "vera@example.com", Link: "https://ca.example/order-approval/abc?x=1&y=2", ExpiresOn: "Mon, 01 Feb 2027 00:00:00 UTC"}
		m, err := mail.Render(validation.MailKindEVApproval, l, d)
		if err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		if !strings.Contains(m.Subject, "42") || !strings.Contains(m.Subject, "Acme") {
			t.Errorf("%s: subject %q names neither the order nor the organization", l, m.Subject)
		}
		for _, part := range []string{d.Link, "www.example.com", d.ExpiresOn, "ada@example.com"} {
			if !strings.Contains(m.Body, part) {
				t.Errorf("%s: text body lacks %q", l, part)
			}
		}
		if m.HTML == "" || strings.Contains(m.HTML, "<b>&</b>") || !strings.Contains(m.HTML, "Acme &lt;b&gt;&amp;&lt;/b&gt; Sons") ||
			!strings.Contains(m.HTML, `href="https://ca.example/order-approval/abc?x=1&amp;y=2"`) {
			t.Errorf("%s: HTML body not escaped as expected: %s", l, m.HTML)
		}
	}
	got := mail.Locales(validation.MailKindEVApproval)
	for _, l := range want {
		found := false
		for _, g := range got {
			found = found || g == l
		}
		if !found {
			t.Errorf("no %s template of %s (have %v)", l, validation.MailKindEVApproval, got)
		}
	}
}
