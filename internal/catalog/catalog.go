// Package catalog is the product catalogue as data: identifiers, groups,
// validation levels, name limits, hashes, validity choices, DCV methods and
// the certificate profile of each product the seeds document. Every layer
// reads it; no other package hard-codes a product's rules.
package catalog

import "sort"

// Family is the kind of certificate a product issues; it selects the
// request rules (one per seed document) and the certificate profile.
type Family string

const (
	FamilyTLS         Family = "tls"          // seed 000: Secure Site OV/EV
	FamilyDV          Family = "dv"           // seed 001
	FamilyCodeSigning Family = "code_signing" // seed 002
	FamilyClient      Family = "client"       // seed 003
	FamilyX9          Family = "x9"           // seed 004
)

// Wildcards says where a product accepts wildcard names.
type Wildcards int

const (
	WildcardNone     Wildcards = iota // never
	WildcardRequired                  // the common name is a wildcard; other names sit under its base domain
	WildcardCovered                   // every name is a wildcard or covered by one of the order's wildcards (GeoTrust Wildcard DV)
	WildcardAllowed                   // any name may be a wildcard (GeoTrust Cloud DV)
)

// Purpose of the issuing intermediate a product's certificates come from;
// the values are internal/ca's Purpose names.
const (
	PurposeTLS         = "tls"
	PurposeCodeSigning = "code_signing"
	PurposeSMIME       = "smime"
	PurposeX9          = "x9"
)

// Product is one orderable product.
type Product struct {
	NameID                string
	Name                  string
	Type                  string // order info product.type
	GroupName             string
	Family                Family
	ValidationType        string // lower-case on orders: ov, ev, dv, cs, ev_cs
	ValidationName        string // OV, EV, DV, CS, EV CS
	ValidationDescription string
	// OrgValidation is the organization validation the certificate needs
	// before it can issue; "" when the subject names no organization.
	OrgValidation string
	Profile       string // certificate profile name understood by internal/ca
	Purpose       string // which issuing intermediates may sign it

	// MaxNames counts every distinct name on the certificate, the common
	// name included. Single-name products allow the name and its www twin.
	MaxNames    int
	MultiDomain bool
	Wildcards   Wildcards
	IPAddresses bool // X9: iPAddress SANs allowed
	HashTypes   []string
	DefaultHash string
	// ValidityYears are the allowed validity_years (seed 000, 003) or
	// order_validity.years (seeds 001, 002, 004).
	ValidityYears []int
	// MaxCustomDays bounds custom_expiration_date and validity_days: the date
	// must be less than this many days in the future (seed 000: 825).
	MaxCustomDays int
	// OrderValidity says the product takes the multi-year plan model
	// (order_validity, cert_validity) of seeds 001, 002 and 004.
	OrderValidity bool
	// MaxOrderDays bounds order_validity.days and its custom date.
	MaxOrderDays      int
	CSRRequired       bool
	DuplicatesAllowed bool
	DCVMethods        []string
	DCVRequired       bool
	// SigningOnly: the key may only sign (digitalSignature and
	// nonRepudiation), as Digital Signature Plus promises.
	SigningOnly bool
	// PriceCents is our list price per year of order validity, in US cents.
	// [not found]: CertCentral's prices are per contract; these are ours.
	PriceCents int64
}

var hashNames = map[string]string{"sha256": "SHA-256", "sha384": "SHA-384", "sha512": "SHA-512"}

// HashName is the display name of a signature hash id.
func HashName(id string) string { return hashNames[id] }

var tlsDCV = []string{"email", "dns-txt-token", "dns-cname-token", "http-token"}

// MaxMultiDomainNames is the SAN limit of multi-domain products. The spec
// found 250 only on the DV pages; we use it for OV/EV multi-domain as well.
const MaxMultiDomainNames = 250

