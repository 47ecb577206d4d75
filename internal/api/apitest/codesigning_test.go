package apitest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/policy"
	"github.com/certorder/certorder/internal/testenv"
)

// Code signing (seed 002): code_signing and code_signing_ev.

const (
	csPolicy   = "2.23.140.1.4.1" // CA/B Forum code signing
	csEVPolicy = "2.23.140.1.3"   // CA/B Forum EV code signing
	csOrgName  = "Example Inc."   // organization 1 of a fresh server
)

// csShip is seed 002's ship_info, without the fields named in drop.
func csShip(drop ...string) map[string]any {
	s := map[string]any{"name": "Erin Guerra", "addr1": "360 Taylor Street", "addr2": "Floor 74", "city": "Richmond",
		"state": "va", "zip": "69662", "country": "us", "method": "EXPEDITED"}
	for _, d := range drop {
		delete(s, d)
	}
	return s
}

// csSeedBody is seed 002's example body; csr "" leaves the CSR out, as the
// seed does. The seed's container 654321 and custom field 12 do not exist
// here: the account's default container is named instead and the custom
// fields are left out.
func csSeedBody(csr string) map[string]any {
	c := map[string]any{"server_platform": map[string]any{"id": 52}, "signature_hash": "sha256"}
	if csr != "" {
		c["csr"] = csr
	}
	return map[string]any{
		"certificate":            c,
		"cs_provisioning_method": "ship_token",
		"order_validity":         map[string]any{"years": 1},
		"comments":               "Message for the approver",
		"skip_approval":          true,
		"organization":           map[string]any{"id": 1},
		"container":              map[string]any{"id": 1},
		"ship_info":              csShip(),
		"auto_renew":             1,
		"custom_renewal_message": "Renew this please.",
		"payment_method":         "balance",
	}
}

// csBase is the smallest accepted body: a CSR, platform 52, SHA-256, one
// year, organization 1, paid from the balance.
func csBase(csr string) map[string]any {
	return map[string]any{
		"certificate":    map[string]any{"server_platform": map[string]any{"id": 52}, "signature_hash": "sha256", "csr": csr},
		"order_validity": map[string]any{"years": 1},
		"organization":   map[string]any{"id": 1},
		"payment_method": "balance",
	}
}

func csNewOrg(name string) map[string]any {
	return map[string]any{"name": name, "address": "1 Main Street", "city": "Springfield", "state": "Oregon", "zip": "97477", "country": "us"}
}

// csKeys are the keys and CSRs of the code signing tests.
type csKeys struct {
	p256Key                                    *ecdsa.PrivateKey
	p256, p384, p521, rsa3072, rsa2048, badSig string
}

func makeCSKeys(t *testing.T) csKeys {
	k := testenv.ECKey(t, elliptic.P256())
	p256 := testenv.CSR(t, k, "ignored")
	return csKeys{
		p256Key: k,
		p256:    p256,
		p384:    testenv.CSR(t, testenv.ECKey(t, elliptic.P384()), "ignored"),
		p521:    testenv.CSR(t, testenv.ECKey(t, elliptic.P521()), "ignored"),
		rsa3072: testenv.CSR(t, csRSA3072(t), "ignored"),
		rsa2048: testenv.CSR(t, testenv.RSAKey(t), "ignored"),
		badSig:  corruptSignature(t, p256),
	}
}

