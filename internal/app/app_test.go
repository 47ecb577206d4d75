package app_test

import (
	"crypto/elliptic"
	"crypto/x509"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/app"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/testenv"
)

type chainElem struct {
	SubjectCommonName string `json:"subject_common_name"`
	PEM               string `json:"pem"`
}

type created struct {
	ID            int64       `json:"id"`
	CertificateID int64       `json:"certificate_id"`
	Chain         []chainElem `json:"certificate_chain"`
	Requests      []struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
	} `json:"requests"`
}

func order(t *testing.T, srv *testenv.Server, product, body string) created {
	t.Helper()
	code, _, b := srv.Do("POST", "/services/v2/order/certificate/"+product, body)
	if code != http.StatusCreated {
		t.Fatalf("order %s: %d %s", product, code, b)
	}
	var c created
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatalf("decode 201: %v", err)
	}
	return c
}

func orderBody(cn string, names []string, csr string, hash string, skip bool) string {
	b, _ := json.Marshal(map[string]any{
		"certificate":    map[string]any{"common_name": cn, "dns_names": names, "csr": csr, "signature_hash": hash, "server_platform": map[string]any{"id": 45}},
		"validity_years": 1, "skip_approval": skip, "organization": map[string]any{"id": 1},
		"comments": "Message for the approver", "locale": "en", "payment_method": "balance",
	})
	return string(b)
}

func getJSON(t *testing.T, srv *testenv.Server, path string, v any) {
	t.Helper()
	code, h, b := srv.Do("GET", path, "")
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, code, b)
	}
	if ct := h.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("GET %s: Content-Type %q", path, ct)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

func parseChain(t *testing.T, elems []chainElem) []*x509.Certificate {
	t.Helper()
	var out []*x509.Certificate
	for _, e := range elems {
		certs := testenv.ParsePEMChain(t, []byte(e.PEM))
		if len(certs) != 1 {
			t.Fatalf("chain element holds %d certificates", len(certs))
		}
		if certs[0].Subject.CommonName != e.SubjectCommonName {
			t.Fatalf("subject_common_name %q, certificate says %q", e.SubjectCommonName, certs[0].Subject.CommonName)
		}
		out = append(out, certs[0])
	}
	return out
}

var (
	oidOV   = asn1.ObjectIdentifier{2, 23, 140, 1, 2, 2}
	oidEV   = asn1.ObjectIdentifier{2, 23, 140, 1, 1}
	oidBC   = asn1.ObjectIdentifier{2, 5, 4, 15}
	oidJC   = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 60, 2, 1, 3}
	oidSerN = asn1.ObjectIdentifier{2, 5, 4, 5}
)

func hasPolicy(c *x509.Certificate, oid asn1.ObjectIdentifier) bool {
	for _, p := range c.Policies {
		if p.String() == oid.String() {
			return true
		}
	}
	return false
}

func subjectAttr(c *x509.Certificate, oid asn1.ObjectIdentifier) string {
	for _, a := range c.Subject.Names {
		if a.Type.Equal(oid) {
			if s, ok := a.Value.(string); ok {
				return s
			}
		}
	}
	return ""
}

