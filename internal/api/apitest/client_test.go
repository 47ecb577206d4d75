package apitest

import (
	"crypto"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/testenv"
)

// Client certificates and S/MIME (seed 003): client_premium,
// client_digital_signature_plus, client_authentication_plus,
// client_email_security_plus, class1_smime.

var clProducts = []string{"client_premium", "client_digital_signature_plus", "client_authentication_plus",
	"client_email_security_plus", "class1_smime"}

const clEmail = "locke.cole@example.com"

// clBody is seed 003's example body for organization 1 and container 1.
// An empty csr leaves the field out.
func clBody(csr string) map[string]any {
	cert := map[string]any{
		"common_name":        "Lock Cole",
		"emails":             []any{clEmail},
		"signature_hash":     "sha256",
		"organization_units": []any{"Accounting"},
	}
	if csr != "" {
		cert["csr"] = csr
	}
	return map[string]any{
		"certificate":    cert,
		"skip_approval":  true,
		"organization":   map[string]any{"id": 1},
		"container":      map[string]any{"id": 1},
		"validity_years": 1,
		"payment_method": "balance",
	}
}

// clKeys are the keys and CSRs the client tests use.
type clKeys struct {
	rsa, p256, p384          crypto.Signer
	rsaCSR, p256CSR, p384CSR string
}

func clMakeKeys(t *testing.T) clKeys {
	k := clKeys{rsa: testenv.RSAKey(t), p256: testenv.ECKey(t, elliptic.P256()), p384: testenv.ECKey(t, elliptic.P384())}
	k.rsaCSR = testenv.CSR(t, k.rsa, "ignored by the server")
	k.p256CSR = testenv.CSR(t, k.p256, "ignored by the server")
	k.p384CSR = testenv.CSR(t, k.p384, "ignored by the server")
	return k
}

// clOrgName is organization 1's name, which sponsor-validated
// certificates carry as subject O.
func clOrgName(t *testing.T, srv *testenv.Server) string {
	t.Helper()
	status, _, body := srv.Do("GET", "/services/v2/organization/1", "")
	if status != http.StatusOK {
		t.Fatalf("GET organization 1: %d %s", status, clip(body))
	}
	var v struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(body, &v); err != nil || v.Name == "" {
		t.Fatalf("organization 1 has no name: %v %s", err, clip(body))
	}
	return v.Name
}

// clProfile is what a product's certificate must look like.
type clProfile struct {
	ekus     []x509.ExtKeyUsage // exact set
	policy   string             // the S/MIME BR policy; "" = no CA/B Forum policy at all
	ku       x509.KeyUsage      // exact when non-zero; otherwise digitalSignature must be present
	mailbox  bool               // subject is CN = the address only
	orgInSub bool               // subject O = the organization's name, CN = common_name
}

var clProfiles = map[string]clProfile{
	"class1_smime": {ekus: []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection}, policy: "2.23.140.1.5.1.3", mailbox: true},
	"client_email_security_plus": {ekus: []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection}, policy: "2.23.140.1.5.3.3",
		orgInSub: true},
	"client_digital_signature_plus": {ekus: []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection}, policy: "2.23.140.1.5.3.3",
		ku: x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment, orgInSub: true},
	"client_premium": {ekus: []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection, x509.ExtKeyUsageClientAuth},
		policy: "2.23.140.1.5.3.2", orgInSub: true},
	"client_authentication_plus": {ekus: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, orgInSub: true},
}

var (
	clOIDCommonName = asn1.ObjectIdentifier{2, 5, 4, 3}
	clOIDGivenName  = asn1.ObjectIdentifier{2, 5, 4, 42}
	clOIDSurname    = asn1.ObjectIdentifier{2, 5, 4, 4}
)

// clSubjectAttr is the value of one subject attribute, "" when absent.
func clSubjectAttr(c *x509.Certificate, oid asn1.ObjectIdentifier) string {
	for _, n := range c.Subject.Names {
		if n.Type.Equal(oid) {
			v, _ := n.Value.(string)
			return v
		}
	}
	return ""
}

