package ca

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestIssuersPerPurpose(t *testing.T) {
	h := rsaHierarchy(t)
	type want struct {
		name     string
		key      string // "rsa2048", "rsa3072", "p256", "p384"
		ekus     []x509.ExtKeyUsage
		policies []string
	}
	anyPolicy := []string{"2.5.29.32.0"}
	for _, tc := range []struct {
		purpose Purpose
		want    []want
	}{
		{PurposeTLS, []want{{"certorder TLS Issuing CA 1", "rsa2048",
			[]x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}, anyPolicy}}},
		{PurposeCodeSigning, []want{{"certorder Code Signing Issuing CA 1", "rsa3072",
			[]x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}, []string{"2.23.140.1.4.1", "2.23.140.1.3"}}}},
		{PurposeSMIME, []want{{"certorder S/MIME Issuing CA 1", "p256",
			[]x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection, x509.ExtKeyUsageClientAuth}, anyPolicy}}},
		{PurposeX9, []want{
			{"certorder X9 Issuing CA RSA 1", "rsa2048",
				[]x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}, anyPolicy},
			{"certorder X9 Issuing CA ECC 1", "p384",
				[]x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}, anyPolicy},
		}},
		{PurposePrivateTLS, []want{{"certorder Private TLS Issuing CA 1", "rsa2048",
			[]x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}, anyPolicy}}},
	} {
		t.Run(string(tc.purpose), func(t *testing.T) {
			got := h.IssuersFor(tc.purpose)
			if len(got) != len(tc.want) {
				t.Fatalf("%d issuers, want %d", len(got), len(tc.want))
			}
			if h.DefaultIssuerFor(tc.purpose) != got[0] {
				t.Error("DefaultIssuerFor is not the first of IssuersFor")
			}
			for i, iss := range got {
				w := tc.want[i]
				c := iss.Cert
				if iss.Purpose != tc.purpose || iss.Name != w.name || c.Subject.CommonName != w.name {
					t.Errorf("issuer %d: purpose %q name %q", i, iss.Purpose, iss.Name)
				}
				if kt, _ := keyTypeOf(c.PublicKey); string(kt) != w.key {
					t.Errorf("%s: key %s, want %s", w.name, kt, w.key)
				}
				if !sameEKUs(c.ExtKeyUsage, w.ekus) || len(c.UnknownExtKeyUsage) != 0 {
					t.Errorf("%s: EKU %v", w.name, c.ExtKeyUsage)
				}
				var pols []string
				for _, p := range c.Policies {
					pols = append(pols, p.String())
				}
				if strings.Join(pols, ",") != strings.Join(w.policies, ",") {
					t.Errorf("%s: policies %v, want %v", w.name, pols, w.policies)
				}
				if !c.IsCA || c.MaxPathLen != 0 || !c.MaxPathLenZero ||
					c.KeyUsage != x509.KeyUsageDigitalSignature|x509.KeyUsageCertSign|x509.KeyUsageCRLSign {
					t.Errorf("%s: constraints ca=%v pathlen=%d ku=%v", w.name, c.IsCA, c.MaxPathLen, c.KeyUsage)
				}
				if err := c.CheckSignatureFrom(h.Root()); err != nil {
					t.Errorf("%s: %v", w.name, err)
				}
				errs, warns, err := LintCertificate(c.Raw)
				if err != nil || len(errs) > 0 {
					t.Errorf("%s: lint errors %v %v", w.name, errs, err)
				}
				for _, wn := range warns {
					t.Logf("%s: warning %s", w.name, wn)
				}
				if found, ok := h.Issuer(iss.ID); !ok || found != iss {
					t.Errorf("%s: Issuer(%s) lookup failed", w.name, iss.ID)
				}
			}
		})
	}
	// CanSign follows the issuer key: RSA signs every offered hash, ECDSA
	// only the one matching its curve.
	x9 := h.IssuersFor(PurposeX9)
	for _, tc := range []struct {
		iss  *Issuer
		hash string
		want bool
	}{
		{x9[0], "sha256", true}, {x9[0], "sha384", true}, {x9[0], "sha512", true}, {x9[0], "md5", false},
		{x9[1], "sha256", false}, {x9[1], "sha384", true}, {x9[1], "sha512", false},
		{h.DefaultIssuerFor(PurposeSMIME), "sha256", true}, {h.DefaultIssuerFor(PurposeSMIME), "sha384", false},
	} {
		if got := tc.iss.CanSign(tc.hash); got != tc.want {
			t.Errorf("%s.CanSign(%s) = %v, want %v", tc.iss.Name, tc.hash, got, tc.want)
		}
	}
	if h.DefaultIssuer() != h.DefaultIssuerFor(PurposeTLS) || h.Issuers()[0] != h.DefaultIssuer() {
		t.Error("DefaultIssuer is not the default TLS issuer, first in Issuers")
	}
	if len(h.Issuers()) != 6 || h.DefaultIssuerFor("nope") != nil || len(h.IssuersFor("nope")) != 0 {
		t.Error("unexpected issuers")
	}

	// Reopening the directory loads the same issuers in the same order.
	h2, err := Open(h.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(h2.Issuers()) != len(h.Issuers()) {
		t.Fatal("reopen: issuer count differs")
	}
	for i, iss := range h.Issuers() {
		got := h2.Issuers()[i]
		if got.ID != iss.ID || got.Purpose != iss.Purpose || !got.Cert.Equal(iss.Cert) {
			t.Errorf("reopen: issuer %d is %s/%s, want %s/%s", i, got.ID, got.Purpose, iss.ID, iss.Purpose)
		}
	}
}

