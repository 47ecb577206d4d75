package ca

import (
	"crypto"
	"crypto/dsa" //nolint:staticcheck // only to name DSA keys when refusing them
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Sentinel errors; the returned errors wrap them with detail.
var (
	ErrCSRUnparsable    = errors.New("CSR cannot be parsed")
	ErrCSRTooLarge      = errors.New("CSR is too large")
	ErrCSRSignature     = errors.New("CSR signature is invalid")
	ErrWeakKey          = errors.New("key is weak or not allowed")
	ErrHashNotSupported = errors.New("signature hash not supported by the issuer")
	// ErrSubjectIsIssuer: a leaf whose subject would be its issuer's own
	// name reads as self-issued (RFC 5280 6.1) and as the issuing CA.
	ErrSubjectIsIssuer = errors.New("the subject is the issuing CA's name")
)

// Size limits of a CSR. A CSR with the largest key CheckKey allows (RSA
// of 8192 bits) and a subject of every attribute a client might add is
// under 4 KiB of DER; a CSR many times that size is not one certorder
// could accept, and its bytes would only cost time further on.
const (
	// MaxCSRDER bounds the decoded CSR.
	MaxCSRDER = 64 << 10
	// MaxCSRText bounds the text as received (PEM, base64 or DER), before
	// it is decoded: room for MaxCSRDER in base64 with line breaks,
	// stray spaces and double-escaped newlines.
	MaxCSRText = 2 * MaxCSRDER
	// maxSPKIDER bounds the SubjectPublicKeyInfo: that of an RSA-8192 key
	// with the largest exponent crypto/x509 reads is under 1,100 bytes.
	// Larger is a key CheckKey would refuse, whatever it holds.
	maxSPKIDER = 2048
)

// ParseCSR accepts PEM (with or without line breaks, CRLF or stray spaces,
// "CERTIFICATE REQUEST" or "NEW CERTIFICATE REQUEST"), bare base64 DER or
// binary DER, and checks the self-signature.
//
// Cheap checks come first: a signature check costs time that grows with
// the square of the modulus and more (a 524,288-bit RSA modulus takes
// seconds), so the CSR's size, then the size of its public key, then
// CheckKey's rules are applied before the signature is verified. A
// refused key wraps ErrWeakKey, a CSR over the size limits
// ErrCSRTooLarge.
func ParseCSR(s string) (*x509.CertificateRequest, error) {
	if len(s) > MaxCSRText {
		return nil, fmt.Errorf("%w: %d bytes of text, at most %d accepted", ErrCSRTooLarge, len(s), MaxCSRText)
	}
	der, err := csrDER(s)
	if err != nil {
		return nil, err
	}
	// The key's size is read from the DER's length headers before
	// anything is parsed, so that a key too large to allow is named as
	// such even when it also makes the CSR too large.
	if n, ok := csrSPKISize(der); ok && n > maxSPKIDER {
		return nil, fmt.Errorf("%w: public key of %d bytes, larger than any allowed key (RSA of at most 8192 bits, ECDSA P-256 or P-384)", ErrWeakKey, n)
	}
	if len(der) > MaxCSRDER {
		return nil, fmt.Errorf("%w: %d bytes of DER, at most %d accepted", ErrCSRTooLarge, len(der), MaxCSRDER)
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCSRUnparsable, err)
	}
	if err := CheckKey(csr.PublicKey); err != nil {
		return nil, err
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCSRSignature, err)
	}
	return csr, nil
}

// csrSPKISize is the encoded length of the CSR's SubjectPublicKeyInfo,
// read from the length headers alone (RFC 2986: CertificationRequest ::=
// SEQUENCE { CertificationRequestInfo ::= SEQUENCE { version INTEGER,
// subject Name, subjectPKInfo SEQUENCE, ... }, ... }). ok is false when
// the DER does not have that shape; the full parse then says why.
func csrSPKISize(der []byte) (int, bool) {
	in := cryptobyte.String(der)
	var req, info, spki cryptobyte.String
	if !in.ReadASN1(&req, cbasn1.SEQUENCE) || !req.ReadASN1(&info, cbasn1.SEQUENCE) ||
		!info.SkipASN1(cbasn1.INTEGER) || !info.SkipASN1(cbasn1.SEQUENCE) ||
		!info.ReadASN1Element(&spki, cbasn1.SEQUENCE) {
		return 0, false
	}
	return len(spki), true
}

