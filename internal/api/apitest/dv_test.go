package apitest

import (
	"crypto/elliptic"
	"crypto/x509"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/policy"
	"github.com/certorder/certorder/internal/testenv"
)

// DV TLS (seed 001): ssl_dv_geotrust, ssl_dv_rapidssl, wildcard_dv_geotrust,
// wildcard_dv_rapidssl, cloud_dv_geotrust.

const dvPolicy = "2.23.140.1.2.1" // CA/B Forum domain validated

// dvSeedBody is the request body of seed 001's example, with a real CSR.
// Its container is the account's default (the seed's 69748 does not exist
// here) and its custom_fields are left out, as this account defines none.
func dvSeedBody(csr string) map[string]any {
	return map[string]any{
		"certificate": map[string]any{
			"common_name":     "example.com",
			"dns_names":       []any{"sub.example.com", "log.example.com"},
			"csr":             csr,
			"server_platform": map[string]any{"id": 2},
		},
		"custom_expiration_date": "",
		"comments":               "Message for the approver.",
		"container":              map[string]any{"id": 1},
		"custom_renewal_message": "Renew me.",
		"skip_approval":          true,
		"disable_ct":             0,
		"order_validity":         map[string]any{"years": 1},
		"payment_method":         "balance",
		"dcv_method":             "email",
		"dcv_emails": []any{
			map[string]any{"dns_name": "example.com", "email_domain": "example.com", "email": "admin@example.com"},
			map[string]any{"dns_name": "sub.example.com", "email_domain": "example.com", "email": "jim.smith@example.com"},
			map[string]any{"dns_name": "log.example.com", "email_domain": "example.com", "email": "it@example.com"},
		},
		"locale": "en",
		"technical_contact": map[string]any{"first_name": "Jim", "last_name": "Smith", "telephone": "555-555-5555",
			"job_title": "IT Admin", "email": "jim.smith@example.com"},
	}
}

// dvBase is the smallest accepted DV body: one name, a one-year plan, email DCV.
func dvBase(csr string) map[string]any {
	return map[string]any{
		"certificate":    map[string]any{"common_name": "example.com", "csr": csr},
		"order_validity": map[string]any{"years": 1},
		"dcv_method":     "email",
	}
}

func dvOV(kv ...any) func(map[string]any) {
	ov := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		ov[kv[i].(string)] = kv[i+1]
	}
	return set("order_validity", ov)
}

func dvCV(kv ...any) func(map[string]any) {
	cv := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		cv[kv[i].(string)] = kv[i+1]
	}
	return setCert("cert_validity", cv)
}

func dvScope(name, domain, email string) map[string]any {
	m := map[string]any{"dns_name": name, "email_domain": domain}
	if email != "" {
		m["email"] = email
	}
	return m
}

func dvContact(drop string) map[string]any {
	c := map[string]any{"first_name": "Jim", "last_name": "Smith", "telephone": "555-555-5555", "job_title": "IT Admin",
		"email": "jim.smith@example.com"}
	delete(c, drop)
	return c
}

