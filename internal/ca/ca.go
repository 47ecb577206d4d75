// Package ca holds certorder's certificate hierarchy (root -> issuing
// intermediates, one set per purpose -> leaf) and issues linted X.509
// certificates from it.
package ca

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"

	"time"
)

// KeyType names a key algorithm and size for the CA keys.
type KeyType string

// Supported CA key types.
const (
	KeyRSA2048 KeyType = "rsa2048"
	KeyRSA3072 KeyType = "rsa3072"
	KeyRSA4096 KeyType = "rsa4096"
	KeyP256    KeyType = "p256"
	KeyP384    KeyType = "p384"
)

// Purpose is what an issuing intermediate is for. Industry rules keep the
// families apart: a code-signing or S/MIME CA must not assert serverAuth,
// and the X9 PKI and Private SSL are private hierarchies beside the
// browser one.
type Purpose string

// Issuing purposes.
const (
	PurposeTLS         Purpose = "tls"          // public TLS: DV, OV, EV
	PurposeCodeSigning Purpose = "code_signing" // code signing and EV code signing
	PurposeSMIME       Purpose = "smime"        // S/MIME and client authentication certificates
	PurposeX9          Purpose = "x9"           // X9 PKI for TLS (private, non-browser)
	PurposePrivateTLS  Purpose = "private_tls"  // Private SSL (not publicly trusted TLS)
)

// purposes lists every purpose in the order a new hierarchy creates them.
var purposes = []Purpose{PurposeTLS, PurposeCodeSigning, PurposeSMIME, PurposeX9, PurposePrivateTLS}

func (p Purpose) valid() bool {
	for _, q := range purposes {
		if p == q {
			return true
		}
	}
	return false
}

// Config says where the hierarchy lives and how a new one is made.
type Config struct {
	Dir           string           // directory holding the hierarchy; created 0700 if missing
	BaseURL       string           // public base URL, no trailing slash; used for AIA and CRL URLs
	RootKeyType   KeyType          // default KeyP384
	IssuerKeyType KeyType          // TLS issuer of a new hierarchy, default KeyRSA2048; the other purposes have fixed key types (see issuerPlans)
	OrgName       string           // subject O of the CA certs, default "certorder"
	Country       string           // subject C of the CA certs, default "US"
	Now           func() time.Time // default time.Now
	Rand          io.Reader        // default crypto/rand.Reader
	// KeySource, when set, makes the CA keys of a new hierarchy instead of
	// fresh generation; slot names the key's place in it ("root",
	// "issuer-0", ...), distinct within one hierarchy. Test servers share
	// keys across their many hierarchies this way, since RSA generation
	// would otherwise be half of their run time.
	KeySource func(kt KeyType, slot string) (crypto.Signer, error)
}

// Hierarchy is a loaded root and its issuing intermediates.
type Hierarchy struct {
	cfg     Config
	root    *x509.Certificate
	rootKey crypto.Signer
	issuers []*Issuer
	// previous are the fingerprints before each upgrade (manifest).
	previous []string
}

// Issuer is one issuing intermediate with its signing key.
type Issuer struct {
	ID      string // upper-case hex of the first 8 bytes of the SubjectKeyId
	Name    string // subject common name
	Purpose Purpose
	Cert    *x509.Certificate

	signer crypto.Signer
}