// writeV1 builds by hand the directory an older certorder left: a root, a
// TLS intermediate and a version 1 manifest without purposes.
func writeV1(t *testing.T, dir string) (root, inter *x509.Certificate) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	old := &Hierarchy{cfg: Config{Dir: dir, BaseURL: "http://ca.example.test", OrgName: "certorder",
		Country: "US", Now: time.Now, Rand: rand.Reader}}
	now := time.Now().UTC().Truncate(time.Second).Add(-24 * time.Hour)
	rootKey, issKey := ecKey(t, elliptic.P256()), ecKey(t, elliptic.P256())
	root, err := old.makeRoot(rootKey, now)
	if err != nil {
		t.Fatal(err)
	}
	inter, err = old.makeIntermediate(root, rootKey, issKey, now, PurposeTLS, "certorder TLS Issuing CA 1")
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeKey(t, filepath.Join(dir, "root.key"), rootKey)
	writeKey(t, filepath.Join(dir, "issuer.key"), issKey)
	write("root.crt", EncodePEM(root))
	write("issuer.crt", EncodePEM(inter))
	write(manifestName, []byte(`{"version": 1, "root": {"cert": "root.crt", "key": "root.key"},
 "issuers": [{"cert": "issuer.crt", "key": "issuer.key"}]}`))
	return root, inter
}

func snapshot(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = b
	}
	return out
}

