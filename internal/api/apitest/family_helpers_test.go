package apitest

// Helpers shared by the DV (dv_test.go) and code signing
// (codesigning_test.go) tests. Names start with dv, cs or dvcs so that they
// do not collide with the helpers of the other product families.

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/json"
	"math"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/testenv"
)

// dvcsAnswer is a 201 answer with the DV random value.
type dvcsAnswer struct {
	created
	DCVRandomValue string
}

// dvcsPost sends an order body.
func dvcsPost(t *testing.T, srv *testenv.Server, product string, m map[string]any) (int, http.Header, []byte) {
	t.Helper()
	return srv.Do("POST", orderPath+product, mustJSON(t, m))
}

// dvcsCreate places an order that must be accepted.
func dvcsCreate(t *testing.T, srv *testenv.Server, product string, m map[string]any) dvcsAnswer {
	t.Helper()
	status, hdr, body := dvcsPost(t, srv, product, m)
	c := requireCreated(t, status, hdr, body)
	var v struct {
		DCVRandomValue *string `json:"dcv_random_value"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("decode 201: %v", err)
	}
	a := dvcsAnswer{created: c}
	if v.DCVRandomValue != nil {
		a.DCVRandomValue = *v.DCVRandomValue
	}
	return a
}

// dvcsRequireRandomValue checks the 32 base-36 characters of a DCV random value.
func dvcsRequireRandomValue(t *testing.T, v string) {
	t.Helper()
	if len(v) != 32 {
		t.Fatalf("dcv_random_value %q has %d characters, want 32", v, len(v))
	}
	for _, r := range v {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z') {
			t.Fatalf("dcv_random_value %q is not base 36", v)
		}
	}
}

// dvcsOrder is the part of order info these tests read.
type dvcsOrder struct {
	ID                   int64  `json:"id"`
	Status               string `json:"status"`
	OrderValidTill       string `json:"order_valid_till"`
	ValidityYears        int    `json:"validity_years"`
	ValidityDays         int    `json:"validity_days"`
	CustomExpirationDate string `json:"custom_expiration_date"`
	AlternativeOrderID   string `json:"alternative_order_id"`
	DCVMethod            string `json:"dcv_method"`
	DCVRandomValue       string `json:"dcv_random_value"`
	Locale               string `json:"locale"`
	PaymentMethod        string `json:"payment_method"`
	Price                float64
	Currency             string
	ProductNameID        string `json:"product_name_id"`
	CSProvisioningMethod string `json:"cs_provisioning_method"`
	ShipInfo             *struct {
		Name    string `json:"name"`
		Addr1   string `json:"addr1"`
		Addr2   string `json:"addr2"`
		City    string `json:"city"`
		State   string `json:"state"`
		Zip     string `json:"zip"`
		Country string `json:"country"`
		Method  string `json:"method"`
	} `json:"ship_info"`
	TechnicalContact *struct {
		FirstName string `json:"first_name"`
		LastName  string `json:"last_name"`
		Email     string `json:"email"`
		JobTitle  string `json:"job_title"`
		Telephone string `json:"telephone"`
	} `json:"technical_contact"`
	DCVEmails []struct {
		DNSName     string `json:"dns_name"`
		EmailDomain string `json:"email_domain"`
		Email       string `json:"email"`
	} `json:"dcv_emails"`
	Organization *struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	} `json:"organization"`
	Certificate struct {
		ID            int64    `json:"id"`
		CommonName    string   `json:"common_name"`
		DNSNames      []string `json:"dns_names"`
		SignatureHash string   `json:"signature_hash"`
		ValidTill     string   `json:"valid_till"`
	} `json:"certificate"`
	Requests []struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
	} `json:"requests"`
}

func dvcsGetOrder(t *testing.T, srv *testenv.Server, id int64) (dvcsOrder, []byte) {
	t.Helper()
	status, hdr, body := srv.Do("GET", orderPath+itoa(id), "")
	if status != http.StatusOK {
		t.Fatalf("GET order %d: %d %s", id, status, clip(body))
	}
	requireJSON(t, hdr)
	var o dvcsOrder
	if err := json.Unmarshal(body, &o); err != nil {
		t.Fatalf("decode order %d: %v: %s", id, err, clip(body))
	}
	if o.ID != id {
		t.Fatalf("GET order %d answered order %d", id, o.ID)
	}
	return o, body
}

// dvcsOrderEnd is the order's end as order info shows it (a date, read as
// midnight UTC, which is how the server stores the end of a plan).
func dvcsOrderEnd(t *testing.T, o dvcsOrder) time.Time {
	t.Helper()
	d, err := time.Parse("2006-01-02", o.OrderValidTill)
	if err != nil {
		t.Fatalf("order_valid_till %q: %v", o.OrderValidTill, err)
	}
	return d
}

// dvcsToday is midnight UTC today, the server's base for plan dates.
func dvcsToday() time.Time {
	n := time.Now().UTC()
	return time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, time.UTC)
}

// dvcsInYears is the yyyy-MM-dd date n years from today.
func dvcsInYears(n int) string { return dvcsToday().AddDate(n, 0, 0).Format("2006-01-02") }

// dvcsPlanDate is today+n in the dd MMM YYYY layout of order_validity and
// cert_validity ("09 JUN 2027").
func dvcsPlanDate(n int) string {
	return strings.ToUpper(dvcsToday().AddDate(0, 0, n).Format("02 Jan 2006"))
}

// dvcsBalance reads GET /finance/balance in cents, checking its shape.
func dvcsBalance(t *testing.T, srv *testenv.Server) int64 {
	t.Helper()
	status, hdr, body := srv.Do("GET", "/services/v2/finance/balance", "")
	if status != http.StatusOK {
		t.Fatalf("GET balance: %d %s", status, clip(body))
	}
	requireJSON(t, hdr)
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("balance body: %v: %s", err, clip(body))
	}
	if len(v) != 2 || v["currency"] != "USD" {
		t.Fatalf("balance body = %s, want exactly {balance, currency: USD}", clip(body))
	}
	s, ok := v["balance"].(string)
	whole, frac, dot := strings.Cut(s, ".")
	if !ok || !dot || len(frac) != 2 {
		t.Fatalf("balance %v is not a string with two decimals", v["balance"])
	}
	w, err1 := strconv.ParseInt(whole, 10, 64)
	f, err2 := strconv.ParseInt(frac, 10, 64)
	if err1 != nil || err2 != nil || strings.HasPrefix(frac, "-") {
		t.Fatalf("balance %q does not parse", s)
	}
	if strings.HasPrefix(whole, "-") {
		return w*100 - f
	}
	return w*100 + f
}

// dvcsPrice is the yearly list price of a product in cents (GET /product/{name_id}).
func dvcsPrice(t *testing.T, srv *testenv.Server, product string) int64 {
	t.Helper()
	status, _, body := srv.Do("GET", "/services/v2/product/"+product, "")
	if status != http.StatusOK {
		t.Fatalf("GET product %s: %d %s", product, status, clip(body))
	}
	var v struct {
		NameID   string   `json:"name_id"`
		Price    *float64 `json:"price"`
		Currency string   `json:"currency"`
	}
	if err := json.Unmarshal(body, &v); err != nil || v.Price == nil || v.NameID != product || v.Currency != "USD" {
		t.Fatalf("product %s: no price in USD: %v %s", product, err, clip(body))
	}
	if *v.Price <= 0 {
		t.Fatalf("product %s: price %v", product, *v.Price)
	}
	return int64(math.Round(*v.Price * 100))
}

// dvcsVerify builds the chain leaf → intermediate → root with crypto/x509
// for the given usage, trusting only the root.
func dvcsVerify(t *testing.T, chain []*x509.Certificate, usage x509.ExtKeyUsage, dnsName string) {
	t.Helper()
	if len(chain) != 3 {
		t.Fatalf("chain has %d certificates, want 3", len(chain))
	}
	roots, inters := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(chain[2])
	inters.AddCert(chain[1])
	paths, err := chain[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inters, DNSName: dnsName,
		KeyUsages: []x509.ExtKeyUsage{usage}})
	if err != nil {
		t.Fatalf("chain does not verify against the root: %v", err)
	}
	if len(paths) != 1 || len(paths[0]) != 3 || !paths[0][1].Equal(chain[1]) || !paths[0][2].Equal(chain[2]) {
		t.Fatalf("verified path is not leaf → intermediate → root")
	}
}

// dvcsChain checks the certificate_chain of an immediate issuance (leaf,
// intermediate, root; every certificate linted; signatures; the root
// self-signed) and verifies it for usage.
func dvcsChain(t *testing.T, a dvcsAnswer, leafCN string, usage x509.ExtKeyUsage, dnsName string) []*x509.Certificate {
	t.Helper()
	certs := a.requireChain(t, leafCN)
	dvcsVerify(t, certs, usage, dnsName)
	return certs
}

// dvcsCheckChain checks a parsed chain (already linted).
func dvcsCheckChain(t *testing.T, certs []*x509.Certificate, usage x509.ExtKeyUsage, dnsName string) {
	t.Helper()
	requireChainShape(t, certs)
	dvcsVerify(t, certs, usage, dnsName)
}

// dvcsDownload fetches pem_all of an issued certificate and lints it.
func dvcsDownload(t *testing.T, srv *testenv.Server, certID int64) []*x509.Certificate {
	t.Helper()
	status, _, body := srv.Do("GET", "/services/v2/certificate/"+itoa(certID)+"/download/format/pem_all", "")
	if status != http.StatusOK {
		t.Fatalf("download certificate %d: %d %s", certID, status, clip(body))
	}
	certs := testenv.ParsePEMChain(t, body)
	if len(certs) != 3 {
		t.Fatalf("pem_all holds %d certificates, want 3", len(certs))
	}
	for _, c := range certs {
		testenv.RequireLintClean(t, c.Raw)
	}
	return certs
}

// dvcsHasPolicy says whether the certificate asserts the policy OID.
func dvcsHasPolicy(c *x509.Certificate, oid string) bool {
	for _, p := range c.Policies {
		if p.String() == oid {
			return true
		}
	}
	for _, p := range c.PolicyIdentifiers {
		if p.String() == oid {
			return true
		}
	}
	return false
}

// dvcsExtension finds an extension by OID.
func dvcsExtension(c *x509.Certificate, oid asn1.ObjectIdentifier) (bool, bool) {
	for _, e := range c.Extensions {
		if e.Id.Equal(oid) {
			return true, e.Critical
		}
	}
	return false, false
}

var (
	dvcsOIDSAN      = asn1.ObjectIdentifier{2, 5, 29, 17}
	dvcsOIDKeyUsage = asn1.ObjectIdentifier{2, 5, 29, 15}
)

// dvcsSubjectAttrs maps each subject attribute OID to its values.
func dvcsSubjectAttrs(c *x509.Certificate) map[string][]string {
	out := map[string][]string{}
	for _, n := range c.Subject.Names {
		s, _ := n.Value.(string)
		out[n.Type.String()] = append(out[n.Type.String()], s)
	}
	return out
}

// dvcsOpenSSLVerify verifies leaf → intermediate → root with openssl for
// purpose, when openssl is installed.
func dvcsOpenSSLVerify(t *testing.T, certs []*x509.Certificate, purpose string) {
	t.Helper()
	bin, err := exec.LookPath("openssl")
	if err != nil {
		t.Log("openssl not installed; chain verified with crypto/x509 only")
		return
	}
	dir := t.TempDir()
	out, err := exec.Command(bin, "verify", "-x509_strict", "-purpose", purpose, "-CAfile", writePEMFile(t, dir, "root.pem", certs[2]),
		"-untrusted", writePEMFile(t, dir, "inter.pem", certs[1]), writePEMFile(t, dir, "leaf.pem", certs[0])).CombinedOutput()
	if err != nil || !strings.Contains(string(out), ": OK") {
		t.Fatalf("openssl verify: %v\n%s", err, out)
	}
}

var (
	csRSAOnce sync.Once
	csRSAKey  *rsa.PrivateKey
)

// csRSA3072 is one RSA-3072 key per test binary: the smallest RSA key the
// Code Signing Baseline Requirements allow, slow to generate.
func csRSA3072(t *testing.T) *rsa.PrivateKey {
	csRSAOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 3072)
		if err != nil {
			panic(err)
		}
		csRSAKey = k
	})
	return csRSAKey
}

// dvcsCounter follows the order, request and organization totals across
// the sequential cases of a table, reading them once per case.
type dvcsCounter struct {
	srv *testenv.Server
	cur tally
}

func dvcsCount(t *testing.T, srv *testenv.Server) *dvcsCounter {
	t.Helper()
	return &dvcsCounter{srv: srv, cur: counts(t, srv)}
}

// track makes a failed case re-read the totals, so that one failure does
// not spill into the next case.
func (c *dvcsCounter) track(t *testing.T) {
	t.Cleanup(func() {
		if t.Failed() {
			c.cur = counts(t, c.srv)
		}
	})
}

// expect fails when the totals moved other than by delta since the last read.
func (c *dvcsCounter) expect(t *testing.T, delta tally) {
	t.Helper()
	got := counts(t, c.srv)
	want := tally{c.cur.orders + delta.orders, c.cur.requests + delta.requests, c.cur.orgs + delta.orgs}
	before := c.cur
	c.cur = got
	if got != want {
		t.Errorf("after the request: %v; before: %v; want %v", got, before, want)
	}
}
