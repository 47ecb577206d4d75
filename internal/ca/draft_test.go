package ca

import (
	"bytes"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	zx509 "github.com/zmap/zcrypto/x509"
)

// TestDraftMatchesCreateCertificate: the TBSCertificate a draft signs is
// byte for byte what crypto/x509 makes when the issuer's own key signs the
// same template, for every issuer key and hash; the lint copy carries it
// with the issuer's algorithm; Sign returns a certificate that verifies.
func TestDraftMatchesCreateCertificate(t *testing.T) {
	for _, tc := range []struct {
		issuer KeyType
		hash   string
		alg    x509.SignatureAlgorithm
	}{
		{KeyRSA2048, "sha256", x509.SHA256WithRSA},
		{KeyRSA2048, "sha384", x509.SHA384WithRSA},
		{KeyRSA2048, "sha512", x509.SHA512WithRSA},
		{KeyP256, "", x509.ECDSAWithSHA256},
		{KeyP384, "sha384", x509.ECDSAWithSHA384},
	} {
		t.Run(string(tc.issuer)+"/"+tc.hash, func(t *testing.T) {
			h := sharedHierarchy(t, KeyP256, tc.issuer)
			req := leafRequest(t, h, ProfileOVTLS, ecKey(t, elliptic.P256()).Public(), tc.hash)
			tmpl, err := h.leafTemplate(req)
			if err != nil {
				t.Fatal(err)
			}
			want, err := x509.CreateCertificate(rand.Reader, tmpl, req.Issuer.Cert, req.PublicKey, req.Issuer.signer)
			if err != nil {
				t.Fatal(err)
			}
			wantCert, _ := x509.ParseCertificate(want)
			d, err := h.Draft(req)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(d.tbs, wantCert.RawTBSCertificate) {
				t.Fatalf("draft TBSCertificate differs from crypto/x509's:\n%x\n%x", d.tbs, wantCert.RawTBSCertificate)
			}
			lint, err := x509.ParseCertificate(d.lint)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(lint.RawTBSCertificate, d.tbs) || lint.SignatureAlgorithm != tc.alg {
				t.Fatalf("lint copy: algorithm %s, same TBS %v", lint.SignatureAlgorithm, bytes.Equal(lint.RawTBSCertificate, d.tbs))
			}
			if len(lint.Signature) != len(wantCert.Signature) && tc.alg != x509.ECDSAWithSHA256 && tc.alg != x509.ECDSAWithSHA384 {
				t.Errorf("placeholder signature is %d bytes, a real one %d", len(lint.Signature), len(wantCert.Signature))
			}
			if _, err := d.Lint(); err != nil {
				t.Fatal(err)
			}
			cert, err := d.Sign()
			if err != nil {
				t.Fatal(err)
			}
			if err := cert.CheckSignatureFrom(req.Issuer.Cert); err != nil || cert.SignatureAlgorithm != tc.alg {
				t.Fatalf("signed certificate: %v, %s", err, cert.SignatureAlgorithm)
			}
		})
	}
}

// TestSignRefusesBadSignature: a signer whose output does not verify
// yields no certificate.
func TestSignRefusesBadSignature(t *testing.T) {
	h := ecHierarchy(t, KeyP256, KeyP256)
	req := leafRequest(t, h, ProfileOVTLS, ecKey(t, elliptic.P256()).Public(), "")
	d, err := h.Draft(req)
	if err != nil {
		t.Fatal(err)
	}
	d.issuer = &Issuer{Cert: req.Issuer.Cert, signer: ecKey(t, elliptic.P256())} // the wrong key
	if _, err := d.Sign(); err == nil {
		t.Fatal("a signature by the wrong key was accepted")
	}
}

