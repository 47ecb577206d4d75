package ca

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"net"
	"strings"
	"time"
)

// Profile is the certificate profile of a leaf.
type Profile string

// Leaf profiles. profiles.go holds what each one puts in a certificate.
const (
	ProfileOVTLS Profile = "ov_tls" // CA/B Forum OV: policy 2.23.140.1.2.2
	ProfileEVTLS Profile = "ev_tls" // CA/B Forum EV: policy 2.23.140.1.1
	ProfileDVTLS Profile = "dv_tls" // CA/B Forum DV: policy 2.23.140.1.2.1, subject CN only

	ProfileCodeSigning       Profile = "code_signing"               // CS BR: policy 2.23.140.1.4.1, EKU codeSigning, KU digitalSignature
	ProfileEVCodeSigning     Profile = "ev_code_signing"            // CS BR EV: policy 2.23.140.1.3, EV subject attributes
	ProfileSMIMEMailbox      Profile = "smime_mailbox"              // S/MIME BR mailbox-validated strict 2.23.140.1.5.1.3
	ProfileSMIMESponsor      Profile = "smime_sponsor"              // S/MIME BR sponsor-validated strict 2.23.140.1.5.3.3
	ProfileSMIMESponsorMulti Profile = "smime_sponsor_multipurpose" // S/MIME BR sponsor-validated multipurpose 2.23.140.1.5.3.2
	ProfileClientAuth        Profile = "client_auth"                // clientAuth only, not S/MIME; certorder's own policy OID
	ProfileX9TLS             Profile = "x9_tls"                     // X9 PKI for TLS; certorder's own policy OID
	ProfilePrivateTLS        Profile = "private_tls"                // Private SSL: an OV subject, certorder's own policy OID
)

// Subject is the leaf's subject as validated by the order. Each profile
// takes only the attributes it allows and ignores the rest (a DV or
// mailbox-validated certificate names no organization).
type Subject struct {
	CommonName   string // TLS: required and among DNSNames; other profiles derive it when empty (see profiles.go)
	Organization string
	Country      string // ISO 3166-1 alpha-2, any case in, upper-case out
	State        string
	Locality     string
	// EV TLS and EV code signing only:
	BusinessCategory     string // "Private Organization", "Government Entity", "Business Entity", "Non-Commercial Entity"
	JurisdictionCountry  string // 1.3.6.1.4.1.311.60.2.1.3
	JurisdictionState    string // 1.3.6.1.4.1.311.60.2.1.2, omitted when empty
	JurisdictionLocality string // 1.3.6.1.4.1.311.60.2.1.1, omitted when empty
	RegistrationNumber   string // subject serialNumber 2.5.4.5
	// The individual of sponsor-validated S/MIME (required, at least one)
	// and, optionally, of client authentication certificates:
	GivenName string // 2.5.4.42
	Surname   string // 2.5.4.4
	// OrganizationIdentifier (2.5.4.97) of sponsor-validated S/MIME, in the
	// S/MIME BR appendix A form such as "NTRUS-1234567"; omitted when empty.
	OrganizationIdentifier string
}

// LeafRequest is everything Issue needs for one leaf.
type LeafRequest struct {
	Issuer        *Issuer // its Purpose must be PurposeOf(Profile)
	Profile       Profile
	PublicKey     crypto.PublicKey // from the CSR
	Subject       Subject
	DNSNames      []string           // TLS and X9: full SAN list including the CN; order kept
	Emails        []string           // rfc822Name SANs (S/MIME and client profiles); order kept
	IPAddresses   []net.IP           // iPAddress SANs (X9 only)
	KeyUsage      x509.KeyUsage      // 0 = the profile's default; otherwise one the profile allows
	ExtKeyUsage   []x509.ExtKeyUsage // nil = the profile's default; otherwise a set the profile allows
	NotBefore     time.Time
	NotAfter      time.Time
	SignatureHash string // "sha256" | "sha384" | "sha512"; empty picks the issuer's natural hash
	Serial        *big.Int
}

var (
	oidCountry              = asn1.ObjectIdentifier{2, 5, 4, 6}
	oidState                = asn1.ObjectIdentifier{2, 5, 4, 8}
	oidLocality             = asn1.ObjectIdentifier{2, 5, 4, 7}
	oidOrganization         = asn1.ObjectIdentifier{2, 5, 4, 10}
	oidCommonName           = asn1.ObjectIdentifier{2, 5, 4, 3}
	oidSerialNumber         = asn1.ObjectIdentifier{2, 5, 4, 5}
	oidBusinessCategory     = asn1.ObjectIdentifier{2, 5, 4, 15}
	oidJurisdictionLocality = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 60, 2, 1, 1}
	oidJurisdictionState    = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 60, 2, 1, 2}
	oidJurisdictionCountry  = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 60, 2, 1, 3}
	oidGivenName            = asn1.ObjectIdentifier{2, 5, 4, 42}
	oidSurname              = asn1.ObjectIdentifier{2, 5, 4, 4}
	oidOrganizationID       = asn1.ObjectIdentifier{2, 5, 4, 97}
)

// Issue builds, lints and signs a leaf (Draft, Lint, Sign): the real key
// signs only a TBSCertificate that passed zlint, byte for byte.
func (h *Hierarchy) Issue(req LeafRequest) (der []byte, warnings []string, err error) {
	cert, warnings, err := h.IssueCertificate(req)
	if err != nil {
		return nil, warnings, err
	}
	return cert.Raw, warnings, nil
}

