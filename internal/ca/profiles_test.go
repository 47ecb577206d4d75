package ca

import (
	"crypto"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/policy"
)

var (
	rsa3072Once sync.Once
	rsa3072Key  *rsa.PrivateKey
	p256Once    sync.Once
	p256Key     crypto.Signer
	p384Once    sync.Once
	p384Key     crypto.Signer
)

func testRSA3072(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	rsa3072Once.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 3072)
		if err != nil {
			panic(err)
		}
		rsa3072Key = k
	})
	return rsa3072Key
}

// testKeys are the subscriber keys by name, made once per test binary.
func testKey(t testing.TB, name string) crypto.PublicKey {
	t.Helper()
	switch name {
	case "rsa2048":
		return testRSA2048(t).Public()
	case "rsa3072":
		return testRSA3072(t).Public()
	case "p256":
		p256Once.Do(func() { p256Key = ecKey(t, elliptic.P256()) })
		return p256Key.Public()
	case "p384":
		p384Once.Do(func() { p384Key = ecKey(t, elliptic.P384()) })
		return p384Key.Public()
	}
	t.Fatalf("no test key %q", name)
	return nil
}

var (
	oidGivenNameT = asn1.ObjectIdentifier{2, 5, 4, 42}
	oidSurnameT   = asn1.ObjectIdentifier{2, 5, 4, 4}
	oidOrgIDT     = asn1.ObjectIdentifier{2, 5, 4, 97}
)

func personSubject() Subject {
	s := ovSubject("")
	s.GivenName, s.Surname = "Locke", "Cole"
	return s
}

