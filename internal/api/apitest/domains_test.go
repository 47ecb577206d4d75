package apitest

// Black-box tests of domains (spec §6.9–6.14), of the administrator's
// validation grants, and of orders issuing once their organization and
// domains are validated. Helper names start with dom.

import (
	"context"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/certorder/certorder/client"
	"github.com/certorder/certorder/internal/policy"
	"github.com/certorder/certorder/internal/testenv"
)

const domainPath = "/services/v2/domain"

// domInfo is the part of GET /domain/{id} the tests read.
type domInfo struct {
	ID                    int64             `json:"id"`
	Name                  string            `json:"name"`
	IsActive              bool              `json:"is_active"`
	Status                string            `json:"status"`
	IsPendingValidation   bool              `json:"is_pending_validation"`
	DCVMethod             string            `json:"dcv_method"`
	DCVApprovalDatetime   string            `json:"dcv_approval_datetime"`
	DCVExpirationDatetime string            `json:"dcv_expiration_datetime"`
	DCVExpiration         map[string]string `json:"dcv_expiration"`
	Organization          *struct {
		ID       int64  `json:"id"`
		Name     string `json:"name"`
		IsActive string `json:"is_active"`
	} `json:"organization"`
	Validations []struct {
		Type           string `json:"type"`
		Name           string `json:"name"`
		Status         string `json:"status"`
		DCVStatus      string `json:"dcv_status"`
		ValidatedUntil string `json:"validated_until"`
	} `json:"validations"`
	DCVToken *domToken `json:"dcv_token"`
}

type domToken struct {
	Token             string `json:"token"`
	Status            string `json:"status"`
	ExpirationDate    string `json:"expiration_date"`
	VerificationValue string `json:"verification_value"`
	HTTPTokenURL      string `json:"http_token_url"`
}

// domSubmission is the 201 of POST /domain and POST /domain/{id}/validation.
type domSubmission struct {
	ID               int64 `json:"id"`
	ValidationEmails *struct {
		NameScope   string   `json:"name_scope"`
		BaseEmails  []string `json:"base_emails"`
		WhoisEmails []string `json:"whois_emails"`
		EmailArray  []string `json:"email_array"`
	} `json:"validation_emails"`
	DCVToken *domToken `json:"dcv_token"`
	keys     []string
}

func domDecode(t *testing.T, status, want int, hdr http.Header, body []byte, v any) []string {
	t.Helper()
	if status != want {
		t.Fatalf("status = %d, want %d; body: %s", status, want, clip(body))
	}
	requireJSON(t, hdr)
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("decode: %v: %s", err, clip(body))
	}
	return fam2Keys(t, body)
}

// domAdd posts a domain and requires 201.
func domAdd(t *testing.T, srv *testenv.Server, body map[string]any) domSubmission {
	t.Helper()
	status, hdr, b := srv.Do("POST", domainPath, mustJSON(t, body))
	var s domSubmission
	s.keys = domDecode(t, status, http.StatusCreated, hdr, b, &s)
	if s.ID <= 0 {
		t.Fatalf("POST /domain without an id: %s", clip(b))
	}
	return s
}

func domGet(t *testing.T, srv *testenv.Server, id int64) domInfo {
	t.Helper()
	status, hdr, b := srv.Do("GET", fmt.Sprintf("%s/%d", domainPath, id), "")
	var d domInfo
	domDecode(t, status, http.StatusOK, hdr, b, &d)
	return d
}

func domRaw(t *testing.T, srv *testenv.Server, id int64) string {
	t.Helper()
	status, _, b := srv.Do("GET", fmt.Sprintf("%s/%d", domainPath, id), "")
	if status != http.StatusOK {
		t.Fatalf("GET domain %d: %d %s", id, status, clip(b))
	}
	return string(b)
}