func dvRejectCases(rsa2048 string) []rejectCase {
	bad := func(f string) []string { return []string{"invalid_value:" + f} }
	missing := func(f string) []string { return []string{"missing_field:" + f} }
	exceeds := []string{"cert_validity_exceeds_order_validity"}
	return []rejectCase{
		// order validity (multi-year plan)
		{name: "validity/years 4", mutate: dvOV("years", 4), codes: bad("order_validity")},
		{name: "validity/years 0", mutate: dvOV("years", 0), codes: bad("order_validity")},
		{name: "validity/years word", mutate: dvOV("years", "two"), codes: bad("order_validity")},
		{name: "validity/days 0", mutate: dvOV("days", 0), codes: bad("order_validity")},
		{name: "validity/days 1096", mutate: dvOV("days", 1096), codes: bad("order_validity")},
		{name: "validity/days 4 years over a valid years", mutate: dvOV("years", 1, "days", 1460), codes: bad("order_validity")},
		{name: "validity/custom date MM/dd/yyyy", mutate: dvOV("custom_expiration_date", "05/01/2027"), codes: bad("order_validity")},
		{name: "validity/custom date 31 FEB", mutate: dvOV("custom_expiration_date", "31 FEB 2027"), codes: bad("order_validity")},
		{name: "validity/custom date yesterday", mutate: dvOV("custom_expiration_date", dvcsPlanDate(-1)), codes: bad("order_validity")},
		{name: "validity/custom date today", mutate: dvOV("custom_expiration_date", dvcsPlanDate(0)), codes: bad("order_validity")},
		{name: "validity/custom date 1096 days", mutate: dvOV("custom_expiration_date", dvcsPlanDate(1096)), codes: bad("order_validity")},
		{name: "validity/missing", mutate: del("order_validity"), codes: missing("order_validity")},
		{name: "validity/empty object", mutate: dvOV(), codes: missing("order_validity.years")},
		{name: "validity/legacy validity_years 4", mutate: all(del("order_validity"), set("validity_years", 4)), codes: bad("validity_years")},
		{name: "validity/legacy validity_days 1096", mutate: all(del("order_validity"), set("validity_days", 1096)), codes: bad("validity_days")},
		{name: "validity/legacy date MM/dd/yyyy", mutate: all(del("order_validity"), set("custom_expiration_date", "05/01/2027")),
			codes: bad("custom_expiration_date")},
		{name: "validity/legacy date 1096 days", mutate: all(del("order_validity"), set("custom_expiration_date", dayFromToday(1096))),
			codes: bad("custom_expiration_date")},
		{name: "validity/legacy date yesterday", mutate: all(del("order_validity"), set("custom_expiration_date", dayFromToday(-1))),
			codes: bad("custom_expiration_date")},

		// first certificate validity
		{name: "cert_validity/days over order days", mutate: all(dvOV("days", 30), dvCV("days", 60)), codes: exceeds},
		{name: "cert_validity/custom date after order end", mutate: all(dvOV("days", 30), dvCV("custom_expiration_date", dvcsPlanDate(60))),
			codes: exceeds},
		{name: "cert_validity/397 days over a one-year order", mutate: dvCV("days", 397), codes: exceeds},
		{name: "cert_validity/years 1 over a 30-day order", mutate: all(dvOV("days", 30), dvCV("years", 1)), codes: exceeds},
		{name: "cert_validity/days 398", mutate: all(dvOV("years", 2), dvCV("days", 398)), codes: bad("cert_validity")},
		{name: "cert_validity/days 0", mutate: dvCV("days", 0), codes: bad("cert_validity")},
		{name: "cert_validity/years 2", mutate: all(dvOV("years", 3), dvCV("years", 2)), codes: bad("cert_validity")},
		{name: "cert_validity/date bad layout", mutate: dvCV("custom_expiration_date", "05/01/2027"), codes: bad("cert_validity")},
		{name: "cert_validity/date 398 days", mutate: all(dvOV("years", 2), dvCV("custom_expiration_date", dvcsPlanDate(398))),
			codes: bad("cert_validity")},

		// DCV
		{name: "dcv/method missing", mutate: del("dcv_method"), codes: missing("dcv_method")},
		{name: "dcv/method blank", mutate: set("dcv_method", "  "), codes: missing("dcv_method")},
		{name: "dcv/method unknown", mutate: set("dcv_method", "carrier-pigeon"), codes: bad("dcv_method")},
		{name: "dcv/http-token on wildcard_dv_rapidssl", product: "wildcard_dv_rapidssl",
			mutate: all(setCert("common_name", "*.example.com"), set("dcv_method", "http-token")), codes: bad("dcv_method")},
		{name: "dcv/http-token on a cloud wildcard SAN", product: "cloud_dv_geotrust",
			mutate: all(setCert("dns_names", []string{"*.example.net"}), set("dcv_method", "http-token")), codes: bad("dcv_method")},
		{name: "dcv/http-token on wildcard_dv_geotrust", product: "wildcard_dv_geotrust",
			mutate: all(setCert("common_name", "*.example.com"), set("dcv_method", "http-token")), codes: bad("dcv_method")},
		{name: "dcv_emails/name not on the order", mutate: set("dcv_emails", []any{dvScope("other.example.com", "example.com", "")}),
			codes: bad("dcv_emails")},
		{name: "dcv_emails/email_domain not a parent", mutate: set("dcv_emails", []any{dvScope("example.com", "example.org", "")}),
			codes: bad("dcv_emails")},
		{name: "dcv_emails/email_domain a child", mutate: set("dcv_emails", []any{dvScope("example.com", "sub.example.com", "")}),
			codes: bad("dcv_emails")},
		{name: "dcv_emails/email_domain a public suffix", mutate: set("dcv_emails", []any{dvScope("example.com", "com", "")}),
			codes: bad("dcv_emails")},
		{name: "dcv_emails/email at another domain", mutate: set("dcv_emails", []any{dvScope("example.com", "example.com", "admin@example.org")}),
			codes: bad("dcv_emails")},
		{name: "dcv_emails/no dns_name", mutate: set("dcv_emails", []any{dvScope("", "example.com", "")}), codes: missing("dcv_emails.dns_name")},
		{name: "dcv_emails/no email_domain", mutate: set("dcv_emails", []any{dvScope("example.com", "", "")}),
			codes: missing("dcv_emails.email_domain")},

		// names per product
		{name: "names/ssl_dv_rapidssl second name", product: "ssl_dv_rapidssl", mutate: setCert("dns_names", []string{"shop.example.com"}),
			codes: bad("dns_names")},
		{name: "names/ssl_dv_rapidssl wildcard", product: "ssl_dv_rapidssl", mutate: setCert("common_name", "*.example.com"),
			codes: bad("common_name")},
		{name: "names/wildcard_dv_rapidssl plain common name", product: "wildcard_dv_rapidssl", codes: bad("common_name")},
		{name: "names/wildcard_dv_rapidssl a third name", product: "wildcard_dv_rapidssl",
			mutate: all(setCert("common_name", "*.example.com"), setCert("dns_names", []string{"www.example.com"})), codes: bad("dns_names")},
		{name: "names/wildcard_dv_rapidssl foreign name", product: "wildcard_dv_rapidssl",
			mutate: all(setCert("common_name", "*.example.com"), setCert("dns_names", []string{"example.net"})), codes: bad("dns_names")},
		{name: "names/wildcard_dv_geotrust name two labels under", product: "wildcard_dv_geotrust",
			mutate: all(setCert("common_name", "*.example.com"), setCert("dns_names", []string{"a.b.example.com"})), codes: bad("dns_names")},
		{name: "names/wildcard_dv_geotrust no wildcard", product: "wildcard_dv_geotrust", codes: bad("dns_names")},
		{name: "names/wildcard_dv_geotrust two uncovered names", product: "wildcard_dv_geotrust",
			mutate: setCert("dns_names", []string{"example.net"}), codes: []string{"invalid_value:dns_names", "invalid_value:dns_names"}},
		{name: "names/ssl_dv_geotrust wildcard common name", mutate: setCert("common_name", "*.example.com"), codes: bad("common_name")},
		{name: "names/ssl_dv_geotrust wildcard SAN", mutate: setCert("dns_names", []string{"*.example.com"}), codes: bad("dns_names")},
		{name: "names/ssl_dv_geotrust 251 names", mutate: setCert("dns_names", hostNames(250)), codes: bad("dns_names")},
		{name: "names/cloud_dv_geotrust 251 names", product: "cloud_dv_geotrust", mutate: setCert("dns_names", hostNames(250)),
			codes: bad("dns_names")},
		{name: "names/special-use TLD", mutate: setCert("common_name", "example.test"), codes: bad("common_name")},
		{name: "names/common_name missing", mutate: delCert("common_name"), codes: missing("common_name")},

		// CSR and hash
		{name: "csr/missing", mutate: delCert("csr"), codes: missing("csr")},
		{name: "csr/garbage", mutate: setCert("csr", "hello"), codes: []string{"csr_invalid_cannot_parse"}},
		{name: "hash/sha384", mutate: setCert("signature_hash", "sha384"), codes: bad("signature_hash")},
		{name: "hash/sha512", mutate: setCert("signature_hash", "sha512"), codes: bad("signature_hash")},
		{name: "hash/sha1", mutate: setCert("signature_hash", "sha1"), codes: bad("signature_hash")},
		{name: "hash/sha384 with RSA CSR", mutate: all(setCert("signature_hash", "sha384"), setCert("csr", rsa2048)), codes: bad("signature_hash")},

		// contacts and other fields
		{name: "contact/no telephone", mutate: set("technical_contact", dvContact("telephone")), codes: missing("technical_contact.telephone")},
		{name: "contact/no first_name", mutate: set("technical_contact", dvContact("first_name")), codes: missing("technical_contact.first_name")},
		{name: "contact/no email", mutate: set("technical_contact", dvContact("email")), codes: missing("technical_contact.email")},
		{name: "contact/bad email", mutate: set("technical_contact", func() map[string]any {
			c := dvContact("")
			c["email"] = "jim.smith"
			return c
		}()), codes: bad("technical_contact")},
		{name: "alternative_order_id 65", mutate: set("alternative_order_id", strings.Repeat("a", 65)), codes: bad("alternative_order_id")},
		{name: "payment_method bitcoin", mutate: set("payment_method", "bitcoin"), codes: bad("payment_method")},
		{name: "auto_renew 2", mutate: set("auto_renew", 2), codes: bad("auto_renew")},
		{name: "locale xx", mutate: set("locale", "xx"), codes: bad("locale")},
		{name: "use_auth_key word", mutate: set("use_auth_key", "maybe"), codes: bad("use_auth_key")},
		{name: "unknown product", product: "ssl_dv_nope", status: http.StatusNotFound, codes: []string{"not_found|product"}},

		// several at once
		{name: "multi/validity hash dcv", mutate: all(dvOV("years", 4), setCert("signature_hash", "sha384"), del("dcv_method")),
			codes: []string{"invalid_value:order_validity", "invalid_value:signature_hash", "missing_field:dcv_method"}},
		{name: "multi/contact names csr", product: "ssl_dv_rapidssl", mutate: all(set("technical_contact", dvContact("telephone")),
			setCert("dns_names", []string{"shop.example.com"}), setCert("csr", "hello")),
			codes: []string{"missing_field:technical_contact.telephone", "invalid_value:dns_names", "csr_invalid_cannot_parse"}},
	}
}

