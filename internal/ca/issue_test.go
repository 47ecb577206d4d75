package ca

import (
	"bytes"
	"crypto"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/policy"
)

func ovSubject(cn string) Subject {
	return Subject{CommonName: cn, Organization: "Example Corp", Country: "us", State: "California", Locality: "San Francisco"}
}

func evSubject(cn string) Subject {
	s := ovSubject(cn)
	s.BusinessCategory = "Private Organization"
	s.JurisdictionCountry = "us"
	s.JurisdictionState = "Delaware"
	s.RegistrationNumber = "1234567"
	return s
}

func leafRequest(t testing.TB, h *Hierarchy, p Profile, pub crypto.PublicKey, hash string) LeafRequest {
	t.Helper()
	serial, err := NewSerial(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	nb := time.Now().UTC().Truncate(time.Second).Add(-time.Minute)
	subj := ovSubject("www.example.com")
	if p == ProfileEVTLS {
		subj = evSubject("www.example.com")
	}
	return LeafRequest{
		Issuer:        h.DefaultIssuer(),
		Profile:       p,
		PublicKey:     pub,
		Subject:       subj,
		DNSNames:      []string{"www.example.com", "example.com", "api.example.com"},
		NotBefore:     nb,
		NotAfter:      nb.Add(90 * 24 * time.Hour),
		SignatureHash: hash,
		Serial:        serial,
	}
}

var (
	oidBusinessCategoryT = asn1.ObjectIdentifier{2, 5, 4, 15}
	oidJurCountryT       = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 60, 2, 1, 3}
	oidJurStateT         = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 60, 2, 1, 2}
	oidJurLocalityT      = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 60, 2, 1, 1}
)

func subjectAttr(c *x509.Certificate, oid asn1.ObjectIdentifier) (string, bool) {
	for _, atv := range c.Subject.Names {
		if atv.Type.Equal(oid) {
			s, _ := atv.Value.(string)
			return s, true
		}
	}
	return "", false
}