// TestDraftMatchesCreateCertificateEveryProfile: for every profile, from
// RSA and ECDSA issuers, with RSA and ECDSA subscriber keys, the
// TBSCertificate certorder encodes is crypto/x509's byte for byte.
func TestDraftMatchesCreateCertificateEveryProfile(t *testing.T) {
	profiles := []Profile{ProfileDVTLS, ProfileOVTLS, ProfileEVTLS, ProfilePrivateTLS, ProfileCodeSigning, ProfileEVCodeSigning,
		ProfileSMIMEMailbox, ProfileSMIMESponsor, ProfileSMIMESponsorMulti, ProfileClientAuth, ProfileX9TLS}
	for _, hk := range []struct {
		name string
		h    *Hierarchy
	}{{"rsa issuers", rsaHierarchy(t)}, {"p256 issuers", sharedHierarchy(t, KeyP256, KeyP256)}, {"p384 issuers", sharedHierarchy(t, KeyP384, KeyP384)}} {
		for _, p := range profiles {
			keys := []string{"rsa2048", "p256", "p384"}
			if PurposeOf(p) == PurposeCodeSigning {
				keys = []string{"rsa3072", "p256", "p384"}
			}
			for _, key := range keys {
				for _, x9ECC := range []bool{false, true} {
					if x9ECC && p != ProfileX9TLS {
						continue
					}
					t.Run(fmt.Sprintf("%s/%s/%s/x9ecc=%v", hk.name, p, key, x9ECC), func(t *testing.T) {
						var req LeafRequest
						switch p {
						case ProfileDVTLS, ProfileOVTLS, ProfileEVTLS:
							req = leafRequest(t, hk.h, p, testKey(t, key), "")
							if p == ProfileDVTLS {
								req.Subject = Subject{CommonName: "www.example.com"}
							}
						default:
							req = profileRequest(t, hk.h, p, key, x9ECC)
						}
						tmpl, err := hk.h.leafTemplate(req)
						if err != nil {
							t.Fatal(err)
						}
						want := createTBS(t, tmpl, req.Issuer, req.PublicKey)
						d, err := hk.h.Draft(req)
						if err != nil {
							t.Fatal(err)
						}
						if !bytes.Equal(d.tbs, want) {
							t.Fatalf("draft TBSCertificate differs from crypto/x509's:\n%x\n%x", d.tbs, want)
						}
					})
				}
			}
		}
	}
}

// createTBS is crypto/x509's TBSCertificate of tmpl under iss.
func createTBS(t *testing.T, tmpl *x509.Certificate, iss *Issuer, pub any) []byte {
	t.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, iss.Cert, pub, iss.signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c.RawTBSCertificate
}

