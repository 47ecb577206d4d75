package ca

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Expensive keys are made once per test binary.
var (
	rsa2048Once sync.Once
	rsa2048Key  *rsa.PrivateKey
	rsa1024Once sync.Once
	rsa1024Key  *rsa.PrivateKey

	rsaHierOnce sync.Once
	rsaHier     *Hierarchy
	rsaHierErr  error
	tempDirs    []string
)

func TestMain(m *testing.M) {
	generateKey = pooledKey
	go fillKeyPool()
	code := m.Run()
	for _, d := range tempDirs {
		os.RemoveAll(d)
	}
	os.Exit(code)
}

// keyPool hands out CA keys: ECDSA fresh, RSA from a small pool per size
// once TestMain's background filler (on the core the sequential tests
// leave idle) has made it, fresh before. Rotation keeps any poolSize
// consecutive keys of a size distinct: a hierarchy needs at most three RSA
// 2048 keys (TLS, X9, private TLS) and one RSA 3072 key, and concurrent
// tests race at most four creators, each with at most two RSA 2048 keys
// when the TLS issuer is ECDSA. A test that copies an RSA issuer into a
// directory and then creates more must mind that a rotated key may equal
// it.
var keyPool struct {
	sync.Mutex
	keys map[KeyType][]crypto.Signer
	next map[KeyType]int
}

var poolSize = map[KeyType]int{KeyRSA2048: 8, KeyRSA3072: 4}

func pooledKey(kt KeyType, r io.Reader) (crypto.Signer, error) {
	if kt == KeyP256 || kt == KeyP384 {
		return freshKey(kt, r)
	}
	keyPool.Lock()
	if n := poolSize[kt]; n > 0 && len(keyPool.keys[kt]) == n {
		i := keyPool.next[kt]
		keyPool.next[kt] = (i + 1) % n
		keyPool.Unlock()
		return keyPool.keys[kt][i], nil
	}
	keyPool.Unlock()
	// Not added to the pool: a rotated key must never equal one handed out.
	return freshKey(kt, r)
}

func fillKeyPool() {
	for i := range poolSize[KeyRSA2048] {
		for _, kt := range []KeyType{KeyRSA3072, KeyRSA2048} {
			if i >= poolSize[kt] {
				continue
			}
			k, err := freshKey(kt, rand.Reader)
			if err != nil {
				continue
			}
			keyPool.Lock()
			if keyPool.keys == nil {
				keyPool.keys, keyPool.next = map[KeyType][]crypto.Signer{}, map[KeyType]int{}
			}
			keyPool.keys[kt] = append(keyPool.keys[kt], k)
			keyPool.Unlock()
		}
	}
}

func testRSA2048(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	rsa2048Once.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		rsa2048Key = k
	})
	return rsa2048Key
}

func testRSA1024(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	rsa1024Once.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 1024)
		if err != nil {
			panic(err)
		}
		rsa1024Key = k
	})
	return rsa1024Key
}

func ecKey(t testing.TB, c elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// rsaHierarchy is the default hierarchy (P-384 root, RSA-2048 issuer),
// shared because it costs two RSA key generations.
func rsaHierarchy(t testing.TB) *Hierarchy {
	t.Helper()
	rsaHierOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ca-rsa-")
		if err != nil {
			rsaHierErr = err
			return
		}
		tempDirs = append(tempDirs, dir)
		rsaHier, rsaHierErr = Open(Config{Dir: filepath.Join(dir, "ca"), BaseURL: "http://127.0.0.1:8080"})
	})
	if rsaHierErr != nil {
		t.Fatal(rsaHierErr)
	}
	return rsaHier
}

// sharedHierarchy returns one hierarchy per key-type pair for the whole
// test binary; tests that change an issuer use ecHierarchy instead.
func sharedHierarchy(t testing.TB, root, issuer KeyType) *Hierarchy {
	t.Helper()
	sharedMu.Lock()
	defer sharedMu.Unlock()
	key := string(root) + "/" + string(issuer)
	if h, ok := shared[key]; ok {
		return h
	}
	dir, err := os.MkdirTemp("", "ca-shared-")
	if err != nil {
		t.Fatal(err)
	}
	tempDirs = append(tempDirs, dir)
	h, err := Open(Config{
		Dir: filepath.Join(dir, "ca"), BaseURL: "http://ca.example.test/",
		RootKeyType: root, IssuerKeyType: issuer,
	})
	if err != nil {
		t.Fatal(err)
	}
	if shared == nil {
		shared = map[string]*Hierarchy{}
	}
	shared[key] = h
	return h
}