// dvAcceptCase is an order that must be accepted and wait for approval.
type dvAcceptCase struct {
	name    string
	product string
	body    func(csr string) map[string]any // default dvBase
	mutate  func(map[string]any)
	till    string // order_valid_till, yyyy-MM-dd
	token   bool   // the answer carries dcv_random_value
	names   []string
	check   func(t *testing.T, o dvcsOrder, raw []byte)
}

func dvAcceptCases() []dvAcceptCase {
	oneYear := dvcsInYears(1)
	return []dvAcceptCase{
		{name: "seed 001 body without skip_approval", body: dvSeedBody, mutate: del("skip_approval"), till: oneYear,
			names: []string{"example.com", "sub.example.com", "log.example.com"},
			check: func(t *testing.T, o dvcsOrder, _ []byte) {
				if o.Status != "needs_approval" || len(o.DCVEmails) != 3 || o.TechnicalContact == nil || o.TechnicalContact.Telephone != "555-555-5555" {
					t.Errorf("order info: status %q, dcv_emails %+v, technical_contact %+v", o.Status, o.DCVEmails, o.TechnicalContact)
				}
			}},
		{name: "validity/years 1", till: oneYear},
		{name: "validity/years 2", mutate: dvOV("years", 2), till: dvcsInYears(2)},
		{name: "validity/years 3", mutate: dvOV("years", "3"), till: dvcsInYears(3)},
		{name: "validity/days 1", mutate: dvOV("days", 1), till: dayFromToday(1)},
		{name: "validity/days 1095", mutate: dvOV("days", 1095), till: dayFromToday(1095)},
		{name: "validity/days override years", mutate: dvOV("years", 3, "days", 10), till: dayFromToday(10)},
		{name: "validity/custom date tomorrow", mutate: dvOV("custom_expiration_date", dvcsPlanDate(1)), till: dayFromToday(1)},
		{name: "validity/custom date 1095 days", mutate: dvOV("custom_expiration_date", dvcsPlanDate(1095)), till: dayFromToday(1095)},
		{name: "validity/custom date lower case month", mutate: dvOV("custom_expiration_date", strings.ToLower(dvcsPlanDate(200))),
			till: dayFromToday(200)},
		{name: "validity/custom date overrides days and years", mutate: dvOV("years", 3, "days", 10, "custom_expiration_date", dvcsPlanDate(20)),
			till: dayFromToday(20)},
		{name: "validity/legacy validity_years 3", mutate: all(del("order_validity"), set("validity_years", 3)), till: dvcsInYears(3)},
		{name: "validity/legacy validity_days 200", mutate: all(del("order_validity"), set("validity_days", 200)), till: dayFromToday(200)},
		{name: "validity/legacy custom date", mutate: all(del("order_validity"), set("custom_expiration_date", dayFromToday(500))),
			till: dayFromToday(500)},
		{name: "validity/legacy custom date overrides legacy days", mutate: all(del("order_validity"), set("validity_days", 10),
			set("custom_expiration_date", dayFromToday(40))), till: dayFromToday(40)},
		{name: "validity/order_validity wins over legacy fields", mutate: all(set("validity_years", 6), set("validity_days", 2000),
			set("custom_expiration_date", dayFromToday(20))), till: oneYear},
		{name: "validity/cert_validity days within the order", mutate: all(dvOV("years", 2), dvCV("days", 397)), till: dvcsInYears(2)},
		{name: "validity/cert_validity equal to the order", mutate: all(dvOV("days", 30), dvCV("days", 30)), till: dayFromToday(30)},
		{name: "validity/cert_validity years 1 on a 2-year plan", mutate: all(dvOV("years", 2), dvCV("years", 1)), till: dvcsInYears(2)},
		// Every date field takes every date form (decisions.md).
		{name: "validity/custom date yyyy-MM-dd", mutate: dvOV("custom_expiration_date", dayFromToday(30)), till: dayFromToday(30)},
		{name: "validity/legacy date in plan layout", mutate: all(del("order_validity"), set("custom_expiration_date", dvcsPlanDate(30))),
			till: dayFromToday(30)},
		{name: "validity/cert_validity date yyyy-MM-dd", mutate: dvCV("custom_expiration_date", dayFromToday(30)), till: oneYear},
		{name: "hash/absent", till: oneYear, check: func(t *testing.T, o dvcsOrder, _ []byte) {
			if o.Certificate.SignatureHash != "sha256" {
				t.Errorf("signature_hash = %q, want the sha256 default", o.Certificate.SignatureHash)
			}
		}},
		{name: "hash/SHA256 upper case", mutate: setCert("signature_hash", "SHA256")},
		{name: "dcv/dns-txt-token", mutate: set("dcv_method", "dns-txt-token"), token: true},
		{name: "dcv/dns-cname-token", mutate: set("dcv_method", "dns-cname-token"), token: true},
		{name: "dcv/http-token", mutate: set("dcv_method", "http-token"), token: true},
		{name: "dcv/email scopes with a parent domain", product: "cloud_dv_geotrust",
			mutate: all(setCert("dns_names", []string{"a.b.example.com", "*.example.net"}), set("dcv_emails", []any{
				dvScope("a.b.example.com", "b.example.com", "admin@b.example.com"), dvScope("*.example.net", "example.net", "")})),
			names: []string{"example.com", "a.b.example.com", "*.example.net"},
			check: func(t *testing.T, o dvcsOrder, _ []byte) {
				if len(o.DCVEmails) != 2 || o.DCVEmails[0].EmailDomain != "b.example.com" || o.DCVEmails[1].DNSName != "*.example.net" {
					t.Errorf("dcv_emails = %+v", o.DCVEmails)
				}
			}},
		{name: "names/ssl_dv_rapidssl www twin", product: "ssl_dv_rapidssl", mutate: setCert("dns_names", []string{"www.example.com"}),
			names: []string{"example.com", "www.example.com"}},
		{name: "names/wildcard_dv_rapidssl wildcard and base", product: "wildcard_dv_rapidssl",
			mutate: all(setCert("common_name", "*.example.com"), setCert("dns_names", []string{"example.com"})),
			names:  []string{"*.example.com", "example.com"}},
		{name: "names/wildcard_dv_geotrust covered names", product: "wildcard_dv_geotrust",
			mutate: all(setCert("common_name", "*.example.com"), setCert("dns_names", []string{"www.example.com", "*.example.net", "example.net"})),
			names:  []string{"*.example.com", "www.example.com", "*.example.net", "example.net", "example.com"}},
		{name: "names/wildcard_dv_geotrust plain common name under a wildcard SAN", product: "wildcard_dv_geotrust",
			mutate: setCert("dns_names", []string{"*.example.com"}), names: []string{"example.com", "*.example.com"}},
		{name: "names/cloud_dv_geotrust wildcards anywhere", product: "cloud_dv_geotrust",
			mutate: all(setCert("common_name", "*.example.org"), setCert("dns_names", []string{"*.example.net", "shop.example.com"})),
			names:  []string{"*.example.org", "*.example.net", "shop.example.com"}},
		{name: "names/ssl_dv_geotrust 250 names", mutate: setCert("dns_names", hostNames(249))},
		{name: "alternative_order_id 64 shown in order info", mutate: set("alternative_order_id", strings.Repeat("a", 63)+"z"),
			check: func(t *testing.T, o dvcsOrder, _ []byte) {
				if o.AlternativeOrderID != strings.Repeat("a", 63)+"z" {
					t.Errorf("alternative_order_id = %q", o.AlternativeOrderID)
				}
			}},
		{name: "optional seed fields", mutate: all(set("disable_ct", 0), set("use_auth_key", true), set("enable_guest_access", 1),
			set("locale", "de"), set("auto_renew", 1), set("technical_contact", dvContact("job_title"))),
			check: func(t *testing.T, o dvcsOrder, _ []byte) {
				if o.Locale != "de" || o.TechnicalContact == nil || o.TechnicalContact.FirstName != "Jim" {
					t.Errorf("locale %q, technical_contact %+v", o.Locale, o.TechnicalContact)
				}
			}},
	}
}

