package apitest

import (
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/testenv"
)

// csrs are the CSRs the tables use, made once per test binary run.
type csrs struct {
	p256, p384, p521, rsa2048, rsa1024, badSig, evil string
}

func makeCSRs(t *testing.T) csrs {
	t.Helper()
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatalf("rsa-1024 key: %v", err)
	}
	rsaCSR := testenv.CSR(t, testenv.RSAKey(t), "ignored.example.org")
	return csrs{
		p256:    testenv.CSR(t, testenv.ECKey(t, elliptic.P256()), "ignored.example.org"),
		p384:    testenv.CSR(t, testenv.ECKey(t, elliptic.P384()), "ignored.example.org"),
		p521:    testenv.CSR(t, testenv.ECKey(t, elliptic.P521()), "ignored.example.org"),
		rsa2048: rsaCSR,
		rsa1024: testenv.CSR(t, weak, "ignored.example.org"),
		badSig:  corruptSignature(t, rsaCSR),
		evil:    csrWith(t, testenv.ECKey(t, elliptic.P256()), "evil.example.org", "evil.example.org"),
	}
}

func dayFromToday(n int) string {
	return time.Now().UTC().AddDate(0, 0, n).Format("2006-01-02")
}

func hostNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("host%d.example.com", i)
	}
	return out
}

// rejectCase is one request that must be refused with a 4xx envelope.
type rejectCase struct {
	name    string
	product string                 // default ssl_securesite
	mutate  func(m map[string]any) // applied to a fresh base body
	raw     *string                // raw body instead of the mutated base
	method  string                 // default POST
	path    string                 // default the order path of product
	key     *string                // default the admin key
	status  int                    // runRejects: default 400
	codes   []string
}

func strp(s string) *string { return &s }

func set(k string, v any) func(map[string]any) { return func(m map[string]any) { m[k] = v } }
func del(k string) func(map[string]any)        { return func(m map[string]any) { delete(m, k) } }
func setCert(k string, v any) func(map[string]any) {
	return func(m map[string]any) { certOf(m)[k] = v }
}
func delCert(k string) func(map[string]any) { return func(m map[string]any) { delete(certOf(m), k) } }
func all(fs ...func(map[string]any)) func(map[string]any) {
	return func(m map[string]any) {
		for _, f := range fs {
			f(m)
		}
	}
}

func (c rejectCase) send(t *testing.T, srv *testenv.Server, csr string) (int, http.Header, []byte) {
	t.Helper()
	product := c.product
	if product == "" {
		product = "ssl_securesite"
	}
	method, path := c.method, c.path
	if method == "" {
		method = "POST"
	}
	if path == "" {
		path = orderPath + product
	}
	var body string
	switch {
	case c.raw != nil:
		body = *c.raw
	default:
		m := baseBody(csr)
		if c.mutate != nil {
			c.mutate(m)
		}
		body = mustJSON(t, m)
	}
	if c.key != nil {
		return srv.DoKey(*c.key, method, path, body)
	}
	return srv.Do(method, path, body)
}