func secureSite(nameID, name, validation string, multi bool, wild Wildcards, price int64) Product {
	p := Product{
		NameID:            nameID,
		Name:              name,
		Type:              "ssl_certificate",
		GroupName:         "securesite_ssl_certificate",
		Family:            FamilyTLS,
		ValidationType:    validation,
		OrgValidation:     validation,
		Purpose:           PurposeTLS,
		HashTypes:         []string{"sha256", "sha384", "sha512"},
		DefaultHash:       "sha256",
		ValidityYears:     []int{1, 2},
		MaxCustomDays:     825,
		CSRRequired:       true,
		DuplicatesAllowed: true,
		MultiDomain:       multi,
		Wildcards:         wild,
		DCVMethods:        tlsDCV,
		MaxNames:          2,
		PriceCents:        price,
	}
	if multi {
		p.MaxNames = MaxMultiDomainNames
	}
	switch validation {
	case "ev":
		p.ValidationName, p.ValidationDescription, p.Profile = "EV", "Extended Organization Validation (EV)", "ev_tls"
	default:
		p.ValidationName, p.ValidationDescription, p.Profile = "OV", "Normal Organization Validation", "ov_tls"
	}
	if wild == WildcardRequired {
		// The wildcard, its base domain, and further names under the base.
		p.MaxNames = MaxMultiDomainNames
	}
	return p
}

// dv is a product of seed 001: SHA-256 only, a required dcv_method, and
// the multi-year plan model with 1–3 year orders (4–6 year plans are no
// longer sold, spec §8.3).
func dv(nameID, name string, maxNames int, wild Wildcards, price int64) Product {
	return Product{
		NameID: nameID, Name: name, Type: "ssl_certificate", GroupName: "dv_ssl_certificate",
		Family: FamilyDV, ValidationType: "dv", ValidationName: "DV", ValidationDescription: "Domain Validation",
		Profile: "dv_tls", Purpose: PurposeTLS,
		MaxNames: maxNames, MultiDomain: maxNames > 2, Wildcards: wild,
		HashTypes: []string{"sha256"}, DefaultHash: "sha256",
		ValidityYears: []int{1, 2, 3}, OrderValidity: true, MaxOrderDays: 1095,
		CSRRequired: true, DuplicatesAllowed: true, DCVMethods: tlsDCV, DCVRequired: true, PriceCents: price,
	}
}

// codeSigning is a product of seed 002.
func codeSigning(nameID, name string, ev bool, price int64) Product {
	p := Product{
		NameID: nameID, Name: name, Type: "code_signing_certificate", GroupName: "code_signing_certificate",
		Family: FamilyCodeSigning, ValidationType: "cs", ValidationName: "CS", ValidationDescription: "Code Signing Organization Validation",
		OrgValidation: "cs", Profile: "code_signing", Purpose: PurposeCodeSigning,
		HashTypes: []string{"sha256"}, DefaultHash: "sha256",
		ValidityYears: []int{1, 2, 3}, OrderValidity: true, MaxOrderDays: 1095,
		CSRRequired: false, DuplicatesAllowed: true, PriceCents: price,
	}
	if ev {
		p.ValidationType, p.ValidationName, p.OrgValidation, p.Profile = "ev_cs", "EV CS", "ev_cs", "ev_code_signing"
		p.ValidationDescription = "Extended Validation Code Signing"
	}
	return p
}

// client is a product of seed 003. OrgValidation "ov" for the products
// whose subject names the organization; the mailbox-validated S/MIME
// certificate names only the address.
func client(nameID, name, profile, orgValidation string, price int64) Product {
	return Product{
		NameID: nameID, Name: name, Type: "client_certificate", GroupName: "client_certificate",
		Family: FamilyClient, ValidationType: "ov", ValidationName: "OV", ValidationDescription: "Normal Organization Validation",
		OrgValidation: orgValidation, Profile: profile, Purpose: PurposeSMIME,
		HashTypes: []string{"sha256"}, DefaultHash: "sha256",
		ValidityYears: []int{1, 2}, MaxCustomDays: 825,
		CSRRequired: false, DuplicatesAllowed: true, PriceCents: price,
	}
}

var products = map[string]Product{}

func register(p Product) { products[p.NameID] = p }