// dvIssueCase is an order issued at once (sandbox, skip_approval).
type dvIssueCase struct {
	name     string
	product  string
	seed     bool // start from the seed 001 body instead of dvBase
	mutate   func(map[string]any)
	cn       string
	sans     []string
	token    bool   // the answer carries dcv_random_value
	notAfter string // the leaf's notAfter date when the order or cert_validity fixes it
	capped   bool   // the leaf has the longest validity the CA/B Forum allows now
	check    func(t *testing.T, leaf *x509.Certificate, o dvcsOrder)
}

// TestDVOrders runs the DV tables against one sandbox server.
func TestDVOrders(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	p256 := testenv.CSR(t, testenv.ECKey(t, elliptic.P256()), "ignored.example.org")
	rsa2048 := testenv.CSR(t, testenv.RSAKey(t), "ignored.example.org")

	t.Run("rejected", func(t *testing.T) {
		runRejects(t, srv, "ssl_dv_geotrust", func() map[string]any { return dvBase(p256) }, dvRejectCases(rsa2048))
	})

	t.Run("accepted", func(t *testing.T) {
		n := dvcsCount(t, srv)
		for _, tc := range dvAcceptCases() {
			t.Run(tc.name, func(t *testing.T) {
				n.track(t)
				product := tc.product
				if product == "" {
					product = "ssl_dv_geotrust"
				}
				build := tc.body
				if build == nil {
					build = dvBase
				}
				m := build(p256)
				if tc.mutate != nil {
					tc.mutate(m)
				}
				got := dvcsCreate(t, srv, product, m)
				keys := []string{"id", "requests"}
				if tc.token {
					keys = append(keys, "dcv_random_value")
					dvcsRequireRandomValue(t, got.DCVRandomValue)
				}
				got.requireKeys(t, keys...)
				if len(got.Requests) != 1 || got.Requests[0].ID <= 0 || got.Requests[0].Status != "pending" {
					t.Fatalf("requests = %+v, want one pending request", got.Requests)
				}
				n.expect(t, tally{orders: 1, requests: 1})
				o, raw := dvcsGetOrder(t, srv, got.ID)
				if o.Status != "needs_approval" || o.ProductNameID != product {
					t.Errorf("order: status %q product %q; want needs_approval, %s", o.Status, o.ProductNameID, product)
				}
				if tc.till != "" && o.OrderValidTill != tc.till {
					t.Errorf("order_valid_till = %q, want %q", o.OrderValidTill, tc.till)
				}
				if tc.token && o.DCVRandomValue != got.DCVRandomValue {
					t.Errorf("order info dcv_random_value %q, 201 answer %q", o.DCVRandomValue, got.DCVRandomValue)
				}
				if tc.names != nil && (o.Certificate.CommonName != tc.names[0] || !sortedEqual(o.Certificate.DNSNames, tc.names)) {
					t.Errorf("order names: common_name %q dns_names %q; want %q", o.Certificate.CommonName, o.Certificate.DNSNames, tc.names)
				}
				if tc.check != nil {
					tc.check(t, o, raw)
				}
			})
		}
	})

	t.Run("immediate issuance", func(t *testing.T) { testDVImmediate(t, srv, p256, rsa2048) })
	t.Run("balance", func(t *testing.T) { testDVBalance(t, srv, p256) })
}