func domBody(name string, orgID int64, method string, types ...string) map[string]any {
	vals := []any{}
	for _, typ := range types {
		vals = append(vals, map[string]any{"type": typ})
	}
	m := map[string]any{"name": name, "organization": map[string]any{"id": orgID}, "validations": vals}
	if method != "" {
		m["dcv_method"] = method
	}
	return m
}

// domTotal is page.total of GET /domain.
func domTotal(t *testing.T, srv *testenv.Server) int {
	t.Helper()
	status, hdr, b := srv.Do("GET", domainPath+"?limit=1", "")
	var v struct {
		Page struct {
			Total int `json:"total"`
		} `json:"page"`
	}
	domDecode(t, status, http.StatusOK, hdr, b, &v)
	return v.Page.Total
}

func domNoContent(t *testing.T, srv *testenv.Server, method, path, body string) {
	t.Helper()
	status, _, b := srv.Do(method, path, body)
	if status != http.StatusNoContent || len(b) != 0 {
		t.Fatalf("%s %s: %d %s, want 204 with no body", method, path, status, clip(b))
	}
}

func domParseStamp(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("time %q: %v", s, err)
	}
	return v
}

// domOrder places an ssl_securesite order for names with organization
// orgID; skip asks to skip approval.
func domOrder(t *testing.T, srv *testenv.Server, csr string, orgID int64, skip bool, cn string, sans ...string) created {
	t.Helper()
	m := baseBody(csr)
	product := "ssl_securesite"
	if len(sans) > 0 {
		product = "ssl_securesite_multi_domain"
		certOf(m)["dns_names"] = sans
	}
	certOf(m)["common_name"] = cn
	m["organization"] = map[string]any{"id": orgID}
	if skip {
		m["skip_approval"] = true
	}
	return createOK(t, srv, product, mustJSON(t, m))
}

// domRequireLeaf checks the issued leaf names exactly names.
func domRequireLeaf(t *testing.T, chain []*x509.Certificate, names ...string) {
	t.Helper()
	if err := fam2Verify(chain, x509.ExtKeyUsageServerAuth); err != nil {
		t.Fatalf("verify chain: %v", err)
	}
	if !sortedEqual(chain[0].DNSNames, names) {
		t.Errorf("leaf SANs = %q, want %q", chain[0].DNSNames, names)
	}
}

// domRequireOrderValidation checks GET /order/certificate/{id}/validation
// of an order of waiting-widgets.com names (spec §2.6).
func domRequireOrderValidation(t *testing.T, srv *testenv.Server, orderID int64, orgStatus, dnsStatus string, domainID int64, method string) {
	t.Helper()
	status, hdr, b := srv.Do("GET", fmt.Sprintf("%s%d/validation", orderPath, orderID), "")
	var v struct {
		OrderID        string `json:"order_id"`
		OrderStatus    string `json:"order_status"`
		OrderNameScope string `json:"order_name_scope"`
		OrderDCVMethod string `json:"order_dcv_method"`
		OrganizationID int64  `json:"organization_id"`
		OrgValidations []struct {
			Type   string `json:"type"`
			Status string `json:"status"`
		} `json:"organization_validations"`
		DNS []struct {
			DomainID  int64    `json:"domain_id"`
			NameScope string   `json:"name_scope"`
			Status    string   `json:"status"`
			Method    string   `json:"method"`
			DNSNames  []string `json:"dns_names"`
		} `json:"dns_name_validations"`
	}
	domDecode(t, status, http.StatusOK, hdr, b, &v)
	if v.OrderID != itoa(orderID) || v.OrderNameScope != "base_domain" || v.OrganizationID == 0 ||
		len(v.OrgValidations) != 1 || v.OrgValidations[0].Type != "ov" || v.OrgValidations[0].Status != orgStatus ||
		len(v.DNS) != 1 || v.DNS[0].DomainID != domainID || v.DNS[0].NameScope != "waiting-widgets.com" ||
		v.DNS[0].Status != dnsStatus || v.DNS[0].Method != method || len(v.DNS[0].DNSNames) != 3 {
		t.Errorf("order validation = %s; want ov %s, one name scope %s by %s", clip(b), orgStatus, dnsStatus, method)
	}
}

