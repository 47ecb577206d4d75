package ca

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/bits"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// tbsCertificate encodes the TBSCertificate of a leaf template as the
// issuer iss signs it with the algorithm algID: byte for byte what
// crypto/x509.CreateCertificate makes of the same template under the same
// issuer (draft_test.go compares them for every profile, key and SAN
// kind), without the signature CreateCertificate insists on making and
// checking. It knows exactly the fields leafTemplate sets and refuses a
// template with any other, so that a field added there one day cannot be
// dropped silently here.
func tbsCertificate(tmpl *x509.Certificate, iss *x509.Certificate, algID []byte, pub crypto.PublicKey) ([]byte, error) {
	if err := onlyLeafFields(tmpl); err != nil {
		return nil, err
	}
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("ca: subject public key: %w", err)
	}
	subject := tmpl.RawSubject
	if len(subject) == 0 {
		// As crypto/x509: the Name when no raw subject is given.
		if subject, err = asn1.Marshal(tmpl.Subject.ToRDNSequence()); err != nil {
			return nil, fmt.Errorf("ca: subject: %w", err)
		}
	}
	if tmpl.SerialNumber == nil || tmpl.SerialNumber.Sign() <= 0 {
		return nil, errors.New("ca: serial must be positive")
	}
	// Sized for the whole TBSCertificate up front, so that the builder
	// does not grow its buffer copy by copy.
	size := 512 + len(spki) + len(subject) + len(iss.RawSubject)
	for _, list := range [][]string{tmpl.DNSNames, tmpl.EmailAddresses, tmpl.OCSPServer, tmpl.IssuingCertificateURL, tmpl.CRLDistributionPoints} {
		for _, v := range list {
			size += len(v) + 16
		}
	}
	size += 18*len(tmpl.IPAddresses) + 32*len(tmpl.Policies) + 12*len(tmpl.ExtKeyUsage)
	b := cryptobyte.NewBuilder(make([]byte, 0, size))
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) { b.AddASN1Int64(2) })
		b.AddASN1BigInt(tmpl.SerialNumber)
		b.AddBytes(algID)
		b.AddBytes(iss.RawSubject)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			addTime(b, tmpl.NotBefore)
			addTime(b, tmpl.NotAfter)
		})
		b.AddBytes(subject)
		b.AddBytes(spki)
		// As crypto/x509: no authority key identifier when the subject is
		// the issuer's own name, which it takes for a self-signed
		// certificate (leafTemplate refuses such a leaf anyway).
		issuerKeyID := iss.SubjectKeyId
		if bytes.Equal(subject, iss.RawSubject) {
			issuerKeyID = nil
		}
		b.AddASN1(cbasn1.Tag(3).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				leafExtensions(b, tmpl, issuerKeyID, bytes.Equal(subject, emptySubject))
			})
		})
	})
	return b.Bytes()
}

// emptySubject is an empty Name: SEQUENCE {}.
var emptySubject = []byte{0x30, 0x00}

// onlyLeafFields refuses a template that sets what tbsCertificate does not
// encode.
func onlyLeafFields(t *x509.Certificate) error {
	switch {
	case t.IsCA || !t.BasicConstraintsValid || t.MaxPathLen > 0 || t.MaxPathLen < -1 || t.MaxPathLenZero:
		// (MaxPathLen 0 without MaxPathLenZero means none, as -1 does.)
		return errors.New("ca: a leaf template must have CA:FALSE basic constraints and no path length")
	case len(t.ExtraExtensions) > 0 || len(t.Extensions) > 0 || len(t.UnknownExtKeyUsage) > 0 || len(t.URIs) > 0 ||
		len(t.SubjectKeyId) > 0 || len(t.AuthorityKeyId) > 0 || len(t.PolicyIdentifiers) > 0 ||
		len(t.PermittedDNSDomains) > 0 || len(t.ExcludedDNSDomains) > 0 || len(t.PermittedIPRanges) > 0 ||
		len(t.ExcludedIPRanges) > 0 || len(t.PermittedEmailAddresses) > 0 || len(t.ExcludedEmailAddresses) > 0 ||
		len(t.PermittedURIDomains) > 0 || len(t.ExcludedURIDomains) > 0 || len(t.CRLDistributionPoints) > 1:
		return errors.New("ca: the leaf template sets a field the TBSCertificate encoder does not know")
	}
	return nil
}