// profileRequest is a valid request for profile p from the default issuer
// of its purpose (x9ECC picks the second X9 issuer).
func profileRequest(t *testing.T, h *Hierarchy, p Profile, key string, x9ECC bool) LeafRequest {
	t.Helper()
	serial, err := NewSerial(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	nb := time.Now().UTC().Truncate(time.Second).Add(-time.Minute)
	req := LeafRequest{
		Issuer:    h.DefaultIssuerFor(PurposeOf(p)),
		Profile:   p,
		PublicKey: testKey(t, key),
		NotBefore: nb,
		NotAfter:  nb.Add(90 * 24 * time.Hour),
		Serial:    serial,
	}
	switch p {
	case ProfileCodeSigning:
		req.Subject = ovSubject("")
	case ProfileEVCodeSigning:
		req.Subject = evSubject("")
	case ProfileSMIMEMailbox:
		req.Emails = []string{"locke.cole@example.com", "lc@example.org"}
	case ProfileSMIMESponsor, ProfileSMIMESponsorMulti:
		req.Subject = personSubject()
		req.Subject.OrganizationIdentifier = "NTRUS-1234567"
		req.Emails = []string{"locke.cole@example.com"}
	case ProfileClientAuth:
		req.Subject = personSubject()
		req.Subject.CommonName = "Lock Cole" // seed 003's common_name
		req.Emails = []string{"locke.cole@example.com"}
	case ProfileX9TLS:
		req.Subject = ovSubject("")
		req.DNSNames = []string{"app.example.com", "sub.example.com"}
		req.IPAddresses = []net.IP{net.ParseIP("8.8.8.8"), net.ParseIP("2001:4860:4860::8888")}
		if x9ECC {
			req.Issuer = h.IssuersFor(PurposeX9)[1]
		}
	case ProfilePrivateTLS:
		req.Subject = ovSubject("app.example.com")
		req.DNSNames = []string{"app.example.com", "*.app.example.com"}
	default:
		t.Fatalf("profileRequest: %s", p)
	}
	return req
}

// leafWant is what one issued certificate must show.
type leafWant struct {
	ku      x509.KeyUsage
	eku     []x509.ExtKeyUsage
	policy  string
	subject string // subjectString of the certificate
	emails  []string
	dns     []string
	ips     []string
	verify  x509.ExtKeyUsage // the usage the chain is verified for
	host    string           // VerifyOptions.DNSName, when set
}

// subjectString prints the subject in certificate order with short names.
func subjectString(c *x509.Certificate) string {
	short := map[string]string{
		"2.5.4.3": "CN", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.10": "O",
		"2.5.4.5": "serialNumber", "2.5.4.15": "businessCategory", "2.5.4.42": "GN", "2.5.4.4": "SN",
		"2.5.4.97": "orgID", "1.3.6.1.4.1.311.60.2.1.1": "jL", "1.3.6.1.4.1.311.60.2.1.2": "jST",
		"1.3.6.1.4.1.311.60.2.1.3": "jC",
	}
	var parts []string
	for _, atv := range c.Subject.Names {
		name, ok := short[atv.Type.String()]
		if !ok {
			name = atv.Type.String()
		}
		parts = append(parts, fmt.Sprintf("%s=%v", name, atv.Value))
	}
	return strings.Join(parts, ",")
}

func issueAndCheck(t *testing.T, h *Hierarchy, req LeafRequest, w leafWant) *x509.Certificate {
	t.Helper()
	der, warns, err := h.Issue(req)
	if err != nil {
		t.Fatal(err)
	}
	for _, wn := range warns {
		t.Logf("warning: %s", wn)
	}
	errs, _, err := LintCertificate(der)
	if err != nil || len(errs) > 0 {
		t.Fatalf("lint: %v %v", errs, err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	roots, inters := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(h.Root())
	inters.AddCert(req.Issuer.Cert)
	if _, err := c.Verify(x509.VerifyOptions{
		Roots: roots, Intermediates: inters, DNSName: w.host,
		CurrentTime: req.NotBefore.Add(time.Hour), KeyUsages: []x509.ExtKeyUsage{w.verify},
	}); err != nil {
		t.Fatalf("verify for %v: %v", w.verify, err)
	}
	if c.KeyUsage != w.ku {
		t.Errorf("KU %s, want %s", keyUsageString(c.KeyUsage), keyUsageString(w.ku))
	}
	if !sameEKUs(c.ExtKeyUsage, w.eku) || len(c.UnknownExtKeyUsage) != 0 {
		t.Errorf("EKU %v, want %v", c.ExtKeyUsage, w.eku)
	}
	if len(c.Policies) != 1 || c.Policies[0].String() != w.policy {
		t.Errorf("policies %v, want %s", c.Policies, w.policy)
	}
	if got := subjectString(c); got != w.subject {
		t.Errorf("subject\n got %s\nwant %s", got, w.subject)
	}
	var ips []string
	for _, ip := range c.IPAddresses {
		ips = append(ips, ip.String())
	}
	if fmt.Sprint(c.EmailAddresses) != fmt.Sprint(w.emails) || fmt.Sprint(c.DNSNames) != fmt.Sprint(w.dns) ||
		fmt.Sprint(ips) != fmt.Sprint(w.ips) || len(c.URIs) != 0 {
		t.Errorf("SANs: emails %v dns %v ips %v", c.EmailAddresses, c.DNSNames, ips)
	}
	if !c.BasicConstraintsValid || c.IsCA || c.SerialNumber.Cmp(req.Serial) != 0 ||
		!c.NotBefore.Equal(req.NotBefore) || !c.NotAfter.Equal(req.NotAfter) {
		t.Errorf("basics: ca=%v serial %x validity %s..%s", c.IsCA, c.SerialNumber, c.NotBefore, c.NotAfter)
	}
	for _, ext := range c.Extensions {
		if ext.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 15}) && !ext.Critical {
			t.Error("key usage not critical")
		}
	}
	return c
}

func TestIssueFamilies(t *testing.T) {
	h := rsaHierarchy(t)
	dse := x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
	dsa := x509.KeyUsageDigitalSignature | x509.KeyUsageKeyAgreement
	ds := x509.KeyUsageDigitalSignature
	serverClient := []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	email := []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection}
	emailClient := []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection, x509.ExtKeyUsageClientAuth}
	client := []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	codeSigning := []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}
	const (
		org    = "C=US,ST=California,L=San Francisco,O=Example Corp"
		person = org + ",orgID=NTRUS-1234567,GN=Locke,SN=Cole,CN=Locke Cole"
	)
	evOrg := "businessCategory=Private Organization,jC=US,jST=Delaware,serialNumber=1234567," + org + ",CN=Example Corp"
	x9Subject := org + ",CN=app.example.com"
	x9DNS := []string{"app.example.com", "sub.example.com"}
	x9IPs := []string{"8.8.8.8", "2001:4860:4860::8888"}
	for _, tc := range []struct {
		name    string
		profile Profile
		key     string
		x9ECC   bool
		mutate  func(*LeafRequest)
		want    leafWant
	}{
		{"code signing rsa3072", ProfileCodeSigning, "rsa3072", false, nil,
			leafWant{ku: ds, eku: codeSigning, policy: "2.23.140.1.4.1", subject: org + ",CN=Example Corp", verify: x509.ExtKeyUsageCodeSigning}},
		{"code signing p256", ProfileCodeSigning, "p256", false, nil,
			leafWant{ku: ds, eku: codeSigning, policy: "2.23.140.1.4.1", subject: org + ",CN=Example Corp", verify: x509.ExtKeyUsageCodeSigning}},
		{"code signing p384 explicit CN", ProfileCodeSigning, "p384", false, func(r *LeafRequest) { r.Subject.CommonName = "Example Corp" },
			leafWant{ku: ds, eku: codeSigning, policy: "2.23.140.1.4.1", subject: org + ",CN=Example Corp", verify: x509.ExtKeyUsageCodeSigning}},
		{"ev code signing rsa3072", ProfileEVCodeSigning, "rsa3072", false, nil,
			leafWant{ku: ds, eku: codeSigning, policy: "2.23.140.1.3", subject: evOrg, verify: x509.ExtKeyUsageCodeSigning}},
		{"ev code signing p256", ProfileEVCodeSigning, "p256", false, nil,
			leafWant{ku: ds, eku: codeSigning, policy: "2.23.140.1.3", subject: evOrg, verify: x509.ExtKeyUsageCodeSigning}},

		{"mailbox rsa", ProfileSMIMEMailbox, "rsa2048", false, nil,
			leafWant{ku: dse, eku: email, policy: "2.23.140.1.5.1.3", subject: "CN=locke.cole@example.com",
				emails: []string{"locke.cole@example.com", "lc@example.org"}, verify: x509.ExtKeyUsageEmailProtection}},
		{"mailbox p256 second address as CN, organization ignored", ProfileSMIMEMailbox, "p256", false, func(r *LeafRequest) {
			r.Subject = ovSubject("lc@example.org")
		}, leafWant{ku: dsa, eku: email, policy: "2.23.140.1.5.1.3", subject: "CN=lc@example.org",
			emails: []string{"locke.cole@example.com", "lc@example.org"}, verify: x509.ExtKeyUsageEmailProtection}},
		{"sponsor rsa", ProfileSMIMESponsor, "rsa2048", false, nil,
			leafWant{ku: dse, eku: email, policy: "2.23.140.1.5.3.3", subject: person,
				emails: []string{"locke.cole@example.com"}, verify: x509.ExtKeyUsageEmailProtection}},
		{"sponsor p384", ProfileSMIMESponsor, "p384", false, nil,
			leafWant{ku: dsa, eku: email, policy: "2.23.140.1.5.3.3", subject: person,
				emails: []string{"locke.cole@example.com"}, verify: x509.ExtKeyUsageEmailProtection}},
		{"sponsor signing only rsa", ProfileSMIMESponsor, "rsa2048", false, func(r *LeafRequest) {
			r.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment
		}, leafWant{ku: ds | x509.KeyUsageContentCommitment, eku: email, policy: "2.23.140.1.5.3.3", subject: person,
			emails: []string{"locke.cole@example.com"}, verify: x509.ExtKeyUsageEmailProtection}},
		{"sponsor signing only p256", ProfileSMIMESponsor, "p256", false, func(r *LeafRequest) {
			r.KeyUsage = x509.KeyUsageDigitalSignature
		}, leafWant{ku: ds, eku: email, policy: "2.23.140.1.5.3.3", subject: person,
			emails: []string{"locke.cole@example.com"}, verify: x509.ExtKeyUsageEmailProtection}},
		{"sponsor email CN, surname only, no organization identifier", ProfileSMIMESponsor, "p256", false, func(r *LeafRequest) {
			r.Subject.GivenName, r.Subject.OrganizationIdentifier = "", ""
			r.Subject.CommonName = "locke.cole@example.com"
		}, leafWant{ku: dsa, eku: email, policy: "2.23.140.1.5.3.3", subject: org + ",SN=Cole,CN=locke.cole@example.com",
			emails: []string{"locke.cole@example.com"}, verify: x509.ExtKeyUsageEmailProtection}},
		{"sponsor multipurpose rsa", ProfileSMIMESponsorMulti, "rsa2048", false, nil,
			leafWant{ku: dse, eku: emailClient, policy: "2.23.140.1.5.3.2", subject: person,
				emails: []string{"locke.cole@example.com"}, verify: x509.ExtKeyUsageClientAuth}},
		{"sponsor multipurpose p256", ProfileSMIMESponsorMulti, "p256", false, nil,
			leafWant{ku: dsa, eku: emailClient, policy: "2.23.140.1.5.3.2", subject: person,
				emails: []string{"locke.cole@example.com"}, verify: x509.ExtKeyUsageEmailProtection}},

		{"client auth rsa", ProfileClientAuth, "rsa2048", false, nil,
			leafWant{ku: ds, eku: client, policy: oidClientAuth.String(), subject: org + ",GN=Locke,SN=Cole,CN=Lock Cole",
				emails: []string{"locke.cole@example.com"}, verify: x509.ExtKeyUsageClientAuth}},
		{"client auth p256, email CN", ProfileClientAuth, "p256", false, func(r *LeafRequest) {
			r.Subject = ovSubject("")
		}, leafWant{ku: ds, eku: client, policy: oidClientAuth.String(), subject: org + ",CN=locke.cole@example.com",
			emails: []string{"locke.cole@example.com"}, verify: x509.ExtKeyUsageClientAuth}},

		{"private TLS rsa", ProfilePrivateTLS, "rsa2048", false, nil,
			leafWant{ku: dse, eku: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, policy: oidPrivateTLS.String(),
				subject: org + ",CN=app.example.com", dns: []string{"app.example.com", "*.app.example.com"},
				verify: x509.ExtKeyUsageServerAuth, host: "www.app.example.com"}},
		{"private TLS p256 sha384", ProfilePrivateTLS, "p256", false, func(r *LeafRequest) { r.SignatureHash = "sha384" },
			leafWant{ku: ds, eku: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, policy: oidPrivateTLS.String(),
				subject: org + ",CN=app.example.com", dns: []string{"app.example.com", "*.app.example.com"},
				verify: x509.ExtKeyUsageServerAuth, host: "app.example.com"}},

		{"x9 rsa issuer rsa key", ProfileX9TLS, "rsa2048", false, nil,
			leafWant{ku: dse, eku: serverClient, policy: oidX9.String(), subject: x9Subject, dns: x9DNS, ips: x9IPs,
				verify: x509.ExtKeyUsageServerAuth, host: "sub.example.com"}},
		{"x9 ecc issuer p256 key", ProfileX9TLS, "p256", true, nil,
			leafWant{ku: dsa, eku: serverClient, policy: oidX9.String(), subject: x9Subject, dns: x9DNS, ips: x9IPs,
				verify: x509.ExtKeyUsageClientAuth, host: "8.8.8.8"}},
		{"x9 ecc issuer rsa key sha384", ProfileX9TLS, "rsa3072", true, func(r *LeafRequest) { r.SignatureHash = "sha384" },
			leafWant{ku: dse, eku: serverClient, policy: oidX9.String(), subject: x9Subject, dns: x9DNS, ips: x9IPs,
				verify: x509.ExtKeyUsageServerAuth, host: "2001:4860:4860::8888"}},
		{"x9 ip only", ProfileX9TLS, "p384", false, func(r *LeafRequest) { r.DNSNames = nil; r.SignatureHash = "sha512" },
			leafWant{ku: dsa, eku: serverClient, policy: oidX9.String(), subject: org + ",CN=8.8.8.8", ips: x9IPs,
				verify: x509.ExtKeyUsageServerAuth, host: "8.8.8.8"}},
		{"x9 ipv6 CN", ProfileX9TLS, "p256", false, func(r *LeafRequest) {
			r.DNSNames = nil
			r.IPAddresses = r.IPAddresses[1:]
		}, leafWant{ku: dsa, eku: serverClient, policy: oidX9.String(), subject: org + ",CN=2001:4860:4860::8888", ips: x9IPs[1:],
			verify: x509.ExtKeyUsageServerAuth, host: "2001:4860:4860::8888"}},
		{"x9 dns only, serverAuth only, digitalSignature only", ProfileX9TLS, "rsa2048", false, func(r *LeafRequest) {
			r.IPAddresses = nil
			r.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
			r.KeyUsage = x509.KeyUsageDigitalSignature
		}, leafWant{ku: ds, eku: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, policy: oidX9.String(), subject: x9Subject, dns: x9DNS,
			verify: x509.ExtKeyUsageServerAuth, host: "app.example.com"}},
		{"x9 keyEncipherment only", ProfileX9TLS, "rsa2048", false, func(r *LeafRequest) {
			r.KeyUsage = x509.KeyUsageKeyEncipherment
		}, leafWant{ku: x509.KeyUsageKeyEncipherment, eku: serverClient, policy: oidX9.String(), subject: x9Subject, dns: x9DNS, ips: x9IPs,
			verify: x509.ExtKeyUsageServerAuth, host: "app.example.com"}},
		{"x9 clientAuth only rsa: digitalSignature by default", ProfileX9TLS, "rsa2048", false, func(r *LeafRequest) {
			r.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
		}, leafWant{ku: ds, eku: client, policy: oidX9.String(), subject: x9Subject, dns: x9DNS, ips: x9IPs,
			verify: x509.ExtKeyUsageClientAuth}},
		{"x9 clientAuth only, keyAgreement only", ProfileX9TLS, "p256", true, func(r *LeafRequest) {
			r.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
			r.KeyUsage = x509.KeyUsageKeyAgreement
		}, leafWant{ku: x509.KeyUsageKeyAgreement, eku: client, policy: oidX9.String(), subject: x9Subject, dns: x9DNS, ips: x9IPs,
			verify: x509.ExtKeyUsageClientAuth}},
		{"x9 EKUs reordered, digitalSignature only", ProfileX9TLS, "p256", true, func(r *LeafRequest) {
			r.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth}
			r.KeyUsage = x509.KeyUsageDigitalSignature
		}, leafWant{ku: ds, eku: serverClient, policy: oidX9.String(), subject: x9Subject, dns: x9DNS, ips: x9IPs,
			verify: x509.ExtKeyUsageServerAuth, host: "app.example.com"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // read-only on the shared hierarchy; zlint is the cost
			req := profileRequest(t, h, tc.profile, tc.key, tc.x9ECC)
			if tc.mutate != nil {
				tc.mutate(&req)
			}
			c := issueAndCheck(t, h, req, tc.want)
			if tc.profile == ProfileSMIMESponsor || tc.profile == ProfileSMIMESponsorMulti || tc.profile == ProfileClientAuth {
				gn, _ := subjectAttr(c, oidGivenNameT)
				sn, _ := subjectAttr(c, oidSurnameT)
				if sn != req.Subject.Surname || gn != req.Subject.GivenName {
					t.Errorf("givenName %q surname %q", gn, sn)
				}
			}
			if _, ok := subjectAttr(c, oidOrgIDT); ok != (req.Subject.OrganizationIdentifier != "" && tc.profile != ProfileClientAuth) {
				t.Errorf("organizationIdentifier present=%v", ok)
			}
		})
	}
}