// TestDomainValidationIssuesWaitingOrders: without the sandbox an order
// waits until an administrator grants the organization's OV and the
// domain's DCV; it then issues, and a later order for a name under the
// validated domain issues at once, without a new DCV.
func TestDomainValidationIssuesWaitingOrders(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: false})
	csr := testenv.CSR(t, testenv.ECKey(t, elliptic.P256()), "ignored.example.org")

	org := orgCreate(t, srv, orgBody("Waiting Widgets Ltd", map[string]any{"validations": []any{map[string]any{"type": "ov"}}}))
	if v := orgValidation(t, srv, org, "ov"); v == nil || v.Status != "pending" || v.ValidatedUntil != "" {
		t.Fatalf("submitted ov = %+v, want pending without validated_until", v)
	}
	sub := domAdd(t, srv, domBody("waiting-widgets.com", org, "dns-txt-token", "ov"))
	if sub.DCVToken == nil || sub.ValidationEmails != nil {
		t.Fatalf("dns-txt-token submission: %+v, want dcv_token only", sub)
	}
	dvcsRequireRandomValue(t, sub.DCVToken.Token)
	if sub.DCVToken.Status != "pending" || domParseStamp(t, sub.DCVToken.ExpirationDate).Sub(time.Now()) < 29*24*time.Hour {
		t.Errorf("dcv_token = %+v, want pending and valid 30 days", sub.DCVToken)
	}

	first := domOrder(t, srv, csr, org, true, "waiting-widgets.com", "waiting-widgets.com", "www.waiting-widgets.com", "shop.waiting-widgets.com")
	first.requireKeys(t, "id", "certificate_id")
	other := domOrder(t, srv, csr, org, true, "unvalidated.org")
	withApproval := domOrder(t, srv, csr, org, false, "api.waiting-widgets.com")
	withApproval.requirePending(t)

	fam2WaitStatus(t, srv, first.ID, "pending")
	domRequireOrderValidation(t, srv, first.ID, "pending", "pending", sub.ID, "dns-txt-token")
	domNoContent(t, srv, "PUT", fmt.Sprintf("/services/v2/organization/%d/validation/ov", org), "")
	if o, _ := fam2GetOrder(t, srv, first.ID); o.Status != "pending" {
		t.Fatalf("order is %s with the organization validated but not the domain; want pending", o.Status)
	}
	if v := orgValidation(t, srv, org, "ov"); v == nil || v.Status != "active" || v.ValidatedUntil == "" {
		t.Fatalf("granted ov = %+v, want active with validated_until", v)
	}

	granted := time.Now()
	domNoContent(t, srv, "PUT", fmt.Sprintf("%s/%d/dcv/approve", domainPath, sub.ID), "")
	fam2WaitStatus(t, srv, first.ID, "issued")
	domRequireOrderValidation(t, srv, first.ID, "active", "approved", sub.ID, "dns-txt-token")
	chain := fam2IssuedChain(t, srv, first.ID)
	domRequireLeaf(t, chain, "waiting-widgets.com", "www.waiting-widgets.com", "shop.waiting-widgets.com")
	if o, _ := fam2GetOrder(t, srv, other.ID); o.Status != "pending" {
		t.Errorf("order for an unvalidated domain is %s, want pending", o.Status)
	}

	d := domGet(t, srv, sub.ID)
	if d.Status != "active" || d.IsPendingValidation || len(d.Validations) != 1 || d.Validations[0].Status != "active" ||
		d.Validations[0].DCVStatus != "complete" || d.DCVToken == nil || d.DCVToken.Status != "active" {
		t.Errorf("validated domain = %+v", d)
	}
	reuse := domParseStamp(t, d.DCVExpirationDatetime).Sub(domParseStamp(t, d.DCVApprovalDatetime))
	if want := policy.DCVReuse(granted); reuse != want.Truncate(time.Second) && reuse != want {
		t.Errorf("DCV reusable for %v, want %v (policy.DCVReuse)", reuse, want)
	}
	if d.DCVExpiration["ov"] != d.DCVExpirationDatetime {
		t.Errorf("dcv_expiration = %v, want ov at %s", d.DCVExpiration, d.DCVExpirationDatetime)
	}

	t.Run("second order for the validated domain issues at once", func(t *testing.T) {
		b := counts(t, srv)
		again := domOrder(t, srv, csr, org, true, "mail.waiting-widgets.com")
		again.requireKeys(t, "id", "certificate_id", "certificate_chain")
		domRequireLeaf(t, again.requireChain(t, "mail.waiting-widgets.com"), "mail.waiting-widgets.com")
		requireTally(t, srv, b, tally{orders: 1})
	})
	t.Run("approving a request issues at once", func(t *testing.T) {
		fam2PutRequest(t, srv, withApproval.Requests[0].ID, "approved")
		fam2WaitStatus(t, srv, withApproval.ID, "issued")
		domRequireLeaf(t, fam2IssuedChain(t, srv, withApproval.ID), "api.waiting-widgets.com")
	})
	t.Run("an organization without its validation waits", func(t *testing.T) {
		unvalidated := orgCreate(t, srv, orgBody("Unvalidated Widgets Ltd", nil))
		o := domOrder(t, srv, csr, unvalidated, true, "waiting-widgets.com")
		o.requireKeys(t, "id", "certificate_id")
		if info, _ := fam2GetOrder(t, srv, o.ID); info.Status != "pending" {
			t.Errorf("order of an unvalidated organization is %s, want pending", info.Status)
		}
	})
	t.Run("http-token validates the exact name only", func(t *testing.T) {
		exact := domAdd(t, srv, domBody("exact.example.net", org, "http-token", "ov"))
		if exact.DCVToken == nil || exact.DCVToken.HTTPTokenURL != "http://exact.example.net/.well-known/pki-validation/fileauth.txt" {
			t.Fatalf("http-token submission: %+v", exact.DCVToken)
		}
		domNoContent(t, srv, "PUT", fmt.Sprintf("%s/%d/dcv/approve", domainPath, exact.ID), "")
		sub := domOrder(t, srv, csr, org, true, "sub.exact.example.net")
		sub.requireKeys(t, "id", "certificate_id")
		same := domOrder(t, srv, csr, org, true, "exact.example.net")
		same.requireKeys(t, "id", "certificate_id", "certificate_chain")
		same.requireChain(t, "exact.example.net")
		if info, _ := fam2GetOrder(t, srv, sub.ID); info.Status != "pending" {
			t.Errorf("order for a name under an http-token domain is %s, want pending", info.Status)
		}
	})
	t.Run("a reissue waiting for a domain issues on its grant", func(t *testing.T) {
		names := []string{"waiting-widgets.com", "www.waiting-widgets.com", "extra.reissue-widgets.com"}
		body := map[string]any{"skip_approval": true, "certificate": map[string]any{"common_name": names[0], "dns_names": names,
			"csr": csr, "signature_hash": "sha256"}}
		status, hdr, b := srv.Do("POST", fmt.Sprintf("%s%d/reissue", orderPath, first.ID), mustJSON(t, body))
		if status != http.StatusCreated {
			t.Fatalf("reissue: %d %s", status, clip(b))
		}
		requireJSON(t, hdr)
		if strings.Contains(string(b), "certificate_chain") {
			t.Fatalf("reissue naming an unvalidated domain issued at once: %s", clip(b))
		}
		fam2WaitStatus(t, srv, first.ID, "reissue_pending")
		d := domAdd(t, srv, domBody("reissue-widgets.com", org, "dns-cname-token", "ov"))
		domNoContent(t, srv, "PUT", fmt.Sprintf("%s/%d/dcv/approve", domainPath, d.ID), "")
		fam2WaitStatus(t, srv, first.ID, "issued")
		domRequireLeaf(t, fam2IssuedChain(t, srv, first.ID), names...)
	})
	t.Run("a DV order of a validated domain issues at once", func(t *testing.T) {
		m := dvBase(csr)
		certOf(m)["common_name"] = "dv.waiting-widgets.com"
		m["skip_approval"] = true
		got := dvcsCreate(t, srv, "ssl_dv_geotrust", m)
		if len(got.CertificateChain) != 3 {
			t.Fatalf("DV order for a validated domain: keys %q, want certificate_chain", got.keys)
		}
	})
}