var (
	sharedMu sync.Mutex
	shared   map[string]*Hierarchy
)

func ecHierarchy(t testing.TB, root, issuer KeyType) *Hierarchy {
	t.Helper()
	h, err := Open(Config{
		Dir: filepath.Join(t.TempDir(), "ca"), BaseURL: "http://ca.example.test/",
		RootKeyType: root, IssuerKeyType: issuer,
	})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func readManifest(t *testing.T, dir string) manifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, manifestName))
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func writeKey(t *testing.T, path string, k crypto.Signer) {
	t.Helper()
	b, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: b}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestOpenCreatesAndReloads(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ca")
	cfg := Config{Dir: dir, BaseURL: "http://127.0.0.1:8080", RootKeyType: KeyP384, IssuerKeyType: KeyP256}
	h1, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("dir mode: %v %v", fi.Mode(), err)
	}
	m := readManifest(t, dir)
	if m.Version != 2 || len(m.Issuers) != 6 || len(m.Previous) != 0 {
		t.Fatalf("manifest: %+v", m)
	}
	wantPurposes := []Purpose{PurposeTLS, PurposeCodeSigning, PurposeSMIME, PurposeX9, PurposeX9, PurposePrivateTLS}
	for i, f := range m.Issuers {
		if f.Purpose != wantPurposes[i] {
			t.Errorf("manifest issuer %d purpose %q, want %q", i, f.Purpose, wantPurposes[i])
		}
	}
	for _, f := range []string{m.Root.Key, m.Issuers[0].Key} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", f, fi.Mode().Perm())
		}
	}
	for _, f := range []string{m.Root.Cert, m.Issuers[0].Cert} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil || !bytes.HasPrefix(b, []byte("-----BEGIN CERTIFICATE-----\n")) {
			t.Errorf("%s: not a PEM certificate (%v)", f, err)
		}
	}

	iss := h1.DefaultIssuer()
	if iss.Name != "certorder TLS Issuing CA 1" || h1.Root().Subject.CommonName != "certorder Root CA" {
		t.Errorf("names: %q %q", iss.Name, h1.Root().Subject.CommonName)
	}
	if len(iss.ID) != 16 || strings.ToUpper(iss.ID) != iss.ID {
		t.Errorf("issuer id %q", iss.ID)
	}
	if got, ok := h1.Issuer(strings.ToLower(iss.ID)); !ok || got != iss {
		t.Error("Issuer(id) lookup failed")
	}
	if _, ok := h1.Issuer("0000000000000000"); ok {
		t.Error("Issuer found a bogus id")
	}
	if ch := h1.Chain(iss); len(ch) != 2 || ch[0] != iss.Cert || ch[1] != h1.Root() {
		t.Error("Chain is not [intermediate, root]")
	}

	h2, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(h2.Root().Raw, h1.Root().Raw) || !bytes.Equal(h2.DefaultIssuer().Cert.Raw, iss.Cert.Raw) || h2.DefaultIssuer().ID != iss.ID {
		t.Fatal("second Open did not load the same hierarchy")
	}

	// A missing certificate is damage, not a reason to start over.
	certPath := filepath.Join(dir, m.Issuers[0].Cert)
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(certPath)
	if _, err := Open(cfg); err == nil {
		t.Fatal("Open accepted a hierarchy with a missing certificate")
	}
	if m2 := readManifest(t, dir); m2.Root != m.Root || m2.Issuers[0] != m.Issuers[0] {
		t.Fatal("Open replaced a damaged hierarchy")
	}
	if err := os.WriteFile(certPath, certPEM, 0o644); err != nil {
		t.Fatal(err)
	}

	// A key that does not match its certificate must stop Open.
	writeKey(t, filepath.Join(dir, m.Issuers[0].Key), ecKey(t, elliptic.P256()))
	if _, err := Open(cfg); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("Open with swapped key: %v", err)
	}
}

