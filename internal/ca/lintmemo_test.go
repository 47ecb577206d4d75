package ca

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"maps"
	"math/big"
	"net"
	"os"
	"reflect"
	"slices"
	"sort"
	"testing"
	"time"

	zx509 "github.com/zmap/zcrypto/x509"
	"github.com/zmap/zlint/v3"
	"github.com/zmap/zlint/v3/lint"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/certorder/certorder/internal/ca/lintinputs"
)

// TestFixedLintsAreRecomputed: fixedlints_gen.go is what package
// lintinputs makes of the zlint source this build links (the fixed lints
// and the variable extensions), and names only lints of zlint's registry.
func TestFixedLintsAreRecomputed(t *testing.T) {
	verdicts, err := lintinputs.Analyze()
	if err != nil {
		t.Fatal(err)
	}
	want := lintinputs.Fixed(verdicts)
	got := slices.Sorted(maps.Keys(fixedLints))
	if !slices.Equal(got, want) {
		t.Errorf("fixedLints is not what lintinputs finds: run go generate ./internal/ca\n got %d: %v\nwant %d: %v", len(got), got, len(want), want)
	}
	if file, err := os.ReadFile("fixedlints_gen.go"); err != nil || !bytes.Equal(file, lintinputs.Source(want)) {
		t.Errorf("fixedlints_gen.go is not what lintinputs.Source makes (%v): run go generate ./internal/ca", err)
	}
	registered := map[string]bool{}
	for _, l := range lint.GlobalRegistry().CertificateLints().Lints() {
		registered[l.Name] = true
	}
	for name := range fixedLints {
		if !registered[name] {
			t.Errorf("%s is no certificate lint of zlint's", name)
		}
	}
	if len(fixedLints) < 100 {
		t.Errorf("only %d fixed lints: the analysis finds less than it did", len(fixedLints))
	}
}

// memoCase is one template of TestLintMemoIsZlints, under an issuer, with
// the key it is issued for.
type memoCase struct {
	name string
	iss  *Issuer
	tmpl *x509.Certificate
	pub  crypto.PublicKey
}

