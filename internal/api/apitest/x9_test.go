package apitest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/testenv"
)

// X9 PKI for TLS (seed 004): x9_pki.

// x9PolicyOID is certorder's certificate policy for X9 leaves
// (internal/ca); the X9 hierarchy is not a browser PKI.
const x9PolicyOID = "1.2.840.113556.1.8000.2554.11799.9997.59122.18502.40891.15981679.3859096"

// x9Body is seed 004's example body for organization 1 and container 1,
// with skip_approval. userID is the organization contact.
func x9Body(csr string, userID int64) map[string]any {
	return map[string]any{
		"certificate": map[string]any{
			"common_name":         "example.com",
			"dns_names":           []any{"sub.example.com", "app.example.com"},
			"csr":                 csr,
			"signature_hash":      "sha256",
			"server_platform":     map[string]any{"id": 2},
			"key_usages":          []any{"key_agreement_encipherment"},
			"extended_key_usages": []any{"server_authentication", "client_authentication"},
		},
		"comments":               "Certificate for app server.",
		"container":              map[string]any{"id": 1},
		"auto_renew":             1,
		"custom_renewal_message": "Keep this renewed.",
		"organization": map[string]any{
			"id": 1,
			"contacts": []any{
				map[string]any{"contact_type": "organization_contact", "user_id": userID},
				map[string]any{"contact_type": "technical_contact", "first_name": "Jill", "last_name": "Valentine",
					"job_title": "STAR Member", "telephone": "8017019600", "email": "jill.valentine@digicert.com"},
			},
		},
		"order_validity": map[string]any{"years": 1},
		"payment_method": "balance",
		"skip_approval":  true,
	}
}

var x9Seq atomic.Int64

// x9Names are the names of an X9 order and the registrable domains that
// domains[] must name for them.
type x9Names struct {
	cn       string
	dns      []string // CN first, then the other DNS names
	reg      []string // domains[].name for each of dns
	dnsNames []any    // certificate.dns_names to send
}

// x9FreshNames are names under registrable domains no order has named
// yet, one name per registrable domain (so each case sees its own domains[]).
func x9FreshNames() x9Names {
	lbl := fmt.Sprintf("x9-order-%d", x9Seq.Add(1))
	cn, app := lbl+".com", "app."+lbl+".net"
	return x9Names{cn: cn, dns: []string{cn, app}, reg: []string{cn, lbl + ".net"}, dnsNames: []any{app}}
}

// x9SeedNames are seed 004's names, all under example.com.
var x9SeedNames = x9Names{cn: "example.com", dns: []string{"example.com", "sub.example.com", "app.example.com"},
	reg: []string{"example.com", "example.com", "example.com"}, dnsNames: []any{"sub.example.com", "app.example.com"}}

// x9GoodBody is the seed body with fresh names and, for the ECDSA keys
// most cases use, key_usages digital_signature + key_agreement_encipherment.
func x9GoodBody(csr string, userID int64) (map[string]any, x9Names) {
	m := x9Body(csr, userID)
	n := x9FreshNames()
	certOf(m)["common_name"], certOf(m)["dns_names"] = n.cn, n.dnsNames
	certOf(m)["key_usages"] = []any{"digital_signature", "key_agreement_encipherment"}
	return m, n
}

// x9UserID is the id of the administrator behind the test key.
func x9UserID(t *testing.T, srv *testenv.Server) int64 {
	t.Helper()
	status, _, body := srv.Do("GET", "/services/v2/user/me", "")
	if status != http.StatusOK {
		t.Fatalf("GET user/me: %d %s", status, clip(body))
	}
	var v struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal(body, &v); err != nil || v.ID <= 0 {
		t.Fatalf("user/me without id: %v %s", err, clip(body))
	}
	return v.ID
}