func rejectCases(c csrs) []rejectCase {
	bad := func(f string) []string { return []string{"invalid_value:" + f} }
	missing := func(f string) []string { return []string{"missing_field:" + f} }
	const s400, s403, s404 = http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound
	card := func(number string, month, year int) func(map[string]any) {
		return all(set("payment_method", "card"), set("credit_card", map[string]any{
			"number": number, "expiration": map[string]any{"month": month, "year": year}, "cvv": "123"}))
	}
	cases := []rejectCase{
		// 1. missing fields
		{name: "missing/certificate", mutate: del("certificate"), status: s400, codes: missing("certificate")},
		{name: "missing/certificate null", mutate: set("certificate", nil), status: s400, codes: missing("certificate")},
		{name: "missing/empty object body", raw: strp(`{}`), status: s400, codes: missing("certificate")},
		{name: "missing/null body", raw: strp(`null`), status: s400, codes: missing("certificate")},
		{name: "missing/common_name", mutate: delCert("common_name"), status: s400, codes: missing("common_name")},
		{name: "missing/common_name blank", mutate: setCert("common_name", "  "), status: s400, codes: missing("common_name")},
		{name: "missing/csr", mutate: delCert("csr"), status: s400, codes: missing("csr")},
		{name: "missing/signature_hash", mutate: delCert("signature_hash"), status: s400, codes: missing("signature_hash")},
		{name: "missing/validity", mutate: del("validity_years"), status: s400, codes: missing("validity_years")},
		{name: "missing/organization", mutate: del("organization"), status: s400, codes: missing("organization")},
		{name: "missing/new organization fields", mutate: set("organization", map[string]any{"name": "Acme Widgets Ltd"}), status: s400,
			codes: []string{"missing_field:organization.address", "missing_field:organization.city", "missing_field:organization.state",
				"missing_field:organization.zip", "missing_field:organization.country"}},

		// 2. wrong JSON types and shapes
		{name: "type/validity_years word", mutate: set("validity_years", "two"), status: s400, codes: bad("validity_years")},
		{name: "type/validity_years fraction", mutate: set("validity_years", 1.5), status: s400, codes: bad("validity_years")},
		{name: "type/dns_names string", mutate: setCert("dns_names", "www.example.com"), status: s400, codes: bad("dns_names")},
		{name: "type/common_name number", mutate: setCert("common_name", 42), status: s400, codes: bad("common_name")},
		{name: "type/certificate string", mutate: set("certificate", "example.com"), status: s400, codes: bad("certificate")},
		{name: "type/organization string", mutate: set("organization", "1"), status: s400, codes: bad("organization")},
		{name: "type/malformed JSON", raw: strp(`{"certificate":`), status: s400, codes: []string{"bad_request_format"}},
		{name: "type/empty body", raw: strp(``), status: s400, codes: []string{"bad_request_format"}},
		{name: "type/blank body", raw: strp(" \n\t "), status: s400, codes: []string{"bad_request_format"}},
		{name: "type/array body", raw: strp(`[{"certificate":{"common_name":"example.com"}}]`), status: s400, codes: []string{"bad_request_format"}},
		{name: "type/body over 1 MiB", mutate: set("comments", strings.Repeat("a", 1100*1024)), status: http.StatusRequestEntityTooLarge,
			codes: []string{"request_too_large"}},

		// 3. allowed values
		{name: "value/validity_years 3", mutate: set("validity_years", 3), status: s400, codes: bad("validity_years")},
		{name: "value/validity_years 0", mutate: set("validity_years", 0), status: s400, codes: bad("validity_years")},
		{name: "value/signature_hash sha1", mutate: setCert("signature_hash", "sha1"), status: s400, codes: bad("signature_hash")},
		{name: "value/signature_hash md5", mutate: setCert("signature_hash", "md5"), status: s400, codes: bad("signature_hash")},
		{name: "value/payment_method bitcoin", mutate: set("payment_method", "bitcoin"), status: s400, codes: bad("payment_method")},
		{name: "value/card without credit_card", mutate: set("payment_method", "card"), status: s400, codes: missing("credit_card")},
		{name: "value/card Luhn-invalid", mutate: card("4111111111111112", 12, time.Now().Year()+3), status: s400, codes: bad("credit_card")},
		{name: "value/card expired", mutate: card("4111111111111111", 1, 2020), status: s400, codes: bad("credit_card")},
		{name: "value/server_platform id word", mutate: setCert("server_platform", map[string]any{"id": "x"}), status: s400, codes: bad("server_platform")},
		{name: "value/server_platform without id", mutate: setCert("server_platform", map[string]any{}), status: s400, codes: missing("server_platform.id")},
		{name: "value/auto_renew 2", mutate: set("auto_renew", 2), status: s400, codes: bad("auto_renew")},
		{name: "value/locale xx", mutate: set("locale", "xx"), status: s400, codes: bad("locale")},
		{name: "value/dcv_method", mutate: set("dcv_method", "carrier-pigeon"), status: s400, codes: bad("dcv_method")},
		{name: "value/additional_emails", mutate: set("additional_emails", []string{"not-an-email"}), status: s400, codes: bad("additional_emails")},
		{name: "value/alternative_order_id 65", mutate: set("alternative_order_id", strings.Repeat("x", 65)), status: s400, codes: bad("alternative_order_id")},
		{name: "value/profile_option", mutate: setCert("profile_option", "nope"), status: s400, codes: bad("profile_option")},

		// 4. dates
		{name: "date/slashes", mutate: set("custom_expiration_date", "2027/01/01"), status: s400, codes: bad("custom_expiration_date")},
		{name: "date/yesterday", mutate: set("custom_expiration_date", dayFromToday(-1)), status: s400, codes: bad("custom_expiration_date")},
		{name: "date/today", mutate: set("custom_expiration_date", dayFromToday(0)), status: s400, codes: bad("custom_expiration_date")},
		{name: "date/825 days", mutate: set("custom_expiration_date", dayFromToday(825)), status: s400, codes: bad("custom_expiration_date")},
		{name: "date/1000 days", mutate: set("custom_expiration_date", dayFromToday(1000)), status: s400, codes: bad("custom_expiration_date")},
		{name: "date/validity_days 0", mutate: all(del("validity_years"), set("validity_days", 0)), status: s400, codes: bad("validity_days")},
		{name: "date/validity_days 825", mutate: all(del("validity_years"), set("validity_days", 825)), status: s400, codes: bad("validity_days")},
		{name: "date/validity_days negative", mutate: set("validity_days", -5), status: s400, codes: bad("validity_days")},

		// 5. names
		{name: "name/ssl_securesite wildcard", mutate: setCert("common_name", "*.example.com"), status: s400, codes: bad("common_name")},
		{name: "name/wildcard product plain CN", product: "ssl_securesite_wildcard", status: s400, codes: bad("common_name")},
		{name: "name/wildcard product foreign SAN", product: "ssl_securesite_wildcard",
			mutate: all(setCert("common_name", "*.example.com"), setCert("dns_names", []string{"other.com"})), status: s400, codes: bad("dns_names")},
		{name: "name/single name foreign SAN", mutate: setCert("dns_names", []string{"other.com"}), status: s400, codes: bad("dns_names")},
		{name: "name/multi-domain 251 names", product: "ssl_securesite_multi_domain",
			mutate: setCert("dns_names", hostNames(250)), status: s400, codes: bad("dns_names")},
		{name: "name/multi-domain bad SAN syntax", product: "ssl_securesite_multi_domain",
			mutate: setCert("dns_names", []string{"www.example.com", "exa mple.com"}), status: s400, codes: bad("dns_names")},
		{name: "name/EV wildcard", product: "ssl_ev_securesite", mutate: setCert("common_name", "*.example.com"), status: s400, codes: bad("common_name")},
		{name: "name/IDN under non-public TLD", mutate: setCert("common_name", "bücher.example"), status: s400, codes: bad("common_name")},

		// 6. CSR
		{name: "csr/garbage", mutate: setCert("csr", "hello"), status: s400, codes: []string{"csr_invalid_cannot_parse"}},
		{name: "csr/corrupted signature", mutate: setCert("csr", c.badSig), status: s400, codes: []string{"csr_invalid_signature"}},
		{name: "csr/RSA-1024", mutate: setCert("csr", c.rsa1024), status: s400, codes: []string{"csr_invalid_key"}},
		{name: "csr/P-521", mutate: setCert("csr", c.p521), status: s400, codes: []string{"csr_invalid_key"}},

		// 7. references
		{name: "ref/organization 999", mutate: set("organization", map[string]any{"id": 999}), status: s400, codes: bad("organization")},
		{name: "ref/container 999", mutate: set("container", map[string]any{"id": 999}), status: s400, codes: bad("container")},
		{name: "ref/renewal_of_order_id 999", mutate: set("renewal_of_order_id", 999), status: s400, codes: bad("renewal_of_order_id")},
		{name: "ref/renewed_thumbprint unknown", mutate: set("renewed_thumbprint", strings.Repeat("AB", 20)), status: s400, codes: bad("renewed_thumbprint")},
		{name: "ref/custom_fields 999", mutate: set("custom_fields", []any{map[string]any{"metadata_id": 999, "value": "Invoice #1"}}),
			status: s400, codes: bad("custom_fields")},

		// further rules of the server code
		{name: "value/comments over 10000", mutate: set("comments", strings.Repeat("c", 10001)), status: s400, codes: bad("comments")},
		{name: "value/organization unit over 64", mutate: setCert("organization_units", []string{strings.Repeat("u", 65)}), status: s400,
			codes: bad("organization_units")},
		{name: "value/skip_approval word", mutate: set("skip_approval", "yes"), status: s400, codes: bad("skip_approval")},
		{name: "value/renewal_of_order_id word", mutate: set("renewal_of_order_id", "abc"), status: s400, codes: bad("renewal_of_order_id")},
		{name: "value/card month 13", mutate: card("4111111111111111", 13, time.Now().Year()+3), status: s400, codes: bad("credit_card")},
		{name: "value/card cvv short", mutate: all(card("4111111111111111", 12, time.Now().Year()+3),
			func(m map[string]any) { m["credit_card"].(map[string]any)["cvv"] = "12" }), status: s400, codes: bad("credit_card")},
		{name: "value/http-token on wildcard", product: "ssl_securesite_wildcard",
			mutate: all(setCert("common_name", "*.example.com"), set("dcv_method", "http-token")), status: s400, codes: bad("dcv_method")},
		{name: "name/wildcard product second wildcard", product: "ssl_securesite_wildcard",
			mutate: all(setCert("common_name", "*.example.com"), setCert("dns_names", []string{"*.sub.example.com"})), status: s400, codes: bad("dns_names")},
		{name: "name/common_name over 64", mutate: setCert("common_name", strings.Repeat("a", 58)+".example.com"), status: s400, codes: bad("common_name")},
		{name: "ref/new organization with bad CSR", mutate: all(setCert("csr", "hello"), set("organization", map[string]any{
			"name": "Rejected Org Ltd", "address": "1 Main Street", "city": "Springfield", "state": "Oregon", "zip": "97477", "country": "us"})),
			status: s400, codes: []string{"csr_invalid_cannot_parse"}},
		{name: "ref/new organization bad country", mutate: set("organization", map[string]any{
			"name": "Rejected Org Ltd", "address": "1 Main Street", "city": "Springfield", "state": "Oregon", "zip": "97477", "country": "USA"}),
			status: s400, codes: bad("organization")},
		{name: "ref/EV new organization without EV details", product: "ssl_ev_securesite", mutate: set("organization", map[string]any{
			"name": "Rejected Org Ltd", "address": "1 Main Street", "city": "Springfield", "state": "Oregon", "zip": "97477", "country": "us"}),
			status: s400, codes: bad("organization")},
		{name: "name/onion", mutate: all(setCert("common_name", "example.onion"), set("skip_approval", true)), status: s400, codes: bad("common_name")},
		{name: "name/special-use test TLD", mutate: setCert("dns_names", []string{"example.com", "host.test"}), status: s400, codes: bad("dns_names")},
		{name: "ref/container word", mutate: set("container", map[string]any{"id": "x"}), status: s400, codes: bad("container")},

		// 8. product, key, route
		{name: "route/unknown product", product: "ssl_nope", status: s404, codes: []string{"not_found|product"}},
		{name: "auth/no key", key: strp(""), status: s403, codes: []string{"access_denied|access_denied_invalid_key"}},
		{name: "auth/wrong key", key: strp("WRONGKEY" + strings.Repeat("1", 44)), status: s403, codes: []string{"access_denied|access_denied_invalid_key"}},
		{name: "auth/no key bad body", key: strp(""), raw: strp(`{"certificate":`), status: s403, codes: []string{"access_denied|access_denied_invalid_key"}},
		{name: "route/unknown route", method: "GET", path: "/services/v2/nope", raw: strp(""), status: s404, codes: []string{"not_found|route"}},
		{name: "route/wrong method", method: "DELETE", status: s404, codes: []string{"not_found|route"}},

		// 9. several errors at once
		{name: "multi/hash and validity", mutate: all(setCert("signature_hash", "sha1"), set("validity_years", 3)), status: s400,
			codes: []string{"invalid_value:signature_hash", "invalid_value:validity_years"}},
		{name: "multi/five at once", mutate: all(setCert("common_name", "exa mple.com"), setCert("csr", "hello"), delCert("signature_hash"),
			set("locale", "xx"), set("organization", map[string]any{"id": 999})), status: s400,
			codes: []string{"invalid_value:common_name", "csr_invalid_cannot_parse", "missing_field:signature_hash", "invalid_value:locale", "invalid_value:organization"}},
	}
	for _, n := range []string{"exa mple.com", "-bad.example.com", "example", "example.invalidtld", "1.2.3.4", "a..b.com", "example.com.",
		"ex*ample.com", "*", "com", "co.uk", strings.Repeat("a", 64) + ".com"} {
		cases = append(cases, rejectCase{name: "name/syntax " + n, mutate: setCert("common_name", n), status: s400, codes: bad("common_name")})
	}
	return cases
}

