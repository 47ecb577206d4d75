package ca

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func makeCSR(t *testing.T, k crypto.Signer) []byte {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject:  pkix.Name{CommonName: "www.example.com"},
		DNSNames: []string{"www.example.com"},
	}, k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestParseCSR(t *testing.T) {
	der := makeCSR(t, ecKey(t, elliptic.P256()))
	pemText := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
	b64 := base64.StdEncoding.EncodeToString(der)
	oneLine := "-----BEGIN CERTIFICATE REQUEST-----" + b64 + "-----END CERTIFICATE REQUEST-----"

	// Flip a bit in the signature: the last byte of the DER belongs to it.
	badSig := append([]byte(nil), der...)
	badSig[len(badSig)-1] ^= 0x01

	for _, tc := range []struct {
		name string
		in   string
		want error
	}{
		{"pem", pemText, nil},
		{"pem one line", oneLine, nil},
		{"pem crlf", strings.ReplaceAll(pemText, "\n", "\r\n"), nil},
		{"pem escaped newlines", strings.ReplaceAll(pemText, "\n", `\n`), nil},
		{"pem spaces in base64", strings.Replace(oneLine, b64[:20], b64[:10]+" "+b64[10:20], 1), nil},
		{"new certificate request", strings.ReplaceAll(oneLine, "CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"), nil},
		{"bare base64", b64, nil},
		{"bare base64 wrapped", b64[:64] + "\n" + b64[64:] + "\n", nil},
		{"binary der", string(der), nil},
		{"garbage", "hello world", ErrCSRUnparsable},
		{"empty", "  ", ErrCSRUnparsable},
		{"wrong label", strings.ReplaceAll(oneLine, "CERTIFICATE REQUEST", "CERTIFICATE"), ErrCSRUnparsable},
		{"truncated", b64[:len(b64)/2], ErrCSRUnparsable},
		{"no footer", "-----BEGIN CERTIFICATE REQUEST-----" + b64, ErrCSRUnparsable},
		{"bad signature", base64.StdEncoding.EncodeToString(badSig), ErrCSRSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			csr, err := ParseCSR(tc.in)
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				if csr.Subject.CommonName != "www.example.com" {
					t.Errorf("CN %q", csr.Subject.CommonName)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestCheckKey(t *testing.T) {
	edKey, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	even := new(big.Int).Set(testRSA2048(t).N)
	even.SetBit(even, 0, 0)
	// 3 * (2^2046 + 1): odd, 2048 bits, divisible by 3.
	three := new(big.Int).Lsh(big.NewInt(1), 2046)
	three.Add(three, big.NewInt(1)).Mul(three, big.NewInt(3))
	for _, tc := range []struct {
		name string
		pub  crypto.PublicKey
		ok   bool
		size int
	}{
		{"rsa1024", testRSA1024(t).Public(), false, 1024},
		{"rsa 2047 bits", &rsa.PublicKey{N: new(big.Int).Rsh(testRSA2048(t).N, 1), E: 65537}, false, 2047},
		{"rsa2048", testRSA2048(t).Public(), true, 2048},
		{"rsa2048 e=3", &rsa.PublicKey{N: testRSA2048(t).N, E: 3}, true, 2048},
		{"rsa2048 e=1", &rsa.PublicKey{N: testRSA2048(t).N, E: 1}, false, 2048},
		{"rsa2048 e even", &rsa.PublicKey{N: testRSA2048(t).N, E: 65536}, false, 2048},
		{"rsa even modulus", &rsa.PublicKey{N: even, E: 65537}, false, 2048},
		{"rsa modulus divisible by 3", &rsa.PublicKey{N: three, E: 65537}, false, 2048},
		{"p256", ecKey(t, elliptic.P256()).Public(), true, 256},
		{"p384", ecKey(t, elliptic.P384()).Public(), true, 384},
		{"p224", ecKey(t, elliptic.P224()).Public(), false, 224},
		{"p521", ecKey(t, elliptic.P521()).Public(), false, 521},
		{"ed25519", edKey, false, 256},
		{"nil", nil, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckKey(tc.pub)
			if tc.ok != (err == nil) {
				t.Fatalf("CheckKey: %v", err)
			}
			if err != nil {
				t.Log(err)
			}
			if err != nil && !errors.Is(err, ErrWeakKey) {
				t.Fatalf("error %v does not wrap ErrWeakKey", err)
			}
			if got := KeySize(tc.pub); got != tc.size {
				t.Errorf("KeySize %d want %d", got, tc.size)
			}
		})
	}
}

func TestNewSerial(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		s, err := NewSerial(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		der, err := asn1.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		// INTEGER tag, length 16, 16 content bytes.
		if s.Sign() <= 0 || len(der) != 18 || der[1] != 16 {
			t.Fatalf("serial %x encodes as %x", s, der)
		}
		h := SerialHex(s)
		if len(h) != 32 || seen[h] {
			t.Fatalf("serial %s: bad length or repeated", h)
		}
		seen[h] = true
	}
	if _, err := NewSerial(bytes.NewReader(nil)); err == nil {
		t.Error("NewSerial with an empty reader succeeded")
	}
}

func TestFormatting(t *testing.T) {
	if got := SerialHex(big.NewInt(0xabc)); got != "0ABC" {
		t.Errorf("SerialHex = %q", got)
	}
	if got := SerialHex(big.NewInt(0x1f)); got != "1F" {
		t.Errorf("SerialHex = %q", got)
	}
	if got := Thumbprint([]byte("abc")); got != "A9993E364706816ABA3E25717850C26C9CD0D89D" {
		t.Errorf("Thumbprint = %q", got)
	}
	h := sharedHierarchy(t, KeyP256, KeyP256)
	chain := h.Chain(h.DefaultIssuer())
	out := EncodePEM(chain...)
	if !bytes.HasSuffix(out, []byte("-----END CERTIFICATE-----\n")) || bytes.HasSuffix(out, []byte("\n\n")) || bytes.Contains(out, []byte("\r")) {
		t.Errorf("EncodePEM ending: %q", out[len(out)-40:])
	}
	var got []*x509.Certificate
	for rest := out; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, c)
	}
	if len(got) != 2 || !got[0].Equal(chain[0]) || !got[1].Equal(chain[1]) {
		t.Error("EncodePEM did not round-trip the chain in order")
	}
}

// pkcs7Certs decodes a certs-only SignedData by hand.
func pkcs7Certs(t *testing.T, der []byte) []*x509.Certificate {
	t.Helper()
	var ci struct {
		ContentType asn1.ObjectIdentifier
		Content     asn1.RawValue `asn1:"explicit,tag:0"`
	}
	if rest, err := asn1.Unmarshal(der, &ci); err != nil || len(rest) > 0 {
		t.Fatalf("ContentInfo: %v", err)
	}
	if !ci.ContentType.Equal(oidPKCS7SignedData) {
		t.Fatalf("content type %v", ci.ContentType)
	}
	var sd struct {
		Version          int
		DigestAlgorithms asn1.RawValue
		ContentInfo      struct {
			ContentType asn1.ObjectIdentifier
			Content     asn1.RawValue `asn1:"optional,explicit,tag:0"`
		}
		Certificates asn1.RawValue `asn1:"optional,tag:0"`
		CRLs         asn1.RawValue `asn1:"optional,tag:1"`
		SignerInfos  asn1.RawValue
	}
	if rest, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil || len(rest) > 0 {
		t.Fatalf("SignedData: %v", err)
	}
	if sd.Version != 1 || len(sd.DigestAlgorithms.Bytes) != 0 || len(sd.SignerInfos.Bytes) != 0 ||
		sd.SignerInfos.Tag != asn1.TagSet || !sd.ContentInfo.ContentType.Equal(oidPKCS7Data) ||
		len(sd.ContentInfo.Content.FullBytes) != 0 || len(sd.CRLs.FullBytes) != 0 {
		t.Fatalf("unexpected SignedData fields: %+v", sd)
	}
	certs, err := x509.ParseCertificates(sd.Certificates.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return certs
}

func TestPKCS7(t *testing.T) {
	h := sharedHierarchy(t, KeyP256, KeyP256)
	leafReq := leafRequest(t, h, ProfileDVTLS, ecKey(t, elliptic.P256()).Public(), "sha256")
	leafDER, _, err := h.Issue(leafReq)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(leafDER)
	chain := append([]*x509.Certificate{leaf}, h.Chain(h.DefaultIssuer())...)

	der, err := PKCS7(chain...)
	if err != nil {
		t.Fatal(err)
	}
	got := pkcs7Certs(t, der)
	if len(got) != 3 {
		t.Fatalf("%d certificates", len(got))
	}
	for i := range chain {
		if !got[i].Equal(chain[i]) {
			t.Errorf("certificate %d out of order", i)
		}
	}
	p, err := PKCS7PEM(chain...)
	if err != nil {
		t.Fatal(err)
	}
	blk, rest := pem.Decode(p)
	if blk == nil || blk.Type != "PKCS7" || !bytes.Equal(blk.Bytes, der) || len(rest) != 0 || bytes.HasSuffix(p, []byte("\n\n")) {
		t.Fatal("PKCS7PEM is not the armoured PKCS7")
	}
	if _, err := PKCS7(); err == nil {
		t.Error("PKCS7 of nothing succeeded")
	}

	if _, err := os.Stat("/usr/bin/openssl"); err != nil {
		t.Log("openssl not found; skipping the openssl cross-check")
		return
	}
	f := filepath.Join(t.TempDir(), "b.p7b")
	if err := os.WriteFile(f, der, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("/usr/bin/openssl", "pkcs7", "-inform", "DER", "-in", f, "-print_certs").CombinedOutput()
	if err != nil {
		t.Fatalf("openssl: %v\n%s", err, out)
	}
	var subjects []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "subject=") {
			subjects = append(subjects, l)
		}
	}
	if len(subjects) != 3 || !strings.Contains(subjects[0], "www.example.com") ||
		!strings.Contains(subjects[1], "TLS Issuing CA 1") || !strings.Contains(subjects[2], "Root CA") {
		t.Errorf("openssl subjects: %v", subjects)
	}
}

func TestCRL(t *testing.T) {
	for name, h := range map[string]*Hierarchy{
		"rsa issuer":  rsaHierarchy(t),
		"p256 issuer": sharedHierarchy(t, KeyP256, KeyP256),
	} {
		t.Run(name, func(t *testing.T) {
			iss := h.DefaultIssuer()
			at := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
			revoked := []Revoked{
				{Serial: big.NewInt(0x1234), RevokedAt: at, Reason: 1},
				{Serial: big.NewInt(0x5678), RevokedAt: at, Reason: 0},
				{Serial: big.NewInt(0x9abc), RevokedAt: at, Reason: 4},
			}
			der, err := h.CRL(iss, revoked, big.NewInt(42), 0)
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
			if crl.Number.Int64() != 42 || crl.NextUpdate.Sub(crl.ThisUpdate) != 7*24*time.Hour ||
				!bytes.Equal(crl.AuthorityKeyId, iss.Cert.SubjectKeyId) {
				t.Errorf("number %v, window %s", crl.Number, crl.NextUpdate.Sub(crl.ThisUpdate))
			}
			if len(crl.RevokedCertificateEntries) != 3 {
				t.Fatalf("%d entries", len(crl.RevokedCertificateEntries))
			}
			for i, e := range crl.RevokedCertificateEntries {
				if e.SerialNumber.Cmp(revoked[i].Serial) != 0 || !e.RevocationTime.Equal(at) || e.ReasonCode != revoked[i].Reason {
					t.Errorf("entry %d: %x %s %d", i, e.SerialNumber, e.RevocationTime, e.ReasonCode)
				}
			}

			// Empty CRL: the revokedCertificates field must be absent (zlint checks).
			if _, err := h.CRL(iss, nil, big.NewInt(43), 24*time.Hour); err != nil {
				t.Fatal(err)
			}
			// Reason 6 (certificateHold) is forbidden by the BRs.
			var le *LintError
			if _, err := h.CRL(iss, []Revoked{{Serial: big.NewInt(1), RevokedAt: at, Reason: 6}}, big.NewInt(44), 0); !errors.As(err, &le) {
				t.Errorf("certificateHold: got %v, want *LintError", err)
			}
			// Subscriber CRLs may not run past 10 days.
			if _, err := h.CRL(iss, nil, big.NewInt(45), 11*24*time.Hour); !errors.As(err, &le) {
				t.Errorf("11-day CRL: got %v, want *LintError", err)
			}

			rootDER, err := h.RootCRL(big.NewInt(1), 90*24*time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			// The root's CRL covers CAs: up to 12 months, not beyond.
			if _, err := h.RootCRL(big.NewInt(2), 400*24*time.Hour); !errors.As(err, &le) {
				t.Errorf("400-day root CRL: got %v, want *LintError", err)
			}
			rc, err := x509.ParseRevocationList(rootDER)
			if err != nil {
				t.Fatal(err)
			}
			if err := rc.CheckSignatureFrom(h.Root()); err != nil {
				t.Fatal(err)
			}
			if len(rc.RevokedCertificateEntries) != 0 || rc.Number.Int64() != 1 {
				t.Errorf("root CRL: %d entries, number %v", len(rc.RevokedCertificateEntries), rc.Number)
			}
		})
	}
}

// TestNewSerialFrom: with a prefix stream, the first 8 bytes repeat with
// the stream and the last 8 are the CSPRNG's, read whole (the Baseline
// Requirements' 64 bits); the encoding is NewSerial's.
func TestNewSerialFrom(t *testing.T) {
	prefix := func() io.Reader {
		return bytes.NewReader(bytes.Repeat([]byte{0x00, 0x80, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, 8))
	}
	tail := bytes.Repeat([]byte{0xA5}, 8)
	s, err := NewSerialFrom(prefix(), bytes.NewReader(tail))
	if err != nil {
		t.Fatal(err)
	}
	// A first byte of 0 would shorten the DER: the whole prefix is drawn
	// again, from the prefix stream only.
	if h := SerialHex(s); h != "0708090A0B0C0D0EA5A5A5A5A5A5A5A5" {
		t.Fatalf("serial %s: want the second 8 bytes of the prefix, then the CSPRNG's 8", h)
	}
	h := SerialHex(s)
	again, _ := NewSerialFrom(prefix(), rand.Reader)
	if SerialHex(again)[:16] != h[:16] {
		t.Errorf("same prefix stream, prefixes %s and %s", SerialHex(again)[:16], h[:16])
	}
	der, _ := asn1.Marshal(again)
	if again.Sign() <= 0 || len(der) != 18 {
		t.Errorf("serial %x encodes as %x", again, der)
	}
	if _, err := NewSerialFrom(prefix(), bytes.NewReader(tail[:7])); err == nil {
		t.Error("a CSPRNG giving fewer than 8 bytes made a serial")
	}
	if s, err := NewSerialFrom(nil, rand.Reader); err != nil || len(SerialHex(s)) != 32 {
		t.Errorf("no prefix: %v %v", s, err)
	}
}