// clCheckLeaf checks the profile of product on an issued chain (leaf
// first, already linted), its emails, and its end (wantEnd, a date).
func clCheckLeaf(t *testing.T, product string, chain []*x509.Certificate, emails []string, cn, orgName, wantEnd string) {
	t.Helper()
	p, ok := clProfiles[product]
	if !ok {
		t.Fatalf("no profile for %s", product)
	}
	leaf := chain[0]
	if !slices.Equal(leaf.EmailAddresses, emails) {
		t.Errorf("rfc822Name SANs = %q, want %q", leaf.EmailAddresses, emails)
	}
	if len(leaf.DNSNames)+len(leaf.IPAddresses)+len(leaf.URIs) != 0 {
		t.Errorf("SANs other than rfc822Name: dns %q ip %v uri %v", leaf.DNSNames, leaf.IPAddresses, leaf.URIs)
	}
	if !clSameEKUs(leaf.ExtKeyUsage, p.ekus) || len(leaf.UnknownExtKeyUsage) != 0 {
		t.Errorf("EKUs = %v (unknown %v), want exactly %v", leaf.ExtKeyUsage, leaf.UnknownExtKeyUsage, p.ekus)
	}
	pol := fam2Policies(leaf)
	switch {
	case p.policy != "" && !fam2Contains(pol, p.policy):
		t.Errorf("policies = %q, want %s", pol, p.policy)
	case p.policy != "":
		for _, o := range pol {
			if strings.HasPrefix(o, "2.23.140.1.") && o != p.policy {
				t.Errorf("policies = %q: a second CA/B Forum policy %s besides %s", pol, o, p.policy)
			}
		}
	case fam2HasPrefix(pol, "2.23.140.1."):
		t.Errorf("policies = %q, want no CA/B Forum (S/MIME or TLS) policy on a client authentication certificate", pol)
	}
	switch {
	case p.ku != 0 && leaf.KeyUsage != p.ku:
		t.Errorf("KeyUsage = %b, want exactly %b", leaf.KeyUsage, p.ku)
	case leaf.KeyUsage&x509.KeyUsageDigitalSignature == 0:
		t.Errorf("KeyUsage = %b lacks digitalSignature", leaf.KeyUsage)
	case leaf.KeyUsage&(x509.KeyUsageCertSign|x509.KeyUsageCRLSign) != 0:
		t.Errorf("KeyUsage = %b of a leaf signs certificates or CRLs", leaf.KeyUsage)
	}
	if len(leaf.Subject.OrganizationalUnit) != 0 {
		t.Errorf("subject carries OU %q; organization_units are never put on a certificate", leaf.Subject.OrganizationalUnit)
	}
	switch {
	case p.mailbox:
		var types []string
		for _, n := range leaf.Subject.Names {
			types = append(types, n.Type.String())
		}
		if len(leaf.Subject.Names) != 1 || !leaf.Subject.Names[0].Type.Equal(clOIDCommonName) || leaf.Subject.CommonName != emails[0] {
			t.Errorf("subject = %s (attributes %q), want only CN=%s", leaf.Subject, types, emails[0])
		}
	case p.orgInSub:
		if leaf.Subject.CommonName != cn || !slices.Equal(leaf.Subject.Organization, []string{orgName}) {
			t.Errorf("subject = %s, want CN=%s and O=%s", leaf.Subject, cn, orgName)
		}
		// The personal name comes from common_name: last word surname.
		words := strings.Fields(cn)
		wantGiven, wantSurname := strings.Join(words[:len(words)-1], " "), words[len(words)-1]
		if given, surname := clSubjectAttr(leaf, clOIDGivenName), clSubjectAttr(leaf, clOIDSurname); given != wantGiven || surname != wantSurname {
			t.Errorf("subject givenName %q surname %q, want %q %q from common_name %q", given, surname, wantGiven, wantSurname, cn)
		}
	}
	if iss := chain[1].Subject.CommonName; !strings.Contains(iss, "S/MIME") || leaf.Issuer.CommonName != iss {
		t.Errorf("issuer CN = %q (intermediate %q), want the S/MIME intermediate", leaf.Issuer.CommonName, iss)
	}
	if span := leaf.NotAfter.Sub(leaf.NotBefore); span > 825*24*time.Hour {
		t.Errorf("validity %v exceeds 825 days", span)
	}
	if wantEnd != "" && fam2Day(leaf.NotAfter) != wantEnd {
		t.Errorf("notAfter = %s, want on %s (the order's end)", leaf.NotAfter.UTC(), wantEnd)
	}
	if wantEnd != "" && leaf.NotAfter.After(clDate(t, wantEnd).Add(24*time.Hour)) {
		t.Errorf("notAfter %s is after the order's end %s", leaf.NotAfter.UTC(), wantEnd)
	}
	// Path building with the product's usages, and refusal for the ones
	// it does not have.
	for _, u := range p.ekus {
		if err := fam2Verify(chain, u); err != nil {
			t.Errorf("chain does not verify for EKU %v: %v", u, err)
		}
	}
	refused := []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	for _, u := range []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection, x509.ExtKeyUsageClientAuth} {
		if !slices.Contains(p.ekus, u) {
			refused = append(refused, u)
		}
	}
	for _, u := range refused {
		if fam2Verify(chain, u) == nil {
			t.Errorf("chain verifies for EKU %v, which the product does not grant", u)
		}
	}
}

