package apitest

import (
	"crypto/elliptic"
	"crypto/x509"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/ca"
	"github.com/certorder/certorder/internal/catalog"
	"github.com/certorder/certorder/internal/testenv"
)

// documentedWarnings are the zlint warnings docs/decisions.md ("Lint
// warnings") accepts on a leaf, by product family; nothing else may
// appear, and each of these must (so that the list stays true).
var documentedWarnings = map[catalog.Family][]string{
	// Every leaf: no subjectKeyIdentifier (BR 7.1.2.7.6: NOT RECOMMENDED
	// in subscriber certificates; RFC 5280 says SHOULD).
	// TLS and X9 leaves: the order's common_name in the subject (BR
	// 7.1.2.7.2: NOT RECOMMENDED; CertCentral puts it there).
	catalog.FamilyTLS:         {"w_ext_subject_key_identifier_missing_sub_cert", "w_subject_common_name_included"},
	catalog.FamilyDV:          {"w_ext_subject_key_identifier_missing_sub_cert", "w_subject_common_name_included"},
	catalog.FamilyCodeSigning: {"w_ext_subject_key_identifier_missing_sub_cert"},
	catalog.FamilyClient:      {"w_ext_subject_key_identifier_missing_sub_cert"},
	// X9 also draws keyAgreement on an ECDSA key, which the order's
	// key_usages asked for (key_agreement_encipherment, seed 004).
	catalog.FamilyX9: {"w_cabf_ecc_ku_keyagreement_present", "w_ext_subject_key_identifier_missing_sub_cert", "w_subject_common_name_included"},
}

// TestLintWarningsEveryProduct: a certificate of every product of the
// catalogue (so of every profile), ordered for the longest validity the
// product offers, issues from an intermediate of the product's purpose,
// verifies to the root and draws exactly the zlint warnings documented
// for its family. The server
// names a public host in its certificates, as a production one started
// with --public-url does: a loopback URL adds
// w_sub_cert_aia_contains_internal_names (documented too).
func TestLintWarningsEveryProduct(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true, PublicURL: "http://pki.example.com"})
	uid := x9UserID(t, srv)
	csr := testenv.CSR(t, testenv.ECKey(t, elliptic.P256()), "ignored")
	for _, p := range catalog.All() {
		t.Run(p.NameID, func(t *testing.T) {
			var m map[string]any
			switch p.Family {
			case catalog.FamilyTLS:
				m = baseBody(csr)
			case catalog.FamilyDV:
				m = dvBase(csr)
			case catalog.FamilyCodeSigning:
				m = csBase(csr)
				m["cs_provisioning_method"] = "client_app"
			case catalog.FamilyClient:
				m = clBody(csr)
			case catalog.FamilyX9:
				m, _ = x9GoodBody(csr, uid)
			}
			if p.Wildcards == catalog.WildcardRequired || p.Wildcards == catalog.WildcardCovered {
				certOf(m)["common_name"] = "*.example.com"
			}
			years := slices.Max(p.ValidityYears)
			if p.OrderValidity {
				delete(m, "validity_years")
				m["order_validity"] = map[string]any{"years": years}
			} else {
				m["validity_years"] = years
			}
			m["skip_approval"] = true
			placed := createOK(t, srv, p.NameID, mustJSON(t, m))
			fam2WaitStatus(t, srv, placed.ID, "issued")
			chain := fam2IssuedChain(t, srv, placed.ID) // chained and lint-clean
			leaf := chain[0]
			if err := fam2Verify(chain, x509.ExtKeyUsageAny); err != nil {
				t.Errorf("chain does not verify: %v", err)
			}
			// The order is for the product, or the one a determinator chose.
			want := p.NameID
			if p.Picks != nil {
				want = p.Picks.Single // one name: example.com
			}
			if o, _ := dvcsGetOrder(t, srv, placed.ID); o.ProductNameID != want {
				t.Errorf("order info product_name_id %q, want %q", o.ProductNameID, want)
			}
			private := p.Purpose == catalog.PurposePrivateTLS
			if strings.Contains(leaf.Issuer.CommonName, "Private TLS") != private {
				t.Errorf("issued by %q", leaf.Issuer.CommonName)
			}
			for _, pol := range fam2Policies(leaf) {
				if private && strings.HasPrefix(pol, "2.23.140.") {
					t.Errorf("a Private SSL leaf claims the CA/Browser Forum policy %s", pol)
				}
			}
			_, warns, err := ca.LintCertificate(leaf.Raw)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, w := range warns {
				got = append(got, strings.SplitN(w, ":", 2)[0])
			}
			sort.Strings(got)
			if want := documentedWarnings[p.Family]; !slices.Equal(got, want) {
				t.Errorf("%s (profile %s, validity %s) warnings %q, want exactly the documented %q", p.NameID, p.Profile,
					leaf.NotAfter.Sub(leaf.NotBefore)+time.Second, warns, want)
			}
		})
	}
}