// acceptCase is a body mutation that must be accepted as a pending order.
type acceptCase struct {
	name    string
	product string
	mutate  func(m map[string]any)
}

func acceptCases(c csrs) []acceptCase {
	return []acceptCase{
		{name: "base"},
		{name: "validity_years numeric string", mutate: set("validity_years", "1")},
		{name: "validity_years 2", mutate: set("validity_years", 2)},
		{name: "organization id numeric string", mutate: set("organization", map[string]any{"id": "1"})},
		{name: "unknown fields ignored", mutate: all(set("foo", map[string]any{"bar": 1}), setCert("extra", true))},
		{name: "signature_hash SHA384", mutate: setCert("signature_hash", "SHA384")},
		{name: "signature_hash sha512", mutate: setCert("signature_hash", "sha512")},
		{name: "CSR on one line", mutate: setCert("csr", testenv.OneLine(c.p256))},
		{name: "CSR RSA-2048", mutate: setCert("csr", c.rsa2048)},
		{name: "CSR P-384", mutate: setCert("csr", c.p384)},
		{name: "www twin", mutate: setCert("dns_names", []string{"www.example.com"})},
		{name: "empty dns_names entries", mutate: setCert("dns_names", []string{"", "example.com"})},
		{name: "server_platform 45", mutate: setCert("server_platform", map[string]any{"id": 45})},
		{name: "custom date 824 days", mutate: set("custom_expiration_date", dayFromToday(824))},
		{name: "custom date without validity_years", mutate: all(del("validity_years"), set("custom_expiration_date", dayFromToday(90)))},
		{name: "validity_days 1", mutate: all(del("validity_years"), set("validity_days", 1))},
		{name: "validity_days 824", mutate: all(del("validity_years"), set("validity_days", 824))},
		{name: "payment_method profile", mutate: set("payment_method", "profile")},
		{name: "optional fields", mutate: all(set("auto_renew", 1), set("locale", "de"), set("dcv_method", "dns-txt-token"),
			set("additional_emails", []string{"ops@example.com"}), set("alternative_order_id", strings.Repeat("x", 64)),
			setCert("profile_option", "server_auth_only_eku"), setCert("organization_units", []string{"Accounting department"}),
			set("comments", "Message for the approver"), set("disable_renewal_notifications", true), set("container", map[string]any{"id": 1}))},
		{name: "multi-domain 250 names", product: "ssl_securesite_multi_domain",
			mutate: setCert("dns_names", append([]string{"example.com"}, hostNames(249)...))},
		{name: "EV single name", product: "ssl_ev_securesite"},
		{name: "www CN with bare twin", mutate: all(setCert("common_name", "www.example.com"), setCert("dns_names", []string{"example.com"}))},
		{name: "common_name of 64", mutate: setCert("common_name", strings.Repeat("a", 52)+".example.com")},
		{name: "long name in dns_names", product: "ssl_securesite_multi_domain",
			mutate: setCert("dns_names", []string{strings.Repeat("a", 63) + "." + strings.Repeat("b", 20) + ".example.com"})},
		{name: "wildcard with www", product: "ssl_securesite_wildcard",
			mutate: all(setCert("common_name", "*.example.com"), setCert("dns_names", []string{"www.example.com"}), set("dcv_method", "dns-txt-token"))},
		{name: "card number with spaces", mutate: all(set("payment_method", "card"), set("credit_card", map[string]any{
			"number": "4111 1111 1111 1111", "expiration": map[string]any{"month": "12", "year": time.Now().Year()%100 + 3}}))},
		{name: "signature_hash padded", mutate: setCert("signature_hash", " sha256 ")},
		{name: "validity_years 2.0", mutate: set("validity_years", 2.0)},
		{name: "null optional fields", mutate: all(set("auto_renew", nil), set("renewal_of_order_id", nil), set("container", nil),
			setCert("dns_names", nil), set("skip_approval", nil))},
	}
}