func csRejectCases(k csKeys) []rejectCase {
	bad := func(f string) []string { return []string{"invalid_value:" + f} }
	missing := func(f string) []string { return []string{"missing_field:" + f} }
	ev := "code_signing_ev"
	return []rejectCase{
		// hash
		{name: "hash/sha384", mutate: setCert("signature_hash", "sha384"), codes: bad("signature_hash")},
		{name: "hash/sha512", mutate: setCert("signature_hash", "sha512"), codes: bad("signature_hash")},
		{name: "hash/sha1 EV", product: ev, mutate: all(set("cs_provisioning_method", "client_app"), setCert("signature_hash", "sha1")),
			codes: bad("signature_hash")},
		{name: "hash/missing", mutate: delCert("signature_hash"), codes: missing("signature_hash")},

		// keys
		{name: "csr/RSA-2048", mutate: setCert("csr", k.rsa2048), codes: []string{"csr_invalid_key"}},
		{name: "csr/RSA-2048 EV", product: ev, mutate: all(set("cs_provisioning_method", "client_app"), setCert("csr", k.rsa2048)),
			codes: []string{"csr_invalid_key"}},
		{name: "csr/P-521", mutate: setCert("csr", k.p521), codes: []string{"csr_invalid_key"}},
		{name: "csr/garbage", mutate: setCert("csr", "hello"), codes: []string{"csr_invalid_cannot_parse"}},
		{name: "csr/corrupted signature", mutate: setCert("csr", k.badSig), codes: []string{"csr_invalid_signature"}},
		{name: "csr/missing with platform 55", mutate: all(delCert("csr"), setCert("server_platform", map[string]any{"id": 55})),
			codes: missing("csr")},
		{name: "csr/missing with email provisioning", mutate: all(delCert("csr"), delCert("server_platform"), set("cs_provisioning_method", "email")),
			codes: missing("csr")},
		{name: "csr/missing with email provisioning EV", product: ev, mutate: all(delCert("csr"), set("cs_provisioning_method", "email")),
			codes: missing("csr")},

		// provisioning and platform
		{name: "provisioning/EV without method", product: ev, codes: missing("cs_provisioning_method")},
		{name: "provisioning/EV without method or platform", product: ev, mutate: delCert("server_platform"),
			codes: []string{"missing_field:cs_provisioning_method", "missing_field:server_platform"}},
		{name: "provisioning/unknown method", mutate: set("cs_provisioning_method", "carrier_pigeon"), codes: bad("cs_provisioning_method")},
		{name: "provisioning/unknown method EV", product: ev, mutate: set("cs_provisioning_method", "none"), codes: bad("cs_provisioning_method")},
		{name: "platform/missing without method", mutate: delCert("server_platform"), codes: missing("server_platform")},
		{name: "platform/missing with client_app", mutate: all(delCert("server_platform"), set("cs_provisioning_method", "client_app")),
			codes: missing("server_platform")},
		{name: "platform/missing with client_app EV", product: ev, mutate: all(delCert("server_platform"), set("cs_provisioning_method", "client_app")),
			codes: missing("server_platform")},
		{name: "platform/id word", mutate: setCert("server_platform", map[string]any{"id": "x"}), codes: bad("server_platform")},
		{name: "platform/no id", mutate: setCert("server_platform", map[string]any{}), codes: missing("server_platform.id")},

		// ship_info
		{name: "ship_info/method FAST", product: ev, mutate: all(set("cs_provisioning_method", "ship_token"),
			set("ship_info", func() map[string]any { s := csShip(); s["method"] = "FAST"; return s }())), codes: bad("ship_info")},
		{name: "ship_info/no city", product: ev, mutate: all(set("cs_provisioning_method", "ship_token"), set("ship_info", csShip("city"))),
			codes: missing("ship_info.city")},
		{name: "ship_info/no method", product: ev, mutate: all(set("cs_provisioning_method", "ship_token"), set("ship_info", csShip("method"))),
			codes: missing("ship_info.method")},
		{name: "ship_info/no name", mutate: all(set("cs_provisioning_method", "ship_token"), set("ship_info", csShip("name"))),
			codes: missing("ship_info.name")},
		{name: "ship_info/country USA", mutate: all(set("cs_provisioning_method", "ship_token"),
			set("ship_info", func() map[string]any { s := csShip(); s["country"] = "USA"; return s }())), codes: bad("ship_info")},
		{name: "ship_info/no city with client_app", mutate: all(set("cs_provisioning_method", "client_app"), set("ship_info", csShip("city"))),
			codes: missing("ship_info.city")},
		{name: "ship_info/country USA with email", mutate: all(set("cs_provisioning_method", "email"),
			set("ship_info", func() map[string]any { s := csShip(); s["country"] = "USA"; return s }())), codes: bad("ship_info")},
		{name: "ship_info/method FAST without a method", mutate: set("ship_info", func() map[string]any { s := csShip(); s["method"] = "FAST"; return s }()),
			codes: bad("ship_info")},

		// validity
		{name: "validity/years 4", mutate: set("order_validity", map[string]any{"years": 4}), codes: bad("order_validity")},
		{name: "validity/years 0", mutate: set("order_validity", map[string]any{"years": 0}), codes: bad("order_validity")},
		{name: "validity/days 1096", mutate: set("order_validity", map[string]any{"days": 1096}), codes: bad("order_validity")},
		{name: "validity/custom date 1096 days", mutate: set("order_validity", map[string]any{"custom_expiration_date": dvcsPlanDate(1096)}),
			codes: bad("order_validity")},
		{name: "validity/custom date MM/dd/yyyy", mutate: set("order_validity", map[string]any{"custom_expiration_date": "05/01/2027"}),
			codes: bad("order_validity")},
		{name: "validity/missing", mutate: del("order_validity"), codes: missing("order_validity")},
		{name: "validity/legacy validity_years 4", mutate: all(del("order_validity"), set("validity_years", 4)), codes: bad("validity_years")},
		{name: "validity/legacy custom date MM/dd/yyyy", mutate: all(del("order_validity"), set("custom_expiration_date", "05/01/2027")),
			codes: bad("custom_expiration_date")},

		// organization
		{name: "organization/missing", mutate: del("organization"), codes: missing("organization")},
		{name: "organization/999", mutate: set("organization", map[string]any{"id": 999}), codes: bad("organization")},
		{name: "organization/inline without city", mutate: set("organization", func() map[string]any {
			o := csNewOrg("Refused Code Works Ltd")
			delete(o, "city")
			return o
		}()), codes: missing("organization.city")},
		{name: "organization/EV inline without EV details", product: ev, mutate: all(set("cs_provisioning_method", "client_app"),
			set("organization", csNewOrg("Refused Code Works Ltd"))), codes: bad("organization")},
		{name: "organization/inline with a bad CSR", mutate: all(setCert("csr", "hello"), set("organization", csNewOrg("Refused Code Works Ltd"))),
			codes: []string{"csr_invalid_cannot_parse"}},

		// other fields
		{name: "alternative_order_id 65", mutate: set("alternative_order_id", strings.Repeat("b", 65)), codes: bad("alternative_order_id")},
		{name: "payment_method bitcoin", mutate: set("payment_method", "bitcoin"), codes: bad("payment_method")},
		{name: "locale xx", mutate: set("locale", "xx"), codes: bad("locale")},

		// several at once
		{name: "multi/hash validity key", mutate: all(setCert("signature_hash", "sha384"), set("order_validity", map[string]any{"years": 4}),
			setCert("csr", k.rsa2048)), codes: []string{"invalid_value:signature_hash", "invalid_value:order_validity", "csr_invalid_key"}},
		{name: "multi/EV method and organization", product: ev, mutate: all(set("cs_provisioning_method", "fedex"),
			set("organization", map[string]any{"id": 999})), codes: []string{"invalid_value:cs_provisioning_method", "invalid_value:organization"}},
	}
}