func csrDER(s string) ([]byte, error) {
	// Binary DER: a SEQUENCE with a long-form length, never text. Checked
	// before trimming, as DER may end in bytes that look like whitespace.
	if len(s) > 2 && s[0] == 0x30 && s[1] >= 0x81 && s[1] <= 0x84 {
		return []byte(s), nil
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fmt.Errorf("%w: empty", ErrCSRUnparsable)
	}
	if i := strings.Index(s, "-----BEGIN "); i >= 0 {
		rest := s[i+len("-----BEGIN "):]
		j := strings.Index(rest, "-----")
		if j < 0 {
			return nil, fmt.Errorf("%w: malformed PEM header", ErrCSRUnparsable)
		}
		label := strings.TrimSpace(rest[:j])
		if label != "CERTIFICATE REQUEST" && label != "NEW CERTIFICATE REQUEST" {
			return nil, fmt.Errorf("%w: unexpected PEM label %q", ErrCSRUnparsable, label)
		}
		body := rest[j+len("-----"):]
		k := strings.Index(body, "-----END ")
		if k < 0 {
			return nil, fmt.Errorf("%w: missing PEM footer", ErrCSRUnparsable)
		}
		s = body[:k]
	}
	b64 := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n', '\v', '\f':
			return -1
		}
		return r
	}, s)
	// Some clients double-escape line breaks; backslashes are never base64.
	b64 = strings.NewReplacer(`\r`, "", `\n`, "").Replace(b64)
	der, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		der, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(b64, "="))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: bad base64: %v", ErrCSRUnparsable, err)
	}
	return der, nil
}

// smallPrimes are the primes below 1000, for the cheap RSA modulus check.
var smallPrimes = func() []int64 {
	var ps []int64
	for n := int64(2); n < 1000; n++ {
		prime := true
		for _, p := range ps {
			if n%p == 0 {
				prime = false
				break
			}
		}
		if prime {
			ps = append(ps, n)
		}
	}
	return ps
}()

// CheckKey accepts RSA 2048..8192 bits and ECDSA P-256/P-384.
func CheckKey(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N == nil || k.N.Sign() <= 0 {
			return fmt.Errorf("%w: RSA key without modulus", ErrWeakKey)
		}
		bits := k.N.BitLen()
		switch {
		case bits < 2048:
			return fmt.Errorf("%w: RSA modulus of %d bits, at least 2048 required", ErrWeakKey, bits)
		case bits > 8192:
			return fmt.Errorf("%w: RSA modulus of %d bits, at most 8192 allowed", ErrWeakKey, bits)
		case bits%8 != 0:
			// Mozilla policy, and zlint would refuse it anyway.
			return fmt.Errorf("%w: RSA modulus of %d bits is not a multiple of 8", ErrWeakKey, bits)
		}
		if k.E < 3 || k.E%2 == 0 {
			return fmt.Errorf("%w: RSA public exponent %d must be odd and at least 3", ErrWeakKey, k.E)
		}
		m := new(big.Int)
		for _, p := range smallPrimes {
			if m.Mod(k.N, big.NewInt(p)).Sign() == 0 {
				return fmt.Errorf("%w: RSA modulus is divisible by %d", ErrWeakKey, p)
			}
		}
		return nil
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384():
			return nil
		}
		name := "unknown curve"
		if k.Curve != nil {
			name = k.Curve.Params().Name
		}
		return fmt.Errorf("%w: ECDSA %s, only P-256 and P-384 allowed", ErrWeakKey, name)
	case ed25519.PublicKey:
		return fmt.Errorf("%w: Ed25519 keys are not allowed", ErrWeakKey)
	case *dsa.PublicKey:
		return fmt.Errorf("%w: DSA keys are not allowed", ErrWeakKey)
	case nil:
		return fmt.Errorf("%w: no public key", ErrWeakKey)
	}
	return fmt.Errorf("%w: unsupported key type %T", ErrWeakKey, pub)
}

// KeyFingerprint is the SHA-256 of the DER SubjectPublicKeyInfo of pub,
// re-encoded by crypto/x509 so that one key has one fingerprint whatever
// encoding a CSR or certificate carried it in: what a blocked key (a key
// revoked for keyCompromise) is recorded and looked up by.
func KeyFingerprint(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("ca: key fingerprint: %w", err)
	}
	sum := sha256.Sum256(der)
	return sum[:], nil
}

// KeySize is what order info shows as key_size: RSA modulus bits, ECDSA
// curve bits; 0 when unknown.
func KeySize(pub crypto.PublicKey) int {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N != nil {
			return k.N.BitLen()
		}
	case *ecdsa.PublicKey:
		if k.Curve != nil {
			return k.Curve.Params().BitSize
		}
	case ed25519.PublicKey:
		return 256
	}
	return 0
}