func clSameEKUs(a, b []x509.ExtKeyUsage) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func clDate(t *testing.T, s string) time.Time {
	t.Helper()
	d, err := time.Parse("2006-01-02", s)
	if err != nil {
		t.Fatalf("date %q: %v", s, err)
	}
	return d
}

// TestClientOrders covers seed 003 on one sandbox server.
func TestClientOrders(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	k := clMakeKeys(t)
	orgName := clOrgName(t, srv)
	inYear := fam2Day(time.Now().UTC().AddDate(1, 0, 0))

	t.Run("immediate issuance", func(t *testing.T) {
		type issueCase struct {
			name    string
			product string
			mutate  func(map[string]any)
			key     crypto.Signer
			csr     string
			emails  []string
			end     string
		}
		in30 := dayFromToday(30)
		cases := []issueCase{
			{name: "class1_smime seed body P-256", product: "class1_smime", key: k.p256, csr: k.p256CSR},
			{name: "class1_smime RSA", product: "class1_smime", key: k.rsa, csr: k.rsaCSR},
			{name: "client_email_security_plus seed body RSA", product: "client_email_security_plus", key: k.rsa, csr: k.rsaCSR},
			{name: "client_email_security_plus custom date", product: "client_email_security_plus", key: k.p256, csr: k.p256CSR,
				mutate: all(del("validity_years"), set("custom_expiration_date", in30)), end: in30},
			{name: "client_digital_signature_plus P-384", product: "client_digital_signature_plus", key: k.p384, csr: k.p384CSR},
			{name: "client_digital_signature_plus RSA", product: "client_digital_signature_plus", key: k.rsa, csr: k.rsaCSR},
			{name: "client_premium seed body P-256", product: "client_premium", key: k.p256, csr: k.p256CSR},
			{name: "client_premium two emails, 2 years, CSR on one line", product: "client_premium", key: k.rsa,
				csr: testenv.OneLine(k.rsaCSR), mutate: all(set("validity_years", 2),
					setCert("emails", []any{clEmail, "l.cole@example.org"})),
				emails: []string{clEmail, "l.cole@example.org"}, end: fam2Day(time.Now().UTC().AddDate(2, 0, 0))},
			{name: "client_authentication_plus RSA", product: "client_authentication_plus", key: k.rsa, csr: k.rsaCSR},
			{name: "client_authentication_plus P-256", product: "client_authentication_plus", key: k.p256, csr: k.p256CSR},
			{name: "class1_smime two emails, CSR on one line", product: "class1_smime", key: k.rsa, csr: testenv.OneLine(k.rsaCSR),
				mutate: setCert("emails", []any{clEmail, "l.cole@example.org"}), emails: []string{clEmail, "l.cole@example.org"}},
			{name: "class1_smime 2 years", product: "class1_smime", key: k.p384, csr: k.p384CSR,
				mutate: set("validity_years", 2), end: fam2Day(time.Now().UTC().AddDate(2, 0, 0))},
			{name: "client_authentication_plus custom date", product: "client_authentication_plus", key: k.p256, csr: k.p256CSR,
				mutate: all(del("validity_years"), set("custom_expiration_date", in30)), end: in30},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				m := clBody(tc.csr)
				if tc.mutate != nil {
					tc.mutate(m)
				}
				emails, end := tc.emails, tc.end
				if emails == nil {
					emails = []string{clEmail}
				}
				if end == "" {
					end = inYear
				}
				cn := "Lock Cole"
				if clProfiles[tc.product].mailbox {
					cn = emails[0]
				}
				b := counts(t, srv)
				got := createOK(t, srv, tc.product, mustJSON(t, m))
				got.requireKeys(t, "id", "certificate_id", "certificate_chain")
				chain := got.requireChain(t, cn)
				requireTally(t, srv, b, tally{orders: 1})
				fam2SameKey(t, chain[0], tc.key.Public())
				clCheckLeaf(t, tc.product, chain, emails, "Lock Cole", orgName, end)

				info, _ := fam2GetOrder(t, srv, got.ID)
				fam2Must(t, info.Status == "issued", "order status = %q, want issued", info.Status)
				fam2Must(t, slices.Equal(info.Certificate.Emails, emails), "order info emails = %q, want %q", info.Certificate.Emails, emails)
				fam2Must(t, info.Certificate.ID == got.CertificateID, "order info certificate id %d, 201 said %d", info.Certificate.ID, got.CertificateID)
				// The downloaded certificate is the one of the 201 answer.
				dl := fam2Download(t, srv, got.ID)
				fam2Must(t, len(dl) == 3 && dl[0].Equal(chain[0]), "downloaded chain does not start with the 201 chain's leaf")
			})
		}
	})

	t.Run("pending without skip_approval", func(t *testing.T) {
		for _, product := range clProducts {
			t.Run(product, func(t *testing.T) {
				m := clBody(k.p256CSR)
				delete(m, "skip_approval")
				b := counts(t, srv)
				got := createOK(t, srv, product, mustJSON(t, m))
				got.requirePending(t)
				requireTally(t, srv, b, tally{orders: 1, requests: 1})
				info, _ := fam2GetOrder(t, srv, got.ID)
				fam2Must(t, info.Status == "needs_approval", "order status = %q, want needs_approval", info.Status)
				// Approval issues at once in the sandbox.
				fam2PutRequest(t, srv, got.Requests[0].ID, "approved")
				fam2WaitStatus(t, srv, got.ID, "issued")
				chain := fam2IssuedChain(t, srv, got.ID)
				fam2SameKey(t, chain[0], k.p256.Public())
				cn := "Lock Cole"
				if clProfiles[product].mailbox {
					cn = clEmail
				}
				clCheckLeaf(t, product, chain, []string{clEmail}, cn, orgName, inYear)
			})
		}
	})

	t.Run("accepted", func(t *testing.T) {
		// price: the yearly list price (GET /product) times the order's
		// years, rounded up (docs/decisions.md); client_premium is 99 USD.
		cases := []struct {
			name    string
			product string
			mutate  func(map[string]any)
			emails  []string // order info certificate.emails
			price   int64    // cents debited; default one year of client_premium
		}{
			{name: "validity_years 2", mutate: set("validity_years", 2), price: 2 * 9900},
			{name: "validity_years numeric string", mutate: set("validity_years", "1")},
			{name: "custom date 30 days", mutate: all(del("validity_years"), set("custom_expiration_date", dayFromToday(30)))},
			{name: "custom date 824 days", mutate: all(del("validity_years"), set("custom_expiration_date", dayFromToday(824))), price: 3 * 9900},
			// Every family takes every validity form (decisions.md).
			{name: "custom date dd MMM yyyy", mutate: all(del("validity_years"), set("custom_expiration_date", dvcsPlanDate(30)))},
			{name: "order_validity years 2", mutate: all(del("validity_years"), set("order_validity", map[string]any{"years": 2})), price: 2 * 9900},
			{name: "ten emails", mutate: setCert("emails", clEmailList(10)), emails: clEmailStrings(10)},
			{name: "duplicate emails and upper-case domain", mutate: setCert("emails", []any{"Locke.Cole@EXAMPLE.com", "Locke.Cole@example.com"}),
				emails: []string{"Locke.Cole@example.com"}},
			{name: "organization_units absent", mutate: func(m map[string]any) { delete(certOf(m), "organization_units") }},
			{name: "payment_method profile", mutate: set("payment_method", "profile"), price: -9900},
			{name: "class1_smime", product: "class1_smime", price: 2900},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				product := tc.product
				if product == "" {
					product = "client_premium"
				}
				m := clBody(k.p256CSR)
				delete(m, "skip_approval")
				if tc.mutate != nil {
					tc.mutate(m)
				}
				price := tc.price
				switch {
				case price == 0:
					price = 9900
				case price < 0: // not paid from the balance
					price = -price
				}
				debit := price
				if tc.price < 0 {
					debit = 0
				}
				b, bal := counts(t, srv), clCents(t, srv)
				got := createOK(t, srv, product, mustJSON(t, m))
				got.requirePending(t)
				requireTally(t, srv, b, tally{orders: 1, requests: 1})
				if c := clCents(t, srv); bal-c != debit {
					t.Errorf("balance %d → %d cents: debited %d, want %d", bal, c, bal-c, debit)
				}
				info, _ := fam2GetOrder(t, srv, got.ID)
				fam2Must(t, info.Status == "needs_approval", "order status = %q, want needs_approval", info.Status)
				fam2Must(t, int64(info.Price*100+0.5) == price, "order info price = %v, want %d cents", info.Price, price)
				if tc.emails != nil && !slices.Equal(info.Certificate.Emails, tc.emails) {
					t.Errorf("order info emails = %q, want %q", info.Certificate.Emails, tc.emails)
				}
			})
		}
	})

	t.Run("rejected", func(t *testing.T) {
		weak, err := rsa.GenerateKey(rand.Reader, 1024)
		if err != nil {
			t.Fatal(err)
		}
		pubDER, _ := x509.MarshalPKIXPublicKey(k.p256.Public())
		pubPEM := testenv.OneLine(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})))
		bad := func(f string) []string { return []string{"invalid_value:" + f} }
		missing := func(f string) []string { return []string{"missing_field:" + f} }
		cases := []rejectCase{
			{name: "emails missing", mutate: delCert("emails"), codes: missing("emails")},
			{name: "emails empty", mutate: setCert("emails", []any{}), codes: missing("emails")},
			{name: "emails blank", mutate: setCert("emails", []any{" "}), codes: missing("emails")},
			{name: "emails missing class1_smime", product: "class1_smime", mutate: delCert("emails"), codes: missing("emails")},
			{name: "email not an address", mutate: setCert("emails", []any{"not-an-email"}), codes: bad("emails")},
			{name: "second email bad", mutate: setCert("emails", []any{clEmail, "locke@"}), codes: bad("emails")},
			{name: "email with display name", mutate: setCert("emails", []any{"Lock Cole <" + clEmail + ">"}), codes: bad("emails")},
			{name: "email non-ASCII local part", mutate: setCert("emails", []any{"löck@example.com"}), codes: bad("emails")},
			{name: "email special-use domain", mutate: setCert("emails", []any{"locke@example.test"}), codes: bad("emails")},
			{name: "eleven emails", mutate: setCert("emails", clEmailList(11)), codes: bad("emails")},
			{name: "common_name missing", mutate: delCert("common_name"), codes: missing("common_name")},
			{name: "common_name blank", product: "class1_smime", mutate: setCert("common_name", " "), codes: missing("common_name")},
			{name: "common_name over 64", mutate: setCert("common_name", strings.Repeat("L", 65)), codes: bad("common_name")},
			{name: "common_name an address on a sponsor-validated product", product: "client_email_security_plus",
				mutate: setCert("common_name", clEmail), codes: bad("common_name")},
			{name: "signature_hash sha384", mutate: setCert("signature_hash", "sha384"), codes: bad("signature_hash")},
			{name: "signature_hash sha512 class1_smime", product: "class1_smime", mutate: setCert("signature_hash", "sha512"), codes: bad("signature_hash")},
			{name: "signature_hash missing", mutate: delCert("signature_hash"), codes: missing("signature_hash")},
			{name: "validity_years 3", mutate: set("validity_years", 3), codes: bad("validity_years")},
			{name: "validity_years 0", mutate: set("validity_years", 0), codes: bad("validity_years")},
			{name: "validity missing", mutate: del("validity_years"), codes: missing("validity_years")},
			{name: "custom date 825 days", mutate: set("custom_expiration_date", dayFromToday(825)), codes: bad("custom_expiration_date")},
			{name: "custom date today", mutate: set("custom_expiration_date", dayFromToday(0)), codes: bad("custom_expiration_date")},
			{name: "custom date MM/dd/yyyy", mutate: set("custom_expiration_date", time.Now().AddDate(0, 1, 0).Format("01/02/2006")),
				codes: bad("custom_expiration_date")},
			{name: "organization missing", mutate: del("organization"), codes: missing("organization")},
			{name: "organization missing class1_smime", product: "class1_smime", mutate: del("organization"), codes: missing("organization")},
			{name: "organization 999", mutate: set("organization", map[string]any{"id": 999}), codes: bad("organization")},
			{name: "csr garbage", mutate: setCert("csr", "hello"), codes: []string{"csr_invalid_cannot_parse"}},
			{name: "csr a public key", mutate: setCert("csr", pubPEM), codes: []string{"csr_invalid_cannot_parse"}},
			{name: "csr bad signature", mutate: setCert("csr", corruptSignature(t, k.rsaCSR)), codes: []string{"csr_invalid_signature"}},
			{name: "csr RSA-1024", mutate: setCert("csr", testenv.CSR(t, weak, "x")), codes: []string{"csr_invalid_key"}},
			{name: "payment_method bitcoin", mutate: set("payment_method", "bitcoin"), codes: bad("payment_method")},
			{name: "three at once", product: "client_authentication_plus",
				mutate: all(delCert("emails"), setCert("signature_hash", "sha384"), set("validity_years", 3)),
				codes:  []string{"missing_field:emails", "invalid_value:signature_hash", "invalid_value:validity_years"}},
		}
		runRejects(t, srv, "client_premium", func() map[string]any { return clBody(k.p256CSR) }, cases)
	})

	t.Run("without CSR", func(t *testing.T) { clWithoutCSR(t, srv, k, orgName, inYear) })
}