// TestDomainSandbox: in sandbox mode a domain is validated when added.
func TestDomainSandbox(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	sub := domAdd(t, srv, domBody("www.sandbox-widgets.com", 1, "", "ov", "ev"))
	sub2 := domAdd(t, srv, map[string]any{"name": "www.kept.example.com", "organization": map[string]any{"id": "1"},
		"validations": []any{map[string]any{"type": "ov"}}, "keep_www": true, "email_array": []string{"hostmaster@kept.example.com"}})
	if sub.ValidationEmails == nil || sub.DCVToken != nil || sub.ValidationEmails.NameScope != "sandbox-widgets.com" ||
		!slices.Contains(sub.ValidationEmails.BaseEmails, "admin@sandbox-widgets.com") || sub.ValidationEmails.WhoisEmails == nil {
		t.Fatalf("email submission: %+v (keys %q)", sub.ValidationEmails, sub.keys)
	}
	if !slices.Equal(sub.keys, []string{"id", "validation_emails"}) {
		t.Errorf("201 keys = %q", sub.keys)
	}
	d := domGet(t, srv, sub.ID)
	if d.Name != "sandbox-widgets.com" || d.DCVMethod != "email" || d.Status != "active" || len(d.Validations) != 2 ||
		d.Organization == nil || d.Organization.ID != 1 || d.Organization.IsActive != "1" || d.DCVExpiration["ev"] == "" {
		t.Errorf("sandbox domain = %+v", d)
	}
	if d2 := domGet(t, srv, sub2.ID); d2.Name != "www.kept.example.com" {
		t.Errorf("keep_www: name = %q", d2.Name)
	}

	t.Run("list", func(t *testing.T) {
		cases := []struct {
			query string
			want  []string
		}{
			{"", []string{"sandbox-widgets.com", "www.kept.example.com"}},
			{"?filters[search]=sandbox", []string{"sandbox-widgets.com"}},
			{"?filters[search]=%25kept", []string{"www.kept.example.com"}},
			{"?filters[organization_id]=1&sort=-name", []string{"www.kept.example.com", "sandbox-widgets.com"}},
			{"?filters[organization_id]=999", []string{}},
		}
		for _, tc := range cases {
			status, hdr, b := srv.Do("GET", domainPath+tc.query, "")
			var v struct {
				Domains []domInfo `json:"domains"`
				Page    struct {
					Total int `json:"total"`
				} `json:"page"`
			}
			domDecode(t, status, http.StatusOK, hdr, b, &v)
			got := []string{}
			for _, d := range v.Domains {
				got = append(got, d.Name)
			}
			if !slices.Equal(got, tc.want) || v.Page.Total != len(tc.want) || !strings.Contains(string(b), `"domains":[`) {
				t.Errorf("GET /domain%s = %q (total %d), want %q", tc.query, got, v.Page.Total, tc.want)
			}
		}
	})
	t.Run("token, method, emails", func(t *testing.T) {
		id := fmt.Sprintf("%s/%d", domainPath, sub.ID)
		status, hdr, b := srv.Do("POST", id+"/dcv/token", "")
		requireErrors(t, status, hdr, b, http.StatusBadRequest, "invalid_dcv_method")

		status, hdr, b = srv.Do("PUT", id+"/dcv/method", `{"dcv_method":"dns-cname-token"}`)
		var m domSubmission
		domDecode(t, status, http.StatusOK, hdr, b, &m)
		if m.DCVToken == nil || m.DCVToken.VerificationValue == "" || m.DCVToken.Status != "active" {
			t.Fatalf("method change to dns-cname-token: %s", clip(b))
		}
		status, hdr, b = srv.Do("POST", id+"/dcv/token", "")
		var tok domToken
		domDecode(t, status, http.StatusCreated, hdr, b, &tok)
		if tok.Token == m.DCVToken.Token || len(tok.Token) != 32 || tok.ExpirationDate == "" {
			t.Errorf("new token %+v; the previous was %q", tok, m.DCVToken.Token)
		}
		status, hdr, b = srv.Do("PUT", id+"/dcv/validate-token", "")
		domDecode(t, status, http.StatusOK, hdr, b, &tok)
		if tok.Status != "active" {
			t.Errorf("validate-token in sandbox: %s", clip(b))
		}
		status, hdr, b = srv.Do("GET", "/services/v2/domain/sandbox-widgets.com/dcv/emails", "")
		var em struct {
			NameScope  string   `json:"name_scope"`
			BaseEmails []string `json:"base_emails"`
		}
		domDecode(t, status, http.StatusOK, hdr, b, &em)
		if em.NameScope != "sandbox-widgets.com" || len(em.BaseEmails) != 5 {
			t.Errorf("dcv emails: %s", clip(b))
		}
	})
}