type csAcceptCase struct {
	name    string
	product string
	body    func(csr string) map[string]any // default csBase
	csr     string                          // default P-256
	mutate  func(map[string]any)
	till    string
	method  string // cs_provisioning_method in order info, when one was sent
	check   func(t *testing.T, o dvcsOrder)
}

func csAcceptCases(k csKeys) []csAcceptCase {
	seedShip := func(t *testing.T, o dvcsOrder) {
		s := o.ShipInfo
		if s == nil || s.Name != "Erin Guerra" || s.Addr1 != "360 Taylor Street" || s.Addr2 != "Floor 74" || s.City != "Richmond" ||
			s.State != "va" || s.Zip != "69662" || s.Country != "us" || s.Method != "EXPEDITED" {
			t.Errorf("ship_info = %+v, want the seed's", s)
		}
	}
	ev := "code_signing_ev"
	return []csAcceptCase{
		{name: "seed 002 body without CSR or skip_approval", body: csSeedBody, csr: "-", mutate: del("skip_approval"), till: dvcsInYears(1),
			method: "ship_token", check: seedShip},
		{name: "seed 002 body EV without CSR or skip_approval", product: ev, body: csSeedBody, csr: "-", mutate: del("skip_approval"),
			method: "ship_token", check: seedShip},
		{name: "validity/years 2", mutate: set("order_validity", map[string]any{"years": 2}), till: dvcsInYears(2)},
		{name: "validity/years 3", mutate: set("order_validity", map[string]any{"years": 3}), till: dvcsInYears(3)},
		{name: "validity/days 1095", mutate: set("order_validity", map[string]any{"days": 1095}), till: dayFromToday(1095)},
		{name: "validity/custom date", mutate: set("order_validity", map[string]any{"custom_expiration_date": dvcsPlanDate(100)}),
			till: dayFromToday(100)},
		{name: "validity/legacy validity_years 3", mutate: all(del("order_validity"), set("validity_years", 3)), till: dvcsInYears(3)},
		{name: "validity/legacy custom date", mutate: all(del("order_validity"), set("custom_expiration_date", dayFromToday(300))),
			till: dayFromToday(300)},
		{name: "validity/order_validity wins over validity_years", mutate: set("validity_years", 5), till: dvcsInYears(1)},
		// Every date field takes every date form (decisions.md).
		{name: "validity/custom date yyyy-MM-dd", mutate: set("order_validity", map[string]any{"custom_expiration_date": dayFromToday(30)}),
			till: dayFromToday(30)},
		{name: "validity/legacy custom date in plan layout", mutate: all(del("order_validity"), set("custom_expiration_date", dvcsPlanDate(30))),
			till: dayFromToday(30)},
		{name: "key/RSA-3072", csr: k.rsa3072},
		{name: "key/P-384", csr: k.p384},
		{name: "key/CSR on one line", csr: testenv.OneLine(k.p256)},
		{name: "hash/SHA256 upper case", mutate: setCert("signature_hash", "SHA256")},
		{name: "platform/55 with CSR", mutate: setCert("server_platform", map[string]any{"id": 55})},
		{name: "provisioning/client_app", mutate: set("cs_provisioning_method", "client_app"), method: "client_app"},
		{name: "provisioning/email needs no platform", mutate: all(set("cs_provisioning_method", "email"), delCert("server_platform")),
			method: "email"},
		{name: "provisioning/ship_token needs no platform or ship_info", product: ev,
			mutate: all(set("cs_provisioning_method", "ship_token"), delCert("server_platform")), method: "ship_token"},
		{name: "ship_info/method in lower case, no addr2", product: ev, mutate: all(set("cs_provisioning_method", "ship_token"),
			set("ship_info", func() map[string]any { s := csShip("addr2"); s["method"] = "standard"; return s }())), method: "ship_token",
			check: func(t *testing.T, o dvcsOrder) {
				if o.ShipInfo == nil || o.ShipInfo.Method != "STANDARD" || o.ShipInfo.Addr2 != "" {
					t.Errorf("ship_info = %+v, want method STANDARD and no addr2", o.ShipInfo)
				}
			}},
		{name: "CSR not needed for client_app EV", product: ev, csr: "-", mutate: set("cs_provisioning_method", "client_app"),
			method: "client_app"},
		{name: "auto_renew counts renewals", mutate: set("auto_renew", 3)},
		{name: "alternative_order_id shown in order info", mutate: set("alternative_order_id", "cs-"+strings.Repeat("7", 61)),
			check: func(t *testing.T, o dvcsOrder) {
				if o.AlternativeOrderID != "cs-"+strings.Repeat("7", 61) {
					t.Errorf("alternative_order_id = %q", o.AlternativeOrderID)
				}
			}},
	}
}