// clCents is the account balance in cents.
func clCents(t *testing.T, srv *testenv.Server) int64 {
	t.Helper()
	s := fam2Balance(t, srv)
	whole, frac, ok := strings.Cut(s, ".")
	n, err1 := strconv.ParseInt(whole, 10, 64)
	f, err2 := strconv.ParseInt(frac, 10, 64)
	if !ok || len(frac) != 2 || err1 != nil || err2 != nil {
		t.Fatalf("balance %q is not dollars with two decimals", s)
	}
	return n*100 + f
}

func clEmailStrings(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("user%d@example.com", i)
	}
	return out
}

func clEmailList(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = fmt.Sprintf("user%d@example.com", i)
	}
	return out
}

// clWithoutCSR: a client order may be placed without a CSR; it waits in
// needs_csr until PUT /order/certificate/{id}/csr supplies one.
func clWithoutCSR(t *testing.T, srv *testenv.Server, k clKeys, orgName, inYear string) {
	t.Run("skip_approval: needs_csr, bad CSRs refused, then issued", func(t *testing.T) {
		b := counts(t, srv)
		got := createOK(t, srv, "class1_smime", mustJSON(t, clBody("")))
		got.requireKeys(t, "id", "certificate_id")
		requireTally(t, srv, b, tally{orders: 1})
		info, _ := fam2GetOrder(t, srv, got.ID)
		if info.Status != "needs_csr" {
			t.Fatalf("order status = %q, want needs_csr", info.Status)
		}
		dl, _, body := srv.Do("GET", fmt.Sprintf("/services/v2/certificate/download/order/%d/format/pem_all", got.ID), "")
		fam2Must(t, dl == http.StatusNotFound, "download before issuance: %d %s, want 404", dl, clip(body))

		for _, rc := range []struct {
			name, body string
			status     int
			code       string
		}{
			{"garbage", `{"csr":"hello"}`, http.StatusBadRequest, "csr_invalid_cannot_parse"},
			{"csr absent", `{}`, http.StatusBadRequest, "missing_field:csr"},
			{"bad signature", mustJSON(t, map[string]any{"csr": corruptSignature(t, k.rsaCSR)}), http.StatusBadRequest, "csr_invalid_signature"},
			{"not JSON", `{"csr":`, http.StatusBadRequest, "bad_request_format"},
		} {
			t.Run("PUT csr "+rc.name, func(t *testing.T) {
				status, hdr, body := srv.Do("PUT", orderPath+itoa(got.ID)+"/csr", rc.body)
				requireErrors(t, status, hdr, body, rc.status, rc.code)
				if o, _ := fam2GetOrder(t, srv, got.ID); o.Status != "needs_csr" {
					t.Errorf("after a refused CSR the order is %q, want needs_csr", o.Status)
				}
			})
		}
		t.Run("PUT csr unknown order", func(t *testing.T) {
			status, hdr, body := fam2PutCSR(t, srv, 987654, k.rsaCSR)
			requireErrors(t, status, hdr, body, http.StatusNotFound, "not_found|order")
		})

		b = counts(t, srv)
		status, _, body := fam2PutCSR(t, srv, got.ID, testenv.OneLine(k.rsaCSR))
		if status != http.StatusNoContent || len(body) != 0 {
			t.Fatalf("PUT csr: %d %s, want 204 without a body", status, clip(body))
		}
		requireTally(t, srv, b, tally{})
		o := fam2WaitStatus(t, srv, got.ID, "issued")
		fam2Must(t, o.Certificate.ID == got.CertificateID, "certificate id %d, 201 said %d", o.Certificate.ID, got.CertificateID)
		chain := fam2IssuedChain(t, srv, got.ID)
		fam2SameKey(t, chain[0], k.rsa.Public())
		clCheckLeaf(t, "class1_smime", chain, []string{clEmail}, clEmail, orgName, inYear)

		t.Run("PUT csr after issuance", func(t *testing.T) {
			status, hdr, body := fam2PutCSR(t, srv, got.ID, k.p256CSR)
			requireErrors(t, status, hdr, body, http.StatusBadRequest, "invalid_order_status")
			again := fam2IssuedChain(t, srv, got.ID)
			fam2Must(t, again[0].Equal(chain[0]), "the issued certificate changed after a refused CSR update")
		})
	})

	t.Run("approval: needs_approval, then needs_csr, then issued", func(t *testing.T) {
		m := clBody("")
		delete(m, "skip_approval")
		b := counts(t, srv)
		got := createOK(t, srv, "client_authentication_plus", mustJSON(t, m))
		got.requirePending(t)
		requireTally(t, srv, b, tally{orders: 1, requests: 1})
		info, _ := fam2GetOrder(t, srv, got.ID)
		if info.Status != "needs_approval" {
			t.Fatalf("order status = %q, want needs_approval", info.Status)
		}
		fam2PutRequest(t, srv, got.Requests[0].ID, "approved")
		fam2WaitStatus(t, srv, got.ID, "needs_csr")

		status, hdr, body := fam2PutCSR(t, srv, got.ID, "-----BEGIN CERTIFICATE REQUEST-----AAAA-----END CERTIFICATE REQUEST-----")
		requireErrors(t, status, hdr, body, http.StatusBadRequest, "csr_invalid_cannot_parse")

		status, _, body = fam2PutCSR(t, srv, got.ID, k.p256CSR)
		if status != http.StatusNoContent {
			t.Fatalf("PUT csr: %d %s", status, clip(body))
		}
		fam2WaitStatus(t, srv, got.ID, "issued")
		chain := fam2IssuedChain(t, srv, got.ID)
		fam2SameKey(t, chain[0], k.p256.Public())
		clCheckLeaf(t, "client_authentication_plus", chain, []string{clEmail}, "Lock Cole", orgName, inYear)
	})

	t.Run("CSR replaced while awaiting approval", func(t *testing.T) {
		m := clBody(k.p256CSR)
		delete(m, "skip_approval")
		got := createOK(t, srv, "class1_smime", mustJSON(t, m))
		got.requirePending(t)
		status, _, body := fam2PutCSR(t, srv, got.ID, k.rsaCSR)
		if status != http.StatusNoContent {
			t.Fatalf("PUT csr: %d %s", status, clip(body))
		}
		if o, _ := fam2GetOrder(t, srv, got.ID); o.Status != "needs_approval" {
			t.Errorf("order status after a CSR update = %q, want needs_approval", o.Status)
		}
		fam2PutRequest(t, srv, got.Requests[0].ID, "approved")
		fam2WaitStatus(t, srv, got.ID, "issued")
		chain := fam2IssuedChain(t, srv, got.ID)
		fam2SameKey(t, chain[0], k.rsa.Public())
		clCheckLeaf(t, "class1_smime", chain, []string{clEmail}, clEmail, orgName, inYear)
	})
}