// Open loads the hierarchy from cfg.Dir, or creates it on first use.
func Open(cfg Config) (*Hierarchy, error) {
	if cfg.Dir == "" {
		return nil, errors.New("ca: Config.Dir is empty")
	}
	if cfg.RootKeyType == "" {
		cfg.RootKeyType = KeyP384
	}
	if cfg.IssuerKeyType == "" {
		cfg.IssuerKeyType = KeyRSA2048
	}
	for _, kt := range []KeyType{cfg.RootKeyType, cfg.IssuerKeyType} {
		if !kt.valid() {
			return nil, fmt.Errorf("ca: unknown key type %q", kt)
		}
	}
	if cfg.OrgName == "" {
		cfg.OrgName = "certorder"
	}
	if cfg.Country == "" {
		cfg.Country = "US"
	}
	cfg.Country = strings.ToUpper(cfg.Country)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	// AIA and CRL URLs must be plain http (BR 7.1.2; zlint enforces it),
	// as relying parties fetch them without TLS to avoid loops.
	if u, err := url.Parse(cfg.BaseURL); err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("ca: Config.BaseURL %q must be an absolute http:// URL", cfg.BaseURL)
	}

	h := &Hierarchy{cfg: cfg}
	if err := h.loadOrCreate(); err != nil {
		return nil, err
	}
	return h, nil
}

// Root returns the root certificate.
func (h *Hierarchy) Root() *x509.Certificate { return h.root }

// Fingerprint identifies the hierarchy: SHA-256 over the root and every
// intermediate certificate, in issuer id order. Processes sharing one
// store must have the same (see app.checkCA).
func (h *Hierarchy) Fingerprint() string {
	iss := h.Issuers()
	sort.Slice(iss, func(i, j int) bool { return iss[i].ID < iss[j].ID })
	d := sha256.New()
	d.Write(h.root.Raw)
	for _, x := range iss {
		d.Write(x.Cert.Raw)
	}
	return hex.EncodeToString(d.Sum(nil))
}

// PreviousFingerprints are the fingerprints this hierarchy had before
// upgrades added intermediates to it (a new purpose), oldest first. A
// store that recorded one of them was the store of this CA before the
// upgrade, and may record the new fingerprint instead.
func (h *Hierarchy) PreviousFingerprints() []string { return append([]string(nil), h.previous...) }

// Issuers returns every issuing intermediate, the default TLS issuer first.
func (h *Hierarchy) Issuers() []*Issuer { return append([]*Issuer(nil), h.issuers...) }

// IssuersFor returns the intermediates of one purpose in manifest order;
// the first is that purpose's default.
func (h *Hierarchy) IssuersFor(p Purpose) []*Issuer {
	var out []*Issuer
	for _, iss := range h.issuers {
		if iss.Purpose == p {
			out = append(out, iss)
		}
	}
	return out
}

// DefaultIssuerFor returns the intermediate new certificates of purpose p
// come from, or nil for an unknown purpose. Open guarantees one per purpose.
func (h *Hierarchy) DefaultIssuerFor(p Purpose) *Issuer {
	for _, iss := range h.issuers {
		if iss.Purpose == p {
			return iss
		}
	}
	return nil
}

// DefaultIssuer returns the default TLS intermediate.
func (h *Hierarchy) DefaultIssuer() *Issuer { return h.DefaultIssuerFor(PurposeTLS) }

// Issuer finds an intermediate by its ID (case-insensitive).
func (h *Hierarchy) Issuer(id string) (*Issuer, bool) {
	for _, iss := range h.issuers {
		if strings.EqualFold(iss.ID, id) {
			return iss, true
		}
	}
	return nil, false
}

// Chain returns the chain for a leaf from iss: [intermediate, root].
func (h *Hierarchy) Chain(iss *Issuer) []*x509.Certificate {
	return []*x509.Certificate{iss.Cert, h.root}
}

// IssuerCertURL is where the intermediate's DER is published (AIA caIssuers of leaves).
func (h *Hierarchy) IssuerCertURL(iss *Issuer) string {
	return h.cfg.BaseURL + "/ca/" + iss.ID + ".crt"
}

// RootCertURL is where the root's DER is published.
func (h *Hierarchy) RootCertURL() string { return h.cfg.BaseURL + "/ca/root.crt" }

// CRLURL is the CRL distribution point of leaves from iss.
func (h *Hierarchy) CRLURL(iss *Issuer) string {
	return h.cfg.BaseURL + "/crl/" + iss.ID + ".crl"
}