// TestMaxValidityPerProfile issues each profile at exactly its maximum
// (which must lint clean, X9 at 397 days included) and one second over.
func TestMaxValidityPerProfile(t *testing.T) {
	h := rsaHierarchy(t)
	nb := time.Now().UTC().Truncate(time.Second)
	for _, tc := range []struct {
		profile Profile
		key     string
		want    time.Duration
	}{
		{ProfileCodeSigning, "p256", policy.MaxCodeSigningValidity(nb)},
		{ProfileEVCodeSigning, "p256", policy.MaxCodeSigningValidity(nb)},
		{ProfileSMIMEMailbox, "p256", policy.MaxSMIMEValidity},
		{ProfileSMIMESponsor, "p256", policy.MaxSMIMEValidity},
		{ProfileSMIMESponsorMulti, "p256", policy.MaxSMIMEValidity},
		{ProfileClientAuth, "p256", policy.MaxSMIMEValidity},
		{ProfileX9TLS, "p256", policy.MaxX9Validity},
		{ProfilePrivateTLS, "p256", policy.MaxPrivateTLSValidity},
	} {
		t.Run(string(tc.profile), func(t *testing.T) {
			t.Parallel()
			if got := MaxValidity(tc.profile, nb); got != tc.want {
				t.Fatalf("MaxValidity %s, want %s", got, tc.want)
			}
			req := profileRequest(t, h, tc.profile, tc.key, false)
			req.NotBefore, req.NotAfter = nb, nb.Add(tc.want)
			der, _, err := h.Issue(req)
			if err != nil {
				t.Fatalf("at the maximum: %v", err)
			}
			if errs, _, err := LintCertificate(der); err != nil || len(errs) > 0 {
				t.Fatalf("lint at the maximum: %v %v", errs, err)
			}
			req.NotAfter = req.NotAfter.Add(time.Second)
			if _, _, err := h.Issue(req); err == nil || !strings.Contains(err.Error(), "exceeds the maximum") {
				t.Fatalf("one second over: %v", err)
			}
		})
	}
	for _, p := range []Profile{ProfileDVTLS, ProfileOVTLS, ProfileEVTLS} {
		if MaxValidity(p, nb) != policy.MaxTLSValidity(nb) {
			t.Errorf("%s: MaxValidity is not the TLS limit", p)
		}
	}
	if MaxValidity("nope", nb) != 0 {
		t.Error("unknown profile has a validity")
	}
}