// TestSecureSiteProducts orders every product of seed 000 for immediate
// issuance and checks the certificates field by field.
func TestSecureSiteProducts(t *testing.T) {
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	csr := testenv.OneLine(testenv.CSR(t, testenv.ECKey(t, elliptic.P256()), "ignored.example.org"))
	rsaCSR := testenv.CSR(t, testenv.RSAKey(t), "ignored.example.org")
	cases := []struct {
		product string
		cn      string
		names   []string
		csr     string
		hash    string
		ev      bool
		want    []string
		sigAlg  x509.SignatureAlgorithm
	}{
		{"ssl_securesite", "example.com", []string{"www.example.com"}, csr, "sha256", false, []string{"example.com", "www.example.com"}, x509.SHA256WithRSA},
		{"ssl_securesite_multi_domain", "shop.example.com", []string{"example.net", "api.example.org", "shop.example.com"}, rsaCSR, "sha384", false,
			[]string{"shop.example.com", "example.net", "api.example.org"}, x509.SHA384WithRSA},
		{"ssl_securesite_wildcard", "*.example.com", []string{"a.example.com"}, csr, "sha512", false, []string{"*.example.com", "a.example.com", "example.com"}, x509.SHA512WithRSA},
		{"ssl_ev_securesite", "secure.example.com", nil, csr, "sha256", true, []string{"secure.example.com"}, x509.SHA256WithRSA},
		{"ssl_ev_securesite_multi_domain", "bank.example.com", []string{"login.example.com"}, rsaCSR, "sha256", true, []string{"bank.example.com", "login.example.com"}, x509.SHA256WithRSA},
	}
	serials := map[string]bool{}
	for _, tc := range cases {
		t.Run(tc.product, func(t *testing.T) {
			c := order(t, srv, tc.product, orderBody(tc.cn, tc.names, tc.csr, tc.hash, true))
			if len(c.Requests) != 0 || c.CertificateID == 0 || len(c.Chain) != 3 {
				t.Fatalf("want the immediate variant, got %+v", c)
			}
			chain := parseChain(t, c.Chain)
			leaf, inter, root := chain[0], chain[1], chain[2]
			testenv.RequireLintClean(t, leaf.Raw)
			if root.Subject.String() != root.Issuer.String() || inter.Issuer.String() != root.Subject.String() || leaf.Issuer.String() != inter.Subject.String() {
				t.Fatalf("chain is not leaf, intermediate, root")
			}
			roots, inters := x509.NewCertPool(), x509.NewCertPool()
			roots.AddCert(root)
			inters.AddCert(inter)
			if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inters, DNSName: strings.TrimPrefix(tc.cn, "*."),
				KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
				t.Fatalf("verify: %v", err)
			}
			if strings.Join(leaf.DNSNames, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("SANs %v, want %v", leaf.DNSNames, tc.want)
			}
			if leaf.Subject.CommonName != tc.cn || leaf.Subject.Organization[0] != "Example Inc." || leaf.Subject.Country[0] != "US" {
				t.Fatalf("subject %v", leaf.Subject)
			}
			if len(leaf.Subject.OrganizationalUnit) != 0 {
				t.Fatalf("OU on a public TLS certificate: %v", leaf.Subject.OrganizationalUnit)
			}
			if leaf.SignatureAlgorithm != tc.sigAlg {
				t.Fatalf("signature algorithm %v, want %v", leaf.SignatureAlgorithm, tc.sigAlg)
			}
			if tc.ev {
				if !hasPolicy(leaf, oidEV) || subjectAttr(leaf, oidBC) != "Private Organization" || subjectAttr(leaf, oidJC) != "US" || subjectAttr(leaf, oidSerN) != "5299537" {
					t.Fatalf("EV policy or subject fields missing: %v %v", leaf.Policies, leaf.Subject.Names)
				}
			} else if !hasPolicy(leaf, oidOV) || hasPolicy(leaf, oidEV) {
				t.Fatalf("OV policy wrong: %v", leaf.Policies)
			}
			if len(leaf.ExtKeyUsage) != 1 || leaf.ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth || leaf.KeyUsage&x509.KeyUsageDigitalSignature == 0 || leaf.IsCA {
				t.Fatalf("EKU %v KU %v CA %v", leaf.ExtKeyUsage, leaf.KeyUsage, leaf.IsCA)
			}
			if n := len(leaf.SerialNumber.Bytes()); n != 16 {
				t.Fatalf("serial is %d bytes", n)
			}
			if serials[leaf.SerialNumber.String()] {
				t.Fatal("serial used twice")
			}
			serials[leaf.SerialNumber.String()] = true
			span := leaf.NotAfter.Sub(leaf.NotBefore)
			if span > 200*24*time.Hour-time.Second || span < 190*24*time.Hour {
				t.Fatalf("validity %v outside the 200-day limit in force", span)
			}
			checkServedURLs(t, srv, leaf, inter)
			verifyWithOpenSSL(t, leaf, inter, root)
		})
	}
}