// TestCodeSigningOrders runs the code signing tables against one sandbox server.
func TestCodeSigningOrders(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	k := makeCSKeys(t)

	t.Run("rejected", func(t *testing.T) {
		runRejects(t, srv, "code_signing", func() map[string]any { return csBase(k.p256) }, csRejectCases(k))
	})

	t.Run("accepted", func(t *testing.T) {
		n := dvcsCount(t, srv)
		for _, tc := range csAcceptCases(k) {
			t.Run(tc.name, func(t *testing.T) {
				n.track(t)
				product := tc.product
				if product == "" {
					product = "code_signing"
				}
				csr := tc.csr
				switch csr {
				case "":
					csr = k.p256
				case "-":
					csr = ""
				}
				build := tc.body
				if build == nil {
					build = csBase
				}
				m := build(csr)
				if tc.mutate != nil {
					tc.mutate(m)
				}
				got := dvcsCreate(t, srv, product, m)
				got.requirePending(t)
				n.expect(t, tally{orders: 1, requests: 1})
				o, _ := dvcsGetOrder(t, srv, got.ID)
				if o.Status != "needs_approval" || o.ProductNameID != product {
					t.Errorf("order: status %q product %q; want needs_approval, %s", o.Status, o.ProductNameID, product)
				}
				if o.Organization == nil || o.Organization.ID != 1 || o.Certificate.CommonName != csOrgName {
					t.Errorf("order organization %+v, common_name %q; want organization 1, %q", o.Organization, o.Certificate.CommonName, csOrgName)
				}
				if tc.till != "" && o.OrderValidTill != tc.till {
					t.Errorf("order_valid_till = %q, want %q", o.OrderValidTill, tc.till)
				}
				// Without a method sent, the account default applies
				// (spec §7.4): certorder's is client_app.
				want := tc.method
				if want == "" {
					want = "client_app"
				}
				if o.CSProvisioningMethod != want {
					t.Errorf("cs_provisioning_method = %q, want %q", o.CSProvisioningMethod, tc.method)
				}
				if tc.check != nil {
					tc.check(t, o)
				}
			})
		}
	})

	t.Run("immediate issuance", func(t *testing.T) { testCSImmediate(t, srv, k) })
	t.Run("inline organization", func(t *testing.T) { testCSInlineOrg(t, srv, k) })
	t.Run("needs_csr then PUT csr", func(t *testing.T) { testCSNeedsCSR(t, srv, k) })
	t.Run("CSR replaced before approval", func(t *testing.T) { testCSReplaceCSR(t, srv, k) })
}

