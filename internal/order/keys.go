package order

import (
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/certorder/certorder/internal/ca"
)

// keySource is what certificate.csr carried: a CSR, or (X9, seed 004) a
// bare public key in PEM.
type keySource struct {
	pub       crypto.PublicKey
	canonical string // PEM with line breaks, as stored on the order
}

var errNotPublicKey = errors.New("not a PEM public key")

// parseKeySource parses a CSR, or a PUBLIC KEY block when allowed.
func parseKeySource(raw string, allowPublicKey bool) (keySource, error) {
	if len(raw) > ca.MaxCSRText {
		return keySource{}, fmt.Errorf("%w: %d bytes of text, at most %d accepted", ca.ErrCSRTooLarge, len(raw), ca.MaxCSRText)
	}
	if allowPublicKey && strings.Contains(raw, "BEGIN PUBLIC KEY") {
		pub, err := parsePublicKeyPEM(raw)
		if err != nil {
			return keySource{}, err
		}
		der, _ := x509.MarshalPKIXPublicKey(pub)
		return keySource{pub: pub, canonical: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))}, nil
	}
	csr, err := ca.ParseCSR(raw)
	if err != nil {
		return keySource{}, err
	}
	return keySource{pub: csr.PublicKey, canonical: canonicalCSR(csr)}, nil
}

// parsePublicKeyPEM accepts the PEM with or without line breaks, as seed
// 004 asks clients to send it on one line.
func parsePublicKeyPEM(raw string) (crypto.PublicKey, error) {
	s := strings.TrimSpace(raw)
	const head, foot = "-----BEGIN PUBLIC KEY-----", "-----END PUBLIC KEY-----"
	i, j := strings.Index(s, head), strings.Index(s, foot)
	if i < 0 || j < i {
		return nil, errNotPublicKey
	}
	body := strings.NewReplacer(`\r`, "", `\n`, "", "\r", "", "\n", "", " ", "", "\t", "").Replace(s[i+len(head) : j])
	der, err := base64.StdEncoding.DecodeString(body)
	if err != nil {
		return nil, errNotPublicKey
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, errNotPublicKey
	}
	return pub, nil
}

// storedKey is the public key of an order's stored CSR or public key.
func storedKey(stored string) (crypto.PublicKey, error) {
	ks, err := parseKeySource(stored, true)
	if err != nil {
		return nil, err
	}
	return ks.pub, nil
}