// TestMailboxOrdersWaitOutsideSandbox: outside the sandbox, only the
// owner's answer to a mailed random value proves a mailbox (mailbox_test.go),
// so without a mail relay every client and S/MIME product naming an
// address answers 201 without a certificate and stays pending, even with
// skip_approval and a validated organization (an order for somebody
// else's mailbox once issued at once).
func TestMailboxOrdersWaitOutsideSandbox(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: false})
	if status, _, body := srv.Do("PUT", v2+"/organization/1/validation/ov", `{}`); status != http.StatusNoContent && status != http.StatusOK {
		t.Fatalf("grant ov: %d %s", status, clip(body))
	}
	csr := testenv.CSR(t, testenv.ECKey(t, elliptic.P256()), "ignored")
	for _, product := range []string{"class1_smime", "client_premium", "client_email_security_plus", "client_digital_signature_plus", "client_authentication_plus"} {
		t.Run(product, func(t *testing.T) {
			m := clBody(csr)
			certOf(m)["emails"] = []any{"ceo@bigbank-victim.com"}
			if product == "class1_smime" {
				delete(certOf(m), "organization_units")
			}
			got := createOK(t, srv, product, mustJSON(t, m))
			got.requireKeys(t, "certificate_id", "id") // approved, not issued
			info, raw := getOrder(t, srv, got.ID)
			if info.Status != "pending" {
				t.Fatalf("order %d is %q, want pending: %s", got.ID, info.Status, clip(raw))
			}
			status, _, body := srv.Do("GET", fmt.Sprintf("%s/certificate/download/order/%d", v2, got.ID), "")
			if status == http.StatusOK {
				t.Fatalf("a certificate for an unproven mailbox can be downloaded: %s", clip(body))
			}
		})
	}
}