// TestTBSCertificateEdges: the encoder against crypto/x509 on what the
// profiles make only rarely: an empty subject (the SAN is then critical),
// every key usage bit and the ones of the second octet, every extended
// key usage, IPv4 and IPv6 addresses, several policies, a validity past
// 2049 (GeneralizedTime), a serial of 20 octets, and no AIA or CRL
// distribution point at all. Templates it does not know are refused, and
// so are names that are no IA5String.
func TestTBSCertificateEdges(t *testing.T) {
	h := sharedHierarchy(t, KeyP256, KeyP256)
	iss := h.DefaultIssuer()
	pub := ecKey(t, elliptic.P256()).Public()
	nb := iss.Cert.NotBefore.Add(time.Hour).UTC().Truncate(time.Second)
	pol1, _ := x509.OIDFromInts([]uint64{2, 23, 140, 1, 2, 2})
	pol2, _ := x509.OIDFromInts([]uint64{1, 3, 6, 1, 4, 1, 99999, 1, 2, 3})
	allEKU := make([]x509.ExtKeyUsage, 0, len(extKeyUsageOIDs))
	for u := range x509.ExtKeyUsageMicrosoftKernelCodeSigning + 1 {
		allEKU = append(allEKU, u)
	}
	base := func() *x509.Certificate {
		return &x509.Certificate{SerialNumber: big.NewInt(0x1234), RawSubject: mustSubject(t, "edge.example.com"), NotBefore: nb,
			NotAfter: nb.Add(24 * time.Hour), BasicConstraintsValid: true, MaxPathLen: -1, KeyUsage: x509.KeyUsageDigitalSignature,
			DNSNames: []string{"edge.example.com"}, Policies: []x509.OID{pol1}, OCSPServer: []string{"http://o.example/"},
			IssuingCertificateURL: []string{"http://i.example/a.crt", "http://i.example/b.crt"}, CRLDistributionPoints: []string{"http://c.example/x.crl"},
			SignatureAlgorithm: x509.ECDSAWithSHA256}
	}
	serial20 := new(big.Int).SetBytes(bytes.Repeat([]byte{0x7f}, 20))
	for _, tc := range []struct {
		name   string
		mutate func(*x509.Certificate)
	}{
		{"plain", func(*x509.Certificate) {}},
		{"empty subject", func(c *x509.Certificate) { c.RawSubject = nil; c.EmailAddresses = []string{"a@example.com"} }},
		{"subject from its Name", func(c *x509.Certificate) {
			c.RawSubject = nil
			c.Subject = pkix.Name{CommonName: "edge.example.com", Organization: []string{"Ünïcødé GmbH"}, Country: []string{"DE"}}
		}},
		{"every key usage", func(c *x509.Certificate) { c.KeyUsage = 1<<9 - 1 }},
		{"decipher only", func(c *x509.Certificate) { c.KeyUsage = x509.KeyUsageDecipherOnly }},
		{"key agreement and decipher only", func(c *x509.Certificate) {
			c.KeyUsage = x509.KeyUsageKeyAgreement | x509.KeyUsageDecipherOnly
		}},
		{"no key usage", func(c *x509.Certificate) { c.KeyUsage = 0 }},
		{"every extended key usage", func(c *x509.Certificate) { c.ExtKeyUsage = allEKU }},
		{"addresses", func(c *x509.Certificate) {
			c.IPAddresses = []net.IP{net.ParseIP("192.0.2.1"), net.ParseIP("2001:db8::1"), net.IPv4(198, 51, 100, 7).To4()}
			c.EmailAddresses = []string{"x@example.com", "y@example.org"}
		}},
		{"two policies", func(c *x509.Certificate) { c.Policies = []x509.OID{pol1, pol2} }},
		{"no policy", func(c *x509.Certificate) { c.Policies = nil }},
		{"after 2049", func(c *x509.Certificate) {
			c.NotBefore = time.Date(2049, 12, 31, 23, 59, 59, 0, time.UTC)
			c.NotAfter = time.Date(2051, 1, 2, 3, 4, 5, 0, time.UTC)
		}},
		{"long serial", func(c *x509.Certificate) { c.SerialNumber = serial20 }},
		{"no AIA, no CRL", func(c *x509.Certificate) {
			c.OCSPServer, c.IssuingCertificateURL, c.CRLDistributionPoints = nil, nil, nil
		}},
		{"only OCSP", func(c *x509.Certificate) { c.IssuingCertificateURL = nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmpl := base()
			tc.mutate(tmpl)
			want := createTBS(t, tmpl, iss, pub)
			got, err := tbsCertificate(tmpl, iss.Cert, sigAlgs[x509.ECDSAWithSHA256].algID, pub)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("TBSCertificate differs from crypto/x509's:\n%x\n%x", got, want)
			}
		})
	}
	for _, tc := range []struct {
		name   string
		mutate func(*x509.Certificate)
	}{
		{"a CA", func(c *x509.Certificate) { c.IsCA = true }},
		{"a path length", func(c *x509.Certificate) { c.MaxPathLen = 0; c.MaxPathLenZero = true }},
		{"extra extensions", func(c *x509.Certificate) {
			c.ExtraExtensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 2, 3}, Value: []byte{5, 0}}}
		}},
		{"URIs", func(c *x509.Certificate) { c.URIs = []*url.URL{{Scheme: "https", Host: "example.com"}} }},
		{"name constraints", func(c *x509.Certificate) { c.PermittedDNSDomains = []string{"example.com"} }},
		{"a subject key id", func(c *x509.Certificate) { c.SubjectKeyId = []byte{1, 2, 3} }},
		{"unknown extended key usage", func(c *x509.Certificate) { c.UnknownExtKeyUsage = []asn1.ObjectIdentifier{{1, 2, 3}} }},
		{"a non-ASCII DNS name", func(c *x509.Certificate) { c.DNSNames = []string{"bücher.example"} }},
		{"a non-ASCII address", func(c *x509.Certificate) { c.EmailAddresses = []string{"jö@example.com"} }},
		{"no serial", func(c *x509.Certificate) { c.SerialNumber = nil }},
	} {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			tmpl := base()
			tc.mutate(tmpl)
			if _, err := tbsCertificate(tmpl, iss.Cert, sigAlgs[x509.ECDSAWithSHA256].algID, pub); err == nil {
				t.Fatal("encoded")
			}
		})
	}
}