func TestOpenUpgradesV1(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ca")
	root, inter := writeV1(t, dir)
	before := snapshot(t, dir)
	cfg := Config{Dir: dir, BaseURL: "http://ca.example.test", IssuerKeyType: KeyP384}

	// Several processes may start at once on an old directory: they must
	// end with one upgrade, not one each.
	const n = 3
	hs := make([]*Hierarchy, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range hs {
		wg.Go(func() { hs[i], errs[i] = Open(cfg) })
	}
	wg.Wait()
	for i := range hs {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
	}
	h := hs[0]
	if !h.Root().Equal(root) || !h.DefaultIssuer().Cert.Equal(inter) || h.Issuers()[0] != h.DefaultIssuer() {
		t.Fatal("upgrade changed the root or the TLS issuer")
	}
	wantID, _ := issuerID(inter)
	if h.DefaultIssuer().ID != wantID {
		t.Errorf("TLS issuer id %s, want %s", h.DefaultIssuer().ID, wantID)
	}
	for _, p := range purposes {
		iss := h.DefaultIssuerFor(p)
		if iss == nil {
			t.Fatalf("no %s issuer after upgrade", p)
		}
		if err := iss.Cert.CheckSignatureFrom(root); err != nil {
			t.Errorf("%s issuer not signed by the old root: %v", p, err)
		}
	}
	if len(h.IssuersFor(PurposeX9)) != 2 || len(h.Issuers()) != 6 {
		t.Errorf("%d issuers after upgrade", len(h.Issuers()))
	}
	for i := 1; i < n; i++ {
		for j, iss := range h.Issuers() {
			if hs[i].Issuers()[j].ID != iss.ID {
				t.Fatalf("concurrent Opens ended with different issuers")
			}
		}
	}

	// Old files are untouched; the manifest is version 2 with purposes.
	after := snapshot(t, dir)
	for name, b := range before {
		if name != manifestName && !bytes.Equal(after[name], b) {
			t.Errorf("%s changed", name)
		}
	}
	m := readManifest(t, dir)
	if m.Version != 2 || len(m.Issuers) != 6 || m.Issuers[0].Cert != "issuer.crt" || m.Issuers[0].Purpose != PurposeTLS {
		t.Fatalf("manifest after upgrade: %+v", m)
	}
	// The fingerprint of the version 1 hierarchy is remembered, so that
	// its store accepts the upgraded one (app.checkCA).
	v1 := sha256.New()
	v1.Write(root.Raw)
	v1.Write(inter.Raw)
	if want := hex.EncodeToString(v1.Sum(nil)); len(m.Previous) != 1 || m.Previous[0] != want ||
		!slices.Equal(h.PreviousFingerprints(), m.Previous) || h.Fingerprint() == want {
		t.Errorf("previous fingerprints %v (hierarchy %v), want [%s]", m.Previous, h.PreviousFingerprints(), want)
	}
	// One manifest, the lock, seven pairs of the old and new: no temp files
	// or pairs left behind by the processes that did not upgrade.
	if len(after) != 1+1+2*7 {
		var names []string
		for name := range after {
			names = append(names, name)
		}
		t.Errorf("files: %v", names)
	}

	// A second Open changes nothing.
	h2, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if again := snapshot(t, dir); !bytes.Equal(again[manifestName], after[manifestName]) || len(again) != len(after) {
		t.Error("second Open rewrote the hierarchy")
	}
	for i, iss := range h.Issuers() {
		if h2.Issuers()[i].ID != iss.ID || h2.Issuers()[i].Purpose != iss.Purpose {
			t.Errorf("reopen: issuer %d differs", i)
		}
	}
}

func TestOpenUpgradesPartialV2(t *testing.T) {
	// A version 2 manifest without X9 issuers (say, written by a build
	// before X9 existed) gets them; the others stay. The source has no RSA
	// 2048 key left in the copy, which a pooled test key could repeat.
	src := sharedHierarchy(t, KeyP256, KeyP256)
	dir := filepath.Join(t.TempDir(), "ca")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	m := readManifest(t, src.cfg.Dir)
	m.Issuers = m.Issuers[:3]
	for _, f := range append([]keyPairFile{m.Root}, m.Issuers...) {
		for _, name := range []string{f.Cert, f.Key} {
			b, err := os.ReadFile(filepath.Join(src.cfg.Dir, name))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	mb, _ := json.Marshal(m)
	if err := os.WriteFile(filepath.Join(dir, manifestName), mb, 0o600); err != nil {
		t.Fatal(err)
	}
	h, err := Open(Config{Dir: dir, BaseURL: "http://ca.example.test"})
	if err != nil {
		t.Fatal(err)
	}
	for i, iss := range src.Issuers()[:3] {
		if h.Issuers()[i].ID != iss.ID {
			t.Errorf("issuer %d changed", i)
		}
	}
	x9 := h.IssuersFor(PurposeX9)
	if len(x9) != 2 || len(h.Issuers()) != 6 || len(h.IssuersFor(PurposePrivateTLS)) != 1 {
		t.Fatalf("X9 issuers after upgrade: %d of %d", len(x9), len(h.Issuers()))
	}
	if m2 := readManifest(t, dir); m2.Version != 2 || len(m2.Issuers) != 6 || m2.Issuers[3].Purpose != PurposeX9 ||
		m2.Issuers[5].Purpose != PurposePrivateTLS || len(m2.Previous) != 1 {
		t.Errorf("manifest after upgrade: %+v", m2)
	}
	if _, ok := x9[0].Cert.PublicKey.(*rsa.PublicKey); !ok {
		t.Error("first X9 issuer is not RSA")
	}
	if _, ok := x9[1].Cert.PublicKey.(*ecdsa.PublicKey); !ok {
		t.Error("second X9 issuer is not ECDSA")
	}
}

func TestOpenRefusesBadPurposes(t *testing.T) {
	src := rsaHierarchy(t)
	base := readManifest(t, src.cfg.Dir)
	for _, tc := range []struct {
		name   string
		mutate func(*manifest)
		want   string
	}{
		{"unknown purpose", func(m *manifest) { m.Issuers[1].Purpose = "ssh" }, "unknown purpose"},
		{"missing purpose", func(m *manifest) { m.Issuers[1].Purpose = "" }, "unknown purpose"},
		{"mislabelled", func(m *manifest) { m.Issuers[1].Purpose = PurposeSMIME }, "do not fit purpose"},
		{"TLS not first", func(m *manifest) { m.Issuers[0], m.Issuers[1] = m.Issuers[1], m.Issuers[0] }, "first issuer"},
		{"version 3", func(m *manifest) { m.Version = 3 }, "unsupported version"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, b := range snapshot(t, src.cfg.Dir) {
				if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			m := base
			m.Issuers = append([]keyPairFile(nil), base.Issuers...)
			tc.mutate(&m)
			mb, _ := json.Marshal(m)
			if err := os.WriteFile(filepath.Join(dir, manifestName), mb, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Open(Config{Dir: dir, BaseURL: "http://127.0.0.1:8080"})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestCRLEveryIssuer(t *testing.T) {
	h := rsaHierarchy(t)
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	for _, iss := range h.Issuers() {
		t.Run(iss.Name, func(t *testing.T) {
			der, err := h.CRL(iss, []Revoked{{Serial: big.NewInt(0x1234), RevokedAt: at, Reason: 1}}, big.NewInt(7), 0)
			if err != nil {
				t.Fatal(err)
			}
			crl, err := x509.ParseRevocationList(der)
			if err != nil {
				t.Fatal(err)
			}
			if err := crl.CheckSignatureFrom(iss.Cert); err != nil {
				t.Fatal(err)
			}
		})
	}
}