// TestDomainRefusals: every refused request answers the exact envelope and
// writes nothing.
func TestDomainRefusals(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: false})
	existing := domAdd(t, srv, domBody("taken.example.com", 1, "email", "ov"))
	const s400, s404 = http.StatusBadRequest, http.StatusNotFound
	base := func() map[string]any { return domBody("fresh.example.com", 1, "dns-txt-token", "ov") }
	with := func(k string, v any) map[string]any { m := base(); m[k] = v; return m }
	without := func(k string) map[string]any { m := base(); delete(m, k); return m }
	one := func(c ...string) []string { return c }
	cases := []callRefusal{
		{"add/empty body", "POST", domainPath, "", s400, one("bad_request_format")},
		{"add/not json", "POST", domainPath, "{name", s400, one("bad_request_format")},
		{"add/nothing", "POST", domainPath, "{}", s400, one("missing_field:name", "missing_field:organization", "missing_field:validations")},
		{"add/name missing", "POST", domainPath, without("name"), s400, one("missing_field:name")},
		{"add/name number", "POST", domainPath, with("name", 7), s400, one("invalid_value:name")},
		{"add/wildcard", "POST", domainPath, with("name", "*.example.com"), s400, one("invalid_value:name")},
		{"add/ip address", "POST", domainPath, with("name", "192.0.2.1"), s400, one("invalid_value:name")},
		{"add/public suffix", "POST", domainPath, with("name", "co.uk"), s400, one("invalid_value:name")},
		{"add/special-use tld", "POST", domainPath, with("name", "intranet.local"), s400, one("invalid_value:name")},
		{"add/already exists", "POST", domainPath, with("name", "taken.example.com"), s400, one("invalid_value:name")},
		{"add/exists as www", "POST", domainPath, with("name", "www.taken.example.com"), s400, one("invalid_value:name")},
		{"add/organization missing", "POST", domainPath, without("organization"), s400, one("missing_field:organization")},
		{"add/organization unknown", "POST", domainPath, with("organization", map[string]any{"id": 999}), s400, one("invalid_value:organization")},
		{"add/organization id word", "POST", domainPath, with("organization", map[string]any{"id": "one"}), s400, one("invalid_value:organization")},
		{"add/validations missing", "POST", domainPath, without("validations"), s400, one("missing_field:validations")},
		{"add/validations empty", "POST", domainPath, with("validations", []any{}), s400, one("missing_field:validations")},
		{"add/validation type dv", "POST", domainPath, with("validations", []any{map[string]any{"type": "dv"}}), s400, one("invalid_value:validations")},
		{"add/validation without type", "POST", domainPath, with("validations", []any{map[string]any{}}), s400, one("missing_field:validations.type")},
		{"add/dcv_method", "POST", domainPath, with("dcv_method", "carrier-pigeon"), s400, one("invalid_value:dcv_method")},
		{"add/locale", "POST", domainPath, with("locale", "xx"), s400, one("invalid_value:locale")},
		{"add/email_array", "POST", domainPath, with("email_array", []string{"not an address"}), s400, one("invalid_value:email_array")},
		{"add/keep_www word", "POST", domainPath, with("keep_www", "perhaps"), s400, one("invalid_value:keep_www")},
		{"add/everything wrong", "POST", domainPath, map[string]any{"name": "*.x.com", "organization": map[string]any{"id": 999},
			"validations": []any{map[string]any{"type": "xx"}}, "dcv_method": "fax"}, s400,
			one("invalid_value:name", "invalid_value:organization", "invalid_value:validations", "invalid_value:dcv_method")},
		{"info/unknown", "GET", domainPath + "/999", nil, s404, one("not_found|domain")},
		{"order validation/unknown order", "GET", orderPath + "999/validation", nil, s404, one("not_found|order")},
		{"info/not a number", "GET", domainPath + "/abc", nil, s404, one("not_found|domain")},
		{"submit/unknown", "POST", domainPath + "/999/validation", "{}", s404, one("not_found|domain")},
		{"submit/bad method", "POST", fmt.Sprintf("%s/%d/validation", domainPath, existing.ID), `{"dcv_method":"fax"}`, s400, one("invalid_value:dcv_method")},
		{"submit/bad type", "POST", fmt.Sprintf("%s/%d/validation", domainPath, existing.ID), `{"validations":[{"type":"cs"}]}`, s400, one("invalid_value:validations")},
		{"submit/unknown org", "POST", fmt.Sprintf("%s/%d/validation", domainPath, existing.ID), `{"organization":{"id":999}}`, s400, one("invalid_value:organization")},
		{"token/email method", "POST", fmt.Sprintf("%s/%d/dcv/token", domainPath, existing.ID), "", s400, one("invalid_dcv_method")},
		{"token/unknown", "POST", domainPath + "/999/dcv/token", "", s404, one("not_found|domain")},
		{"validate-token/email method", "PUT", fmt.Sprintf("%s/%d/dcv/validate-token", domainPath, existing.ID), "", s400, one("invalid_dcv_method")},
		{"method/missing", "PUT", fmt.Sprintf("%s/%d/dcv/method", domainPath, existing.ID), "{}", s400, one("missing_field:dcv_method")},
		{"method/bad", "PUT", fmt.Sprintf("%s/%d/dcv/method", domainPath, existing.ID), `{"dcv_method":"fax"}`, s400, one("invalid_value:dcv_method")},
		{"emails/unknown", "GET", domainPath + "/nowhere.example.com/dcv/emails", nil, s404, one("not_found|domain")},
		{"approve/unknown", "PUT", domainPath + "/999/dcv/approve", "", s404, one("not_found|domain")},
		{"approve/bad method", "PUT", fmt.Sprintf("%s/%d/dcv/approve", domainPath, existing.ID), `{"dcv_method":"fax"}`, s400, one("invalid_value:dcv_method")},
		{"approve/bad body", "PUT", fmt.Sprintf("%s/%d/dcv/approve", domainPath, existing.ID), `[1]`, s400, one("bad_request_format")},
		{"route/delete", "DELETE", fmt.Sprintf("%s/%d", domainPath, existing.ID), nil, s404, one("not_found|route")},
	}
	before, beforeDom := counts(t, srv), domTotal(t, srv)
	snapshot := domRaw(t, srv, existing.ID)
	sendRefusals(t, srv, cases)
	requireTally(t, srv, before, tally{})
	if n := domTotal(t, srv); n != beforeDom {
		t.Errorf("domains: %d after the refusals, %d before", n, beforeDom)
	}
	if after := domRaw(t, srv, existing.ID); after != snapshot {
		t.Errorf("a refused request changed the domain:\nbefore %s\nafter  %s", snapshot, after)
	}
}