func mustSubject(t *testing.T, cn string) []byte {
	t.Helper()
	b, err := asn1.Marshal(pkix.Name{CommonName: cn}.ToRDNSequence())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestTBSCertificateGenerated: the encoder against crypto/x509 on many
// generated leaf templates, every field it knows drawn at random together
// — subjects empty, printable, UTF-8 or the issuer's own name; any key
// usage; extended key usages in any order, repeated; DNS names, mailboxes
// and IPv4 and IPv6 addresses in any mix; policies with large arcs; zero
// to two OCSP and issuer URLs; a CRL distribution point or none; serials
// of 1 to 20 octets; times across the UTCTime and GeneralizedTime years —
// under RSA, P-256 and P-384 issuers and subscriber keys of each kind. A
// leaf never carries an SCT list, a precertificate poison or name
// constraints: the encoder refuses any extension it does not make
// (TestTBSCertificateEdges).
func TestTBSCertificateGenerated(t *testing.T) {
	g := newGenerator(t, 400, 60)
	issuers, keys, r, seed := g.issuers, g.keys, g.r, g.seed
	for i := range g.n {
		iss := issuers[r.IntN(len(issuers))]
		pub := keys[r.IntN(len(keys))]
		tmpl := generatedLeaf(t, r, iss, true)
		want := createTBS(t, tmpl, iss, pub)
		alg, err := x509.ParseCertificate(createCert(t, tmpl, iss, pub))
		if err != nil {
			t.Fatal(err)
		}
		got, err := tbsCertificate(tmpl, iss.Cert, sigAlgs[alg.SignatureAlgorithm].algID, pub)
		if err != nil {
			t.Fatalf("template %d: %v", i, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("template %d (seed %d): TBSCertificate differs from crypto/x509's:\n%x\n%x", i, seed, got, want)
		}
	}
}

// generator is what the generated-certificate tests draw from: RSA,
// P-256 and P-384 issuers, subscriber keys of each kind, a random source
// whose seed is logged, and how many certificates to make (fewer with
// -short).
type generator struct {
	issuers []*Issuer
	keys    []any
	r       *mrand.Rand
	seed    int64
	n       int
}

func newGenerator(t *testing.T, n, short int) generator {
	t.Helper()
	g := generator{issuers: []*Issuer{rsaHierarchy(t).DefaultIssuer(), sharedHierarchy(t, KeyP256, KeyP256).DefaultIssuer(),
		sharedHierarchy(t, KeyP384, KeyP384).DefaultIssuer()},
		keys: []any{testKey(t, "rsa2048"), testKey(t, "rsa3072"), testKey(t, "p256"), testKey(t, "p384")},
		seed: time.Now().UnixNano(), n: n}
	if testing.Short() {
		g.n = short
	}
	// CERTORDER_GEN_SEED replays the seed a failed run logged.
	if v := os.Getenv("CERTORDER_GEN_SEED"); v != "" {
		seed, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			t.Fatalf("CERTORDER_GEN_SEED: %v", err)
		}
		g.seed = seed
	}
	t.Logf("seed %d", g.seed)
	g.r = mrand.New(mrand.NewPCG(uint64(g.seed), 7))
	return g
}

// generatedLeaf is a leaf template of iss with every field the encoder
// knows drawn from r (see TestTBSCertificateGenerated); bad names and
// characters now and then, so that lints fail too. bigArcs allows policy
// arcs beyond 31 bits, which zcrypto cannot parse.
func generatedLeaf(t *testing.T, r *mrand.Rand, iss *Issuer, bigArcs bool) *x509.Certificate {
	t.Helper()
	pick := func(n int) int { return r.IntN(n) }
	word := func() string {
		const letters = "abcdefghijklmnopqrstuvwxyz0123456789-"
		b := make([]byte, 1+pick(12))
		for i := range b {
			b[i] = letters[pick(len(letters)-1)] // no leading hyphen needed: crypto/x509 checks IA5 only
		}
		if pick(20) == 0 {
			return string(b) + []string{"_x", "!", " y", "..", "*"}[pick(5)]
		}
		return string(b)
	}
	text := func() string {
		parts := []string{"Lock Cole", "Ünïcødé GmbH", "a&b (c) d", "O'Brien, Ltd.", "東京", word(), "x*y@z", "Tom &amp; Jerry"}
		return parts[pick(len(parts))]
	}
	var subject []byte
	switch pick(5) {
	case 0: // empty: the SAN is then critical
	case 1:
		subject = iss.Cert.RawSubject // crypto/x509 then writes no authority key identifier
	default:
		var name pkix.Name
		if pick(2) == 0 {
			name.Country = []string{[]string{"US", "us", "DE", "XX"}[pick(4)]}
		}
		if pick(2) == 0 {
			name.Organization = []string{text()}
		}
		if pick(2) == 0 {
			name.Locality = []string{text()}
		}
		name.CommonName = text()
		var err error
		if subject, err = asn1.Marshal(name.ToRDNSequence()); err != nil {
			t.Fatal(err)
		}
	}
	tmpl := &x509.Certificate{RawSubject: subject, BasicConstraintsValid: true, MaxPathLen: -1 + pick(2)}
	tmpl.SerialNumber = new(big.Int).SetBytes(randBytes(r, 1+pick(20)))
	tmpl.SerialNumber.SetBit(tmpl.SerialNumber, 0, 1) // positive
	if b := tmpl.SerialNumber.Bytes(); len(b) == 20 && b[0] >= 0x80 {
		tmpl.SerialNumber.Rsh(tmpl.SerialNumber, 1) // 20 octets with the sign bit clear
	}
	year := 1950 + pick(150)
	tmpl.NotBefore = time.Date(year, time.Month(1+pick(12)), 1+pick(28), pick(24), pick(60), pick(60), 0, time.UTC)
	tmpl.NotAfter = tmpl.NotBefore.Add(time.Duration(1+pick(3000)) * 24 * time.Hour)
	if tmpl.NotAfter.Year() > 9999 {
		tmpl.NotAfter = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
	}
	tmpl.KeyUsage = x509.KeyUsage(pick(1 << 9))
	for range pick(4) {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsage(pick(int(x509.ExtKeyUsageMicrosoftKernelCodeSigning)+1)))
	}
	for range pick(4) {
		tmpl.DNSNames = append(tmpl.DNSNames, word()+"."+word()+".example")
	}
	if pick(3) == 0 {
		tmpl.DNSNames = append(tmpl.DNSNames, "*."+word()+".example")
	}
	for range pick(3) {
		tmpl.EmailAddresses = append(tmpl.EmailAddresses, word()+"@"+word()+".example")
	}
	for range pick(3) {
		if pick(2) == 0 {
			tmpl.IPAddresses = append(tmpl.IPAddresses, net.IP(randBytes(r, 4)))
		} else {
			tmpl.IPAddresses = append(tmpl.IPAddresses, net.IP(randBytes(r, 16)))
		}
	}
	for range pick(3) {
		arcs := []uint64{uint64(pick(3)), uint64(pick(40))}
		if pick(2) == 0 {
			arcs = []uint64{2, 23, 140, 1, uint64(1 + pick(4))} // the CA/B Forum's
		}
		for range pick(8) {
			if bigArcs {
				arcs = append(arcs, r.Uint64()>>uint(pick(64)))
			} else {
				arcs = append(arcs, uint64(r.Uint32()>>(1+uint(pick(31)))))
			}
		}
		oid, err := x509.OIDFromInts(arcs)
		if err != nil {
			t.Fatal(err)
		}
		if slices.ContainsFunc(tmpl.Policies, oid.Equal) {
			continue // crypto/x509 writes a repeated policy but refuses to parse one
		}
		tmpl.Policies = append(tmpl.Policies, oid)
	}
	for range pick(3) {
		tmpl.OCSPServer = append(tmpl.OCSPServer, "http://"+word()+".example/")
	}
	for range pick(3) {
		tmpl.IssuingCertificateURL = append(tmpl.IssuingCertificateURL, "http://"+word()+".example/"+word()+".crt")
	}
	if pick(2) == 0 {
		tmpl.CRLDistributionPoints = []string{"http://" + word() + ".example/" + word() + ".crl"}
	}
	return tmpl
}