// TestFixedKeyParts: the memo's key changes with every fixed part of a
// leaf and with nothing that differs per order.
func TestFixedKeyParts(t *testing.T) {
	h := sharedHierarchy(t, KeyP256, KeyP256)
	req := leafRequest(t, h, ProfileOVTLS, testKey(t, "p256"), "")
	base, err := h.leafTemplate(req)
	if err != nil {
		t.Fatal(err)
	}
	other := ecKey(t, elliptic.P256()).Public()
	// crypto/x509 makes the certificates (certorder's encoder makes no
	// subject key identifier), each then with a placeholder signature, as
	// a draft's lint copy has.
	keyOf := func(t *testing.T, iss *Issuer, tmpl *x509.Certificate, pub crypto.PublicKey) string {
		t.Helper()
		signed := cryptobyte.String(createCert(t, tmpl, iss, pub))
		var cert, tbs, alg cryptobyte.String
		if !signed.ReadASN1(&cert, cbasn1.SEQUENCE) || !cert.ReadASN1Element(&tbs, cbasn1.SEQUENCE) || !cert.ReadASN1Element(&alg, cbasn1.SEQUENCE) {
			t.Fatal("crypto/x509 made no certificate")
		}
		sig, err := placeholderSignature(iss.Cert.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		der, err := assemble(tbs, alg, sig)
		if err != nil {
			t.Fatal(err)
		}
		c, err := zx509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		k := fixedKey(der, c)
		if k == "" {
			t.Fatal("no key")
		}
		return k
	}
	baseKey := keyOf(t, req.Issuer, base, req.PublicKey)
	otherIssuer := sharedHierarchy(t, KeyP384, KeyP256).DefaultIssuer()
	for _, tc := range []struct {
		name   string
		change func(tmpl *x509.Certificate) (*Issuer, crypto.PublicKey)
		same   bool
	}{
		{"serial", func(c *x509.Certificate) (*Issuer, crypto.PublicKey) {
			c.SerialNumber = c.SerialNumber.Lsh(c.SerialNumber, 1)
			return nil, nil
		}, true},
		{"validity", func(c *x509.Certificate) (*Issuer, crypto.PublicKey) {
			c.NotBefore, c.NotAfter = c.NotBefore.Add(-time.Hour), c.NotAfter.Add(400*24*time.Hour)
			return nil, nil
		}, true},
		{"subject", func(c *x509.Certificate) (*Issuer, crypto.PublicKey) {
			c.Subject.CommonName, c.Subject.Organization = "other.example.org", []string{"Other &amp; Co"}
			return nil, nil
		}, true},
		{"names", func(c *x509.Certificate) (*Issuer, crypto.PublicKey) {
			c.DNSNames = []string{"bad_name.example.org"}
			c.IPAddresses = []net.IP{net.ParseIP("10.0.0.1")}
			return nil, nil
		}, true},
		{"another key of the same algorithm", func(c *x509.Certificate) (*Issuer, crypto.PublicKey) { return nil, other }, true},
		{"a key of another algorithm", func(c *x509.Certificate) (*Issuer, crypto.PublicKey) { return nil, testKey(t, "rsa2048") }, false},
		{"a P-384 key", func(c *x509.Certificate) (*Issuer, crypto.PublicKey) { return nil, testKey(t, "p384") }, false},
		{"key usage", func(c *x509.Certificate) (*Issuer, crypto.PublicKey) {
			c.KeyUsage |= x509.KeyUsageCertSign
			return nil, nil
		}, false},
		{"extended key usage", func(c *x509.Certificate) (*Issuer, crypto.PublicKey) {
			c.ExtKeyUsage = append(c.ExtKeyUsage, x509.ExtKeyUsageClientAuth)
			return nil, nil
		}, false},
		{"policies", func(c *x509.Certificate) (*Issuer, crypto.PublicKey) { c.Policies = []x509.OID{oidEV}; return nil, nil }, false},
		{"OCSP", func(c *x509.Certificate) (*Issuer, crypto.PublicKey) {
			c.OCSPServer = []string{"ldap://ocsp.example/"}
			return nil, nil
		}, false},
		{"CA issuers", func(c *x509.Certificate) (*Issuer, crypto.PublicKey) { c.IssuingCertificateURL = nil; return nil, nil }, false},
		{"CRL", func(c *x509.Certificate) (*Issuer, crypto.PublicKey) {
			c.CRLDistributionPoints = []string{"http://crl.example/x.crl"}
			return nil, nil
		}, false},
		{"basic constraints", func(c *x509.Certificate) (*Issuer, crypto.PublicKey) {
			c.BasicConstraintsValid = false
			return nil, nil
		}, false},
		{"hash", func(c *x509.Certificate) (*Issuer, crypto.PublicKey) {
			c.SignatureAlgorithm = x509.ECDSAWithSHA384
			return nil, nil
		}, false},
		{"a subject key identifier", func(c *x509.Certificate) (*Issuer, crypto.PublicKey) {
			c.SubjectKeyId = []byte{1, 2, 3}
			return nil, nil
		}, false},
		{"an empty subject (a critical SAN)", func(c *x509.Certificate) (*Issuer, crypto.PublicKey) {
			c.Subject, c.RawSubject = pkix.Name{}, nil
			return nil, nil
		}, false},
		{"issuer", func(c *x509.Certificate) (*Issuer, crypto.PublicKey) { return otherIssuer, nil }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmpl := *base
			tmpl.SerialNumber = new(big.Int).Set(base.SerialNumber)
			iss, pub := tc.change(&tmpl)
			if iss == nil {
				iss = req.Issuer
			}
			if pub == nil {
				pub = req.PublicKey
			}
			if same := keyOf(t, iss, &tmpl, pub) == baseKey; same != tc.same {
				t.Errorf("key the same as the base's: %v, want %v", same, tc.same)
			}
		})
	}
	t.Run("SKI value", func(t *testing.T) {
		a, b := *base, *base
		a.SubjectKeyId, b.SubjectKeyId = []byte{1, 2, 3}, []byte{4, 5, 6, 7}
		if keyOf(t, req.Issuer, &a, req.PublicKey) != keyOf(t, req.Issuer, &b, req.PublicKey) {
			t.Error("two subject key identifiers give two keys")
		}
	})
}