func testDVImmediate(t *testing.T, srv *testenv.Server, p256, rsa2048 string) {
	seedNames := []string{"example.com", "sub.example.com", "log.example.com"}
	cases := []dvIssueCase{
		{name: "seed 001 body", seed: true, cn: "example.com", sans: seedNames, capped: true,
			check: func(t *testing.T, leaf *x509.Certificate, o dvcsOrder) {
				tc := o.TechnicalContact
				if tc == nil || tc.FirstName != "Jim" || tc.LastName != "Smith" || tc.Telephone != "555-555-5555" ||
					tc.JobTitle != "IT Admin" || tc.Email != "jim.smith@example.com" {
					t.Errorf("technical_contact = %+v", tc)
				}
				if len(o.DCVEmails) != 3 || o.DCVEmails[1].DNSName != "sub.example.com" || o.DCVEmails[1].Email != "jim.smith@example.com" {
					t.Errorf("dcv_emails = %+v", o.DCVEmails)
				}
				if o.DCVMethod != "email" || o.Locale != "en" || o.PaymentMethod != "balance" || o.DCVRandomValue != "" {
					t.Errorf("dcv_method %q locale %q payment_method %q dcv_random_value %q", o.DCVMethod, o.Locale, o.PaymentMethod, o.DCVRandomValue)
				}
			}},
		{name: "seed 001 body, RSA key, dns-txt-token", seed: true, mutate: all(setCert("csr", rsa2048), set("dcv_method", "dns-txt-token")),
			cn: "example.com", sans: seedNames, token: true, capped: true},
		{name: "ssl_dv_rapidssl www twin, http-token", product: "ssl_dv_rapidssl",
			mutate: all(setCert("common_name", "www.example.com"), setCert("dns_names", []string{"example.com"}), set("dcv_method", "http-token")),
			cn:     "www.example.com", sans: []string{"www.example.com", "example.com"}, token: true, capped: true},
		{name: "wildcard_dv_rapidssl secures the base domain", product: "wildcard_dv_rapidssl",
			mutate: all(setCert("common_name", "*.example.com"), set("dcv_method", "dns-cname-token")),
			cn:     "*.example.com", sans: []string{"*.example.com", "example.com"}, token: true, capped: true},
		{name: "wildcard_dv_geotrust covered names", product: "wildcard_dv_geotrust",
			mutate: all(setCert("common_name", "*.example.com"), setCert("dns_names", []string{"www.example.com", "*.example.net"})),
			cn:     "*.example.com", sans: []string{"*.example.com", "www.example.com", "*.example.net", "example.com"}, capped: true},
		{name: "cloud_dv_geotrust wildcard SANs", product: "cloud_dv_geotrust",
			mutate: all(setCert("dns_names", []string{"*.example.net", "*.shop.example.com"}), set("dcv_method", "dns-txt-token")),
			cn:     "example.com", sans: []string{"example.com", "*.example.net", "*.shop.example.com"}, token: true, capped: true},
		{name: "cert_validity days 30", mutate: all(dvOV("years", 2), dvCV("days", 30)), cn: "example.com", sans: []string{"example.com"},
			notAfter: dayFromToday(30)},
		{name: "cert_validity custom date", mutate: dvCV("custom_expiration_date", dvcsPlanDate(45)), cn: "example.com",
			sans: []string{"example.com"}, notAfter: dayFromToday(45)},
		{name: "cert_validity days 397 capped to the CA/B limit", mutate: all(dvOV("years", 2), dvCV("days", 397)), cn: "example.com",
			sans: []string{"example.com"}, capped: true},
		{name: "order of 10 days ends the leaf", mutate: dvOV("days", 10), cn: "example.com", sans: []string{"example.com"},
			notAfter: dayFromToday(10)},
		{name: "legacy validity_days ends the leaf", mutate: all(del("order_validity"), set("validity_days", 20)), cn: "example.com",
			sans: []string{"example.com"}, notAfter: dayFromToday(20)},
	}
	verifiedWithOpenSSL := false
	n := dvcsCount(t, srv)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n.track(t)
			product := tc.product
			if product == "" {
				product = "ssl_dv_geotrust"
			}
			m := dvBase(p256)
			if tc.seed {
				m = dvSeedBody(p256)
			}
			m["skip_approval"] = true
			if tc.mutate != nil {
				tc.mutate(m)
			}
			got := dvcsCreate(t, srv, product, m)
			keys := []string{"id", "certificate_id", "certificate_chain"}
			if tc.token {
				keys = append(keys, "dcv_random_value")
				dvcsRequireRandomValue(t, got.DCVRandomValue)
			}
			got.requireKeys(t, keys...)
			n.expect(t, tally{orders: 1})
			host := tc.sans[0]
			for _, n := range tc.sans {
				if !strings.HasPrefix(n, "*.") {
					host = n
					break
				}
			}
			host = strings.Replace(host, "*", "host", 1)
			chain := dvcsChain(t, got, tc.cn, x509.ExtKeyUsageServerAuth, host)
			leaf := chain[0]
			o, _ := dvcsGetOrder(t, srv, got.ID)
			if o.Status != "issued" || o.Certificate.ID != got.CertificateID {
				t.Errorf("order: status %q certificate.id %d; want issued, %d", o.Status, o.Certificate.ID, got.CertificateID)
			}
			if tc.token && o.DCVRandomValue != got.DCVRandomValue {
				t.Errorf("order info dcv_random_value %q, 201 answer %q", o.DCVRandomValue, got.DCVRandomValue)
			}
			dvCheckLeaf(t, leaf, chain[1], tc.cn, tc.sans)
			end := dvcsOrderEnd(t, o)
			if leaf.NotAfter.After(end) {
				t.Errorf("leaf notAfter %s is after the order's end %s", leaf.NotAfter, end)
			}
			if tc.notAfter != "" {
				if d := leaf.NotAfter.UTC().Format("2006-01-02"); d != tc.notAfter {
					t.Errorf("leaf notAfter = %s, want on %s", leaf.NotAfter.UTC(), tc.notAfter)
				}
				if !leaf.NotAfter.UTC().Equal(dvcsToday().AddDate(0, 0, dayDiff(tc.notAfter))) {
					t.Errorf("leaf notAfter = %s, want midnight UTC of %s", leaf.NotAfter.UTC(), tc.notAfter)
				}
			}
			span := leaf.NotAfter.Sub(leaf.NotBefore)
			if tc.capped {
				lo := policy.IssueTLSValidity(leaf.NotBefore) - time.Minute
				if span < lo {
					t.Errorf("leaf validity %s, want the CA/B maximum (%s)", span, policy.IssueTLSValidity(leaf.NotBefore))
				}
			}
			if time.Since(leaf.NotBefore) < -time.Minute || time.Since(leaf.NotBefore) > time.Hour {
				t.Errorf("leaf notBefore %s is not about now", leaf.NotBefore)
			}
			if tc.check != nil {
				tc.check(t, leaf, o)
			}
			if !verifiedWithOpenSSL && tc.seed {
				verifiedWithOpenSSL = true
				dvcsOpenSSLVerify(t, chain, "sslserver")
			}
		})
	}
}