func testCSImmediate(t *testing.T, srv *testenv.Server, k csKeys) {
	cases := []struct {
		name     string
		product  string
		seed     bool
		csr      string
		mutate   func(map[string]any)
		ev       bool
		notAfter string // the order's end fixes the leaf's
		capped   bool   // the leaf has the longest validity the CSBRs allow now
		method   string // cs_provisioning_method in order info, when one was sent
	}{
		{name: "seed 002 body, RSA-3072", seed: true, csr: k.rsa3072, method: "ship_token"},
		{name: "seed 002 body EV, P-256", product: "code_signing_ev", seed: true, csr: k.p256, ev: true, method: "ship_token"},
		{name: "three-year plan, P-256", csr: k.p256, mutate: set("order_validity", map[string]any{"years": 3}), capped: true},
		{name: "EV client_app, P-384, common_name ignored", product: "code_signing_ev", csr: k.p384, ev: true, method: "client_app",
			mutate: all(set("cs_provisioning_method", "client_app"), setCert("common_name", "evil.example.com"),
				setCert("dns_names", []string{"evil.example.com"}))},
		// Without auto_renew: due for renewal at once, it would be renewed
		// under the other tests' feet.
		{name: "30-day order ends the leaf", csr: k.p256, mutate: all(set("order_validity", map[string]any{"days": 30}), set("auto_renew", 0)),
			notAfter: dayFromToday(30)},
		{name: "email provisioning", csr: k.p256, mutate: all(set("cs_provisioning_method", "email"), delCert("server_platform")),
			method: "email"},
	}
	n := dvcsCount(t, srv)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n.track(t)
			product := tc.product
			if product == "" {
				product = "code_signing"
			}
			m := csBase(tc.csr)
			if tc.seed {
				m = csSeedBody(tc.csr)
			}
			m["skip_approval"] = true
			if tc.mutate != nil {
				tc.mutate(m)
			}
			got := dvcsCreate(t, srv, product, m)
			// Seed 002 documents only the request variants; certorder answers
			// a skipped, ready order as seed 000's immediate variant.
			got.requireKeys(t, "id", "certificate_id", "certificate_chain")
			n.expect(t, tally{orders: 1})
			chain := dvcsChain(t, got, csOrgName, x509.ExtKeyUsageCodeSigning, "")
			o, _ := dvcsGetOrder(t, srv, got.ID)
			if o.Status != "issued" || o.Certificate.ID != got.CertificateID {
				t.Errorf("order: status %q certificate.id %d; want issued, %d", o.Status, o.Certificate.ID, got.CertificateID)
			}
			if tc.method != "" && o.CSProvisioningMethod != tc.method {
				t.Errorf("cs_provisioning_method = %q, want %q", o.CSProvisioningMethod, tc.method)
			}
			csCheckLeaf(t, chain, csOrgName, tc.ev, dvcsOrderEnd(t, o))
			leaf := chain[0]
			if tc.ev {
				attrs := dvcsSubjectAttrs(leaf)
				for oid, want := range map[string]string{"2.5.4.15": "Private Organization", "1.3.6.1.4.1.311.60.2.1.3": "US", "2.5.4.5": "5299537"} {
					if !slices.Equal(attrs[oid], []string{want}) {
						t.Errorf("EV subject attribute %s = %q, want %q", oid, attrs[oid], want)
					}
				}
			}
			if tc.notAfter != "" && !leaf.NotAfter.UTC().Equal(dvcsToday().AddDate(0, 0, dayDiff(tc.notAfter))) {
				t.Errorf("leaf notAfter = %s, want the order's end, midnight UTC of %s", leaf.NotAfter.UTC(), tc.notAfter)
			}
			if tc.capped {
				want := policy.MaxCodeSigningValidity(leaf.NotBefore) - 24*time.Hour
				if span := leaf.NotAfter.Sub(leaf.NotBefore); span < want {
					t.Errorf("leaf validity %s on a three-year plan, want the CSBR maximum (about %s)", span, want)
				}
			}
		})
	}
}

