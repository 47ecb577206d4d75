package ca

import (
	"bytes"
	"crypto/sha1"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"
)

var (
	oidAnyPolicy = mustOID(2, 5, 29, 32, 0)
	oidEV        = mustOID(2, 23, 140, 1, 1)
	oidDV        = mustOID(2, 23, 140, 1, 2, 1)
	oidOV        = mustOID(2, 23, 140, 1, 2, 2)

	oidCodeSigning   = mustOID(2, 23, 140, 1, 4, 1) // CS BR 7.1.6.1
	oidEVCodeSigning = mustOID(2, 23, 140, 1, 3)    // CS BR 7.1.6.1, EV

	oidSMIMEMailboxStrict = mustOID(2, 23, 140, 1, 5, 1, 3) // S/MIME BR 7.1.6.1
	oidSMIMESponsorMulti  = mustOID(2, 23, 140, 1, 5, 3, 2)
	oidSMIMESponsorStrict = mustOID(2, 23, 140, 1, 5, 3, 3)

	// certorder's own policy OIDs for certificates no CA/B Forum document
	// covers. A 2.25.<uuid> OID has a 128-bit arc that zcrypto, and so
	// zlint, cannot parse, so they sit under Microsoft's arc for GUID-based
	// OIDs, which needs no registration either: a GUID
	// aaaabbbb-cccc-dddd-eeee-ffffffgggggg becomes
	// 1.2.840.113556.1.8000.2554.a.b.c.d.e.f.g with each chunk read as hex.
	//
	// X9 PKI for TLS, GUID 2e17270d-e6f2-4846-9fbb-f3dc6f3ae298 (X9's own
	// policy OID is not published).
	oidX9 = mustOID(1, 2, 840, 113556, 1, 8000, 2554, 0x2e17, 0x270d, 0xe6f2, 0x4846, 0x9fbb, 0xf3dc6f, 0x3ae298)
	// Private TLS (Private SSL), GUID 18041045-7980-45ad-8d29-d55ae90786be.
	oidPrivateTLS = mustOID(1, 2, 840, 113556, 1, 8000, 2554, 0x1804, 0x1045, 0x7980, 0x45ad, 0x8d29, 0xd55ae9, 0x0786be)
	// Client authentication (not S/MIME), GUID 7a3fc6a3-e5d3-4cb4-a7df-22bfac60e9ef.
	oidClientAuth = mustOID(1, 2, 840, 113556, 1, 8000, 2554, 0x7a3f, 0xc6a3, 0xe5d3, 0x4cb4, 0xa7df, 0x22bfac, 0x60e9ef)

	oidPKCS7Data       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidPKCS7SignedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
)

func mustOID(arcs ...uint64) x509.OID {
	oid, err := x509.OIDFromInts(arcs)
	if err != nil {
		panic(err)
	}
	return oid
}

// NewSerial returns a random positive 16-byte serial. The top byte is kept
// in 0x01..0x7f so DER needs neither padding nor fewer bytes.
func NewSerial(r io.Reader) (*big.Int, error) {
	b := make([]byte, 16)
	for {
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, fmt.Errorf("ca: serial: %w", err)
		}
		b[0] &= 0x7f
		if b[0] != 0 { // retrying keeps the top byte uniform
			return new(big.Int).SetBytes(b), nil
		}
	}
}

// NewSerialFrom is NewSerial whose first 8 bytes come from prefix and last
// 8 from r, when prefix is not nil (the sandbox's --sandbox-seed, which
// makes the first half repeat from run to run). The last 8 bytes are
// always read from r, the CSPRNG, untouched: the Baseline Requirements
// (7.1) ask for at least 64 bits of CSPRNG output in every serial, and
// the prefix alone never decides one.
func NewSerialFrom(prefix, r io.Reader) (*big.Int, error) {
	if prefix == nil {
		return NewSerial(r)
	}
	b := make([]byte, 16)
	for {
		if _, err := io.ReadFull(prefix, b[:8]); err != nil {
			return nil, fmt.Errorf("ca: serial prefix: %w", err)
		}
		b[0] &= 0x7f
		if b[0] != 0 {
			break
		}
	}
	if _, err := io.ReadFull(r, b[8:]); err != nil {
		return nil, fmt.Errorf("ca: serial: %w", err)
	}
	return new(big.Int).SetBytes(b), nil
}

// SerialHex formats a serial as DigiCert does: upper-case hex, even length.
func SerialHex(s *big.Int) string {
	if s == nil {
		return ""
	}
	h := strings.ToUpper(s.Text(16))
	if len(h)%2 == 1 {
		h = "0" + h
	}
	return h
}

// Thumbprint is the upper-case hex SHA-1 of the DER.
func Thumbprint(der []byte) string {
	sum := sha1.Sum(der)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// EncodePEM concatenates "CERTIFICATE" PEM blocks.
func EncodePEM(certs ...*x509.Certificate) []byte {
	var buf bytes.Buffer
	for _, c := range certs {
		pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return buf.Bytes()
}

// PKCS7 returns the DER of a degenerate, certificates-only PKCS#7 SignedData
// holding certs in the given order.
func PKCS7(certs ...*x509.Certificate) ([]byte, error) {
	if len(certs) == 0 {
		return nil, errors.New("ca: PKCS#7 bundle needs at least one certificate")
	}
	var raw []byte
	for _, c := range certs {
		raw = append(raw, c.Raw...)
	}
	emptySet := asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: []byte{}}
	sd := struct {
		Version          int
		DigestAlgorithms asn1.RawValue
		ContentInfo      struct{ ContentType asn1.ObjectIdentifier }
		Certificates     asn1.RawValue
		SignerInfos      asn1.RawValue
	}{
		Version:          1,
		DigestAlgorithms: emptySet,
		Certificates:     asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: raw},
		SignerInfos:      emptySet,
	}
	sd.ContentInfo.ContentType = oidPKCS7Data
	sdDER, err := asn1.Marshal(sd)
	if err != nil {
		return nil, fmt.Errorf("ca: PKCS#7: %w", err)
	}
	ci := struct {
		ContentType asn1.ObjectIdentifier
		Content     asn1.RawValue // [0] EXPLICIT, built by hand
	}{oidPKCS7SignedData, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: sdDER}}
	out, err := asn1.Marshal(ci)
	if err != nil {
		return nil, fmt.Errorf("ca: PKCS#7: %w", err)
	}
	return out, nil
}

// PKCS7PEM is PKCS7 armoured with the label "PKCS7".
func PKCS7PEM(certs ...*x509.Certificate) ([]byte, error) {
	der, err := PKCS7(certs...)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PKCS7", Bytes: der}), nil
}