func checkLeaf(t *testing.T, h *Hierarchy, req LeafRequest, der []byte) {
	t.Helper()
	errs, warns, err := LintCertificate(der)
	if err != nil || len(errs) > 0 {
		t.Fatalf("lint: %v %v", errs, err)
	}
	for _, w := range warns {
		t.Logf("warning: %s", w)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	roots, inters := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(h.Root())
	inters.AddCert(req.Issuer.Cert)
	if _, err := c.Verify(x509.VerifyOptions{
		Roots: roots, Intermediates: inters, DNSName: req.Subject.CommonName,
		CurrentTime: req.NotBefore.Add(time.Hour), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}); err != nil {
		t.Fatalf("verify: %v", err)
	}
	if c.SerialNumber.Cmp(req.Serial) != 0 || !c.NotBefore.Equal(req.NotBefore) || !c.NotAfter.Equal(req.NotAfter) {
		t.Errorf("serial/validity: %x %s %s", c.SerialNumber, c.NotBefore, c.NotAfter)
	}
	if !c.BasicConstraintsValid || c.IsCA {
		t.Error("basicConstraints: want CA:FALSE")
	}
	wantKU := x509.KeyUsageDigitalSignature
	if _, isRSA := req.PublicKey.(*rsa.PublicKey); isRSA {
		wantKU |= x509.KeyUsageKeyEncipherment
	}
	if c.KeyUsage != wantKU {
		t.Errorf("ku %v want %v", c.KeyUsage, wantKU)
	}
	if len(c.ExtKeyUsage) != 1 || c.ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth || len(c.UnknownExtKeyUsage) != 0 {
		t.Errorf("eku %v", c.ExtKeyUsage)
	}
	if fmt.Sprint(c.DNSNames) != fmt.Sprint(req.DNSNames) {
		t.Errorf("SANs %v want %v", c.DNSNames, req.DNSNames)
	}
	want := map[Profile]x509.OID{ProfileOVTLS: oidOV, ProfileEVTLS: oidEV, ProfileDVTLS: oidDV}[req.Profile]
	if len(c.Policies) != 1 || !c.Policies[0].Equal(want) {
		t.Errorf("policies %v", c.Policies)
	}
	iss := req.Issuer
	if fmt.Sprint(c.OCSPServer) != fmt.Sprint([]string{h.OCSPURL()}) ||
		fmt.Sprint(c.IssuingCertificateURL) != fmt.Sprint([]string{h.IssuerCertURL(iss)}) ||
		fmt.Sprint(c.CRLDistributionPoints) != fmt.Sprint([]string{h.CRLURL(iss)}) {
		t.Errorf("urls %v %v %v", c.OCSPServer, c.IssuingCertificateURL, c.CRLDistributionPoints)
	}
	if !bytes.Equal(c.AuthorityKeyId, iss.Cert.SubjectKeyId) || len(c.SubjectKeyId) != 0 {
		t.Errorf("aki %x ski %x", c.AuthorityKeyId, c.SubjectKeyId)
	}
	s := c.Subject
	if s.CommonName != req.Subject.CommonName || len(s.OrganizationalUnit) != 0 {
		t.Errorf("subject %s", s)
	}
	switch req.Profile {
	case ProfileDVTLS:
		if len(s.Names) != 1 {
			t.Errorf("DV subject has more than CN: %s", s)
		}
	default:
		if fmt.Sprint(s.Country, s.Province, s.Locality, s.Organization) != "[US] [California] [San Francisco] [Example Corp]" {
			t.Errorf("subject %s", s)
		}
	}
	_, hasBC := subjectAttr(c, oidBusinessCategoryT)
	if hasBC != (req.Profile == ProfileEVTLS) {
		t.Errorf("businessCategory present=%v in %s", hasBC, req.Profile)
	}
	if req.Profile == ProfileEVTLS {
		bc, _ := subjectAttr(c, oidBusinessCategoryT)
		jc, _ := subjectAttr(c, oidJurCountryT)
		js, _ := subjectAttr(c, oidJurStateT)
		_, jl := subjectAttr(c, oidJurLocalityT)
		if bc != "Private Organization" || jc != "US" || js != "Delaware" || jl || s.SerialNumber != "1234567" {
			t.Errorf("EV attributes: %q %q %q %v %q", bc, jc, js, jl, s.SerialNumber)
		}
	}
}

func TestIssueProfiles(t *testing.T) {
	h := rsaHierarchy(t)
	keys := map[string]crypto.PublicKey{
		"p256":    ecKey(t, elliptic.P256()).Public(),
		"p384":    ecKey(t, elliptic.P384()).Public(),
		"rsa2048": testRSA2048(t).Public(),
	}
	wantAlg := map[string]x509.SignatureAlgorithm{
		"sha256": x509.SHA256WithRSA, "sha384": x509.SHA384WithRSA, "sha512": x509.SHA512WithRSA,
	}
	for _, p := range []Profile{ProfileOVTLS, ProfileEVTLS, ProfileDVTLS} {
		for _, kn := range []string{"p256", "p384", "rsa2048"} {
			for _, hash := range []string{"sha256", "sha384", "sha512"} {
				if kn == "p384" && hash != "sha384" {
					continue // one P-384 case per profile is enough
				}
				t.Run(fmt.Sprintf("%s/%s/%s", p, kn, hash), func(t *testing.T) {
					req := leafRequest(t, h, p, keys[kn], hash)
					der, warns, err := h.Issue(req)
					if err != nil {
						t.Fatal(err)
					}
					// zlint warns about the CN (not recommended) and the
					// missing leaf SKI; Issue must pass warnings on.
					if !strings.Contains(strings.Join(warns, "\n"), "w_subject_common_name_included") {
						t.Errorf("warnings %v", warns)
					}
					checkLeaf(t, h, req, der)
					c, _ := x509.ParseCertificate(der)
					if c.SignatureAlgorithm != wantAlg[hash] {
						t.Errorf("sig alg %v", c.SignatureAlgorithm)
					}
				})
			}
		}
	}
}

func TestIssueECDSAIssuer(t *testing.T) {
	for _, tc := range []struct {
		kt       KeyType
		ok, bad  string
		wantAlg  x509.SignatureAlgorithm
		badHash2 string
	}{
		{KeyP256, "sha256", "sha384", x509.ECDSAWithSHA256, "sha512"},
		{KeyP384, "sha384", "sha256", x509.ECDSAWithSHA384, "sha512"},
	} {
		t.Run(string(tc.kt), func(t *testing.T) {
			h := sharedHierarchy(t, KeyP256, tc.kt) // the root's key does not matter here
			pub := ecKey(t, elliptic.P256()).Public()
			req := leafRequest(t, h, ProfileOVTLS, pub, tc.ok)
			der, _, err := h.Issue(req)
			if err != nil {
				t.Fatal(err)
			}
			checkLeaf(t, h, req, der)
			if c, _ := x509.ParseCertificate(der); c.SignatureAlgorithm != tc.wantAlg {
				t.Errorf("sig alg %v", c.SignatureAlgorithm)
			}
			for _, bad := range []string{tc.bad, tc.badHash2, "sha1"} {
				req.SignatureHash = bad
				if _, _, err := h.Issue(req); !errors.Is(err, ErrHashNotSupported) {
					t.Errorf("%s: got %v, want ErrHashNotSupported", bad, err)
				}
			}
		})
	}
}

func TestIssueLintFailure(t *testing.T) {
	h := ecHierarchy(t, KeyP256, KeyP256)
	iss := h.DefaultIssuer()
	spy := &countingSigner{Signer: iss.signer}
	iss.signer = spy
	pub := ecKey(t, elliptic.P256()).Public()
	for _, tc := range []struct {
		name     string
		mutate   func(*LeafRequest)
		wantLint string
	}{
		{"invalid TLD", func(r *LeafRequest) {
			r.Subject.CommonName = "host.invalidtld"
			r.DNSNames = []string{"host.invalidtld"}
		}, "e_dnsname_not_valid_tld"},
		{"OV without organization", func(r *LeafRequest) { r.Subject.Organization = "" }, "e_cab_ov_requires_org"},
		{"EV without business category", func(r *LeafRequest) {
			r.Profile = ProfileEVTLS
			r.Subject = evSubject("www.example.com")
			r.Subject.BusinessCategory = ""
		}, "e_ev_business_category_missing"},
		{"EV wildcard", func(r *LeafRequest) {
			r.Profile = ProfileEVTLS
			r.Subject = evSubject("*.example.com")
			r.DNSNames = []string{"*.example.com"}
		}, "e_ev_not_wildcard"},
		{"underscore", func(r *LeafRequest) { r.DNSNames = append(r.DNSNames, "a_b.example.com") }, "e_underscore_not_permissible_in_dnsname"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := leafRequest(t, h, ProfileOVTLS, pub, "sha256")
			tc.mutate(&req)
			_, _, err := h.Issue(req)
			var le *LintError
			if !errors.As(err, &le) {
				t.Fatalf("got %v, want *LintError", err)
			}
			found := false
			for _, l := range le.Lints {
				found = found || strings.HasPrefix(l, tc.wantLint+":")
			}
			if !found {
				t.Errorf("lints %v do not include %s", le.Lints, tc.wantLint)
			}
			if spy.n != 0 {
				t.Fatalf("real issuer key signed %d times", spy.n)
			}
		})
	}
	// The same spy sees exactly one signature for a good request.
	if _, _, err := h.Issue(leafRequest(t, h, ProfileOVTLS, pub, "sha256")); err != nil || spy.n != 1 {
		t.Fatalf("good request: err=%v signatures=%d", err, spy.n)
	}
}