// addTime is a Time as crypto/x509 writes it (RFC 5280 4.1.2.5): UTCTime
// for the years 1950 to 2049, GeneralizedTime otherwise, in UTC, whole
// seconds.
func addTime(b *cryptobyte.Builder, t time.Time) {
	u := t.UTC()
	if y := u.Year(); y >= 1950 && y < 2050 {
		b.AddASN1UTCTime(u)
	} else {
		b.AddASN1GeneralizedTime(u)
	}
}

// The OIDs of the extensions and access methods a leaf carries (RFC 5280).
var (
	oidExtKeyUsage        = []byte{0x55, 0x1d, 0x0f}
	oidExtExtKeyUsage     = []byte{0x55, 0x1d, 0x25}
	oidExtBasicConstraint = []byte{0x55, 0x1d, 0x13}
	oidExtAuthorityKeyID  = []byte{0x55, 0x1d, 0x23}
	oidExtAIA             = []byte{0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01, 0x01}
	oidExtSAN             = []byte{0x55, 0x1d, 0x11}
	oidExtPolicies        = []byte{0x55, 0x1d, 0x20}
	oidExtCRLDP           = []byte{0x55, 0x1d, 0x1f}
	oidAccessOCSP         = []byte{0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01}
	oidAccessCAIssuers    = []byte{0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x02}
)

// extKeyUsageOIDs are crypto/x509's extended key usages as DER OID
// contents.
var extKeyUsageOIDs = map[x509.ExtKeyUsage]asn1.ObjectIdentifier{
	x509.ExtKeyUsageAny:                            {2, 5, 29, 37, 0},
	x509.ExtKeyUsageServerAuth:                     {1, 3, 6, 1, 5, 5, 7, 3, 1},
	x509.ExtKeyUsageClientAuth:                     {1, 3, 6, 1, 5, 5, 7, 3, 2},
	x509.ExtKeyUsageCodeSigning:                    {1, 3, 6, 1, 5, 5, 7, 3, 3},
	x509.ExtKeyUsageEmailProtection:                {1, 3, 6, 1, 5, 5, 7, 3, 4},
	x509.ExtKeyUsageIPSECEndSystem:                 {1, 3, 6, 1, 5, 5, 7, 3, 5},
	x509.ExtKeyUsageIPSECTunnel:                    {1, 3, 6, 1, 5, 5, 7, 3, 6},
	x509.ExtKeyUsageIPSECUser:                      {1, 3, 6, 1, 5, 5, 7, 3, 7},
	x509.ExtKeyUsageTimeStamping:                   {1, 3, 6, 1, 5, 5, 7, 3, 8},
	x509.ExtKeyUsageOCSPSigning:                    {1, 3, 6, 1, 5, 5, 7, 3, 9},
	x509.ExtKeyUsageMicrosoftServerGatedCrypto:     {1, 3, 6, 1, 4, 1, 311, 10, 3, 3},
	x509.ExtKeyUsageNetscapeServerGatedCrypto:      {2, 16, 840, 1, 113730, 4, 1},
	x509.ExtKeyUsageMicrosoftCommercialCodeSigning: {1, 3, 6, 1, 4, 1, 311, 2, 1, 22},
	x509.ExtKeyUsageMicrosoftKernelCodeSigning:     {1, 3, 6, 1, 4, 1, 311, 61, 1, 1},
}