func TestPurposeOf(t *testing.T) {
	for p, want := range map[Profile]Purpose{
		ProfileDVTLS: PurposeTLS, ProfileOVTLS: PurposeTLS, ProfileEVTLS: PurposeTLS,
		ProfileCodeSigning: PurposeCodeSigning, ProfileEVCodeSigning: PurposeCodeSigning,
		ProfileSMIMEMailbox: PurposeSMIME, ProfileSMIMESponsor: PurposeSMIME,
		ProfileSMIMESponsorMulti: PurposeSMIME, ProfileClientAuth: PurposeSMIME,
		ProfileX9TLS: PurposeX9, ProfilePrivateTLS: PurposePrivateTLS, "smime": "",
	} {
		if got := PurposeOf(p); got != want {
			t.Errorf("PurposeOf(%s) = %q, want %q", p, got, want)
		}
	}
}

func TestCheckKeyFor(t *testing.T) {
	for _, tc := range []struct {
		profile Profile
		key     string
		ok      bool
	}{
		{ProfileCodeSigning, "rsa2048", false},
		{ProfileEVCodeSigning, "rsa2048", false},
		{ProfileCodeSigning, "rsa3072", true},
		{ProfileCodeSigning, "p256", true},
		{ProfileEVCodeSigning, "p384", true},
		{ProfileOVTLS, "rsa2048", true},
		{ProfileX9TLS, "rsa2048", true},
		{ProfileSMIMEMailbox, "rsa2048", true},
		{ProfileClientAuth, "p384", true},
		{ProfileX9TLS, "rsa1024", false},
		{ProfileSMIMESponsor, "p224", false},
	} {
		t.Run(fmt.Sprintf("%s/%s", tc.profile, tc.key), func(t *testing.T) {
			var pub crypto.PublicKey
			switch tc.key {
			case "rsa1024":
				pub = testRSA1024(t).Public()
			case "p224":
				pub = ecKey(t, elliptic.P224()).Public()
			default:
				pub = testKey(t, tc.key)
			}
			err := CheckKeyFor(tc.profile, pub)
			if tc.ok != (err == nil) {
				t.Fatalf("CheckKeyFor: %v", err)
			}
			if err != nil && !errors.Is(err, ErrWeakKey) {
				t.Fatalf("%v does not wrap ErrWeakKey", err)
			}
		})
	}
	if err := CheckKeyFor("nope", testKey(t, "p256")); err == nil || errors.Is(err, ErrWeakKey) {
		t.Errorf("unknown profile: %v", err)
	}
}

