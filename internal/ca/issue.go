package ca

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/certorder/certorder/internal/policy"
)

// Profile is the certificate profile of a leaf.
type Profile string

// Leaf profiles.
const (
	ProfileOVTLS Profile = "ov_tls" // CA/B Forum OV: policy 2.23.140.1.2.2
	ProfileEVTLS Profile = "ev_tls" // CA/B Forum EV: policy 2.23.140.1.1
	ProfileDVTLS Profile = "dv_tls" // CA/B Forum DV: policy 2.23.140.1.2.1, subject CN only
)

// Subject is the leaf's subject as validated by the order.
type Subject struct {
	CommonName   string
	Organization string
	Country      string // ISO 3166-1 alpha-2, any case in, upper-case out
	State        string
	Locality     string
	// EV only:
	BusinessCategory     string // "Private Organization", "Government Entity", "Business Entity", "Non-Commercial Entity"
	JurisdictionCountry  string // 1.3.6.1.4.1.311.60.2.1.3
	JurisdictionState    string // 1.3.6.1.4.1.311.60.2.1.2, omitted when empty
	JurisdictionLocality string // 1.3.6.1.4.1.311.60.2.1.1, omitted when empty
	RegistrationNumber   string // subject serialNumber 2.5.4.5
}

// LeafRequest is everything Issue needs for one TLS leaf.
type LeafRequest struct {
	Issuer        *Issuer
	Profile       Profile
	PublicKey     crypto.PublicKey // from the CSR
	Subject       Subject
	DNSNames      []string // full SAN list including the CN; order kept
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
)

// Issue builds, lints and signs a leaf. The real key signs only after a
// copy signed by the issuer's throwaway lint key passed zlint, and the
// result must carry the very TBS bytes that were linted.
func (h *Hierarchy) Issue(req LeafRequest) (der []byte, warnings []string, err error) {
	iss := req.Issuer
	if iss == nil || !h.owns(iss) {
		return nil, nil, errors.New("ca: issuer is not part of this hierarchy")
	}
	tmpl, err := h.leafTemplate(req)
	if err != nil {
		return nil, nil, err
	}

	lintDER, err := x509.CreateCertificate(h.cfg.Rand, tmpl, iss.lintCert, req.PublicKey, iss.lintKey)
	if err != nil {
		return nil, nil, fmt.Errorf("ca: building certificate: %w", err)
	}
	errs, warns, err := LintCertificate(lintDER)
	if err != nil {
		return nil, nil, err
	}
	if len(errs) > 0 {
		return nil, warns, &LintError{Lints: errs}
	}
	lintCert, err := x509.ParseCertificate(lintDER)
	if err != nil {
		return nil, nil, fmt.Errorf("ca: parsing linted certificate: %w", err)
	}

	der, err = x509.CreateCertificate(h.cfg.Rand, tmpl, iss.Cert, req.PublicKey, iss.signer)
	if err != nil {
		return nil, nil, fmt.Errorf("ca: signing certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("ca: parsing issued certificate: %w", err)
	}
	if !bytes.Equal(cert.RawTBSCertificate, lintCert.RawTBSCertificate) {
		return nil, nil, errors.New("ca: issued TBSCertificate differs from the linted one")
	}
	if err := cert.CheckSignatureFrom(iss.Cert); err != nil {
		return nil, nil, fmt.Errorf("ca: issued certificate does not verify: %w", err)
	}
	return der, warns, nil
}

func (h *Hierarchy) leafTemplate(req LeafRequest) (*x509.Certificate, error) {
	iss := req.Issuer
	var policyOID x509.OID
	switch req.Profile {
	case ProfileOVTLS:
		policyOID = oidOV
	case ProfileEVTLS:
		policyOID = oidEV
	case ProfileDVTLS:
		policyOID = oidDV
	default:
		return nil, fmt.Errorf("ca: unknown profile %q", req.Profile)
	}
	if err := CheckKey(req.PublicKey); err != nil {
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
	if limit := policy.MaxTLSValidity(nb); na.Sub(nb) > limit {
		return nil, fmt.Errorf("ca: validity %s exceeds the maximum %s for certificates issued at %s",
			na.Sub(nb), limit, nb.Format(time.DateOnly))
	}
	if nb.Before(iss.Cert.NotBefore) || na.After(iss.Cert.NotAfter) {
		return nil, errors.New("ca: validity is outside the issuer's validity")
	}

	cn := req.Subject.CommonName
	if cn == "" {
		return nil, errors.New("ca: subject common name is empty")
	}
	if len(req.DNSNames) == 0 {
		return nil, errors.New("ca: no DNS names")
	}
	found := false
	for _, n := range req.DNSNames {
		if n == cn {
			found = true
			break
		}
	}
	if !found {
		return nil, fmt.Errorf("ca: common name %q is not among the DNS names", cn)
	}
	rawSubject, err := subjectDER(req.Profile, req.Subject)
	if err != nil {
		return nil, err
	}

	ku := x509.KeyUsageDigitalSignature
	if _, ok := req.PublicKey.(*rsa.PublicKey); ok {
		ku |= x509.KeyUsageKeyEncipherment
	}
	return &x509.Certificate{
		SerialNumber:          new(big.Int).Set(req.Serial),
		RawSubject:            rawSubject,
		NotBefore:             nb,
		NotAfter:              na,
		BasicConstraintsValid: true,
		IsCA:                  false,
		MaxPathLen:            -1,
		KeyUsage:              ku,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:              append([]string(nil), req.DNSNames...),
		Policies:              []x509.OID{policyOID},
		OCSPServer:            []string{h.OCSPURL()},
		IssuingCertificateURL: []string{h.IssuerCertURL(iss)},
		CRLDistributionPoints: []string{h.CRLURL(iss)},
		SignatureAlgorithm:    sigAlg,
	}, nil
}

// subjectDER encodes the subject in the BR 7.1.4.2 order (C, ST, L, O, CN),
// with the EV attributes ahead of it as commonly done; crypto/x509 cannot
// place the EV attributes itself.
func subjectDER(p Profile, s Subject) ([]byte, error) {
	var rdns pkix.RDNSequence
	add := func(oid asn1.ObjectIdentifier, v string) {
		if v != "" {
			rdns = append(rdns, pkix.RelativeDistinguishedNameSET{{Type: oid, Value: v}})
		}
	}
	if p == ProfileEVTLS {
		add(oidBusinessCategory, s.BusinessCategory)
		add(oidJurisdictionCountry, strings.ToUpper(s.JurisdictionCountry))
		add(oidJurisdictionState, s.JurisdictionState)
		add(oidJurisdictionLocality, s.JurisdictionLocality)
		add(oidSerialNumber, s.RegistrationNumber)
	}
	if p != ProfileDVTLS {
		add(oidCountry, strings.ToUpper(s.Country))
		add(oidState, s.State)
		add(oidLocality, s.Locality)
		add(oidOrganization, s.Organization)
	}
	add(oidCommonName, s.CommonName)
	der, err := asn1.Marshal(rdns)
	if err != nil {
		return nil, fmt.Errorf("ca: encoding subject: %w", err)
	}
	return der, nil
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