func TestIssueRefusals(t *testing.T) {
	h := sharedHierarchy(t, KeyP256, KeyP256)
	other := sharedHierarchy(t, KeyP256, KeyP384)
	pub := ecKey(t, elliptic.P256()).Public()
	for _, tc := range []struct {
		name   string
		mutate func(*LeafRequest)
		want   string
	}{
		{"validity over policy", func(r *LeafRequest) {
			r.NotAfter = r.NotBefore.Add(policy.MaxTLSValidity(r.NotBefore) + time.Second)
		}, "exceeds the maximum"},
		{"notAfter before notBefore", func(r *LeafRequest) { r.NotAfter = r.NotBefore.Add(-time.Hour) }, "notAfter"},
		{"CN not in SANs", func(r *LeafRequest) { r.DNSNames = []string{"example.com"} }, "not among the DNS names"},
		{"empty CN", func(r *LeafRequest) { r.Subject.CommonName = "" }, "common name is empty"},
		{"unknown profile", func(r *LeafRequest) { r.Profile = "smime" }, "unknown profile"},
		{"weak key", func(r *LeafRequest) { r.PublicKey = testRSA1024(t).Public() }, "at least 2048"},
		{"no serial", func(r *LeafRequest) { r.Serial = nil }, "serial"},
		{"foreign issuer", func(r *LeafRequest) { r.Issuer = other.DefaultIssuer() }, "not part of this hierarchy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := leafRequest(t, h, ProfileOVTLS, pub, "sha256")
			tc.mutate(&req)
			_, _, err := h.Issue(req)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want error containing %q", err, tc.want)
			}
		})
	}
	// Exactly at the maximum is fine.
	req := leafRequest(t, h, ProfileOVTLS, pub, "sha256")
	req.NotAfter = req.NotBefore.Add(policy.MaxTLSValidity(req.NotBefore))
	if _, _, err := h.Issue(req); err != nil {
		t.Fatalf("maximum validity refused: %v", err)
	}
}