type x9CACert struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// x9Product reads allowed_ca_certs and default_ca_cert_id of a product.
func x9Product(t *testing.T, srv *testenv.Server, nameID string) ([]x9CACert, string) {
	t.Helper()
	status, hdr, body := srv.Do("GET", "/services/v2/product/"+nameID, "")
	if status != http.StatusOK {
		t.Fatalf("GET product %s: %d %s", nameID, status, clip(body))
	}
	requireJSON(t, hdr)
	var v struct {
		Allowed []x9CACert `json:"allowed_ca_certs"`
		Default string     `json:"default_ca_cert_id"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("product %s: %v", nameID, err)
	}
	return v.Allowed, v.Default
}

// x9IssuerCert fetches an intermediate from the relying-party endpoint.
func x9IssuerCert(t *testing.T, srv *testenv.Server, id string) *x509.Certificate {
	t.Helper()
	resp, err := http.Get(srv.URL + "/ca/" + id + ".crt")
	if err != nil {
		t.Fatalf("GET /ca/%s.crt: %v", id, err)
	}
	defer resp.Body.Close()
	der, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET /ca/%s.crt: %v", id, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /ca/%s.crt: %d", id, resp.StatusCode)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("parse issuer %s: %v", id, err)
	}
	return c
}

// x9HashFor is a signature_hash the issuer's key can sign with.
func x9HashFor(iss *x509.Certificate) string {
	if k, ok := iss.PublicKey.(*ecdsa.PublicKey); ok && k.Curve == elliptic.P384() {
		return "sha384"
	}
	return "sha256"
}

// x9Domain is one domains[] entry of a 201 answer.
type x9Domain struct {
	ID       int64  `json:"id"`
	Name     string `json:"name"`
	DNSName  string `json:"dns_name"`
	DCVToken *struct {
		Token             string `json:"token"`
		Status            string `json:"status"`
		ExpirationDate    string `json:"expiration_date"`
		VerificationValue string `json:"verification_value"`
		HTTPTokenURL      string `json:"http_token_url"`
	} `json:"dcv_token"`
}

type x9Answer struct {
	Domains        []json.RawMessage `json:"domains"`
	DCVRandomValue string            `json:"dcv_random_value"`
}

var x9RandomRE = regexp.MustCompile(`^[0-9a-z]{32}$`)

// x9CheckDomains checks domains[] of a 201 answer: one entry per DNS name
// (IP addresses are not domains), each naming its registrable domain, and
// the dcv_token of the token methods.
func x9CheckDomains(t *testing.T, body []byte, names, regs []string, method string) x9Answer {
	t.Helper()
	var a x9Answer
	if err := json.Unmarshal(body, &a); err != nil {
		t.Fatalf("decode 201: %v", err)
	}
	token := method == "dns-txt-token" || method == "http-token" || method == "dns-cname-token"
	if token != (a.DCVRandomValue != "") {
		t.Errorf("dcv_random_value = %q with dcv_method %q", a.DCVRandomValue, method)
	}
	if token && !x9RandomRE.MatchString(a.DCVRandomValue) {
		t.Errorf("dcv_random_value = %q, want 32 characters of base 36", a.DCVRandomValue)
	}
	if len(a.Domains) != len(names) {
		t.Fatalf("domains has %d entries, want %d (%q): %s", len(a.Domains), len(names), names, clip(body))
	}
	ids := map[string]int64{}
	for i, raw := range a.Domains {
		var d x9Domain
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatalf("domain %d: %v", i, err)
		}
		wantKeys := []string{"dns_name", "id", "name"}
		if token {
			wantKeys = []string{"dcv_token", "dns_name", "id", "name"}
		}
		if got := fam2Keys(t, raw); !slices.Equal(got, wantKeys) {
			t.Errorf("domain %d keys = %q, want %q", i, got, wantKeys)
		}
		if d.DNSName != names[i] {
			t.Errorf("domain %d dns_name = %q, want %q", i, d.DNSName, names[i])
		}
		if d.Name != regs[i] || d.ID <= 0 {
			t.Errorf("domain %d = {id %d, name %q}, want the account's domain %s", i, d.ID, d.Name, regs[i])
		}
		if prev, ok := ids[d.Name]; ok && prev != d.ID {
			t.Errorf("domain %q has ids %d and %d in one answer", d.Name, prev, d.ID)
		}
		ids[d.Name] = d.ID
		if !token {
			continue
		}
		tok := d.DCVToken
		tokKeys := []string{"expiration_date", "status", "token"}
		switch method {
		case "http-token":
			tokKeys = []string{"expiration_date", "http_token_url", "status", "token"}
		case "dns-cname-token":
			tokKeys = []string{"expiration_date", "status", "token", "verification_value"}
		}
		var tm map[string]json.RawMessage
		_ = json.Unmarshal(raw, &tm)
		if got := fam2Keys(t, tm["dcv_token"]); !slices.Equal(got, tokKeys) {
			t.Errorf("domain %d dcv_token keys = %q, want %q", i, got, tokKeys)
		}
		if tok.Token != a.DCVRandomValue {
			t.Errorf("domain %d token %q differs from the order's random value %q", i, tok.Token, a.DCVRandomValue)
		}
		if tok.Status != "active" {
			t.Errorf("domain %d token status = %q, want active (sandbox)", i, tok.Status)
		}
		exp, err := time.Parse(time.RFC3339, tok.ExpirationDate)
		if err != nil || exp.Sub(time.Now()) < 29*24*time.Hour || exp.Sub(time.Now()) > 31*24*time.Hour {
			t.Errorf("domain %d expiration_date = %q (%v), want an ISO 8601 stamp 30 days ahead", i, tok.ExpirationDate, err)
		}
		if method == "http-token" && tok.HTTPTokenURL != "http://"+names[i]+"/.well-known/pki-validation/fileauth.txt" {
			t.Errorf("domain %d http_token_url = %q", i, tok.HTTPTokenURL)
		}
		if method == "dns-cname-token" && tok.VerificationValue != "dcv.certorder.invalid" {
			t.Errorf("domain %d verification_value = %q, want the CNAME target dcv.certorder.invalid (docs/decisions.md)", i, tok.VerificationValue)
		}
	}
	return a
}

// x9Want is the content an X9 leaf must have.
type x9Want struct {
	cn       string
	dns      []string
	ips      []string
	ku       x509.KeyUsage
	ekus     []x509.ExtKeyUsage
	end      string // notAfter date when the order fixes it
	issuerID string // "" = any X9 issuer
	sigAlg   x509.SignatureAlgorithm
	pub      crypto.PublicKey
}

func x9CheckLeaf(t *testing.T, chain []*x509.Certificate, w x9Want, orgName string) {
	t.Helper()
	leaf := chain[0]
	if leaf.Subject.CommonName != w.cn || !slices.Equal(leaf.Subject.Organization, []string{orgName}) {
		t.Errorf("subject = %s, want CN=%s, O=%s", leaf.Subject, w.cn, orgName)
	}
	if !slices.Equal(leaf.DNSNames, w.dns) {
		t.Errorf("dNSName SANs = %q, want %q", leaf.DNSNames, w.dns)
	}
	var ips []string
	for _, ip := range leaf.IPAddresses {
		ips = append(ips, ip.String())
	}
	if !slices.Equal(ips, w.ips) {
		t.Errorf("iPAddress SANs = %q, want %q", ips, w.ips)
	}
	if len(leaf.EmailAddresses)+len(leaf.URIs) != 0 {
		t.Errorf("unexpected email/URI SANs %q %v", leaf.EmailAddresses, leaf.URIs)
	}
	if leaf.KeyUsage != w.ku {
		t.Errorf("KeyUsage = %b, want exactly %b", leaf.KeyUsage, w.ku)
	}
	if !slices.Equal(leaf.ExtKeyUsage, w.ekus) || len(leaf.UnknownExtKeyUsage) != 0 {
		t.Errorf("EKUs = %v (unknown %v), want %v", leaf.ExtKeyUsage, leaf.UnknownExtKeyUsage, w.ekus)
	}
	if pol := fam2Policies(leaf); !fam2Contains(pol, x9PolicyOID) {
		t.Errorf("policies = %q, want certorder's X9 policy %s", pol, x9PolicyOID)
	}
	if iss := chain[1].Subject.CommonName; !strings.Contains(iss, "X9") || leaf.Issuer.CommonName != iss {
		t.Errorf("issuer CN = %q (intermediate %q), want an X9 intermediate", leaf.Issuer.CommonName, iss)
	}
	if w.issuerID != "" && (len(chain[1].SubjectKeyId) < 8 || !strings.EqualFold(hex.EncodeToString(chain[1].SubjectKeyId[:8]), w.issuerID)) {
		t.Errorf("issued by %q (SKI %X), want issuer %s", chain[1].Subject.CommonName, chain[1].SubjectKeyId, w.issuerID)
	}
	if span := leaf.NotAfter.Sub(leaf.NotBefore); span > 397*24*time.Hour {
		t.Errorf("validity %v exceeds 397 days", span)
	}
	if w.end != "" && fam2Day(leaf.NotAfter) != w.end {
		t.Errorf("notAfter = %s, want on %s", leaf.NotAfter.UTC(), w.end)
	}
	if w.sigAlg != x509.UnknownSignatureAlgorithm && leaf.SignatureAlgorithm != w.sigAlg {
		t.Errorf("signature algorithm = %v, want %v", leaf.SignatureAlgorithm, w.sigAlg)
	}
	if w.pub != nil {
		fam2SameKey(t, leaf, w.pub)
	}
	for _, u := range w.ekus {
		if err := fam2Verify(chain, u); err != nil {
			t.Errorf("chain does not verify for %v: %v", u, err)
		}
	}
	for _, u := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageEmailProtection} {
		if !slices.Contains(w.ekus, u) && fam2Verify(chain, u) == nil {
			t.Errorf("chain verifies for %v, which was not asked for", u)
		}
	}
}

var x9BothEKUs = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}

const x9DSKA = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyAgreement

// TestX9Orders covers seed 004 on one sandbox server.
func TestX9Orders(t *testing.T) {
	t.Parallel()
	// The account lets orders choose their issuing CA (ca_cert_id).
	srv := testenv.Start(t, testenv.Options{Sandbox: true, IssuingCASelection: true})
	uid := x9UserID(t, srv)
	orgName := clOrgName(t, srv)
	rsaKey, p256, p384 := testenv.RSAKey(t), testenv.ECKey(t, elliptic.P256()), testenv.ECKey(t, elliptic.P384())
	rsaCSR, p256CSR := testenv.CSR(t, rsaKey, "ignored"), testenv.CSR(t, p256, "ignored")
	inYear := fam2Day(time.Now().UTC().AddDate(1, 0, 0))

	allowed, def := x9Product(t, srv, "x9_pki")
	tlsAllowed, _ := x9Product(t, srv, "ssl_securesite")
	smimeAllowed, _ := x9Product(t, srv, "class1_smime")
	t.Run("product lists two X9 issuers", func(t *testing.T) {
		if len(allowed) != 2 || allowed[0].ID == allowed[1].ID {
			t.Fatalf("allowed_ca_certs = %+v, want two X9 intermediates", allowed)
		}
		for _, a := range allowed {
			if !strings.Contains(a.Name, "X9") || a.ID == "" {
				t.Errorf("allowed_ca_certs entry %+v is not an X9 intermediate", a)
			}
			for _, o := range append(slices.Clone(tlsAllowed), smimeAllowed...) {
				if o.ID == a.ID {
					t.Errorf("X9 issuer %s is also offered for TLS or S/MIME", a.ID)
				}
			}
		}
		if def != allowed[0].ID && def != allowed[1].ID {
			t.Errorf("default_ca_cert_id = %q, not one of the allowed", def)
		}
		if len(tlsAllowed) == 0 || len(smimeAllowed) == 0 {
			t.Fatalf("TLS issuers %+v, S/MIME issuers %+v: want at least one each", tlsAllowed, smimeAllowed)
		}
	})
	if len(allowed) != 2 || len(tlsAllowed) == 0 || len(smimeAllowed) == 0 {
		t.FailNow()
	}
	defCert := x9IssuerCert(t, srv, def)
	defHash := x9HashFor(defCert)
	other := allowed[1] // "the second one" of GET /product/x9_pki
	otherCert := x9IssuerCert(t, srv, other.ID)
	// The seed's sha256 must work with the default issuer.
	if defHash != "sha256" {
		t.Fatalf("default X9 issuer %s cannot sign SHA-256, the seed's hash", def)
	}

	t.Run("seed names", func(t *testing.T) {
		// Seed 004's own body: three names under example.com, an ECDSA key
		// with key_usages [key_agreement_encipherment].
		cases := []struct {
			name   string
			mutate func(map[string]any)
			want   x9Want
		}{
			{name: "seed body P-256", want: x9Want{ku: x9DSKA, pub: p256.Public()}},
			{name: "seed body RSA", mutate: setCert("csr", rsaCSR), want: x9Want{ku: x509.KeyUsageKeyEncipherment, pub: rsaKey.Public()}},
			{name: "seed names, digital_signature", mutate: setCert("key_usages", []any{"digital_signature"}),
				want: x9Want{ku: x509.KeyUsageDigitalSignature, pub: p256.Public()}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				m := x9Body(p256CSR, uid)
				if tc.mutate != nil {
					tc.mutate(m)
				}
				w := tc.want
				w.cn, w.dns, w.ekus, w.end, w.issuerID = "example.com", x9SeedNames.dns, x9BothEKUs, inYear, def
				b := counts(t, srv)
				bal := clCents(t, srv)
				status, hdr, body := srv.Do("POST", orderPath+"x9_pki", mustJSON(t, m))
				got := requireCreated(t, status, hdr, body)
				got.requireKeys(t, "id", "domains", "certificate_id", "certificate_chain")
				x9CheckDomains(t, body, x9SeedNames.dns, x9SeedNames.reg, "")
				chain := got.requireChain(t, "example.com")
				requireTally(t, srv, b, tally{orders: 1})
				fam2Must(t, bal-clCents(t, srv) == 49900, "balance %d → %d cents, want a debit of 49900", bal, clCents(t, srv))
				x9CheckLeaf(t, chain, w, orgName)
				info, raw := fam2GetOrder(t, srv, got.ID)
				fam2Must(t, info.Status == "issued", "order status = %q, want issued", info.Status)
				fam2Must(t, strings.Contains(string(raw), "jill.valentine@digicert.com"), "order info lacks the technical contact: %s", clip(raw))
			})
		}
	})

	t.Run("issued", func(t *testing.T) {
		pubDER, _ := x509.MarshalPKIXPublicKey(p384.Public())
		pubPEM := testenv.OneLine(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})))
		rsaPubDER, _ := x509.MarshalPKIXPublicKey(rsaKey.Public())
		rsaPubPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: rsaPubDER}))
		in30 := time.Now().UTC().AddDate(0, 0, 30)
		cases := []struct {
			name   string
			mutate func(m map[string]any, n x9Names) // applied to x9GoodBody
			want   x9Want                            // cn and dns default to the fresh names
			names  func(n x9Names) x9Names           // domains[]; default the fresh names
		}{
			{name: "RSA, key_agreement_encipherment: keyEncipherment", mutate: x9Cert(setCert("csr", rsaCSR), setCert("key_usages", []any{"key_agreement_encipherment"})),
				want: x9Want{ku: x509.KeyUsageKeyEncipherment, pub: rsaKey.Public()}},
			{name: "ECDSA, key_agreement_encipherment: keyAgreement beside digitalSignature", mutate: x9Cert(setCert("key_usages", []any{"key_agreement_encipherment"})),
				want: x9Want{ku: x9DSKA}},
			{name: "defaults: digitalSignature, serverAuth and clientAuth", mutate: x9Cert(delCert("key_usages"), delCert("extended_key_usages")),
				want: x9Want{ku: x509.KeyUsageDigitalSignature}},
			{name: "server_authentication only", mutate: x9Cert(setCert("extended_key_usages", []any{"server_authentication"})),
				want: x9Want{ku: x9DSKA, ekus: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}},
			{name: "client_authentication only, RSA digital_signature", mutate: x9Cert(setCert("csr", rsaCSR),
				setCert("extended_key_usages", []any{"client_authentication"}), setCert("key_usages", []any{"digital_signature"})),
				want: x9Want{ku: x509.KeyUsageDigitalSignature, ekus: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, pub: rsaKey.Public()}},
			{name: "both key usages ECDSA", want: x9Want{ku: x9DSKA}},
			{name: "both key usages RSA", mutate: x9Cert(setCert("csr", rsaCSR), setCert("key_usages", []any{"key_agreement_encipherment", "digital_signature"})),
				want: x9Want{ku: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, pub: rsaKey.Public()}},
			{name: "public IP addresses", mutate: func(m map[string]any, n x9Names) {
				certOf(m)["dns_names"] = append(slices.Clone(n.dnsNames), "93.184.216.34", "2606:4700:4700::1111")
			}, want: x9Want{ku: x9DSKA, ips: []string{"93.184.216.34", "2606:4700:4700::1111"}}},
			{name: "public key on one line (P-384, sha384)", mutate: x9Cert(setCert("csr", pubPEM), setCert("signature_hash", "sha384")),
				want: x9Want{ku: x9DSKA, pub: p384.Public(), sigAlg: x509.SHA384WithRSA}},
			{name: "RSA public key with line breaks, sha512", mutate: x9Cert(setCert("csr", rsaPubPEM), setCert("signature_hash", "sha512")),
				want: x9Want{ku: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, pub: rsaKey.Public(), sigAlg: x509.SHA512WithRSA}},
			{name: "order_validity days 397", mutate: x9Cert(set("order_validity", map[string]any{"days": 397})),
				want: x9Want{ku: x9DSKA, end: "-"}},
			// Without auto_renew: due for renewal at once, it would be
			// renewed under the other tests' feet.
			{name: "order_validity custom date", mutate: x9Cert(set("order_validity", map[string]any{"custom_expiration_date": strings.ToUpper(in30.Format("02 Jan 2006"))}), set("auto_renew", 0)),
				want: x9Want{ku: x9DSKA, end: fam2Day(in30)}},
			{name: "ca_cert_id of the other X9 issuer", mutate: x9Cert(setCert("ca_cert_id", other.ID), setCert("signature_hash", x9HashFor(otherCert))),
				want: x9Want{ku: x9DSKA, issuerID: other.ID}},
			{name: "ca_cert_id of the default issuer in lower case", mutate: x9Cert(setCert("ca_cert_id", strings.ToLower(def))),
				want: x9Want{ku: x9DSKA, issuerID: def}},
			{name: "upper-case names, duplicates dropped", mutate: func(m map[string]any, n x9Names) {
				certOf(m)["common_name"] = strings.ToUpper(n.cn)
				certOf(m)["dns_names"] = []any{strings.ToUpper(n.dns[1]), n.dns[1], n.cn}
			}, want: x9Want{ku: x9DSKA}},
			{name: "IP address as common_name", mutate: func(m map[string]any, n x9Names) {
				certOf(m)["common_name"] = "93.184.216.35"
			}, want: x9Want{cn: "93.184.216.35", ku: x9DSKA, ips: []string{"93.184.216.35"}},
				names: func(n x9Names) x9Names { return x9Names{dns: n.dns[1:], reg: n.reg[1:]} }},
		}
		if _, ok := defCert.PublicKey.(*rsa.PublicKey); !ok {
			// Signature algorithms above assume an RSA default issuer.
			for i := range cases {
				cases[i].want.sigAlg = x509.UnknownSignatureAlgorithm
			}
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				m, n := x9GoodBody(p256CSR, uid)
				if tc.mutate != nil {
					tc.mutate(m, n)
				}
				w := tc.want
				dom := n
				if tc.names != nil {
					dom = tc.names(n)
					w.dns = dom.dns
				}
				if w.cn == "" {
					w.cn = n.cn
				}
				if w.dns == nil {
					w.dns = n.dns
				}
				if w.ekus == nil {
					w.ekus = x9BothEKUs
				}
				if w.issuerID == "" {
					w.issuerID = def
				}
				switch w.end {
				case "":
					w.end = inYear
				case "-":
					w.end = ""
				}
				if w.pub == nil {
					w.pub = p256.Public()
				}
				b := counts(t, srv)
				status, hdr, body := srv.Do("POST", orderPath+"x9_pki", mustJSON(t, m))
				got := requireCreated(t, status, hdr, body)
				got.requireKeys(t, "id", "domains", "certificate_id", "certificate_chain")
				x9CheckDomains(t, body, dom.dns, dom.reg, "")
				chain := got.requireChain(t, w.cn)
				requireTally(t, srv, b, tally{orders: 1})
				x9CheckLeaf(t, chain, w, orgName)
				info, _ := fam2GetOrder(t, srv, got.ID)
				fam2Must(t, info.Status == "issued", "order status = %q, want issued", info.Status)
				fam2Must(t, info.Certificate.CACert != nil && info.Certificate.CACert.ID == w.issuerID,
					"order info ca_cert = %+v, want %s", info.Certificate.CACert, w.issuerID)
				if len(w.ips) > 0 && !slices.Equal(info.Certificate.IPAddresses, w.ips) {
					t.Errorf("order info ip_addresses = %q, want %q", info.Certificate.IPAddresses, w.ips)
				}
				dl := fam2Download(t, srv, got.ID)
				fam2Must(t, len(dl) == 3 && dl[0].Equal(chain[0]), "downloaded chain does not start with the 201 chain's leaf")
			})
		}
	})

	t.Run("token DCV", func(t *testing.T) {
		for _, method := range []string{"dns-txt-token", "http-token", "dns-cname-token"} {
			t.Run(method, func(t *testing.T) {
				m, n := x9GoodBody(p256CSR, uid)
				m["dcv_method"] = method
				status, hdr, body := srv.Do("POST", orderPath+"x9_pki", mustJSON(t, m))
				got := requireCreated(t, status, hdr, body)
				got.requireKeys(t, "id", "domains", "certificate_id", "certificate_chain", "dcv_random_value")
				a := x9CheckDomains(t, body, n.dns, n.reg, method)
				got.requireChain(t, n.cn)
				info, _ := fam2GetOrder(t, srv, got.ID)
				fam2Must(t, info.DCVRandomValue == a.DCVRandomValue, "order info dcv_random_value %q, 201 said %q", info.DCVRandomValue, a.DCVRandomValue)
			})
		}
	})

	t.Run("pending without skip_approval", func(t *testing.T) {
		for _, tc := range []struct {
			name, method string
			seed         bool // seed 004's body as is
		}{
			{name: "seed body", seed: true},
			{name: "dcv_method email"},
			{name: "dcv_method dns-txt-token", method: "dns-txt-token"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				m, n := x9GoodBody(p256CSR, uid)
				ku := x9DSKA
				if tc.seed {
					m, n = x9Body(p256CSR, uid), x9SeedNames
				}
				delete(m, "skip_approval")
				if tc.method != "" {
					m["dcv_method"] = tc.method
				}
				b := counts(t, srv)
				status, hdr, body := srv.Do("POST", orderPath+"x9_pki", mustJSON(t, m))
				got := requireCreated(t, status, hdr, body)
				if tc.method == "" {
					got.requirePending(t)
				} else {
					got.requireKeys(t, "id", "requests", "dcv_random_value")
					if len(got.Requests) != 1 || got.Requests[0].Status != "pending" {
						t.Fatalf("requests = %+v, want one pending", got.Requests)
					}
				}
				requireTally(t, srv, b, tally{orders: 1, requests: 1})
				info, _ := fam2GetOrder(t, srv, got.ID)
				fam2Must(t, info.Status == "needs_approval", "order status = %q, want needs_approval", info.Status)
				fam2PutRequest(t, srv, got.Requests[0].ID, "approved")
				fam2WaitStatus(t, srv, got.ID, "issued")
				chain := fam2IssuedChain(t, srv, got.ID)
				x9CheckLeaf(t, chain, x9Want{cn: n.cn, dns: n.dns, ku: ku, ekus: x9BothEKUs,
					end: inYear, issuerID: def, pub: p256.Public()}, orgName)
			})
		}
	})

	t.Run("card", func(t *testing.T) { x9CardTest(t, srv, uid, p256CSR) })

	t.Run("rejected", func(t *testing.T) {
		weak, err := rsa.GenerateKey(rand.Reader, 1024)
		if err != nil {
			t.Fatal(err)
		}
		weakDER, _ := x509.MarshalPKIXPublicKey(weak.Public())
		weakPub := testenv.OneLine(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: weakDER})))
		bad := func(f string) []string { return []string{"invalid_value:" + f} }
		missing := func(f string) []string { return []string{"missing_field:" + f} }
		contacts := func(cs ...any) func(map[string]any) {
			return set("organization", map[string]any{"id": 1, "contacts": cs})
		}
		cases := []rejectCase{
			{name: "private IP 10.0.0.1", mutate: setCert("dns_names", []any{"10.0.0.1"}), codes: bad("dns_names")},
			{name: "documentation IP 192.0.2.1", mutate: setCert("dns_names", []any{"sub.example.com", "192.0.2.1"}), codes: bad("dns_names")},
			{name: "loopback 127.0.0.1", mutate: setCert("dns_names", []any{"127.0.0.1"}), codes: bad("dns_names")},
			{name: "CGNAT 100.64.0.1", mutate: setCert("dns_names", []any{"100.64.0.1"}), codes: bad("dns_names")},
			{name: "IPv6 unique local", mutate: setCert("dns_names", []any{"fd00::1"}), codes: bad("dns_names")},
			{name: "IPv6 documentation", mutate: setCert("dns_names", []any{"2001:db8::1"}), codes: bad("dns_names")},
			{name: "private IP as common_name", mutate: setCert("common_name", "10.0.0.1"), codes: bad("common_name")},
			{name: "wildcard common_name", mutate: setCert("common_name", "*.example.com"), codes: bad("common_name")},
			{name: "wildcard in dns_names", mutate: setCert("dns_names", []any{"*.example.com"}), codes: bad("dns_names")},
			{name: "special-use TLD", mutate: setCert("dns_names", []any{"host.internal"}), codes: bad("dns_names")},
			{name: "common_name missing", mutate: delCert("common_name"), codes: missing("common_name")},
			{name: "key_usages bad value", mutate: setCert("key_usages", []any{"non_repudiation"}), codes: bad("key_usages")},
			{name: "key_usages one good one bad", mutate: setCert("key_usages", []any{"digital_signature", "cert_sign"}), codes: bad("key_usages")},
			{name: "extended_key_usages bad value", mutate: setCert("extended_key_usages", []any{"code_signing"}), codes: bad("extended_key_usages")},
			{name: "extended_key_usages OID", mutate: setCert("extended_key_usages", []any{"1.3.6.1.5.5.7.3.1"}), codes: bad("extended_key_usages")},
			{name: "csa_agreed_to false", mutate: set("csa_agreed_to", false), codes: bad("csa_agreed_to")},
			{name: "csa_agreed_to word", mutate: set("csa_agreed_to", "maybe"), codes: bad("csa_agreed_to")},
			{name: "certificate_dcv_scope host", mutate: set("certificate_dcv_scope", "host"), codes: bad("certificate_dcv_scope")},
			{name: "order_validity years 2", mutate: set("order_validity", map[string]any{"years": 2}), codes: bad("order_validity")},
			{name: "order_validity days 398", mutate: set("order_validity", map[string]any{"days": 398}), codes: bad("order_validity")},
			{name: "order_validity date 398 days", mutate: set("order_validity", map[string]any{
				"custom_expiration_date": time.Now().UTC().AddDate(0, 0, 398).Format("02 Jan 2006")}), codes: bad("order_validity")},
			{name: "order_validity date MM/dd/yyyy", mutate: set("order_validity", map[string]any{
				"custom_expiration_date": time.Now().UTC().AddDate(0, 0, 30).Format("01/02/2006")}), codes: bad("order_validity")},
			{name: "order_validity empty", mutate: set("order_validity", map[string]any{}), codes: missing("order_validity.years")},
			{name: "order_validity missing", mutate: del("order_validity"), codes: missing("order_validity")},
			{name: "ca_cert_id of the TLS intermediate", mutate: setCert("ca_cert_id", tlsAllowed[0].ID), codes: bad("ca_cert_id")},
			{name: "ca_cert_id of the S/MIME intermediate", mutate: setCert("ca_cert_id", smimeAllowed[0].ID), codes: bad("ca_cert_id")},
			{name: "ca_cert_id garbage", mutate: setCert("ca_cert_id", "garbage"), codes: bad("ca_cert_id")},
			{name: "ca_cert_id object", mutate: setCert("ca_cert_id", map[string]any{"id": def}), codes: bad("ca_cert_id")},
			{name: "csr missing", mutate: delCert("csr"), codes: missing("csr")},
			{name: "csr garbage", mutate: setCert("csr", "hello"), codes: []string{"csr_invalid_cannot_parse"}},
			{name: "public key garbage", mutate: setCert("csr", "-----BEGIN PUBLIC KEY-----bm90IGEga2V5-----END PUBLIC KEY-----"),
				codes: []string{"csr_invalid_cannot_parse"}},
			{name: "public key RSA-1024", mutate: setCert("csr", weakPub), codes: []string{"csr_invalid_key"}},
			{name: "signature_hash sha1", mutate: setCert("signature_hash", "sha1"), codes: bad("signature_hash")},
			{name: "signature_hash missing", mutate: delCert("signature_hash"), codes: missing("signature_hash")},
			{name: "dcv_method unknown", mutate: set("dcv_method", "carrier-pigeon"), codes: bad("dcv_method")},
			{name: "auto_renew 2", mutate: set("auto_renew", 2), codes: bad("auto_renew")},
			{name: "contact user 999999", mutate: contacts(map[string]any{"contact_type": "organization_contact", "user_id": 999999}),
				codes: bad("organization")},
			{name: "contact_type unknown", mutate: contacts(map[string]any{"contact_type": "boss", "user_id": uid}), codes: bad("organization")},
			{name: "new contact without job_title", mutate: contacts(map[string]any{"contact_type": "technical_contact", "first_name": "Jill",
				"last_name": "Valentine", "telephone": "8017019600", "email": "jill.valentine@digicert.com"}),
				codes: missing("organization.contacts.job_title")},
			{name: "organization missing", mutate: del("organization"), codes: missing("organization")},
			{name: "three at once", mutate: all(setCert("common_name", "*.example.com"), setCert("key_usages", []any{"x"}), set("csa_agreed_to", false)),
				codes: []string{"invalid_value:common_name", "invalid_value:key_usages", "invalid_value:csa_agreed_to"}},
		}
		if x9HashFor(otherCert) != "sha256" {
			// The ECC issuer cannot sign the seed's sha256.
			cases = append(cases,
				rejectCase{name: "ca_cert_id of an issuer that cannot sign sha256", codes: bad("signature_hash"),
					mutate: all(setCert("ca_cert_id", other.ID), setCert("key_usages", []any{"digital_signature"}))},
				rejectCase{name: "ca_cert_id of an issuer that cannot sign sha256, without skip_approval", codes: bad("signature_hash"),
					mutate: all(setCert("ca_cert_id", other.ID), setCert("key_usages", []any{"digital_signature"}), del("skip_approval"))})
		}
		cases = append(cases, x9CardRejects()...)
		runRejects(t, srv, "x9_pki", func() map[string]any { return x9Body(p256CSR, uid) }, cases)
	})
}

// x9Cert adapts body mutations to the issued table.
func x9Cert(fs ...func(map[string]any)) func(map[string]any, x9Names) {
	return func(m map[string]any, _ x9Names) { all(fs...)(m) }
}

const x9CardNumber = "5555555555554444"

func x9CardObj(number string) map[string]any {
	return map[string]any{"number": number, "expiration_month": 12, "expiration_year": time.Now().Year() + 2, "cvv": 123,
		"cardholder_name": "Jill Valentine"}
}

func x9Billing() map[string]any {
	return map[string]any{"address": "2801 N Thanksgiving Way", "city": "Lehi", "state": "Utah", "zip": "84043", "country": "us"}
}

// x9CardBody turns a body into a card payment.
func x9CardBody(card, billing map[string]any) func(map[string]any) {
	return func(m map[string]any) {
		m["payment_method"] = "card"
		if card != nil {
			m["credit_card"] = card
		}
		if billing != nil {
			m["billing_address"] = billing
		}
	}
}

func x9CardRejects() []rejectCase {
	without := func(m map[string]any, k string) map[string]any { delete(m, k); return m }
	with := func(m map[string]any, k string, v any) map[string]any { m[k] = v; return m }
	return []rejectCase{
		{name: "card/billing_address missing", mutate: x9CardBody(x9CardObj(x9CardNumber), nil), codes: []string{"missing_field:billing_address"}},
		{name: "card/credit_card missing", mutate: x9CardBody(nil, x9Billing()), codes: []string{"missing_field:credit_card"}},
		{name: "card/Luhn-invalid", mutate: x9CardBody(x9CardObj("5555555555554445"), x9Billing()), codes: []string{"invalid_value:credit_card"}},
		{name: "card/cardholder_name missing", mutate: x9CardBody(without(x9CardObj(x9CardNumber), "cardholder_name"), x9Billing()),
			codes: []string{"missing_field:credit_card.cardholder_name"}},
		{name: "card/expired", mutate: x9CardBody(with(x9CardObj(x9CardNumber), "expiration_year", 2020), x9Billing()),
			codes: []string{"invalid_value:credit_card"}},
		{name: "card/cvv of two digits", mutate: x9CardBody(with(x9CardObj(x9CardNumber), "cvv", 12), x9Billing()),
			codes: []string{"invalid_value:credit_card"}},
		{name: "card/billing city missing", mutate: x9CardBody(x9CardObj(x9CardNumber), without(x9Billing(), "city")),
			codes: []string{"missing_field:billing_address.city"}},
		{name: "card/billing country USA", mutate: x9CardBody(x9CardObj(x9CardNumber), with(x9Billing(), "country", "USA")),
			codes: []string{"invalid_value:billing_address"}},
	}
}

// x9CardTest: a card payment with seed 004's flat card object and an integer
// cvv; only the last four digits are ever shown.
func x9CardTest(t *testing.T, srv *testenv.Server, uid int64, csr string) {
	for _, skip := range []bool{true, false} {
		name := "immediate"
		if !skip {
			name = "pending"
		}
		t.Run(name, func(t *testing.T) {
			m, n := x9GoodBody(csr, uid)
			x9CardBody(x9CardObj(x9CardNumber), x9Billing())(m)
			if !skip {
				delete(m, "skip_approval")
			}
			bal := fam2Balance(t, srv)
			b := counts(t, srv)
			status, hdr, body := srv.Do("POST", orderPath+"x9_pki", mustJSON(t, m))
			got := requireCreated(t, status, hdr, body)
			if skip {
				got.requireKeys(t, "id", "domains", "certificate_id", "certificate_chain")
				got.requireChain(t, n.cn)
				requireTally(t, srv, b, tally{orders: 1})
			} else {
				got.requirePending(t)
				requireTally(t, srv, b, tally{orders: 1, requests: 1})
			}
			fam2Must(t, fam2Balance(t, srv) == bal, "a card order moved the balance from %s to %s", bal, fam2Balance(t, srv))
			info, raw := fam2GetOrder(t, srv, got.ID)
			fam2Must(t, info.PaymentMethod == "card" && info.CardLastFour == "4444",
				"payment_method %q, card_last_four %q; want card, 4444", info.PaymentMethod, info.CardLastFour)
			leaks := [][]byte{body, raw}
			if !skip {
				_, _, req := srv.Do("GET", "/services/v2/request/"+itoa(got.Requests[0].ID), "")
				leaks = append(leaks, req)
			}
			_, _, list := srv.Do("GET", "/services/v2/order/certificate?limit=1000", "")
			leaks = append(leaks, list)
			for i, s := range leaks {
				for _, secret := range []string{x9CardNumber, x9CardNumber[:12], "555555555555"} {
					if strings.Contains(string(s), secret) {
						t.Errorf("answer %d holds %q: %s", i, secret, clip(s))
					}
				}
			}
		})
	}
}