// IssueCertificate is Issue returning the parsed certificate (its DER in Raw).
func (h *Hierarchy) IssueCertificate(req LeafRequest) (*x509.Certificate, []string, error) {
	d, err := h.Draft(req)
	if err != nil {
		return nil, nil, err
	}
	warns, err := d.Lint()
	if err != nil {
		return nil, warns, err
	}
	cert, err := d.Sign()
	if err != nil {
		return nil, nil, err
	}
	return cert, warns, nil
}

// Draft checks req against its profile and builds the certificate to be
// signed (see Draft).
func (h *Hierarchy) Draft(req LeafRequest) (*Draft, error) {
	iss := req.Issuer
	if iss == nil || !h.owns(iss) {
		return nil, errors.New("ca: issuer is not part of this hierarchy")
	}
	tmpl, err := h.leafTemplate(req)
	if err != nil {
		return nil, err
	}
	return iss.draft(h.cfg.Rand, tmpl, req.PublicKey)
}

func (h *Hierarchy) leafTemplate(req LeafRequest) (*x509.Certificate, error) {
	iss := req.Issuer
	purpose := PurposeOf(req.Profile)
	if purpose == "" {
		return nil, fmt.Errorf("ca: unknown profile %q", req.Profile)
	}
	if iss.Purpose != purpose {
		return nil, fmt.Errorf("%w: profile %s needs a %s issuer, %s (%s) is a %s issuer",
			ErrIssuerPurpose, req.Profile, purpose, iss.Name, iss.ID, iss.Purpose)
	}
	if err := CheckKeyFor(req.Profile, req.PublicKey); err != nil {
		return nil, err
	}
	sigAlg, err := signatureAlgorithm(iss.Cert.PublicKey, req.SignatureHash)
	if err != nil {
		return nil, err
	}
	if req.Serial == nil || req.Serial.Sign() <= 0 {
		return nil, errors.New("ca: serial must be positive")
	}
	if len(req.Serial.Bytes()) > 20 {
		return nil, errors.New("ca: serial longer than 20 octets")
	}

	// Certificates carry whole seconds; check what will be encoded.
	nb := req.NotBefore.UTC().Truncate(time.Second)
	na := req.NotAfter.UTC().Truncate(time.Second)
	if !na.After(nb) {
		return nil, errors.New("ca: notAfter must be after notBefore")
	}
	if limit := MaxValidity(req.Profile, nb); na.Sub(nb) > limit {
		return nil, fmt.Errorf("ca: validity %s exceeds the maximum %s of profile %s for certificates issued at %s",
			na.Sub(nb), limit, req.Profile, nb.Format(time.DateOnly))
	}
	if nb.Before(iss.Cert.NotBefore) || na.After(iss.Cert.NotAfter) {
		return nil, errors.New("ca: validity is outside the issuer's validity")
	}

	lc, err := leafContentFor(req)
	if err != nil {
		return nil, err
	}
	if bytes.Equal(lc.rawSubject, iss.Cert.RawSubject) {
		return nil, ErrSubjectIsIssuer
	}
	return &x509.Certificate{
		SerialNumber:          new(big.Int).Set(req.Serial),
		RawSubject:            lc.rawSubject,
		NotBefore:             nb,
		NotAfter:              na,
		BasicConstraintsValid: true,
		IsCA:                  false,
		MaxPathLen:            -1,
		KeyUsage:              lc.keyUsage,
		ExtKeyUsage:           lc.extKeyUsage,
		DNSNames:              lc.dnsNames,
		EmailAddresses:        lc.emails,
		IPAddresses:           lc.ips,
		Policies:              []x509.OID{lc.policy},
		OCSPServer:            []string{h.OCSPURL()},
		IssuingCertificateURL: []string{h.IssuerCertURL(iss)},
		CRLDistributionPoints: []string{h.CRLURL(iss)},
		SignatureAlgorithm:    sigAlg,
	}, nil
}

// CanSign reports whether the issuer's key signs with the named hash
// ("sha256", "sha384", "sha512"), so orders can be refused up front.
func (iss *Issuer) CanSign(hash string) bool {
	_, err := signatureAlgorithm(iss.Cert.PublicKey, hash)
	return err == nil
}

// signatureAlgorithm maps the requested hash onto the issuer key. ECDSA
// issuers are held to Mozilla policy: P-256 with SHA-256, P-384 with SHA-384.
func signatureAlgorithm(issuerKey crypto.PublicKey, hash string) (x509.SignatureAlgorithm, error) {
	hash = strings.ToLower(strings.TrimSpace(hash))
	switch k := issuerKey.(type) {
	case *rsa.PublicKey:
		switch hash {
		case "", "sha256":
			return x509.SHA256WithRSA, nil
		case "sha384":
			return x509.SHA384WithRSA, nil
		case "sha512":
			return x509.SHA512WithRSA, nil
		}
	case *ecdsa.PublicKey:
		switch {
		case k.Curve == elliptic.P256() && (hash == "" || hash == "sha256"):
			return x509.ECDSAWithSHA256, nil
		case k.Curve == elliptic.P384() && (hash == "" || hash == "sha384"):
			return x509.ECDSAWithSHA384, nil
		}
		return 0, fmt.Errorf("%w: %q with an ECDSA %s issuer", ErrHashNotSupported, hash, k.Curve.Params().Name)
	default:
		return 0, fmt.Errorf("ca: unsupported issuer key %T", issuerKey)
	}
	return 0, fmt.Errorf("%w: %q", ErrHashNotSupported, hash)
}