// TestValidationPermissions: only administrators grant validations, and
// keys restricted to orders or to reading reach no organization or domain
// change; a refused call writes nothing.
func TestValidationPermissions(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: false})
	ctx := context.Background()
	c := client.New(srv.URL, srv.AdminKey)
	dom := domAdd(t, srv, domBody("perm-widgets.com", 1, "", "ov"))
	mgr, err := c.CreateUser(ctx, &client.NewUser{Username: "manager1", FirstName: "M", LastName: "Anager", Email: "m@perm-widgets.com",
		AccessRoles: []client.IDRef{{ID: 4}}})
	if err != nil {
		t.Fatalf("create manager: %v", err)
	}
	key := func(user int64, role int) string {
		t.Helper()
		k, err := c.CreateKey(ctx, user, fmt.Sprintf("k%d-%d", user, role), role)
		if err != nil {
			t.Fatalf("create key: %v", err)
		}
		return k.APIKey
	}
	manager, ordersOnly, viewOnly := key(mgr, 0), key(1, 100), key(1, 102)
	denied := "access_denied|missing_permission"
	cases := []struct {
		name, key, method, path, body string
	}{
		{"manager grants org validation", manager, "PUT", "/services/v2/organization/1/validation/ov", ""},
		{"manager grants domain validation", manager, "PUT", fmt.Sprintf("%s/%d/dcv/approve", domainPath, dom.ID), ""},
		{"orders key adds a domain", ordersOnly, "POST", domainPath, mustJSON(t, domBody("other-widgets.com", 1, "", "ov"))},
		{"orders key creates an organization", ordersOnly, "POST", organizationPath, mustJSON(t, orgBody("Perm Ltd", nil))},
		{"orders key grants", ordersOnly, "PUT", "/services/v2/organization/1/validation/ov", ""},
		{"view-only key submits", viewOnly, "POST", "/services/v2/organization/1/validation", `{"validations":[{"type":"ov"}]}`},
		{"view-only key adds a domain", viewOnly, "POST", domainPath, mustJSON(t, domBody("other-widgets.com", 1, "", "ov"))},
	}
	before, beforeDom, dom1 := counts(t, srv), domTotal(t, srv), domRaw(t, srv, dom.ID)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, hdr, b := srv.DoKey(tc.key, tc.method, tc.path, tc.body)
			requireErrors(t, status, hdr, b, http.StatusForbidden, denied)
		})
	}
	requireTally(t, srv, before, tally{})
	if domTotal(t, srv) != beforeDom || domRaw(t, srv, dom.ID) != dom1 {
		t.Errorf("a refused call changed the domains")
	}
	if v := orgValidation(t, srv, 1, "ov"); v != nil {
		t.Errorf("organization 1 holds %+v after refused grants", v)
	}
	t.Run("view-only key reads", func(t *testing.T) {
		status, _, b := srv.DoKey(viewOnly, "GET", fmt.Sprintf("%s/%d", domainPath, dom.ID), "")
		if status != http.StatusOK {
			t.Errorf("GET domain with a view-only key: %d %s", status, clip(b))
		}
	})
}