func TestIssueFamilyRefusals(t *testing.T) {
	h := rsaHierarchy(t)
	tls := h.DefaultIssuer()
	x9 := h.DefaultIssuerFor(PurposeX9)
	for _, tc := range []struct {
		name    string
		profile Profile
		key     string
		mutate  func(*LeafRequest)
		wantErr error  // errors.Is, when set
		want    string // substring, when set
	}{
		{"code signing from TLS issuer", ProfileCodeSigning, "p256", func(r *LeafRequest) { r.Issuer = tls }, ErrIssuerPurpose, ""},
		{"OV from X9 issuer", ProfileX9TLS, "p256", func(r *LeafRequest) {
			r.Profile, r.Subject, r.IPAddresses = ProfileOVTLS, ovSubject("app.example.com"), nil
		}, ErrIssuerPurpose, ""},
		{"X9 from TLS issuer", ProfileX9TLS, "p256", func(r *LeafRequest) { r.Issuer = tls }, ErrIssuerPurpose, ""},
		{"S/MIME from code signing issuer", ProfileSMIMEMailbox, "p256", func(r *LeafRequest) {
			r.Issuer = h.DefaultIssuerFor(PurposeCodeSigning)
		}, ErrIssuerPurpose, ""},
		{"client auth from X9 issuer", ProfileClientAuth, "p256", func(r *LeafRequest) { r.Issuer = x9 }, ErrIssuerPurpose, ""},
		{"code signing RSA 2048", ProfileCodeSigning, "rsa2048", nil, ErrWeakKey, "3072"},
		{"code signing CN not the organization", ProfileCodeSigning, "p256", func(r *LeafRequest) { r.Subject.CommonName = "Somebody" }, nil, "organization name"},
		{"code signing with a DNS name", ProfileCodeSigning, "p256", func(r *LeafRequest) { r.DNSNames = []string{"example.com"} }, nil, "takes no DNS names"},
		{"code signing without organization", ProfileCodeSigning, "p256", func(r *LeafRequest) { r.Subject.Organization = "" }, nil, "organization"},
		{"EV code signing without business category", ProfileEVCodeSigning, "p256", func(r *LeafRequest) { r.Subject.BusinessCategory = "" }, nil, "business category"},
		{"code signing with clientAuth", ProfileCodeSigning, "p256", func(r *LeafRequest) {
			r.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning, x509.ExtKeyUsageClientAuth}
		}, ErrUsageNotAllowed, ""},
		{"X9 wildcard", ProfileX9TLS, "p256", func(r *LeafRequest) { r.DNSNames = []string{"*.example.com"} }, nil, "wildcard"},
		{"X9 no names", ProfileX9TLS, "p256", func(r *LeafRequest) { r.DNSNames, r.IPAddresses = nil, nil }, nil, "at least one"},
		{"X9 CN not among names", ProfileX9TLS, "p256", func(r *LeafRequest) { r.Subject.CommonName = "other.example.com" }, nil, "not among"},
		{"X9 with email", ProfileX9TLS, "p256", func(r *LeafRequest) { r.Emails = []string{"a@example.com"} }, nil, "takes no email"},
		{"X9 bad IP", ProfileX9TLS, "p256", func(r *LeafRequest) { r.IPAddresses = []net.IP{{1, 2, 3}} }, nil, "invalid IP"},
		{"X9 keyAgreement with RSA", ProfileX9TLS, "rsa2048", func(r *LeafRequest) { r.KeyUsage = x509.KeyUsageKeyAgreement }, ErrUsageNotAllowed, ""},
		{"X9 keyAgreement alone with ECDSA serverAuth", ProfileX9TLS, "p256", func(r *LeafRequest) { r.KeyUsage = x509.KeyUsageKeyAgreement }, ErrUsageNotAllowed, ""},
		{"X9 keyEncipherment with RSA clientAuth only", ProfileX9TLS, "rsa2048", func(r *LeafRequest) {
			r.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
			r.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
		}, ErrUsageNotAllowed, ""},
		{"client auth keyEncipherment", ProfileClientAuth, "rsa2048", func(r *LeafRequest) {
			r.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
		}, ErrUsageNotAllowed, ""},
		{"X9 keyEncipherment with ECDSA", ProfileX9TLS, "p256", func(r *LeafRequest) { r.KeyUsage = x509.KeyUsageKeyEncipherment }, ErrUsageNotAllowed, ""},
		{"X9 certSign", ProfileX9TLS, "p256", func(r *LeafRequest) { r.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign }, ErrUsageNotAllowed, ""},
		{"X9 codeSigning EKU", ProfileX9TLS, "p256", func(r *LeafRequest) { r.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning} }, ErrUsageNotAllowed, ""},
		{"X9 empty EKU list", ProfileX9TLS, "p256", func(r *LeafRequest) { r.ExtKeyUsage = []x509.ExtKeyUsage{} }, ErrUsageNotAllowed, ""},
		{"X9 duplicate EKU", ProfileX9TLS, "p256", func(r *LeafRequest) {
			r.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageServerAuth}
		}, ErrUsageNotAllowed, ""},
		{"X9 ECC issuer refuses sha256", ProfileX9TLS, "p256", func(r *LeafRequest) {
			r.Issuer, r.SignatureHash = h.IssuersFor(PurposeX9)[1], "sha256"
		}, ErrHashNotSupported, ""},
		{"mailbox without email", ProfileSMIMEMailbox, "p256", func(r *LeafRequest) { r.Emails = nil }, nil, "at least one email"},
		{"sponsor without email", ProfileSMIMESponsor, "p256", func(r *LeafRequest) { r.Emails = nil }, nil, "at least one email"},
		{"client auth without email", ProfileClientAuth, "p256", func(r *LeafRequest) { r.Emails = nil }, nil, "at least one email"},
		{"mailbox bad email", ProfileSMIMEMailbox, "p256", func(r *LeafRequest) { r.Emails = []string{"not an email"} }, nil, "not a mailbox"},
		{"mailbox non-ASCII email", ProfileSMIMEMailbox, "p256", func(r *LeafRequest) { r.Emails = []string{"jörg@example.com"} }, nil, "ASCII"},
		{"mailbox duplicate email", ProfileSMIMEMailbox, "p256", func(r *LeafRequest) {
			r.Emails = []string{"a@example.com", "A@example.com"}
		}, nil, "twice"},
		{"mailbox personal CN", ProfileSMIMEMailbox, "p256", func(r *LeafRequest) { r.Subject.CommonName = "Locke Cole" }, nil, "must be one of the email"},
		{"mailbox with DNS name", ProfileSMIMEMailbox, "p256", func(r *LeafRequest) { r.DNSNames = []string{"example.com"} }, nil, "takes no DNS"},
		{"mailbox signing only", ProfileSMIMEMailbox, "p256", func(r *LeafRequest) { r.KeyUsage = x509.KeyUsageDigitalSignature }, ErrUsageNotAllowed, ""},
		{"mailbox with clientAuth", ProfileSMIMEMailbox, "p256", func(r *LeafRequest) {
			r.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection, x509.ExtKeyUsageClientAuth}
		}, ErrUsageNotAllowed, ""},
		{"sponsor without personal name", ProfileSMIMESponsor, "p256", func(r *LeafRequest) {
			r.Subject.GivenName, r.Subject.Surname = "", ""
		}, nil, "given name or surname"},
		{"sponsor without organization", ProfileSMIMESponsor, "p256", func(r *LeafRequest) { r.Subject.Organization = "" }, nil, "organization"},
		{"sponsor CN foreign email", ProfileSMIMESponsor, "p256", func(r *LeafRequest) { r.Subject.CommonName = "x@example.net" }, nil, "not among"},
		{"sponsor keyEncipherment only", ProfileSMIMESponsor, "rsa2048", func(r *LeafRequest) { r.KeyUsage = x509.KeyUsageKeyEncipherment }, ErrUsageNotAllowed, ""},
		{"multipurpose signing only", ProfileSMIMESponsorMulti, "p256", func(r *LeafRequest) {
			r.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment
		}, ErrUsageNotAllowed, ""},
		{"multipurpose without clientAuth", ProfileSMIMESponsorMulti, "p256", func(r *LeafRequest) {
			r.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection}
		}, ErrUsageNotAllowed, ""},
		{"client auth with emailProtection", ProfileClientAuth, "p256", func(r *LeafRequest) {
			r.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageEmailProtection}
		}, ErrUsageNotAllowed, ""},
		{"client auth without organization", ProfileClientAuth, "p256", func(r *LeafRequest) { r.Subject.Organization = "" }, nil, "organization"},
		{"S/MIME over its validity", ProfileSMIMESponsor, "p256", func(r *LeafRequest) {
			r.NotAfter = r.NotBefore.Add(policy.MaxSMIMEValidity + time.Second)
		}, nil, "exceeds the maximum"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := profileRequest(t, h, tc.profile, tc.key, false)
			if tc.mutate != nil {
				tc.mutate(&req)
			}
			_, _, err := h.Issue(req)
			if err == nil {
				t.Fatal("issued")
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("got %v, want %v", err, tc.wantErr)
			}
			if tc.want != "" && !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestIssueTLSRefusesOtherFields(t *testing.T) {
	h := rsaHierarchy(t)
	pub := testKey(t, "p256")
	for _, tc := range []struct {
		name    string
		mutate  func(*LeafRequest)
		wantErr error
		want    string
	}{
		{"email", func(r *LeafRequest) { r.Emails = []string{"a@example.com"} }, nil, "takes no email"},
		{"IP", func(r *LeafRequest) { r.IPAddresses = []net.IP{net.ParseIP("8.8.8.8")} }, nil, "takes no IP"},
		{"clientAuth", func(r *LeafRequest) {
			r.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
		}, ErrUsageNotAllowed, ""},
		{"keyAgreement", func(r *LeafRequest) { r.KeyUsage = x509.KeyUsageKeyAgreement }, ErrUsageNotAllowed, ""},
		{"from the S/MIME issuer", func(r *LeafRequest) { r.Issuer = h.DefaultIssuerFor(PurposeSMIME) }, ErrIssuerPurpose, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := leafRequest(t, h, ProfileOVTLS, pub, "sha256")
			tc.mutate(&req)
			_, _, err := h.Issue(req)
			if err == nil || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v", err)
			}
		})
	}
	// The explicit defaults are accepted.
	req := leafRequest(t, h, ProfileOVTLS, pub, "sha256")
	req.KeyUsage = x509.KeyUsageDigitalSignature
	req.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	der, _, err := h.Issue(req)
	if err != nil {
		t.Fatal(err)
	}
	checkLeaf(t, h, req, der)
}