// dayDiff is the number of days from today to a yyyy-MM-dd date.
func dayDiff(d string) int {
	t, _ := time.Parse("2006-01-02", d)
	return int(t.Sub(dvcsToday()).Hours() / 24)
}

// dvCheckLeaf holds a DV leaf to the profile of spec §8.1.
func dvCheckLeaf(t *testing.T, leaf, issuer *x509.Certificate, cn string, sans []string) {
	t.Helper()
	attrs := dvcsSubjectAttrs(leaf)
	if len(leaf.Subject.Names) != 1 || len(attrs["2.5.4.3"]) != 1 || attrs["2.5.4.3"][0] != cn {
		t.Errorf("leaf subject = %s, want CN=%s only", leaf.Subject, cn)
	}
	if !sortedEqual(leaf.DNSNames, sans) {
		t.Errorf("leaf SANs = %q, want %q", leaf.DNSNames, sans)
	}
	if len(leaf.IPAddresses)+len(leaf.EmailAddresses)+len(leaf.URIs) != 0 {
		t.Errorf("leaf carries SANs other than DNS names")
	}
	if !dvcsHasPolicy(leaf, dvPolicy) || dvcsHasPolicy(leaf, "2.23.140.1.2.2") || dvcsHasPolicy(leaf, "2.23.140.1.1") {
		t.Errorf("leaf policies = %v, want %s and no OV/EV policy", leaf.Policies, dvPolicy)
	}
	if !slices.Equal(leaf.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) || len(leaf.UnknownExtKeyUsage) != 0 {
		t.Errorf("leaf EKU = %v %v, want serverAuth only", leaf.ExtKeyUsage, leaf.UnknownExtKeyUsage)
	}
	if leaf.KeyUsage&x509.KeyUsageDigitalSignature == 0 || leaf.KeyUsage&(x509.KeyUsageCertSign|x509.KeyUsageCRLSign) != 0 {
		t.Errorf("leaf key usage = %b", leaf.KeyUsage)
	}
	switch leaf.SignatureAlgorithm {
	case x509.SHA256WithRSA, x509.ECDSAWithSHA256:
	default:
		t.Errorf("leaf signature algorithm = %s, want SHA-256", leaf.SignatureAlgorithm)
	}
	if span := leaf.NotAfter.Sub(leaf.NotBefore); span > policy.MaxTLSValidity(leaf.NotBefore) {
		t.Errorf("leaf validity %s exceeds the CA/B maximum %s", span, policy.MaxTLSValidity(leaf.NotBefore))
	}
	if leaf.NotAfter.After(issuer.NotAfter) {
		t.Errorf("leaf outlives its issuer")
	}
}