// TestLintMemoIsZlints: the lint memo finds, lint by lint, what zlint
// finds on the final certificate. For every profile under an RSA and a
// P-256 hierarchy, a valid leaf and leaves made from it, linted in turn
// and then all again: some differ from it in what differs per order (a
// serial, a validity beyond every limit, a subject with an HTML entity,
// a name with an underscore, another key, a key with a tiny private
// scalar), others in one fixed part each (no key usage, a CA's key
// usage, another extended key usage, no policy, an LDAP OCSP location, no
// CA issuers location, a CRL location with a bad host, a longer hash). Then generated leaves (every field drawn,
// see generatedLeaf) in groups sharing their fixed parts, against every
// registry. The memo must be used, and fixed as well as other lints must
// fail on some of them.
func TestLintMemoIsZlints(t *testing.T) {
	regs, err := lintRegistries()
	if err != nil {
		t.Fatal(err)
	}
	t.Parallel()
	compared, reused := 0, 0 // reused: certificates whose fixed parts the memo had seen
	failed := map[string]bool{}
	compare := func(t *testing.T, what string, d *Draft, reg func(c *zx509.Certificate) lint.Registry) {
		t.Helper()
		copyCert, err := zx509.ParseCertificate(d.lint)
		if err != nil {
			t.Fatal(err)
		}
		r := reg(copyCert)
		key := fixedKey(d.lint, copyCert)
		compared++
		if _, seen := lintSetOf(r).memo.Load(key); seen {
			reused++
		}
		gotErrs, gotWarns := lintNames(lintCertificate(copyCert, r, key))
		signed, err := d.Sign()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		final, err := zx509.ParseCertificate(signed.Raw)
		if err != nil {
			t.Fatal(err)
		}
		wantErrs, wantWarns := lintNames(splitResults(zlint.LintCertificateEx(final, r)))
		if !reflect.DeepEqual(gotErrs, wantErrs) || !reflect.DeepEqual(gotWarns, wantWarns) {
			t.Errorf("%s: the memo found %v %v, zlint on the final certificate %v %v", what, gotErrs, gotWarns, wantErrs, wantWarns)
		}
		for _, n := range append(gotErrs, gotWarns...) {
			failed[n] = true
		}
	}

	var cases []memoCase
	tiny := func() crypto.PublicKey {
		x, y := elliptic.P256().ScalarBaseMult([]byte{5})
		return &ecdsa.PublicKey{Curve: elliptic.P256(), X: x, Y: y}
	}()
	for _, h := range []*Hierarchy{rsaHierarchy(t), sharedHierarchy(t, KeyP256, KeyP256)} {
		for _, p := range []Profile{ProfileDVTLS, ProfileOVTLS, ProfileEVTLS, ProfileCodeSigning, ProfileEVCodeSigning,
			ProfileSMIMEMailbox, ProfileSMIMESponsor, ProfileSMIMESponsorMulti, ProfileClientAuth, ProfileX9TLS, ProfilePrivateTLS} {
			var req LeafRequest
			switch PurposeOf(p) {
			case PurposeTLS:
				req = leafRequest(t, h, p, testKey(t, "p256"), "")
				if p == ProfileDVTLS {
					req.Subject = Subject{CommonName: "www.example.com"}
				}
			case PurposeCodeSigning:
				req = profileRequest(t, h, ProfileCodeSigning, "rsa3072", false)
				req.Profile = p
				if p == ProfileEVCodeSigning {
					req.Subject = evSubject("")
				}
			default:
				req = profileRequest(t, h, p, "p256", false)
			}
			base, err := h.leafTemplate(req)
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			name := fmt.Sprintf("%s under %s", p, req.Issuer.Cert.PublicKeyAlgorithm)
			variant := func(what string, pub crypto.PublicKey, change func(c *x509.Certificate)) {
				tmpl := *base
				tmpl.SerialNumber = new(big.Int).Add(base.SerialNumber, big.NewInt(int64(len(cases)+1)))
				change(&tmpl)
				if pub == nil {
					pub = req.PublicKey
				}
				cases = append(cases, memoCase{name + ", " + what, req.Issuer, &tmpl, pub})
			}
			same := func(*x509.Certificate) {}
			variant("as made", nil, same)
			// what differs per order
			variant("another serial and validity", nil, func(c *x509.Certificate) {
				c.NotBefore, c.NotAfter = c.NotBefore.Add(-48*time.Hour), c.NotBefore.Add(500*24*time.Hour)
			})
			variant("an HTML entity in the subject", nil, func(c *x509.Certificate) {
				c.Subject.Organization, c.RawSubject = []string{"Tom &amp; Jerry"}, nil
			})
			variant("a name with an underscore", nil, func(c *x509.Certificate) {
				c.DNSNames = append(slices.Clone(c.DNSNames), "bad_name.example.com")
			})
			if _, ec := req.PublicKey.(*ecdsa.PublicKey); ec {
				variant("another key", ecKey(t, elliptic.P256()).Public(), same)
				variant("a key with a tiny private scalar", tiny, same)
			}
			// one fixed part each
			variant("no key usage", nil, func(c *x509.Certificate) { c.KeyUsage = 0 })
			variant("a CA's key usage", nil, func(c *x509.Certificate) { c.KeyUsage |= x509.KeyUsageCertSign | x509.KeyUsageCRLSign })
			variant("another extended key usage", nil, func(c *x509.Certificate) {
				c.ExtKeyUsage = append(slices.Clone(c.ExtKeyUsage), x509.ExtKeyUsageTimeStamping)
			})
			variant("no policy", nil, func(c *x509.Certificate) { c.Policies, c.PolicyIdentifiers = nil, nil })
			variant("an LDAP OCSP location", nil, func(c *x509.Certificate) { c.OCSPServer = []string{"ldap://ocsp.example/"} })
			variant("no CA issuers location", nil, func(c *x509.Certificate) { c.IssuingCertificateURL = nil })
			variant("a CRL location with a bad host", nil, func(c *x509.Certificate) {
				c.CRLDistributionPoints = []string{"http://bad_host.example/x.crl"}
			})
			variant("a longer hash", nil, func(c *x509.Certificate) {
				if _, ec := req.Issuer.Cert.PublicKey.(*ecdsa.PublicKey); ec {
					c.SignatureAlgorithm = x509.ECDSAWithSHA384
				} else {
					c.SignatureAlgorithm = x509.SHA384WithRSA
				}
			})
			variant("as made, again", nil, same)
		}
	}
	for pass := range 2 {
		for _, mc := range cases {
			d, err := mc.iss.draft(rand.Reader, mc.tmpl, mc.pub)
			if err != nil {
				t.Fatalf("%s: %v", mc.name, err)
			}
			compare(t, fmt.Sprintf("pass %d, %s", pass, mc.name), d, func(c *zx509.Certificate) lint.Registry {
				r, err := regs.leafRegistry(mc.iss.Purpose, c)
				if err != nil {
					t.Fatal(err)
				}
				return r
			})
		}
	}

	// Generated leaves, in groups that share their fixed parts and draw
	// the rest anew, against every registry.
	registries := append([]lint.Registry{regs.certs, regs.private}, slices.Collect(maps.Values(regs.leaves))...)
	g := newGenerator(t, 12, 4)
	for i := range g.n {
		iss := g.issuers[g.r.IntN(len(g.issuers))]
		base := generatedLeaf(t, g.r, iss, false)
		for j := range 4 {
			tmpl := base
			if j > 0 {
				drawn := generatedLeaf(t, g.r, iss, false)
				c := *base
				c.RawSubject, c.SerialNumber, c.NotBefore, c.NotAfter = drawn.RawSubject, drawn.SerialNumber, drawn.NotBefore, drawn.NotAfter
				c.DNSNames, c.EmailAddresses, c.IPAddresses = drawn.DNSNames, drawn.EmailAddresses, drawn.IPAddresses
				if len(c.RawSubject) == 0 && len(c.DNSNames)+len(c.EmailAddresses)+len(c.IPAddresses) == 0 {
					c.DNSNames = []string{"x.example"}
				}
				tmpl = &c
			}
			d, err := iss.draft(rand.Reader, tmpl, g.keys[g.r.IntN(len(g.keys))])
			if err != nil {
				t.Fatal(err)
			}
			for ri, r := range registries {
				compare(t, fmt.Sprintf("generated %d.%d, registry %d", i, j, ri), d, func(*zx509.Certificate) lint.Registry { return r })
			}
		}
	}

	if reused < len(cases) {
		t.Errorf("only %d certificates took their fixed lints from the memo", reused)
	}
	var fixedFailed, otherFailed []string
	for n := range failed {
		if fixedLints[n] {
			fixedFailed = append(fixedFailed, n)
		} else {
			otherFailed = append(otherFailed, n)
		}
	}
	sort.Strings(fixedFailed)
	t.Logf("%d certificates, %d linted with the memo's outcomes; fixed lints that failed on some: %v; other lints: %d", compared, reused, fixedFailed, len(otherFailed))
	if len(fixedFailed) < 5 || len(otherFailed) < 5 {
		t.Errorf("only %d fixed and %d other lints failed: the comparison says little about failing outcomes taken from the memo", len(fixedFailed), len(otherFailed))
	}
}