// leafExtensions adds the extensions of a leaf in crypto/x509's order:
// key usage, extended key usage, basic constraints, authority key
// identifier, authority information access, subject alternative names
// (critical when the subject is empty), certificate policies, CRL
// distribution points.
func leafExtensions(b *cryptobyte.Builder, t *x509.Certificate, issuerKeyID []byte, emptySubject bool) {
	ext := func(oid []byte, critical bool, value func(*cryptobyte.Builder)) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.OBJECT_IDENTIFIER, func(b *cryptobyte.Builder) { b.AddBytes(oid) })
			if critical {
				b.AddASN1Boolean(true)
			}
			b.AddASN1(cbasn1.OCTET_STRING, value)
		})
	}
	if t.KeyUsage != 0 {
		ext(oidExtKeyUsage, true, func(b *cryptobyte.Builder) {
			// A BIT STRING of bit i = usage 1<<i, trailing zero bits cut.
			v := bits.Reverse16(uint16(t.KeyUsage))
			octets := []byte{byte(v >> 8), byte(v)}
			if octets[1] == 0 {
				octets = octets[:1]
			}
			unused := bits.TrailingZeros8(octets[len(octets)-1])
			if octets[len(octets)-1] == 0 {
				unused = 0
			}
			b.AddASN1(cbasn1.BIT_STRING, func(b *cryptobyte.Builder) {
				b.AddUint8(uint8(unused))
				b.AddBytes(octets)
			})
		})
	}
	if len(t.ExtKeyUsage) > 0 {
		ext(oidExtExtKeyUsage, false, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				for _, u := range t.ExtKeyUsage {
					oid, ok := extKeyUsageOIDs[u]
					if !ok {
						b.SetError(fmt.Errorf("ca: unknown extended key usage %d", u))
						return
					}
					b.AddASN1ObjectIdentifier(oid)
				}
			})
		})
	}
	ext(oidExtBasicConstraint, true, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {}) // CA:FALSE is the default, no path length
	})
	if len(issuerKeyID) > 0 {
		ext(oidExtAuthorityKeyID, false, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.Tag(0).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes(issuerKeyID) })
			})
		})
	}
	if len(t.OCSPServer) > 0 || len(t.IssuingCertificateURL) > 0 {
		ext(oidExtAIA, false, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				for _, m := range []struct {
					oid  []byte
					urls []string
				}{{oidAccessOCSP, t.OCSPServer}, {oidAccessCAIssuers, t.IssuingCertificateURL}} {
					for _, u := range m.urls {
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
							b.AddASN1(cbasn1.OBJECT_IDENTIFIER, func(b *cryptobyte.Builder) { b.AddBytes(m.oid) })
							b.AddASN1(cbasn1.Tag(6).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes([]byte(u)) })
						})
					}
				}
			})
		})
	}
	if len(t.DNSNames) > 0 || len(t.EmailAddresses) > 0 || len(t.IPAddresses) > 0 {
		ext(oidExtSAN, emptySubject, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				for _, n := range t.DNSNames {
					addIA5Name(b, 2, n)
				}
				for _, e := range t.EmailAddresses {
					addIA5Name(b, 1, e)
				}
				for _, ip := range t.IPAddresses {
					v := ip.To4()
					if v == nil {
						v = ip
					}
					b.AddASN1(cbasn1.Tag(7).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes(v) })
				}
			})
		})
	}
	if len(t.Policies) > 0 {
		ext(oidExtPolicies, false, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				for _, p := range t.Policies {
					der, err := p.MarshalBinary()
					if err != nil || len(der) == 0 {
						b.SetError(errors.New("ca: invalid policy object identifier"))
						return
					}
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1(cbasn1.OBJECT_IDENTIFIER, func(b *cryptobyte.Builder) { b.AddBytes(der) })
					})
				}
			})
		})
	}
	if len(t.CRLDistributionPoints) > 0 {
		ext(oidExtCRLDP, false, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				for _, u := range t.CRLDistributionPoints {
					// DistributionPoint { distributionPoint [0] { fullName [0] { uniformResourceIdentifier [6] } } }
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
							b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
								b.AddASN1(cbasn1.Tag(6).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes([]byte(u)) })
							})
						})
					})
				}
			})
		})
	}
}

// addIA5Name is a GeneralName of an IA5String kind (1 rfc822Name, 2
// dNSName); crypto/x509 refuses anything beyond ASCII in them.
func addIA5Name(b *cryptobyte.Builder, tag uint8, s string) {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			b.SetError(fmt.Errorf("ca: %q cannot be encoded as an IA5String", s))
			return
		}
	}
	b.AddASN1(cbasn1.Tag(tag).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes([]byte(s)) })
}