// csCheckLeaf holds a code signing leaf to the profile of spec §8.1.
func csCheckLeaf(t *testing.T, chain []*x509.Certificate, org string, ev bool, orderEnd time.Time) {
	t.Helper()
	leaf, issuer := chain[0], chain[1]
	attrs := dvcsSubjectAttrs(leaf)
	if !slices.Equal(attrs["2.5.4.3"], []string{org}) || !slices.Equal(attrs["2.5.4.10"], []string{org}) {
		t.Errorf("leaf subject = %s, want CN and O = %q", leaf.Subject, org)
	}
	for _, oid := range []string{"2.5.4.15", "1.3.6.1.4.1.311.60.2.1.3", "2.5.4.5"} {
		if !ev && len(attrs[oid]) != 0 {
			t.Errorf("non-EV leaf carries EV subject attribute %s", oid)
		}
		if ev && len(attrs[oid]) != 1 {
			t.Errorf("EV leaf lacks subject attribute %s: %s", oid, leaf.Subject)
		}
	}
	if !slices.Equal(leaf.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}) || len(leaf.UnknownExtKeyUsage) != 0 {
		t.Errorf("leaf EKU = %v %v, want codeSigning only", leaf.ExtKeyUsage, leaf.UnknownExtKeyUsage)
	}
	if leaf.KeyUsage != x509.KeyUsageDigitalSignature {
		t.Errorf("leaf key usage = %b, want digitalSignature only", leaf.KeyUsage)
	}
	if present, critical := dvcsExtension(leaf, dvcsOIDKeyUsage); !present || !critical {
		t.Errorf("key usage extension present %v critical %v, want a critical one", present, critical)
	}
	want, other := csPolicy, csEVPolicy
	if ev {
		want, other = csEVPolicy, csPolicy
	}
	if !dvcsHasPolicy(leaf, want) || dvcsHasPolicy(leaf, other) {
		t.Errorf("leaf policies = %v, want %s and not %s", leaf.Policies, want, other)
	}
	for _, tls := range []string{"2.23.140.1.2.1", "2.23.140.1.2.2", "2.23.140.1.1"} {
		if dvcsHasPolicy(leaf, tls) {
			t.Errorf("code signing leaf asserts TLS policy %s", tls)
		}
	}
	if present, _ := dvcsExtension(leaf, dvcsOIDSAN); present || len(leaf.DNSNames)+len(leaf.EmailAddresses)+len(leaf.IPAddresses) != 0 {
		t.Errorf("code signing leaf has a subjectAltName: %q", leaf.DNSNames)
	}
	span := leaf.NotAfter.Sub(leaf.NotBefore)
	if span > 460*24*time.Hour || span > policy.MaxCodeSigningValidity(leaf.NotBefore) {
		t.Errorf("leaf validity %s exceeds 460 days", span)
	}
	if leaf.NotAfter.After(orderEnd) {
		t.Errorf("leaf notAfter %s is after the order's end %s", leaf.NotAfter, orderEnd)
	}
	if time.Since(leaf.NotBefore) < -time.Minute || time.Since(leaf.NotBefore) > time.Hour {
		t.Errorf("leaf notBefore %s is not about now", leaf.NotBefore)
	}
	if !strings.Contains(issuer.Subject.CommonName, "Code Signing") {
		t.Errorf("leaf issuer %q is not a code signing intermediate", issuer.Subject.CommonName)
	}
	switch leaf.SignatureAlgorithm {
	case x509.SHA256WithRSA, x509.ECDSAWithSHA256:
	default:
		t.Errorf("leaf signature algorithm = %s, want SHA-256", leaf.SignatureAlgorithm)
	}
	if leaf.NotAfter.After(issuer.NotAfter) {
		t.Errorf("leaf outlives its issuer")
	}
}