// TestSignedCertificatesSkipTheMemo: LintCertificate, which lints signed
// certificates (each signature makes a new key), keeps nothing in the
// memo, and a draft's lint copy does.
func TestSignedCertificatesSkipTheMemo(t *testing.T) {
	h := sharedHierarchy(t, KeyP256, KeyP256)
	regs, err := lintRegistries()
	if err != nil {
		t.Fatal(err)
	}
	req := leafRequest(t, h, ProfileOVTLS, testKey(t, "p256"), "")
	d, err := h.Draft(req)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := d.Sign()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		what string
		der  []byte
		lint func([]byte) error
		kept bool
	}{
		{"the signed certificate", signed.Raw, func(der []byte) error { _, _, err := LintCertificate(der); return err }, false},
		{"the lint copy", d.lint, func(der []byte) error { _, _, err := lintLeaf(der, req.Issuer.Purpose); return err }, true},
	} {
		if err := tc.lint(tc.der); err != nil {
			t.Fatal(err)
		}
		c, err := zx509.ParseCertificate(tc.der)
		if err != nil {
			t.Fatal(err)
		}
		kept := false
		for _, reg := range append([]lint.Registry{regs.certs, regs.private}, slices.Collect(maps.Values(regs.leaves))...) {
			if _, ok := lintSetOf(reg).memo.Load(fixedKey(tc.der, c)); ok {
				kept = true
			}
		}
		if kept != tc.kept {
			t.Errorf("%s: its fixed parts are in a memo: %v, want %v", tc.what, kept, tc.kept)
		}
	}
}