func randBytes(r *mrand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// createCert is crypto/x509's certificate of tmpl under iss.
func createCert(t *testing.T, tmpl *x509.Certificate, iss *Issuer, pub any) []byte {
	t.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, iss.Cert, pub, iss.signer)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// TestLeafSubjectIsNotTheIssuers: a client certificate whose organization
// and personal name spell the issuing CA's own name (an operator's
// organization often is the CA's) would read as self-issued and as the
// CA itself; it is refused, and a name one letter away is not.
func TestLeafSubjectIsNotTheIssuers(t *testing.T) {
	h := sharedHierarchy(t, KeyP256, KeyP256)
	for _, tc := range []struct {
		name    string
		cn      func(string) string
		refused bool
	}{
		{"the issuer's name", func(cn string) string { return cn }, true},
		{"another name", func(cn string) string { return cn + "s" }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := profileRequest(t, h, ProfileClientAuth, "p256", false)
			iss := req.Issuer.Cert.Subject
			req.Subject = Subject{Country: strings.ToLower(iss.Country[0]), Organization: iss.Organization[0], CommonName: tc.cn(iss.CommonName)}
			_, err := h.Draft(req)
			if got := errors.Is(err, ErrSubjectIsIssuer); got != tc.refused {
				t.Fatalf("refused %v (%v), want %v", got, err, tc.refused)
			}
		})
	}
}