// TestCreateOrder runs every table against one sandbox server.
func TestCreateOrder(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	c := makeCSRs(t)

	t.Run("rejected", func(t *testing.T) {
		before := counts(t, srv)
		for _, tc := range rejectCases(c) {
			t.Run(tc.name, func(t *testing.T) {
				b := counts(t, srv)
				status, hdr, body := tc.send(t, srv, c.p256)
				requireTally(t, srv, b, tally{})
				requireErrors(t, status, hdr, body, tc.status, tc.codes...)
			})
		}
		requireTally(t, srv, before, tally{})
	})

	t.Run("accepted", func(t *testing.T) {
		for _, tc := range acceptCases(c) {
			t.Run(tc.name, func(t *testing.T) {
				product := tc.product
				if product == "" {
					product = "ssl_securesite"
				}
				m := baseBody(c.p256)
				if tc.mutate != nil {
					tc.mutate(m)
				}
				b := counts(t, srv)
				got := createOK(t, srv, product, mustJSON(t, m))
				got.requirePending(t)
				requireTally(t, srv, b, tally{orders: 1, requests: 1})
				info, _ := getOrder(t, srv, got.ID)
				if info.Status != "needs_approval" {
					t.Errorf("order status = %q, want needs_approval", info.Status)
				}
			})
		}
	})

	t.Run("body size limit", func(t *testing.T) {
		for _, n := range []int{1 << 20, 1<<20 + 1} {
			m := baseBody(c.p256)
			m["padding"] = ""
			m["padding"] = strings.Repeat("p", n-len(mustJSON(t, m)))
			body := mustJSON(t, m)
			if len(body) != n {
				t.Fatalf("built a body of %d bytes, want %d", len(body), n)
			}
			b := counts(t, srv)
			status, hdr, resp := srv.Do("POST", orderPath+"ssl_securesite", body)
			if n == 1<<20 {
				requireCreated(t, status, hdr, resp).requirePending(t)
				requireTally(t, srv, b, tally{orders: 1, requests: 1})
				continue
			}
			requireErrors(t, status, hdr, resp, http.StatusRequestEntityTooLarge, "request_too_large")
			requireTally(t, srv, b, tally{})
		}
	})
	t.Run("immediate issuance", func(t *testing.T) { testImmediate(t, srv, c) })
	t.Run("card", func(t *testing.T) { testCard(t, srv, c) })
	t.Run("renewal", func(t *testing.T) { testRenewal(t, srv, c) })
	t.Run("inline organization", func(t *testing.T) { testInlineOrg(t, srv, c) })
	// Last: it defines a required custom field, which every later order needs.
	t.Run("custom fields", func(t *testing.T) { testCustomFields(t, srv, c) })
}