func TestOpenIgnoresInterruptedCreation(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ca")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	// Debris of a crash before the manifest: must not be taken for a hierarchy.
	writeKey(t, filepath.Join(dir, "root-0011223344556677.key"), ecKey(t, elliptic.P256()))
	if _, err := Open(Config{Dir: dir, BaseURL: "https://ca.example.test"}); err == nil {
		t.Fatal("Open accepted an https BaseURL")
	}
	h, err := Open(Config{Dir: dir, BaseURL: "http://ca.example.test", RootKeyType: KeyP256, IssuerKeyType: KeyP256})
	if err != nil {
		t.Fatal(err)
	}
	if h.Root() == nil || len(h.Issuers()) != 6 {
		t.Fatal("no hierarchy created")
	}
	// A corrupt manifest is an error, never a reason to make a new CA.
	if err := os.WriteFile(filepath.Join(dir, manifestName), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(Config{Dir: dir, BaseURL: "http://ca.example.test"}); err == nil {
		t.Fatal("Open accepted a corrupt manifest")
	}
}

func TestOpenConcurrentCreation(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ca")
	cfg := Config{Dir: dir, BaseURL: "http://ca.example.test", RootKeyType: KeyP256, IssuerKeyType: KeyP256}
	var wg sync.WaitGroup
	hs := make([]*Hierarchy, 4)
	errs := make([]error, len(hs))
	for i := range hs {
		wg.Go(func() { hs[i], errs[i] = Open(cfg) })
	}
	wg.Wait()
	for i := range hs {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if !hs[i].Root().Equal(hs[0].Root()) || hs[i].DefaultIssuer().ID != hs[0].DefaultIssuer().ID {
			t.Fatal("racing Opens ended with different hierarchies")
		}
	}
	// The losers removed their files: one manifest, seven pairs.
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 15 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("files left: %v", names)
	}
}