// TestX9LintFailureSignsNothing: a reserved IP reaches zlint (the order
// code must not send one) and the real X9 key signs nothing.
func TestX9LintFailureSignsNothing(t *testing.T) {
	h := sharedHierarchy(t, KeyP256, KeyP256)
	iss := h.IssuersFor(PurposeX9)[0]
	spy := &countingSigner{Signer: iss.signer}
	iss.signer = spy
	t.Cleanup(func() { iss.signer = spy.Signer })
	req := profileRequest(t, h, ProfileX9TLS, "p256", false)
	req.IPAddresses = []net.IP{net.ParseIP("10.1.2.3")}
	_, _, err := h.Issue(req)
	var le *LintError
	if !errors.As(err, &le) || !strings.Contains(strings.Join(le.Lints, "\n"), "e_ext_san_contains_reserved_ip") {
		t.Fatalf("got %v, want e_ext_san_contains_reserved_ip", err)
	}
	if spy.n != 0 {
		t.Fatalf("real X9 key signed %d times", spy.n)
	}
	req.IPAddresses = []net.IP{net.ParseIP("8.8.4.4")}
	if _, _, err := h.Issue(req); err != nil || spy.n != 1 {
		t.Fatalf("good request: err=%v signatures=%d", err, spy.n)
	}
}