// createOK places an order that must be accepted.
func createOK(t *testing.T, srv *testenv.Server, product, body string) created {
	t.Helper()
	status, hdr, b := srv.Do("POST", orderPath+product, body)
	return requireCreated(t, status, hdr, b)
}

func sortedEqual(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func testImmediate(t *testing.T, srv *testenv.Server, c csrs) {
	type issueCase struct {
		name     string
		product  string
		mutate   func(map[string]any)
		cn       string
		sans     []string
		notAfter string // yyyy-MM-dd, when fixed by the order
	}
	in30 := dayFromToday(30)
	cases := []issueCase{
		{name: "base", cn: "example.com", sans: []string{"example.com"}},
		{name: "www twin RSA SHA384", mutate: all(setCert("csr", c.rsa2048), setCert("signature_hash", "sha384"),
			setCert("dns_names", []string{"www.example.com"})), cn: "example.com", sans: []string{"example.com", "www.example.com"}},
		{name: "custom expiration date overrides validity_years", mutate: all(set("validity_years", 2), set("custom_expiration_date", in30)),
			cn: "example.com", sans: []string{"example.com"}, notAfter: in30},
		{name: "wildcard", product: "ssl_securesite_wildcard", mutate: setCert("common_name", "*.example.com"),
			cn: "*.example.com", sans: []string{"*.example.com", "example.com"}},
		{name: "wildcard with name under base", product: "ssl_securesite_wildcard",
			mutate: all(setCert("common_name", "*.example.com"), setCert("dns_names", []string{"a.b.example.com"})),
			cn:     "*.example.com", sans: []string{"*.example.com", "a.b.example.com", "example.com"}},
		{name: "IDN converted to A-labels", mutate: setCert("common_name", "bücher.com"),
			cn: "xn--bcher-kva.com", sans: []string{"xn--bcher-kva.com"}},
		{name: "upper case normalised", mutate: setCert("common_name", "EXAMPLE.com"), cn: "example.com", sans: []string{"example.com"}},
		{name: "CSR names ignored", product: "ssl_securesite_multi_domain",
			mutate: all(setCert("csr", c.evil), setCert("dns_names", []string{"www.example.com", "shop.example.net"})),
			cn:     "example.com", sans: []string{"example.com", "www.example.com", "shop.example.net"}},
		{name: "EV", product: "ssl_ev_securesite", cn: "example.com", sans: []string{"example.com"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			product := tc.product
			if product == "" {
				product = "ssl_securesite"
			}
			m := baseBody(c.p256)
			m["skip_approval"] = true
			if tc.mutate != nil {
				tc.mutate(m)
			}
			b := counts(t, srv)
			got := createOK(t, srv, product, mustJSON(t, m))
			got.requireKeys(t, "id", "certificate_id", "certificate_chain")
			chain := got.requireChain(t, tc.cn)
			leaf := chain[0]
			if leaf.Subject.CommonName != tc.cn {
				t.Errorf("leaf CN = %q, want %q", leaf.Subject.CommonName, tc.cn)
			}
			if !sortedEqual(leaf.DNSNames, tc.sans) {
				t.Errorf("leaf SANs = %q, want %q", leaf.DNSNames, tc.sans)
			}
			if len(leaf.IPAddresses)+len(leaf.EmailAddresses)+len(leaf.URIs) != 0 {
				t.Errorf("leaf carries SANs other than DNS names")
			}
			for _, n := range append([]string{leaf.Subject.CommonName}, leaf.DNSNames...) {
				if strings.Contains(n, "evil") {
					t.Errorf("a name from the CSR reached the certificate: %q", n)
				}
			}
			if tc.notAfter != "" {
				if d := leaf.NotAfter.UTC().Format("2006-01-02"); d != tc.notAfter {
					t.Errorf("notAfter = %s, want on %s", leaf.NotAfter.UTC(), tc.notAfter)
				}
			}
			requireTally(t, srv, b, tally{orders: 1})
			info, _ := getOrder(t, srv, got.ID)
			if info.Status != "issued" {
				t.Errorf("order status = %q, want issued", info.Status)
			}
		})
	}
}

func testCard(t *testing.T, srv *testenv.Server, c csrs) {
	const number = "4111111111111111"
	m := baseBody(c.p256)
	m["payment_method"] = "card"
	m["credit_card"] = map[string]any{"number": number, "expiration": map[string]any{"month": 12, "year": time.Now().Year() + 3},
		"cvv": "123", "name": "Jane Doe", "zip_code": "84043"}
	status, hdr, body := srv.Do("POST", orderPath+"ssl_securesite", mustJSON(t, m))
	got := requireCreated(t, status, hdr, body)
	got.requirePending(t)
	if strings.Contains(string(body), number) {
		t.Errorf("the 201 answer holds the card number")
	}
	info, raw := getOrder(t, srv, got.ID)
	if info.PaymentMethod != "card" || info.CardLastFour != "1111" {
		t.Errorf("payment_method %q, card_last_four %q; want card, 1111", info.PaymentMethod, info.CardLastFour)
	}
	for _, s := range []string{number, "411111", `"cvv"`, `"123"`} {
		if strings.Contains(string(raw), s) {
			t.Errorf("order info holds %s: %s", s, clip(raw))
		}
	}
	_, _, reqBody := srv.Do("GET", fmt.Sprintf("/services/v2/request/%d", got.Requests[0].ID), "")
	if strings.Contains(string(reqBody), number) {
		t.Errorf("request info holds the card number")
	}
}

func testRenewal(t *testing.T, srv *testenv.Server, c csrs) {
	place := func(t *testing.T, extra map[string]any) created {
		t.Helper()
		m := baseBody(c.p256)
		m["skip_approval"] = true
		for k, v := range extra {
			m[k] = v
		}
		got := createOK(t, srv, "ssl_securesite", mustJSON(t, m))
		got.requireChain(t, "example.com")
		return got
	}
	reject := func(t *testing.T, extra map[string]any, codes ...string) {
		t.Helper()
		m := baseBody(c.p256)
		for k, v := range extra {
			m[k] = v
		}
		b := counts(t, srv)
		status, hdr, body := srv.Do("POST", orderPath+"ssl_securesite", mustJSON(t, m))
		requireTally(t, srv, b, tally{})
		requireErrors(t, status, hdr, body, http.StatusBadRequest, codes...)
	}

	old := place(t, nil)
	var renewal created
	t.Run("by order id", func(t *testing.T) {
		renewal = place(t, map[string]any{"renewal_of_order_id": old.ID})
		oldInfo, _ := getOrder(t, srv, old.ID)
		if !oldInfo.IsRenewed || oldInfo.RenewedOrderID != renewal.ID {
			t.Errorf("old order: is_renewed %v renewed_order_id %d; want true, %d", oldInfo.IsRenewed, oldInfo.RenewedOrderID, renewal.ID)
		}
		newInfo, _ := getOrder(t, srv, renewal.ID)
		if !newInfo.IsRenewal || newInfo.RenewalOfOrderID != old.ID || newInfo.IsRenewed {
			t.Errorf("new order: is_renewal %v renewal_of_order_id %d is_renewed %v; want true, %d, false",
				newInfo.IsRenewal, newInfo.RenewalOfOrderID, newInfo.IsRenewed, old.ID)
		}
	})
	t.Run("second renewal by order id", func(t *testing.T) {
		reject(t, map[string]any{"renewal_of_order_id": old.ID}, "invalid_value:renewal_of_order_id")
	})
	t.Run("renewal of a pending order", func(t *testing.T) {
		m := baseBody(c.p256)
		pending := createOK(t, srv, "ssl_securesite", mustJSON(t, m))
		reject(t, map[string]any{"renewal_of_order_id": pending.ID}, "invalid_value:renewal_of_order_id")
	})
	if renewal.ID == 0 {
		t.Fatal("no renewal order to continue with")
	}
	info, _ := getOrder(t, srv, renewal.ID)
	tp := info.Certificate.Thumbprint
	if len(tp) != 40 {
		t.Fatalf("certificate.thumbprint = %q, want 40 hex digits", tp)
	}
	t.Run("by thumbprint", func(t *testing.T) {
		third := place(t, map[string]any{"renewed_thumbprint": tp})
		prev, _ := getOrder(t, srv, renewal.ID)
		if !prev.IsRenewed || prev.RenewedOrderID != third.ID {
			t.Errorf("renewed order: is_renewed %v renewed_order_id %d; want true, %d", prev.IsRenewed, prev.RenewedOrderID, third.ID)
		}
		next, _ := getOrder(t, srv, third.ID)
		if !next.IsRenewal || next.RenewalOfOrderID != renewal.ID {
			t.Errorf("renewal: is_renewal %v renewal_of_order_id %d; want true, %d", next.IsRenewal, next.RenewalOfOrderID, renewal.ID)
		}
	})
	t.Run("second renewal by thumbprint", func(t *testing.T) {
		reject(t, map[string]any{"renewed_thumbprint": tp}, "invalid_value:renewed_thumbprint")
	})
}

func testInlineOrg(t *testing.T, srv *testenv.Server, c csrs) {
	org := func() map[string]any {
		return map[string]any{"name": "Acme Widgets Ltd", "address": "1 Main Street", "city": "Springfield",
			"state": "Oregon", "zip": "97477", "country": "us"}
	}
	body := func(o map[string]any, skip bool) string {
		m := baseBody(c.p256)
		m["organization"] = o
		if skip {
			m["skip_approval"] = true
		}
		return mustJSON(t, m)
	}

	first := createOK(t, srv, "ssl_securesite", body(org(), false))
	first.requireKeys(t, "id", "organization", "requests")
	if first.Organization == nil || first.Organization.ID <= 1 {
		t.Fatalf("organization = %+v, want a new organization id", first.Organization)
	}
	orgID := first.Organization.ID
	if info, _ := getOrder(t, srv, first.ID); info.Organization == nil || info.Organization.ID != orgID {
		t.Errorf("order info organization = %+v, want id %d", info.Organization, orgID)
	}

	second := createOK(t, srv, "ssl_securesite", body(org(), false))
	second.requirePending(t) // no "organization" key: nothing was created
	if info, _ := getOrder(t, srv, second.ID); info.Organization == nil || info.Organization.ID != orgID {
		t.Errorf("duplicate check: order info organization = %+v, want the existing id %d", info.Organization, orgID)
	}

	o := org()
	o["skip_duplicate_org_check"] = true
	third := createOK(t, srv, "ssl_securesite", body(o, true))
	third.requireKeys(t, "id", "organization", "certificate_id", "certificate_chain")
	if third.Organization == nil || third.Organization.ID == orgID || third.Organization.ID <= 1 {
		t.Fatalf("skip_duplicate_org_check: organization = %+v, want a new id other than %d", third.Organization, orgID)
	}
	leaf := third.requireChain(t, "example.com")[0]
	if !slices.Equal(leaf.Subject.Organization, []string{"Acme Widgets Ltd"}) || !slices.Equal(leaf.Subject.Country, []string{"US"}) {
		t.Errorf("leaf subject = %s, want O=Acme Widgets Ltd, C=US", leaf.Subject)
	}
	if info, _ := getOrder(t, srv, third.ID); info.Organization == nil || info.Organization.ID != third.Organization.ID {
		t.Errorf("order info organization = %+v, want id %d", info.Organization, third.Organization.ID)
	}

	t.Run("duplicate check is case-insensitive", func(t *testing.T) {
		o := org()
		o["name"], o["country"] = "ACME WIDGETS LTD", "US"
		b := counts(t, srv)
		createOK(t, srv, "ssl_securesite", body(o, false)).requirePending(t)
		requireTally(t, srv, b, tally{orders: 1, requests: 1})
	})
	t.Run("identical orders with a padded name share one organization", func(t *testing.T) {
		o := org()
		o["name"] = "Padded Widgets Ltd "
		first := createOK(t, srv, "ssl_securesite", body(o, false))
		first.requireKeys(t, "id", "organization", "requests")
		b := counts(t, srv)
		again := createOK(t, srv, "ssl_securesite", body(o, false))
		info, _ := getOrder(t, srv, again.ID)
		if again.Organization != nil || info.Organization == nil || info.Organization.ID != first.Organization.ID {
			t.Errorf("second identical order: organization in answer %+v, in order info %+v; want none created and id %d reused",
				again.Organization, info.Organization, first.Organization.ID)
		}
		again.requirePending(t)
		requireTally(t, srv, b, tally{orders: 1, requests: 1})
	})
}

// TestCreateOrderNonSandbox: skip_approval without sandbox validation
// answers {id, certificate_id} and leaves the order pending.
func TestCreateOrderNonSandbox(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: false})
	csr := testenv.CSR(t, testenv.ECKey(t, elliptic.P256()), "ignored.example.org")

	m := baseBody(csr)
	m["skip_approval"] = true
	b := counts(t, srv)
	got := createOK(t, srv, "ssl_securesite", mustJSON(t, m))
	got.requireKeys(t, "id", "certificate_id")
	if got.CertificateID <= 0 {
		t.Errorf("certificate_id = %d", got.CertificateID)
	}
	requireTally(t, srv, b, tally{orders: 1})
	info, _ := getOrder(t, srv, got.ID)
	if info.Status != "pending" {
		t.Errorf("order status = %q, want pending", info.Status)
	}

	plain := createOK(t, srv, "ssl_securesite", mustJSON(t, baseBody(csr)))
	plain.requirePending(t)
}