// testDVBalance: a balance order draws price × years; card and profile
// orders leave the balance alone.
func testDVBalance(t *testing.T, srv *testenv.Server, p256 string) {
	cases := []struct {
		name    string
		product string
		ov      map[string]any // order_validity
		years   int            // years charged
		payment string
	}{
		{"ssl_dv_geotrust 1 year", "ssl_dv_geotrust", map[string]any{"years": 1}, 1, "balance"},
		{"ssl_dv_rapidssl 2 years", "ssl_dv_rapidssl", map[string]any{"years": 2}, 2, "balance"},
		{"cloud_dv_geotrust 3 years", "cloud_dv_geotrust", map[string]any{"years": 3}, 3, "balance"},
		{"ssl_dv_geotrust 730 days", "ssl_dv_geotrust", map[string]any{"days": 730}, 2, "balance"},
		{"ssl_dv_geotrust 366 days cost two years", "ssl_dv_geotrust", map[string]any{"days": 366}, 2, "balance"},
		{"ssl_dv_rapidssl 30 days cost one year", "ssl_dv_rapidssl", map[string]any{"days": 30}, 1, "balance"},
		{"wildcard_dv_geotrust default payment", "wildcard_dv_geotrust", map[string]any{"years": 1}, 1, ""},
		{"card", "ssl_dv_geotrust", map[string]any{"years": 2}, 0, "card"},
		{"profile", "ssl_dv_geotrust", map[string]any{"years": 1}, 0, "profile"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			price := dvcsPrice(t, srv, tc.product)
			m := dvBase(p256)
			m["order_validity"] = tc.ov
			if strings.HasPrefix(tc.product, "wildcard_") {
				certOf(m)["common_name"] = "*.example.com"
			}
			if tc.payment != "" {
				m["payment_method"] = tc.payment
			}
			if tc.payment == "card" {
				m["credit_card"] = map[string]any{"number": "4111111111111111",
					"expiration": map[string]any{"month": 12, "year": time.Now().Year() + 3}, "cvv": "123"}
			}
			before := dvcsBalance(t, srv)
			got := dvcsCreate(t, srv, tc.product, m)
			after := dvcsBalance(t, srv)
			o, _ := dvcsGetOrder(t, srv, got.ID)
			wantPayment := tc.payment
			if wantPayment == "" {
				wantPayment = "balance"
			}
			if o.PaymentMethod != wantPayment {
				t.Errorf("payment_method = %q, want %q", o.PaymentMethod, wantPayment)
			}
			if tc.payment == "card" || tc.payment == "profile" {
				if after != before {
					t.Errorf("a %s order moved the balance from %d to %d cents", tc.payment, before, after)
				}
				return
			}
			want := price * int64(tc.years)
			if before-after != want {
				t.Errorf("balance moved by %d cents, want price %d × %d years = %d", before-after, price, tc.years, want)
			}
			if int64(o.Price*100+0.5) != want || o.Currency != "USD" {
				t.Errorf("order price %v %s, want %d cents USD", o.Price, o.Currency, want)
			}
		})
	}
}