func TestCACertificates(t *testing.T) {
	hs := map[string]*Hierarchy{
		"p384-rsa2048": rsaHierarchy(t),
		"p256-p384":    sharedHierarchy(t, KeyP256, KeyP384),
	}
	for name, h := range hs {
		t.Run(name, func(t *testing.T) {
			root, inter := h.Root(), h.DefaultIssuer().Cert
			for _, c := range []*x509.Certificate{root, inter} {
				errs, warns, err := LintCertificate(c.Raw)
				if err != nil || len(errs) > 0 {
					t.Errorf("%s: lint errors %v %v", c.Subject.CommonName, errs, err)
				}
				for _, w := range warns {
					t.Logf("%s: warning %s", c.Subject.CommonName, w)
				}
			}
			if !root.IsCA || root.MaxPathLen != -1 || root.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign {
				t.Errorf("root constraints: ca=%v pathlen=%d ku=%v", root.IsCA, root.MaxPathLen, root.KeyUsage)
			}
			if len(root.SubjectKeyId) != 20 {
				t.Errorf("root SKI %x", root.SubjectKeyId)
			}
			if got := root.NotAfter.Sub(root.NotBefore); got < 20*365*24*time.Hour {
				t.Errorf("root validity %s", got)
			}
			if !inter.IsCA || inter.MaxPathLen != 0 || !inter.MaxPathLenZero {
				t.Errorf("intermediate pathlen %d", inter.MaxPathLen)
			}
			if inter.KeyUsage != x509.KeyUsageDigitalSignature|x509.KeyUsageCertSign|x509.KeyUsageCRLSign {
				t.Errorf("intermediate ku %v", inter.KeyUsage)
			}
			if len(inter.ExtKeyUsage) != 2 || inter.ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth || inter.ExtKeyUsage[1] != x509.ExtKeyUsageClientAuth {
				t.Errorf("intermediate eku %v", inter.ExtKeyUsage)
			}
			if len(inter.Policies) != 1 || !inter.Policies[0].Equal(oidAnyPolicy) {
				t.Errorf("intermediate policies %v", inter.Policies)
			}
			if !bytes.Equal(inter.AuthorityKeyId, root.SubjectKeyId) {
				t.Error("intermediate AKI != root SKI")
			}
			if len(inter.IssuingCertificateURL) != 1 || inter.IssuingCertificateURL[0] != h.RootCertURL() ||
				len(inter.CRLDistributionPoints) != 1 || inter.CRLDistributionPoints[0] != h.RootCRLURL() {
				t.Errorf("intermediate URLs %v %v", inter.IssuingCertificateURL, inter.CRLDistributionPoints)
			}
			if inter.NotAfter.After(root.NotAfter) {
				t.Error("intermediate outlives the root")
			}
			if err := inter.CheckSignatureFrom(root); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestURLs(t *testing.T) {
	h := sharedHierarchy(t, KeyP256, KeyP256)
	iss := h.DefaultIssuer()
	base := "http://ca.example.test" // trailing slash of the config dropped
	want := map[string]string{
		h.IssuerCertURL(iss): base + "/ca/" + iss.ID + ".crt",
		h.RootCertURL():      base + "/ca/root.crt",
		h.CRLURL(iss):        base + "/crl/" + iss.ID + ".crl",
		h.RootCRLURL():       base + "/crl/root.crl",
		h.OCSPURL():          base + "/ocsp",
	}
	for got, w := range want {
		if got != w {
			t.Errorf("got %q want %q", got, w)
		}
	}
}

// countingSigner records whether the real issuer key was used.
type countingSigner struct {
	crypto.Signer
	n int
}

func (c *countingSigner) Sign(r io.Reader, d []byte, o crypto.SignerOpts) ([]byte, error) {
	c.n++
	return c.Signer.Sign(r, d, o)
}

func errIs(err, target error) bool { return errors.Is(err, target) }

// lintCA runs the signing-key lints (signerKeyLints) on the first CA
// certificate a key signs and only the rest on later ones; a certificate
// with lint errors does not mark its key as checked.
func TestLintCASkipsKnownSigningKey(t *testing.T) {
	regs, err := lintRegistries()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range signerKeyLints {
		if !slices.Contains(regs.certs.Names(), n) || slices.Contains(regs.caKnownKey.Names(), n) {
			t.Fatalf("%s: want it in the full registry and not in caKnownKey", n)
		}
	}
	if got, want := len(regs.caKnownKey.Names()), len(regs.certs.Names())-len(signerKeyLints); got != want {
		t.Fatalf("caKnownKey has %d lints, want %d (only signerKeyLints left out)", got, want)
	}

	key := ecKey(t, elliptic.P384())
	spki, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	known := func() bool { _, ok := keysPastLeafExclusions.Load(string(spki)); return ok }
	sign := func(tmpl *x509.Certificate) []byte {
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	base := func() *x509.Certificate {
		return &x509.Certificate{SerialNumber: big.NewInt(4242), Subject: pkix.Name{CommonName: "lintCA test root", Organization: []string{"certorder"}, Country: []string{"US"}},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(10, 0, 0), IsCA: true, BasicConstraintsValid: true,
			KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	}
	bad := base()
	bad.KeyUsage = x509.KeyUsageDigitalSignature // a CA without keyCertSign: lint errors
	if errs, _, err := lintCA(sign(bad), key.Public()); err != nil || len(errs) == 0 {
		t.Fatalf("lintCA on a CA without keyCertSign: %v, %v; want lint errors", errs, err)
	}
	if known() {
		t.Fatal("a certificate with lint errors marked its signing key as checked")
	}
	if errs, _, err := lintCA(sign(base()), key.Public()); err != nil || len(errs) > 0 {
		t.Fatalf("lintCA on a good root: %v, %v", errs, err)
	}
	if !known() {
		t.Fatal("a clean certificate did not mark its signing key as checked")
	}
	// Later certificates still get every other lint.
	if errs, _, err := lintCA(sign(bad), key.Public()); err != nil || len(errs) == 0 {
		t.Fatalf("lintCA with a known key on a CA without keyCertSign: %v, %v; want lint errors", errs, err)
	}
}