// checkServedURLs fetches the AIA caIssuers and CRL distribution point
// URLs the certificate carries: certorder must serve them itself.
func checkServedURLs(t *testing.T, srv *testenv.Server, leaf, inter *x509.Certificate) {
	t.Helper()
	if len(leaf.IssuingCertificateURL) != 1 || len(leaf.CRLDistributionPoints) != 1 || len(leaf.OCSPServer) != 1 {
		t.Fatalf("AIA/CRL URLs: %v %v %v", leaf.IssuingCertificateURL, leaf.CRLDistributionPoints, leaf.OCSPServer)
	}
	for _, u := range append(leaf.IssuingCertificateURL, leaf.CRLDistributionPoints...) {
		if !strings.HasPrefix(u, srv.URL+"/") {
			t.Fatalf("URL %s is not served by certorder at %s", u, srv.URL)
		}
	}
	body := fetch(t, leaf.IssuingCertificateURL[0])
	if string(body) != string(inter.Raw) {
		t.Fatal("caIssuers URL does not serve the issuing intermediate")
	}
	crl, err := x509.ParseRevocationList(fetch(t, leaf.CRLDistributionPoints[0]))
	if err != nil {
		t.Fatalf("parse CRL: %v", err)
	}
	if err := crl.CheckSignatureFrom(inter); err != nil {
		t.Fatalf("CRL signature: %v", err)
	}
	if !crl.NextUpdate.After(time.Now()) {
		t.Fatal("CRL is stale")
	}
}

func fetch(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	return b
}

func verifyWithOpenSSL(t *testing.T, leaf, inter, root *x509.Certificate) {
	t.Helper()
	bin, err := exec.LookPath("openssl")
	if err != nil {
		t.Log("openssl not installed; chain verified with crypto/x509 only")
		return
	}
	dir := t.TempDir()
	write := func(name string, c *x509.Certificate) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	out, err := exec.Command(bin, "verify", "-x509_strict", "-purpose", "sslserver", "-CAfile", write("root.pem", root),
		"-untrusted", write("inter.pem", inter), write("leaf.pem", leaf)).CombinedOutput()
	if err != nil || !strings.Contains(string(out), ": OK") {
		t.Fatalf("openssl verify: %v\n%s", err, out)
	}
}

type orderInfo struct {
	ID          int64  `json:"id"`
	Status      string `json:"status"`
	Certificate struct {
		ID           int64  `json:"id"`
		SerialNumber string `json:"serial_number"`
		Thumbprint   string `json:"thumbprint"`
		ValidTill    string `json:"valid_till"`
	} `json:"certificate"`
	Requests []struct {
		ID     int64  `json:"id"`
		Type   string `json:"type"`
		Status string `json:"status"`
	} `json:"requests"`
}