// TestTBSCertificateEveryTemplateField sets each exported field of
// x509.Certificate in turn on a leaf template: the encoder either refuses
// the template or makes crypto/x509's TBSCertificate of it byte for byte.
// A field a later Go starts to encode, or one added to x509.Certificate,
// fails here (the latter until it has a sample below).
func TestTBSCertificateEveryTemplateField(t *testing.T) {
	h := sharedHierarchy(t, KeyP256, KeyP256)
	iss := h.DefaultIssuer()
	key := ecKey(t, elliptic.P256())
	pub := key.Public()
	nb := iss.Cert.NotBefore.Add(time.Hour).UTC().Truncate(time.Second)
	pol, _ := x509.OIDFromInts([]uint64{2, 23, 140, 1, 2, 1})
	pol2, _ := x509.OIDFromInts([]uint64{1, 3, 6, 1, 4, 1, 99999, 7})
	base := func() *x509.Certificate {
		return &x509.Certificate{SerialNumber: big.NewInt(0x4242), RawSubject: mustSubject(t, "field.example.com"), NotBefore: nb,
			NotAfter: nb.Add(24 * time.Hour), BasicConstraintsValid: true, MaxPathLen: -1, KeyUsage: x509.KeyUsageDigitalSignature,
			DNSNames: []string{"field.example.com"}, Policies: []x509.OID{pol}, SignatureAlgorithm: x509.ECDSAWithSHA256}
	}
	_, ipNet, _ := net.ParseCIDR("192.0.2.0/24")
	samples := map[string]any{
		"Raw": []byte{0x30, 0}, "RawTBSCertificate": []byte{0x30, 0}, "RawSubjectPublicKeyInfo": []byte{0x30, 0},
		"RawSubject": mustSubject(t, "other.example.com"), "RawIssuer": mustSubject(t, "issuer.example"),
		"Signature": []byte{1, 2, 3}, "SignatureAlgorithm": x509.ECDSAWithSHA256, "PublicKeyAlgorithm": x509.ECDSA,
		"PublicKey": pub, "Version": 3, "SerialNumber": big.NewInt(0x7777),
		"Issuer": pkix.Name{CommonName: "someone"}, "Subject": pkix.Name{CommonName: "ignored.example.com"},
		"NotBefore": nb.Add(time.Minute), "NotAfter": nb.Add(48 * time.Hour),
		"KeyUsage":                    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyAgreement,
		"Extensions":                  []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 2, 3}, Value: []byte{5, 0}}},
		"ExtraExtensions":             []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 2, 3}, Value: []byte{5, 0}}},
		"UnhandledCriticalExtensions": []asn1.ObjectIdentifier{{1, 2, 3}},
		"ExtKeyUsage":                 []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, "UnknownExtKeyUsage": []asn1.ObjectIdentifier{{1, 2, 3}},
		"BasicConstraintsValid": false, "IsCA": true, "MaxPathLen": 2, "MaxPathLenZero": true,
		"SubjectKeyId": []byte{1}, "AuthorityKeyId": []byte{2},
		"OCSPServer": []string{"http://o.example/"}, "IssuingCertificateURL": []string{"http://i.example/c.crt"},
		"DNSNames": []string{"a.example.com", "b.example.com"}, "EmailAddresses": []string{"x@example.com"},
		"IPAddresses": []net.IP{net.ParseIP("192.0.2.9")}, "URIs": []*url.URL{{Scheme: "https", Host: "example.com"}},
		"PermittedDNSDomainsCritical": true, "PermittedDNSDomains": []string{"example.com"}, "ExcludedDNSDomains": []string{"example.org"},
		"PermittedIPRanges": []*net.IPNet{ipNet}, "ExcludedIPRanges": []*net.IPNet{ipNet},
		"PermittedEmailAddresses": []string{"example.com"}, "ExcludedEmailAddresses": []string{"example.org"},
		"PermittedURIDomains": []string{"example.com"}, "ExcludedURIDomains": []string{"example.org"},
		"CRLDistributionPoints": []string{"http://c.example/1.crl", "http://c.example/2.crl"},
		"PolicyIdentifiers":     []asn1.ObjectIdentifier{{2, 23, 140, 1, 2, 2}}, "Policies": []x509.OID{pol, pol2},
		"InhibitAnyPolicy": 1, "InhibitAnyPolicyZero": true, "InhibitPolicyMapping": 1, "InhibitPolicyMappingZero": true,
		"RequireExplicitPolicy": 1, "RequireExplicitPolicyZero": true,
		"PolicyMappings": []x509.PolicyMapping{{IssuerDomainPolicy: pol, SubjectDomainPolicy: pol}},
	}
	typ := reflect.TypeFor[x509.Certificate]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		if !f.IsExported() {
			continue
		}
		t.Run(f.Name, func(t *testing.T) {
			v, ok := samples[f.Name]
			if !ok {
				t.Fatalf("x509.Certificate.%s (%s) has no sample: add one, and teach tbsCertificate the field or refuse it", f.Name, f.Type)
			}
			tmpl := base()
			reflect.ValueOf(tmpl).Elem().Field(i).Set(reflect.ValueOf(v))
			got, err := tbsCertificate(tmpl, iss.Cert, sigAlgs[x509.ECDSAWithSHA256].algID, pub)
			if err != nil {
				return // refused: nothing is made that could differ
			}
			der, err := x509.CreateCertificate(rand.Reader, tmpl, iss.Cert, pub, iss.signer)
			if err != nil {
				t.Fatalf("encoded a template crypto/x509 refuses: %v", err)
			}
			want, err := x509.ParseCertificate(der)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want.RawTBSCertificate) {
				t.Fatalf("TBSCertificate differs from crypto/x509's:\n%x\n%x", got, want.RawTBSCertificate)
			}
		})
	}
}