func testCustomFields(t *testing.T, srv *testenv.Server, c csrs) {
	define := func(t *testing.T, body string) int64 {
		t.Helper()
		status, hdr, b := srv.Do("POST", "/services/v2/account/metadata", body)
		if status != http.StatusCreated {
			t.Fatalf("define custom field: %d %s", status, clip(b))
		}
		requireJSON(t, hdr)
		var v struct {
			ID int64 `json:"id"`
		}
		if err := json.Unmarshal(b, &v); err != nil || v.ID <= 0 {
			t.Fatalf("define custom field: %v %s", err, clip(b))
		}
		return v.ID
	}
	withFields := func(fields ...any) string {
		m := baseBody(c.p256)
		if fields != nil {
			m["custom_fields"] = fields
		}
		return mustJSON(t, m)
	}
	field := func(id, value any) map[string]any { return map[string]any{"metadata_id": id, "value": value} }
	reject := func(t *testing.T, body string, codes ...string) {
		t.Helper()
		b := counts(t, srv)
		status, hdr, resp := srv.Do("POST", orderPath+"ssl_securesite", body)
		requireErrors(t, status, hdr, resp, http.StatusBadRequest, codes...)
		requireTally(t, srv, b, tally{})
	}
	accept := func(t *testing.T, body string) {
		t.Helper()
		createOK(t, srv, "ssl_securesite", body).requirePending(t)
	}

	intID := define(t, `{"label":"Invoice number","data_type":"int"}`)
	t.Run("int value not an integer", func(t *testing.T) {
		reject(t, withFields(field(intID, "abc")), "invalid_value:custom_fields")
	})
	t.Run("empty value", func(t *testing.T) { reject(t, withFields(field(intID, " ")), "invalid_value:custom_fields") })
	t.Run("object value", func(t *testing.T) {
		reject(t, withFields(field(intID, map[string]any{"a": 1})), "invalid_value:custom_fields")
	})
	t.Run("no metadata_id", func(t *testing.T) {
		reject(t, withFields(map[string]any{"value": "1"}), "invalid_value:custom_fields")
	})
	t.Run("int value as number", func(t *testing.T) { accept(t, withFields(field(intID, 42))) })
	t.Run("int value as string, id as string", func(t *testing.T) {
		accept(t, withFields(field(fmt.Sprint(intID), "42")))
	})

	reqID := define(t, `{"label":"Cost center","is_required":true}`)
	t.Run("required field missing", func(t *testing.T) { reject(t, withFields(), "invalid_value:custom_fields") })
	t.Run("required field and a bad one", func(t *testing.T) {
		reject(t, withFields(field(intID, "x")), "invalid_value:custom_fields", "invalid_value:custom_fields")
	})
	t.Run("required field given", func(t *testing.T) { accept(t, withFields(field(reqID, "CC-1"))) })
}