// TestApprovalAndRestart walks the one-step approval, rejects another
// request, restarts the server on the same data directory and checks that
// orders, keys and the root survived.
func TestApprovalAndRestart(t *testing.T) {
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	csr := testenv.CSR(t, testenv.ECKey(t, elliptic.P256()), "x")

	c := order(t, srv, "ssl_securesite", orderBody("approve.example.com", nil, csr, "sha256", false))
	if len(c.Requests) != 1 || c.Requests[0].Status != "pending" || c.CertificateID != 0 || len(c.Chain) != 0 {
		t.Fatalf("want the one-step variant, got %+v", c)
	}
	var oi orderInfo
	getJSON(t, srv, fmt.Sprintf("/services/v2/order/certificate/%d", c.ID), &oi)
	if oi.Status != "needs_approval" {
		t.Fatalf("status %q before approval", oi.Status)
	}
	code, h, b := srv.Do("PUT", fmt.Sprintf("/services/v2/request/%d/status", c.Requests[0].ID), `{"status":"approved","processor_comment":"ok"}`)
	if code != http.StatusNoContent || len(b) != 0 {
		t.Fatalf("approve: %d %q %v", code, b, h)
	}
	getJSON(t, srv, fmt.Sprintf("/services/v2/order/certificate/%d", c.ID), &oi)
	if oi.Status != "issued" || oi.Certificate.ID == 0 || oi.Certificate.SerialNumber == "" || len(oi.Requests) != 1 || oi.Requests[0].Status != "approved" {
		t.Fatalf("after approval: %+v", oi)
	}
	code, _, pemAll := srv.Do("GET", fmt.Sprintf("/services/v2/certificate/%d/download/format/pem_all", oi.Certificate.ID), "")
	if code != 200 {
		t.Fatalf("download: %d", code)
	}
	certs := testenv.ParsePEMChain(t, pemAll)
	if len(certs) != 3 || !strings.HasSuffix(string(pemAll), "-----\n") || strings.HasSuffix(string(pemAll), "\n\n") {
		t.Fatalf("pem_all: %d certificates, ending %q", len(certs), pemAll[len(pemAll)-8:])
	}
	testenv.RequireLintClean(t, certs[0].Raw)

	// A second approval of the same request is idempotent; rejecting it now is refused.
	if code, _, b := srv.Do("PUT", fmt.Sprintf("/services/v2/request/%d/status", c.Requests[0].ID), `{"status":"rejected"}`); code != 400 {
		t.Fatalf("reject after approve: %d %s", code, b)
	}

	r := order(t, srv, "ssl_securesite", orderBody("reject.example.com", nil, csr, "sha256", false))
	if code, _, b := srv.Do("PUT", fmt.Sprintf("/services/v2/request/%d/status", r.Requests[0].ID), `{"status":"rejected","processor_comment":"no"}`); code != 204 {
		t.Fatalf("reject: %d %s", code, b)
	}
	var ri orderInfo
	getJSON(t, srv, fmt.Sprintf("/services/v2/order/certificate/%d", r.ID), &ri)
	if ri.Status != "rejected" || ri.Certificate.ID != 0 {
		t.Fatalf("rejected order: %+v", ri)
	}
	var req struct {
		Status           string `json:"status"`
		ProcessorComment string `json:"processor_comment"`
		DateProcessed    string `json:"date_processed"`
		Processor        *struct {
			ID int64 `json:"id"`
		} `json:"processor"`
	}
	getJSON(t, srv, fmt.Sprintf("/services/v2/request/%d", r.Requests[0].ID), &req)
	if req.Status != "rejected" || req.ProcessorComment != "no" || req.DateProcessed == "" || req.Processor == nil {
		t.Fatalf("request info: %+v", req)
	}

	rootBefore := srv.App.CA.Root().Raw
	srv.Restart()
	if string(srv.App.CA.Root().Raw) != string(rootBefore) {
		t.Fatal("root CA changed across restart")
	}
	var again orderInfo
	getJSON(t, srv, fmt.Sprintf("/services/v2/order/certificate/%d", c.ID), &again)
	if again.Status != "issued" || again.Certificate.SerialNumber != oi.Certificate.SerialNumber {
		t.Fatalf("order after restart: %+v", again)
	}
	getJSON(t, srv, "/services/v2/order/certificate/"+oi.Certificate.Thumbprint, &again)
	if again.ID != c.ID {
		t.Fatalf("lookup by thumbprint after restart found order %d", again.ID)
	}
	code, _, pemAfter := srv.Do("GET", fmt.Sprintf("/services/v2/certificate/download/order/%d/format/pem_all", c.ID), "")
	if code != 200 || string(pemAfter) != string(pemAll) {
		t.Fatalf("download after restart differs (%d)", code)
	}
	// New orders after the restart still issue from the same hierarchy.
	n := order(t, srv, "ssl_ev_securesite", orderBody("after.example.com", nil, csr, "sha256", true))
	chain := parseChain(t, n.Chain)
	if string(chain[2].Raw) != string(rootBefore) {
		t.Fatal("post-restart certificate chains to another root")
	}
	testenv.RequireLintClean(t, chain[0].Raw)
}