func init() {
	register(secureSite("ssl_securesite", "Secure Site SSL", "ov", false, WildcardNone, 39900))
	register(secureSite("ssl_securesite_multi_domain", "Secure Site Multi-Domain SSL", "ov", true, WildcardNone, 59900))
	register(secureSite("ssl_securesite_wildcard", "Secure Site Wildcard SSL", "ov", false, WildcardRequired, 129900))
	register(secureSite("ssl_ev_securesite", "Secure Site EV SSL", "ev", false, WildcardNone, 99500))
	register(secureSite("ssl_ev_securesite_multi_domain", "Secure Site EV Multi-Domain SSL", "ev", true, WildcardNone, 129500))

	register(dv("ssl_dv_geotrust", "GeoTrust Standard DV SSL", MaxMultiDomainNames, WildcardNone, 14900))
	register(dv("ssl_dv_rapidssl", "RapidSSL Standard DV SSL", 2, WildcardNone, 5900))
	register(dv("wildcard_dv_geotrust", "GeoTrust Wildcard DV SSL", MaxMultiDomainNames, WildcardCovered, 39900))
	register(dv("wildcard_dv_rapidssl", "RapidSSL Wildcard DV SSL", 2, WildcardRequired, 19900))
	register(dv("cloud_dv_geotrust", "GeoTrust Cloud DV", MaxMultiDomainNames, WildcardAllowed, 24900))

	register(codeSigning("code_signing", "Code Signing", false, 47400))
	register(codeSigning("code_signing_ev", "EV Code Signing", true, 69900))

	register(client("client_premium", "Premium", "smime_sponsor_multipurpose", "ov", 9900))
	dsp := client("client_digital_signature_plus", "Digital Signature Plus", "smime_sponsor", "ov", 7900)
	dsp.SigningOnly = true
	register(dsp)
	register(client("client_authentication_plus", "Authentication Plus", "client_auth", "ov", 5900))
	register(client("client_email_security_plus", "Email Security Plus", "smime_sponsor", "ov", 5900))
	register(client("class1_smime", "Class 1 S/MIME Certificate", "smime_mailbox", "", 2900))

	register(Product{
		NameID: "x9_pki", Name: "X9 PKI for TLS", Type: "ssl_certificate", GroupName: "x9_pki_certificate",
		Family: FamilyX9, ValidationType: "ov", ValidationName: "OV", ValidationDescription: "Normal Organization Validation",
		OrgValidation: "ov", Profile: "x9_tls", Purpose: PurposeX9,
		MaxNames: MaxMultiDomainNames, MultiDomain: true, IPAddresses: true,
		HashTypes: []string{"sha256", "sha384", "sha512"}, DefaultHash: "sha256",
		ValidityYears: []int{1}, OrderValidity: true, MaxOrderDays: 397,
		CSRRequired: true, DuplicatesAllowed: true, DCVMethods: tlsDCV, PriceCents: 49900,
	})
}

// Lookup finds a product by its name_id.
func Lookup(nameID string) (Product, bool) {
	p, ok := products[nameID]
	return p, ok
}

// All lists every product, sorted by name_id for stable output.
func All() []Product {
	out := make([]Product, 0, len(products))
	for _, p := range products {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].NameID < out[j].NameID })
	return out
}

// ServerPlatform is one entry of the server platform glossary.
type ServerPlatform struct {
	ID         int
	Name       string
	InstallURL string
	CSRURL     string
	// CRLF: the platform's PEM downloads end each certificate with CRLF,
	// as Windows tools and the old DigiCert SDK expect.
	CRLF bool
}

// Platforms is our own server platform table. The spec found only part of
// CertCentral's glossary; ids seen there keep their names, and any other
// integer is accepted and echoed as "Other" (see PlatformByID).
var Platforms = []ServerPlatform{
	{ID: -1, Name: "Other"},
	{ID: 2, Name: "Apache"},
	{ID: 14, Name: "Microsoft IIS 5 or 6", CRLF: true},
	{ID: 31, Name: "nginx"},
	{ID: 40, Name: "Microsoft IIS 7", CRLF: true},
	{ID: 45, Name: "nginx"},
	{ID: 52, Name: "Code signing"},
	{ID: 55, Name: "Sun Java"},
	{ID: 67, Name: "Microsoft IIS 8", CRLF: true},
	{ID: 68, Name: "Microsoft Exchange Server 2013", CRLF: true},
}

// PlatformByID returns the platform for id; unknown ids are "Other" with
// that id, as the spec advises accepting any integer.
func PlatformByID(id int) ServerPlatform {
	for _, p := range Platforms {
		if p.ID == id {
			return p
		}
	}
	return ServerPlatform{ID: id, Name: "Other"}
}
