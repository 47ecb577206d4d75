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
)

// Product is one orderable product.
type Product struct {
	NameID                string
	Name                  string
	Type                  string // order info product.type
	GroupName             string
	Family                Family
	ValidationType        string // lower-case on orders: ov, ev, dv
	ValidationName        string // OV, EV, DV
	ValidationDescription string
	Profile               string // certificate profile name understood by internal/ca

	// MaxNames counts every distinct name on the certificate, the common
	// name included. Single-name products allow the name and its www twin.
	MaxNames      int
	MultiDomain   bool
	Wildcards     Wildcards
	HashTypes     []string
	DefaultHash   string
	ValidityYears []int
	// MaxCustomDays bounds custom_expiration_date and validity_days: the date
	// must be less than this many days in the future (seed 000: 825).
	MaxCustomDays     int
	CSRRequired       bool
	DuplicatesAllowed bool
	DCVMethods        []string
}

var hashNames = map[string]string{"sha256": "SHA-256", "sha384": "SHA-384", "sha512": "SHA-512"}

// HashName is the display name of a signature hash id.
func HashName(id string) string { return hashNames[id] }

var tlsDCV = []string{"email", "dns-txt-token", "dns-cname-token", "http-token"}

// MaxMultiDomainNames is the SAN limit of multi-domain products. The spec
// found 250 only on the DV pages; we use it for OV/EV multi-domain as well.
const MaxMultiDomainNames = 250

func secureSite(nameID, name, validation string, multi bool, wild Wildcards) Product {
	p := Product{
		NameID:            nameID,
		Name:              name,
		Type:              "ssl_certificate",
		GroupName:         "securesite_ssl_certificate",
		Family:            FamilyTLS,
		ValidationType:    validation,
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

var products = map[string]Product{}

func register(p Product) { products[p.NameID] = p }

func init() {
	register(secureSite("ssl_securesite", "Secure Site SSL", "ov", false, WildcardNone))
	register(secureSite("ssl_securesite_multi_domain", "Secure Site Multi-Domain SSL", "ov", true, WildcardNone))
	register(secureSite("ssl_securesite_wildcard", "Secure Site Wildcard SSL", "ov", false, WildcardRequired))
	register(secureSite("ssl_ev_securesite", "Secure Site EV SSL", "ev", false, WildcardNone))
	register(secureSite("ssl_ev_securesite_multi_domain", "Secure Site EV Multi-Domain SSL", "ev", true, WildcardNone))
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
}

// Platforms is our own server platform table. The spec found only part of
// CertCentral's glossary; ids seen there keep their names, and any other
// integer is accepted and echoed as "Other" (see PlatformByID).
var Platforms = []ServerPlatform{
	{ID: -1, Name: "Other"},
	{ID: 2, Name: "Apache"},
	{ID: 14, Name: "Microsoft IIS 5 or 6"},
	{ID: 31, Name: "nginx"},
	{ID: 40, Name: "Microsoft IIS 7"},
	{ID: 45, Name: "nginx"},
	{ID: 52, Name: "Code signing"},
	{ID: 55, Name: "Sun Java"},
	{ID: 67, Name: "Microsoft IIS 8"},
	{ID: 68, Name: "Microsoft Exchange Server 2013"},
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