// TestDVNonSandboxLowBalance: without the sandbox nothing is validated, so
// skip_approval answers {id, certificate_id[, dcv_random_value]} and the
// order waits; a balance that cannot cover an order refuses it.
func TestDVNonSandboxLowBalance(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: false, InitialBalanceCents: 10000})
	p256 := testenv.CSR(t, testenv.ECKey(t, elliptic.P256()), "ignored.example.org")
	if got := dvcsBalance(t, srv); got != 10000 {
		t.Fatalf("initial balance = %d cents, want 10000", got)
	}

	t.Run("answers", func(t *testing.T) {
		cases := []struct {
			name     string
			skip     bool
			method   string
			keys     []string
			status   string
			requests int
		}{
			{"skip, email", true, "email", []string{"id", "certificate_id"}, "pending", 0},
			{"skip, dns-txt-token", true, "dns-txt-token", []string{"id", "certificate_id", "dcv_random_value"}, "pending", 0},
			{"skip, http-token", true, "http-token", []string{"id", "certificate_id", "dcv_random_value"}, "pending", 0},
			{"no skip, email", false, "email", []string{"id", "requests"}, "needs_approval", 1},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				m := dvBase(p256)
				m["dcv_method"] = tc.method
				m["payment_method"] = "profile" // keep the small balance for the test below
				if tc.skip {
					m["skip_approval"] = true
				}
				b := counts(t, srv)
				got := dvcsCreate(t, srv, "ssl_dv_rapidssl", m)
				got.requireKeys(t, tc.keys...)
				if tc.skip && got.CertificateID <= 0 {
					t.Errorf("certificate_id = %d", got.CertificateID)
				}
				if strings.HasSuffix(tc.method, "-token") {
					dvcsRequireRandomValue(t, got.DCVRandomValue)
				}
				requireTally(t, srv, b, tally{orders: 1, requests: tc.requests})
				if o, _ := dvcsGetOrder(t, srv, got.ID); o.Status != tc.status {
					t.Errorf("order status = %q, want %q", o.Status, tc.status)
				}
			})
		}
	})

	t.Run("insufficient funds", func(t *testing.T) {
		price := dvcsPrice(t, srv, "ssl_dv_rapidssl")
		if price > 10000 || 2*price <= 10000 {
			t.Fatalf("ssl_dv_rapidssl costs %d cents; the test needs one order to fit 100.00 USD and two not to", price)
		}
		first := dvBase(p256)
		first["skip_approval"] = true
		dvcsCreate(t, srv, "ssl_dv_rapidssl", first).requireKeys(t, "id", "certificate_id")
		left := dvcsBalance(t, srv)
		if left != 10000-price {
			t.Fatalf("balance after one order = %d, want %d", left, 10000-price)
		}
		refused := []struct {
			name    string
			product string
			mutate  func(map[string]any)
		}{
			{"second order", "ssl_dv_rapidssl", nil},
			{"second order with skip_approval", "ssl_dv_rapidssl", set("skip_approval", true)},
			{"explicit balance payment", "ssl_dv_rapidssl", set("payment_method", "balance")},
			{"three-year plan", "ssl_dv_geotrust", dvOV("years", 3)},
		}
		for _, tc := range refused {
			t.Run(tc.name, func(t *testing.T) {
				m := dvBase(p256)
				if tc.mutate != nil {
					tc.mutate(m)
				}
				b := counts(t, srv)
				status, hdr, body := dvcsPost(t, srv, tc.product, m)
				requireErrors(t, status, hdr, body, http.StatusBadRequest, "insufficient_funds")
				requireTally(t, srv, b, tally{})
				if got := dvcsBalance(t, srv); got != left {
					t.Errorf("balance = %d after a refused order, want %d", got, left)
				}
			})
		}
		t.Run("card does not touch the balance", func(t *testing.T) {
			m := dvBase(p256)
			m["payment_method"] = "card"
			m["credit_card"] = map[string]any{"number": "4111111111111111",
				"expiration": map[string]any{"month": 12, "year": time.Now().Year() + 3}, "cvv": "123"}
			b := counts(t, srv)
			dvcsCreate(t, srv, "ssl_dv_geotrust", m).requireKeys(t, "id", "requests")
			requireTally(t, srv, b, tally{orders: 1, requests: 1})
			if got := dvcsBalance(t, srv); got != left {
				t.Errorf("balance = %d after a card order, want %d", got, left)
			}
		})
	})
}