// RootCRLURL is the CRL distribution point of the intermediates.
func (h *Hierarchy) RootCRLURL() string { return h.cfg.BaseURL + "/crl/root.crl" }

// OCSPURL is the OCSP responder named in leaves.
func (h *Hierarchy) OCSPURL() string { return h.cfg.BaseURL + "/ocsp" }

func (h *Hierarchy) owns(iss *Issuer) bool {
	for _, x := range h.issuers {
		if x == iss {
			return true
		}
	}
	return false
}

func (kt KeyType) valid() bool {
	switch kt {
	case KeyRSA2048, KeyRSA3072, KeyRSA4096, KeyP256, KeyP384:
		return true
	}
	return false
}

// NewKey generates a fresh CA key of type kt.
func NewKey(kt KeyType) (crypto.Signer, error) { return freshKey(kt, rand.Reader) }

// generateKey makes every CA key. Tests swap it for a pool of RSA keys, as
// RSA generation would otherwise dominate their run time.
var generateKey = freshKey

func freshKey(kt KeyType, r io.Reader) (crypto.Signer, error) {
	switch kt {
	case KeyRSA2048:
		return rsa.GenerateKey(r, 2048)
	case KeyRSA3072:
		return rsa.GenerateKey(r, 3072)
	case KeyRSA4096:
		return rsa.GenerateKey(r, 4096)
	case KeyP256:
		return ecdsa.GenerateKey(elliptic.P256(), r)
	case KeyP384:
		return ecdsa.GenerateKey(elliptic.P384(), r)
	}
	return nil, fmt.Errorf("ca: unknown key type %q", kt)
}

// keyTypeOf recovers the KeyType of a CA public key, so the lint key matches it.
func keyTypeOf(pub crypto.PublicKey) (KeyType, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		switch k.N.BitLen() {
		case 2048:
			return KeyRSA2048, nil
		case 3072:
			return KeyRSA3072, nil
		case 4096:
			return KeyRSA4096, nil
		}
		return "", fmt.Errorf("ca: unsupported RSA CA key size %d", k.N.BitLen())
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return KeyP256, nil
		case elliptic.P384():
			return KeyP384, nil
		}
		return "", fmt.Errorf("ca: unsupported ECDSA CA curve %s", k.Curve.Params().Name)
	}
	return "", fmt.Errorf("ca: unsupported CA key type %T", pub)
}

// defaultSigAlg is what a CA key signs CA certificates and CRLs with:
// the hash matching the curve (Mozilla policy), SHA-256 for RSA.
func defaultSigAlg(pub crypto.PublicKey) x509.SignatureAlgorithm {
	if k, ok := pub.(*ecdsa.PublicKey); ok {
		if k.Curve == elliptic.P384() {
			return x509.ECDSAWithSHA384
		}
		return x509.ECDSAWithSHA256
	}
	return x509.SHA256WithRSA
}

// subjectKeyID is RFC 7093 section 2 method 1: the leftmost 160 bits of
// the SHA-256 of the subjectPublicKey bits. Computed here rather than left to
// crypto/x509 so the IDs do not depend on a GODEBUG setting.
func subjectKeyID(pub crypto.PublicKey) ([]byte, error) {
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	var info struct {
		Algorithm asn1.RawValue
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(spki, &info); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(info.PublicKey.Bytes)
	return sum[:20], nil
}

func issuerID(cert *x509.Certificate) (string, error) {
	if len(cert.SubjectKeyId) < 8 {
		return "", errors.New("ca: intermediate has no usable SubjectKeyId")
	}
	return strings.ToUpper(hex.EncodeToString(cert.SubjectKeyId[:8])), nil
}

func newIssuer(cert *x509.Certificate, key crypto.Signer, p Purpose) (*Issuer, error) {
	id, err := issuerID(cert)
	if err != nil {
		return nil, err
	}
	return &Issuer{ID: id, Name: cert.Subject.CommonName, Purpose: p, Cert: cert, signer: key}, nil
}