// TestLintSelection shows which rule sets LintCertificate applies, on
// certificates built by hand without Issue's checks: S/MIME and code
// signing lints reach their certificates, and the X9 exclusions reach X9
// leaves only.
func TestLintSelection(t *testing.T) {
	h := rsaHierarchy(t)
	nb := time.Now().UTC().Truncate(time.Second).Add(-time.Minute)
	build := func(t *testing.T, iss *Issuer, pub crypto.PublicKey, mutate func(*x509.Certificate)) []byte {
		t.Helper()
		tmpl := &x509.Certificate{
			SerialNumber:          big.NewInt(0x1234567890),
			Subject:               pkix.Name{CommonName: "app.example.com", Organization: []string{"Example Corp"}, Country: []string{"US"}, Province: []string{"California"}},
			NotBefore:             nb,
			NotAfter:              nb.Add(90 * 24 * time.Hour),
			BasicConstraintsValid: true,
			KeyUsage:              x509.KeyUsageDigitalSignature,
			OCSPServer:            []string{h.OCSPURL()},
			IssuingCertificateURL: []string{h.IssuerCertURL(iss)},
			CRLDistributionPoints: []string{h.CRLURL(iss)},
		}
		mutate(tmpl)
		d, err := iss.draft(rand.Reader, tmpl, pub)
		if err != nil {
			t.Fatal(err)
		}
		return d.lint
	}
	long := func(c *x509.Certificate) { c.NotAfter = c.NotBefore.Add(policy.MaxX9Validity) }
	for _, tc := range []struct {
		name   string
		der    func(t *testing.T) []byte
		want   string // a lint that must fail; "" for clean
		absent string // a lint that must not fail
	}{
		{"S/MIME strict with serverAuth", func(t *testing.T) []byte {
			return build(t, h.DefaultIssuerFor(PurposeSMIME), testKey(t, "p256"), func(c *x509.Certificate) {
				c.Subject = pkix.Name{CommonName: "a@example.com"}
				c.EmailAddresses = []string{"a@example.com"}
				c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection, x509.ExtKeyUsageServerAuth}
				c.Policies = []x509.OID{oidSMIMEMailboxStrict}
			})
		}, "e_smime_strict_eku_check", ""},
		{"S/MIME mailbox with organization", func(t *testing.T) []byte {
			return build(t, h.DefaultIssuerFor(PurposeSMIME), testKey(t, "p256"), func(c *x509.Certificate) {
				c.Subject = pkix.Name{CommonName: "a@example.com", Organization: []string{"Example Corp"}}
				c.EmailAddresses = []string{"a@example.com"}
				c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection}
				c.Policies = []x509.OID{oidSMIMEMailboxStrict}
			})
		}, "e_mailbox_validated_enforce_subject_field_restrictions", ""},
		{"code signing with RSA 2048", func(t *testing.T) []byte {
			return build(t, h.DefaultIssuerFor(PurposeCodeSigning), testKey(t, "rsa2048"), func(c *x509.Certificate) {
				c.Subject.CommonName = "Example Corp"
				c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}
				c.Policies = []x509.OID{oidCodeSigning}
			})
		}, "e_cs_rsa_key_size", ""},
		{"X9 at 397 days", func(t *testing.T) []byte {
			return build(t, h.DefaultIssuerFor(PurposeX9), testKey(t, "p256"), func(c *x509.Certificate) {
				long(c)
				c.DNSNames = []string{"app.example.com"}
				c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
				c.Policies = []x509.OID{oidX9}
			})
		}, "", "e_server_cert_valid_time_longer_than_200_days"},
		{"X9 over 398 days still fails", func(t *testing.T) []byte {
			return build(t, h.DefaultIssuerFor(PurposeX9), testKey(t, "p256"), func(c *x509.Certificate) {
				c.NotAfter = c.NotBefore.Add(399 * 24 * time.Hour)
				c.DNSNames = []string{"app.example.com"}
				c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
				c.Policies = []x509.OID{oidX9}
			})
		}, "e_tls_server_cert_valid_time_longer_than_398_days", ""},
		{"X9 policy beside a BR policy gets no exclusions", func(t *testing.T) []byte {
			return build(t, h.DefaultIssuerFor(PurposeX9), testKey(t, "p256"), func(c *x509.Certificate) {
				long(c)
				c.DNSNames = []string{"app.example.com"}
				c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
				c.Policies = []x509.OID{oidX9, oidOV}
			})
		}, "e_server_cert_valid_time_longer_than_200_days", ""},
		{"private TLS at 397 days", func(t *testing.T) []byte {
			return build(t, h.DefaultIssuerFor(PurposePrivateTLS), testKey(t, "p256"), func(c *x509.Certificate) {
				long(c)
				c.DNSNames = []string{"app.example.com"}
				c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
				c.Policies = []x509.OID{oidPrivateTLS}
			})
		}, "", "e_server_cert_valid_time_longer_than_200_days"},
		{"private TLS keeps every other BR lint", func(t *testing.T) []byte {
			return build(t, h.DefaultIssuerFor(PurposePrivateTLS), testKey(t, "p256"), func(c *x509.Certificate) {
				c.DNSNames = []string{"intranet.local"}
				c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
				c.Policies = []x509.OID{oidPrivateTLS}
			})
		}, "e_dnsname_not_valid_tld", ""},
		{"private TLS policy beside a BR policy gets no exclusions", func(t *testing.T) []byte {
			return build(t, h.DefaultIssuerFor(PurposePrivateTLS), testKey(t, "p256"), func(c *x509.Certificate) {
				long(c)
				c.DNSNames = []string{"app.example.com"}
				c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
				c.Policies = []x509.OID{oidPrivateTLS, oidOV}
			})
		}, "e_server_cert_valid_time_longer_than_200_days", ""},
		{"same certificate as OV TLS fails SC-081", func(t *testing.T) []byte {
			return build(t, h.DefaultIssuer(), testKey(t, "p256"), func(c *x509.Certificate) {
				long(c)
				c.DNSNames = []string{"app.example.com"}
				c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
				c.Policies = []x509.OID{oidOV}
			})
		}, "e_server_cert_valid_time_longer_than_200_days", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs, _, err := LintCertificate(tc.der(t))
			if err != nil {
				t.Fatal(err)
			}
			all := strings.Join(errs, "\n")
			if tc.want == "" && len(errs) > 0 {
				t.Errorf("lint errors: %v", errs)
			}
			if tc.want != "" && !strings.Contains(all, tc.want+":") {
				t.Errorf("lint errors %v lack %s", errs, tc.want)
			}
			if tc.absent != "" && strings.Contains(all, tc.absent+":") {
				t.Errorf("lint errors %v include %s", errs, tc.absent)
			}
		})
	}
}