// csSameKey says whether the leaf certifies key.
func csSameKey(leaf *x509.Certificate, key crypto.Signer) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	e, ok := key.Public().(equaler)
	return ok && e.Equal(leaf.PublicKey)
}

// testCSInlineOrg: an organization object creates one (organization.id in
// the 201); the next identical order reuses it.
func testCSInlineOrg(t *testing.T, srv *testenv.Server, k csKeys) {
	const name = "Acme Code Works Ltd"
	m := csBase(k.p256)
	m["organization"] = csNewOrg(name)
	m["skip_approval"] = true
	b := counts(t, srv)
	first := dvcsCreate(t, srv, "code_signing", m)
	first.requireKeys(t, "id", "organization", "certificate_id", "certificate_chain")
	requireTally(t, srv, b, tally{orders: 1, orgs: 1})
	if first.Organization == nil || first.Organization.ID <= 1 {
		t.Fatalf("organization = %+v, want a new id", first.Organization)
	}
	chain := dvcsChain(t, first, name, x509.ExtKeyUsageCodeSigning, "")
	o, _ := dvcsGetOrder(t, srv, first.ID)
	if o.Organization == nil || o.Organization.ID != first.Organization.ID || o.Status != "issued" {
		t.Errorf("order info: organization %+v status %q; want id %d, issued", o.Organization, o.Status, first.Organization.ID)
	}
	csCheckLeaf(t, chain, name, false, dvcsOrderEnd(t, o))
	attrs := dvcsSubjectAttrs(chain[0])
	if !slices.Equal(attrs["2.5.4.6"], []string{"US"}) || !slices.Equal(attrs["2.5.4.8"], []string{"Oregon"}) ||
		!slices.Equal(attrs["2.5.4.7"], []string{"Springfield"}) {
		t.Errorf("leaf subject = %s, want C=US, ST=Oregon, L=Springfield", chain[0].Subject)
	}

	again := csBase(k.p256)
	again["organization"] = csNewOrg(name)
	b = counts(t, srv)
	second := dvcsCreate(t, srv, "code_signing", again)
	second.requirePending(t) // no "organization": nothing was created
	requireTally(t, srv, b, tally{orders: 1, requests: 1})
	if o, _ := dvcsGetOrder(t, srv, second.ID); o.Organization == nil || o.Organization.ID != first.Organization.ID {
		t.Errorf("second identical order: organization %+v, want the existing id %d", o.Organization, first.Organization.ID)
	}
}