// TestLintAsDraftedIsTheDraftsLint: a signed leaf linted as drafted gets
// the outcome its draft got, for a leaf that passes and for one that
// breaks a lint, under an RSA and an ECDSA issuer; what is not one DER
// certificate is refused.
func TestLintAsDraftedIsTheDraftsLint(t *testing.T) {
	for _, issuer := range []KeyType{KeyP256, KeyRSA2048} {
		h := sharedHierarchy(t, KeyP256, issuer)
		for _, tc := range []struct {
			name   string
			mutate func(*LeafRequest)
		}{
			{"clean", func(*LeafRequest) {}},
			{"underscore", func(r *LeafRequest) { r.DNSNames = append(r.DNSNames, "a_b.example.com") }},
		} {
			t.Run(string(issuer)+"/"+tc.name, func(t *testing.T) {
				req := leafRequest(t, h, ProfileOVTLS, ecKey(t, elliptic.P256()).Public(), "")
				tc.mutate(&req)
				d, err := h.Draft(req)
				if err != nil {
					t.Fatal(err)
				}
				wantWarns, lintErr := d.Lint()
				var want []string
				var le *LintError
				if errors.As(lintErr, &le) {
					want = le.Lints
				} else if lintErr != nil {
					t.Fatal(lintErr)
				}
				if (tc.name == "clean") != (len(want) == 0) {
					t.Fatalf("the draft's lint errors %v", want)
				}
				// The leaf as signed (Sign does not lint): its signature is
				// not the placeholder.
				cert, err := d.Sign()
				if err != nil {
					t.Fatal(err)
				}
				der := cert.Raw
				if c, err := lintCopy(der, req.Issuer.Cert.PublicKey); err != nil || !bytes.Equal(c, d.lint) {
					t.Fatalf("the copy of the signed leaf is not the draft's (%v)", err)
				}
				errs, warns, err := LintAsDrafted(der, req.Issuer.Cert.PublicKey, req.Issuer.Purpose)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(errs, want) || !slices.Equal(warns, wantWarns) {
					t.Errorf("as drafted: errors %v warnings %v; the draft's: %v %v", errs, warns, want, wantWarns)
				}
				if _, _, err := LintAsDrafted(append(der, 0), req.Issuer.Cert.PublicKey, req.Issuer.Purpose); err == nil {
					t.Error("a certificate with a trailing byte was linted")
				}
			})
		}
	}
}