// TestGeneratedAdminKey: without CERTORDER_ADMIN_KEY a key is generated,
// written with mode 0600, printed once and stored only hashed; a later
// start on the same directory reuses it.
func TestGeneratedAdminKey(t *testing.T) {
	dir := t.TempDir()
	var out strings.Builder
	a, err := app.Open(t.Context(), app.Config{DataDir: dir, PublicURL: "http://127.0.0.1:1", Out: &out, IssuerKeyType: "p256", RootKeyType: "p256"})
	if err != nil {
		t.Fatal(err)
	}
	key := a.AdminKey
	a.Close()
	st, err := os.Stat(filepath.Join(dir, app.AdminKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v", st.Mode().Perm())
	}
	b, _ := os.ReadFile(filepath.Join(dir, app.AdminKeyFile))
	if strings.TrimSpace(string(b)) != key || len(key) < 40 || !strings.Contains(out.String(), key) {
		t.Fatalf("key file %q, key %q, printed %q", b, key, out.String())
	}
	// The key is stored hashed: its text appears nowhere in the database files.
	for _, f := range []string{"certorder.db", "certorder.db-wal"} {
		db, _ := os.ReadFile(filepath.Join(dir, f))
		if strings.Contains(string(db), key) {
			t.Fatalf("%s holds the API key in clear", f)
		}
	}
	srv := testenv.Start(t, testenv.Options{DataDir: dir, AdminKey: key})
	if code, _, b := srv.Do("GET", "/services/v2/user/me", ""); code != 200 {
		t.Fatalf("generated key refused: %d %s", code, b)
	}
	// No private key material in the database.
	db, _ := os.ReadFile(filepath.Join(dir, "certorder.db"))
	if strings.Contains(string(db), "PRIVATE KEY") {
		t.Fatal("private key in the database")
	}
}

// TestWithoutSandbox: nothing is assumed validated, so a skipped approval
// leaves the order pending with its certificate id, and an approved
// request moves the order to pending, not issued.
func TestWithoutSandbox(t *testing.T) {
	srv := testenv.Start(t, testenv.Options{Sandbox: false})
	csr := testenv.CSR(t, testenv.ECKey(t, elliptic.P384()), "x")
	c := order(t, srv, "ssl_securesite", orderBody("pending.example.com", nil, csr, "sha384", true))
	if c.CertificateID == 0 || len(c.Chain) != 0 || len(c.Requests) != 0 {
		t.Fatalf("want the skip variant {id, certificate_id}, got %+v", c)
	}
	var oi orderInfo
	getJSON(t, srv, fmt.Sprintf("/services/v2/order/certificate/%d", c.ID), &oi)
	if oi.Status != "pending" || oi.Certificate.SerialNumber != "" {
		t.Fatalf("skip without validation: %+v", oi)
	}
	if code, _, b := srv.Do("GET", fmt.Sprintf("/services/v2/certificate/%d/download/format/pem_all", c.CertificateID), ""); code != 404 || !strings.Contains(string(b), "not_found|certificate") {
		t.Fatalf("download of an unissued certificate: %d %s", code, b)
	}
	a := order(t, srv, "ssl_securesite", orderBody("approved.example.com", nil, csr, "sha256", false))
	if code, _, b := srv.Do("PUT", fmt.Sprintf("/services/v2/request/%d/status", a.Requests[0].ID), `{"status":"approved"}`); code != 204 {
		t.Fatalf("approve: %d %s", code, b)
	}
	getJSON(t, srv, fmt.Sprintf("/services/v2/order/certificate/%d", a.ID), &oi)
	if oi.Status != "pending" || oi.Certificate.ID == 0 {
		t.Fatalf("approved order without validation: %+v", oi)
	}
	var list struct {
		Orders []struct {
			ID     int64  `json:"id"`
			Status string `json:"status"`
		} `json:"orders"`
		Page struct{ Total, Limit, Offset int } `json:"page"`
	}
	getJSON(t, srv, "/services/v2/order/certificate?filters[status]=pending&limit=1&offset=1&sort=-id", &list)
	if list.Page.Total != 2 || list.Page.Offset != 1 || list.Page.Limit != 1 || len(list.Orders) != 1 || list.Orders[0].ID != c.ID {
		t.Fatalf("list: %+v", list)
	}
}

// TestConcurrentOrders: parallel immediate orders all succeed (one writer
// connection queues them; no "database is locked") with distinct serials.
func TestConcurrentOrders(t *testing.T) {
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	csr := testenv.CSR(t, testenv.ECKey(t, elliptic.P256()), "x")
	const n = 24
	type result struct {
		code int
		body []byte
	}
	results := make(chan result, n)
	for i := 0; i < n; i++ {
		go func(i int) {
			body := orderBody(fmt.Sprintf("host%d.example.com", i), nil, csr, "sha256", true)
			req, _ := http.NewRequest("POST", srv.URL+"/services/v2/order/certificate/ssl_securesite", strings.NewReader(body))
			req.Header.Set("X-DC-DEVKEY", srv.AdminKey)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				results <- result{0, []byte(err.Error())}
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			results <- result{resp.StatusCode, b}
		}(i)
	}
	serials := map[string]bool{}
	for i := 0; i < n; i++ {
		r := <-results
		if r.code != http.StatusCreated {
			t.Fatalf("concurrent order: %d %s", r.code, r.body)
		}
		var c created
		if err := json.Unmarshal(r.body, &c); err != nil {
			t.Fatal(err)
		}
		leaf := parseChain(t, c.Chain)[0]
		testenv.RequireLintClean(t, leaf.Raw)
		if serials[leaf.SerialNumber.String()] {
			t.Fatal("duplicate serial")
		}
		serials[leaf.SerialNumber.String()] = true
	}
}

// TestLintFailureIssuesNothing: an organization whose details make a
// certificate that breaks the Baseline Requirements (no locality and no
// state) is caught by pre-issuance linting: 500 issuance_failed, an audit
// event, and no order written.
func TestLintFailureIssuesNothing(t *testing.T) {
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	ctx := t.Context()
	st := srv.App.Store
	acct, err := st.FirstAccount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	org := &store.Organization{AccountID: acct.ID, ContainerID: 1, Name: "No Place Ltd", Country: "gb", IsActive: true, CreatedAt: now}
	err = st.InTx(ctx, func(tx store.Tx) error {
		if err := tx.CreateOrganization(ctx, org); err != nil {
			return err
		}
		return tx.SetOrgValidation(ctx, store.OrgValidation{OrganizationID: org.ID, Type: "ov", Status: "active", DateCreated: now, ValidatedUntil: now.AddDate(1, 0, 0)})
	})
	if err != nil {
		t.Fatal(err)
	}
	csr := testenv.CSR(t, testenv.ECKey(t, elliptic.P256()), "x")
	body := strings.Replace(orderBody("lint.example.com", nil, csr, "sha256", true), `"organization":{"id":1}`, fmt.Sprintf(`"organization":{"id":%d}`, org.ID), 1)
	code, h, b := srv.Do("POST", "/services/v2/order/certificate/ssl_securesite", body)
	if code != 500 || h.Get("Content-Type") != "application/json" || !strings.Contains(string(b), `"issuance_failed"`) {
		t.Fatalf("lint failure: %d %s", code, b)
	}
	_, total, err := st.Orders(ctx, acct.ID, store.OrderFilter{}, store.Page{})
	if err != nil || total != 0 {
		t.Fatalf("orders after a refused issuance: %d %v", total, err)
	}
	events, err := st.AuditEvents(ctx, acct.ID, 5)
	if err != nil || len(events) == 0 || events[0].Action != "issuance.lint_failed" || !strings.Contains(events[0].Detail, "e_") {
		t.Fatalf("audit events: %+v %v", events, err)
	}
}