// testCSNeedsCSR: a skipped order without a CSR waits in needs_csr; PUT
// csr supplies it (refusals change nothing) and the sandbox issues.
func testCSNeedsCSR(t *testing.T, srv *testenv.Server, k csKeys) {
	m := csSeedBody("")
	b := counts(t, srv)
	got := dvcsCreate(t, srv, "code_signing", m)
	got.requireKeys(t, "id", "certificate_id")
	requireTally(t, srv, b, tally{orders: 1})
	if o, _ := dvcsGetOrder(t, srv, got.ID); o.Status != "needs_csr" {
		t.Fatalf("order status = %q, want needs_csr", o.Status)
	}
	path := fmt.Sprintf("%s%d/csr", orderPath, got.ID)
	put := func(path, body string) (int, http.Header, []byte) { return srv.Do("PUT", path, body) }

	refused := []struct {
		name   string
		path   string
		body   string
		status int
		code   string
	}{
		{"no csr", path, `{}`, http.StatusBadRequest, "missing_field:csr"},
		{"blank csr", path, `{"csr":"  "}`, http.StatusBadRequest, "missing_field:csr"},
		{"garbage", path, `{"csr":"hello"}`, http.StatusBadRequest, "csr_invalid_cannot_parse"},
		{"corrupted signature", path, mustJSON(t, map[string]string{"csr": k.badSig}), http.StatusBadRequest, "csr_invalid_signature"},
		{"RSA-2048", path, mustJSON(t, map[string]string{"csr": k.rsa2048}), http.StatusBadRequest, "csr_invalid_key"},
		{"P-521", path, mustJSON(t, map[string]string{"csr": k.p521}), http.StatusBadRequest, "csr_invalid_key"},
		{"malformed JSON", path, `{"csr":`, http.StatusBadRequest, "bad_request_format"},
		{"unknown order", orderPath + "999999/csr", mustJSON(t, map[string]string{"csr": k.p256}), http.StatusNotFound, "not_found|order"},
	}
	for _, tc := range refused {
		t.Run("refused/"+tc.name, func(t *testing.T) {
			b := counts(t, srv)
			status, hdr, body := put(tc.path, tc.body)
			requireErrors(t, status, hdr, body, tc.status, tc.code)
			requireTally(t, srv, b, tally{})
			if o, _ := dvcsGetOrder(t, srv, got.ID); o.Status != "needs_csr" {
				t.Errorf("order status = %q after a refused CSR, want needs_csr", o.Status)
			}
		})
	}

	status, _, body := put(path, mustJSON(t, map[string]string{"csr": testenv.OneLine(k.p256)}))
	if status != http.StatusNoContent || len(body) != 0 {
		t.Fatalf("PUT csr: %d %q, want 204 and no body", status, clip(body))
	}
	o, _ := dvcsGetOrder(t, srv, got.ID)
	if o.Status != "issued" || o.Certificate.ID != got.CertificateID {
		t.Fatalf("order after PUT csr: status %q certificate.id %d; want issued, %d", o.Status, o.Certificate.ID, got.CertificateID)
	}
	chain := dvcsDownload(t, srv, got.CertificateID)
	dvcsCheckChain(t, chain, x509.ExtKeyUsageCodeSigning, "")
	csCheckLeaf(t, chain, csOrgName, false, dvcsOrderEnd(t, o))
	if !csSameKey(chain[0], k.p256Key) {
		t.Errorf("the leaf does not certify the key of the CSR that was PUT")
	}

	t.Run("refused/issued order", func(t *testing.T) {
		status, hdr, body := put(path, mustJSON(t, map[string]string{"csr": k.p384}))
		requireErrors(t, status, hdr, body, http.StatusBadRequest, "invalid_order_status")
		if o, _ := dvcsGetOrder(t, srv, got.ID); o.Status != "issued" {
			t.Errorf("order status = %q, want issued", o.Status)
		}
		again := dvcsDownload(t, srv, got.CertificateID)
		if !again[0].Equal(chain[0]) {
			t.Errorf("the certificate changed after a refused CSR update")
		}
	})
}

// testCSReplaceCSR: the CSR of an order waiting for approval may be
// replaced; the approval then issues for the new key.
func testCSReplaceCSR(t *testing.T, srv *testenv.Server, k csKeys) {
	m := csBase(k.rsa3072)
	got := dvcsCreate(t, srv, "code_signing", m)
	got.requirePending(t)
	status, _, body := srv.Do("PUT", fmt.Sprintf("%s%d/csr", orderPath, got.ID), mustJSON(t, map[string]string{"csr": k.p256}))
	if status != http.StatusNoContent {
		t.Fatalf("PUT csr: %d %s", status, clip(body))
	}
	if o, _ := dvcsGetOrder(t, srv, got.ID); o.Status != "needs_approval" {
		t.Fatalf("order status after PUT csr = %q, want needs_approval", o.Status)
	}
	status, _, body = srv.Do("PUT", "/services/v2/request/"+itoa(got.Requests[0].ID)+"/status", `{"status":"approved"}`)
	if status != http.StatusNoContent {
		t.Fatalf("approve: %d %s", status, clip(body))
	}
	o, _ := dvcsGetOrder(t, srv, got.ID)
	if o.Status != "issued" || o.Certificate.ID <= 0 {
		t.Fatalf("order after approval: status %q certificate.id %d; want issued", o.Status, o.Certificate.ID)
	}
	chain := dvcsDownload(t, srv, o.Certificate.ID)
	dvcsCheckChain(t, chain, x509.ExtKeyUsageCodeSigning, "")
	csCheckLeaf(t, chain, csOrgName, false, dvcsOrderEnd(t, o))
	if !csSameKey(chain[0], k.p256Key) {
		t.Errorf("the leaf does not certify the replacement key")
	}
	if _, isRSA := chain[0].PublicKey.(*rsa.PublicKey); isRSA {
		t.Errorf("the leaf certifies the replaced RSA key")
	}
}