// TestLintAsDraftedHitsTheMemo: leaves crypto/x509 signs in the shape of
// the bench's minimal floor, each for its own name, key and serial, have
// the same fixed parts, so all but the first take the fixed lints from
// the memo as a profile's drafts do; and none breaks a lint.
func TestLintAsDraftedHitsTheMemo(t *testing.T) {
	h := sharedHierarchy(t, KeyP256, KeyP256)
	iss := h.DefaultIssuer()
	regs, err := lintRegistries()
	if err != nil {
		t.Fatal(err)
	}
	var first string
	for i := range 8 {
		der := floorShapedLeaf(t, iss, fmt.Sprintf("floor-%d.example.com", i))
		errs, _, err := LintAsDrafted(der, iss.Cert.PublicKey, iss.Purpose)
		if err != nil || len(errs) > 0 {
			t.Fatalf("leaf %d: %v %v", i, err, errs)
		}
		c, err := lintCopy(der, iss.Cert.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		zc, err := zx509.ParseCertificate(c)
		if err != nil {
			t.Fatal(err)
		}
		key := fixedKey(c, zc)
		reg, err := regs.leafRegistry(iss.Purpose, zc)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := lintSetOf(reg).memo.Load(key); key == "" || !ok {
			t.Fatalf("leaf %d: fixed parts not in the memo (key %d bytes)", i, len(key))
		}
		if i == 0 {
			first = key
		} else if key != first {
			t.Fatalf("leaf %d has other fixed parts than the first", i)
		}
	}
}

// floorShapedLeaf is a DV leaf for name as the bench's minimal floor makes
// one (crypto/x509, a random 16-byte serial, the DV policy, AIA and CRL
// locations), signed by iss for a new P-256 key.
func floorShapedLeaf(t testing.TB, iss *Issuer, name string) []byte {
	t.Helper()
	serial := make([]byte, 16)
	rand.Read(serial)
	serial[0] &= 0x7f
	policy, err := x509.OIDFromInts([]uint64{2, 23, 140, 1, 2, 1})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Truncate(time.Second)
	tmpl := &x509.Certificate{SerialNumber: new(big.Int).SetBytes(serial), Subject: pkix.Name{CommonName: name},
		DNSNames: []string{name}, NotBefore: now, NotAfter: now.Add(199 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, Policies: []x509.OID{policy},
		OCSPServer: []string{"http://127.0.0.1/ocsp"}, IssuingCertificateURL: []string{"http://127.0.0.1/ca.crt"},
		CRLDistributionPoints: []string{"http://127.0.0.1/ca.crl"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, iss.Cert, ecKey(t, elliptic.P256()).Public(), iss.signer)
	if err != nil {
		t.Fatal(err)
	}
	return der
}
