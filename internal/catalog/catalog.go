// Package catalog is the product catalogue as data: identifiers, groups,
// validation levels, name limits, hashes, validity choices, DCV methods and
// the certificate profile of each product the seeds and CertCentral's
// documentation name. Every layer reads it; no other package hard-codes a
// product's rules. The built-in catalogue (Default) can be shaped by an
// operator's catalogue file (file.go): products disabled, renamed,
// priced, and given aliases.
package catalog

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

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
	// PurposePrivateTLS: Private SSL, from an intermediate outside the
	// public TLS chain (internal/ca).
	PurposePrivateTLS = "private_tls"
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
	// Picks is set on a determinator (the "ssl" product): an order for it
	// becomes an order for the product its names call for (Determine).
	Picks *Picks
	// ReplacedBy names the product CertCentral now sells instead of this
	// one; it is still ordered, for clients written against it, and the
	// sandbox's conformance report points the replacement out.
	ReplacedBy string
}

// Picks names the products a determinator chooses between.
type Picks struct {
	Single   string // one name, or one name and its www twin
	Multi    string // several names, none a wildcard
	Wildcard string // a wildcard common name and names under its base domain
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

// privateSSL is a Private SSL product: Secure Site's request rules (seed
// 000: validity_years, custom_expiration_date, OV organization, DCV) and
// its name limits, issued from the private TLS intermediate with
// certorder's private TLS policy instead of a CA/Browser Forum one.
func privateSSL(nameID, name string, multi bool, wild Wildcards, price int64) Product {
	p := secureSite(nameID, name, "ov", multi, wild, price)
	p.GroupName, p.Profile, p.Purpose = "private_ssl_certificate", "private_tls", PurposePrivateTLS
	p.ValidationDescription = "Private SSL (not publicly trusted)"
	return p
}

// plan moves a seed-000 style product to the multi-year plan model that
// CertCentral documents for its current OV and EV products
// (order_validity 1–3 years; the deprecated top-level validity fields are
// still read).
func plan(p Product, group string) Product {
	p.GroupName = group
	p.OrderValidity, p.MaxOrderDays, p.MaxCustomDays = true, 1095, 0
	p.ValidityYears = []int{1, 2, 3}
	return p
}

// builtin is every product certorder knows, the seeds' and those
// CertCentral documents besides. Each borrows the rules of the seed
// product it shares them with (docs/decisions.md, "The catalogue").
func builtin() []Product {
	var ps []Product
	add := func(p Product) { ps = append(ps, p) }

	// Seed 000: Secure Site.
	add(secureSite("ssl_securesite", "Secure Site SSL", "ov", false, WildcardNone, 39900))
	add(secureSite("ssl_securesite_multi_domain", "Secure Site Multi-Domain SSL", "ov", true, WildcardNone, 59900))
	add(secureSite("ssl_securesite_wildcard", "Secure Site Wildcard SSL", "ov", false, WildcardRequired, 129900))
	add(secureSite("ssl_ev_securesite", "Secure Site EV SSL", "ev", false, WildcardNone, 99500))
	add(secureSite("ssl_ev_securesite_multi_domain", "Secure Site EV Multi-Domain SSL", "ev", true, WildcardNone, 129500))

	// Basic OV and EV ("Order OV/EV SSL"): the Secure Site rules, group
	// ssl_certificate, multi-year plans.
	const basic = "ssl_certificate"
	// CertCentral's Basic EV page says it replaces EV SSL and EV
	// Multi-Domain SSL; Basic OV takes the place of the OV three the same
	// way [infer] (docs/decisions.md, "Client conformance report").
	replaced := func(p Product, by string) Product { p.ReplacedBy = by; return p }
	add(replaced(plan(secureSite("ssl_plus", "Standard SSL", "ov", false, WildcardNone, 17500), basic), "ssl_basic"))
	add(replaced(plan(secureSite("ssl_multi_domain", "Multi-Domain SSL", "ov", true, WildcardNone, 29900), basic), "ssl_basic"))
	add(replaced(plan(secureSite("ssl_wildcard", "Wildcard SSL", "ov", false, WildcardRequired, 59500), basic), "ssl_basic"))
	add(replaced(plan(secureSite("ssl_ev_plus", "EV SSL", "ev", false, WildcardNone, 29500), basic), "ssl_ev_basic"))
	add(replaced(plan(secureSite("ssl_ev_multi_domain", "EV Multi-Domain SSL", "ev", true, WildcardNone, 49900), basic), "ssl_ev_basic"))
	// Cloud SSL: several names, each may be a wildcard (GeoTrust Cloud
	// DV's rule, with an organization).
	add(plan(secureSite("ssl_cloud_wildcard", "Cloud SSL", "ov", true, WildcardAllowed, 69500), basic))
	// The flex products: any mix of names, wildcards anywhere on OV; EV
	// never takes wildcards.
	add(plan(secureSite("ssl_basic", "Basic OV", "ov", true, WildcardAllowed, 17500), basic))
	add(plan(secureSite("ssl_ev_basic", "Basic EV", "ev", true, WildcardNone, 29500), basic))
	// The determinator: single, multi-domain or wildcard by the names.
	det := plan(secureSite("ssl", "SSL", "ov", true, WildcardAllowed, 17500), basic)
	det.Picks = &Picks{Single: "ssl_plus", Multi: "ssl_multi_domain", Wildcard: "ssl_wildcard"}
	add(det)

	// Secure Site flex and Secure Site Pro: flex rules, Secure Site group.
	const securesite = "securesite_ssl_certificate"
	add(plan(secureSite("ssl_securesite_flex", "Secure Site OV", "ov", true, WildcardAllowed, 39900), securesite))
	add(plan(secureSite("ssl_ev_securesite_flex", "Secure Site EV", "ev", true, WildcardNone, 99500), securesite))
	add(plan(secureSite("ssl_securesite_pro", "Secure Site Pro SSL", "ov", true, WildcardAllowed, 99500), securesite))
	add(plan(secureSite("ssl_ev_securesite_pro", "Secure Site Pro EV SSL", "ev", true, WildcardNone, 139500), securesite))

	// Private SSL.
	add(privateSSL("private_ssl_plus", "Private SSL", false, WildcardNone, 9900))
	add(privateSSL("private_ssl_multi_domain", "Private SSL Multi-Domain", true, WildcardNone, 19900))
	add(privateSSL("private_ssl_wildcard", "Private SSL Wildcard", false, WildcardRequired, 29900))

	// Seed 001: DV, and GeoTrust DV SSL (flex), which takes any mix of
	// names as Cloud DV does.
	add(dv("ssl_dv_geotrust", "GeoTrust Standard DV SSL", MaxMultiDomainNames, WildcardNone, 14900))
	add(dv("ssl_dv_rapidssl", "RapidSSL Standard DV SSL", 2, WildcardNone, 5900))
	add(dv("wildcard_dv_geotrust", "GeoTrust Wildcard DV SSL", MaxMultiDomainNames, WildcardCovered, 39900))
	add(dv("wildcard_dv_rapidssl", "RapidSSL Wildcard DV SSL", 2, WildcardRequired, 19900))
	add(dv("cloud_dv_geotrust", "GeoTrust Cloud DV", MaxMultiDomainNames, WildcardAllowed, 24900))
	add(dv("ssl_dv_geotrust_flex", "GeoTrust DV SSL", MaxMultiDomainNames, WildcardAllowed, 14900))

	// Seed 002.
	add(codeSigning("code_signing", "Code Signing", false, 47400))
	add(codeSigning("code_signing_ev", "EV Code Signing", true, 69900))

	// Seed 003; client_premium_sha2 is Premium's SHA-2 identifier.
	add(client("client_premium", "Premium", "smime_sponsor_multipurpose", "ov", 9900))
	add(client("client_premium_sha2", "Premium SHA-2", "smime_sponsor_multipurpose", "ov", 9900))
	dsp := client("client_digital_signature_plus", "Digital Signature Plus", "smime_sponsor", "ov", 7900)
	dsp.SigningOnly = true
	add(dsp)
	add(client("client_authentication_plus", "Authentication Plus", "client_auth", "ov", 5900))
	add(client("client_email_security_plus", "Email Security Plus", "smime_sponsor", "ov", 5900))
	add(client("class1_smime", "Class 1 S/MIME Certificate", "smime_mailbox", "", 2900))

	// Seed 004.
	add(Product{
		NameID: "x9_pki", Name: "X9 PKI for TLS", Type: "ssl_certificate", GroupName: "x9_pki_certificate",
		Family: FamilyX9, ValidationType: "ov", ValidationName: "OV", ValidationDescription: "Normal Organization Validation",
		OrgValidation: "ov", Profile: "x9_tls", Purpose: PurposeX9,
		MaxNames: MaxMultiDomainNames, MultiDomain: true, IPAddresses: true,
		HashTypes: []string{"sha256", "sha384", "sha512"}, DefaultHash: "sha256",
		ValidityYears: []int{1}, OrderValidity: true, MaxOrderDays: 397,
		CSRRequired: true, DuplicatesAllowed: true, DCVMethods: tlsDCV, PriceCents: 49900,
	})
	return ps
}

// Catalog is a set of orderable products: the built-in ones as an
// operator's catalogue file shaped them. A Catalog never changes once
// made, so every request of a process reads the same one without locks.
type Catalog struct {
	products map[string]Product // every built-in product by name_id, disabled ones too
	disabled map[string]bool
	aliases  map[string]string // alias → name_id of the product it orders
}

func newCatalog() *Catalog {
	c := &Catalog{products: map[string]Product{}, disabled: map[string]bool{}, aliases: map[string]string{}}
	for _, p := range builtin() {
		c.products[p.NameID] = p
	}
	return c
}

var defaultCatalog = newCatalog()

// Default is the built-in catalogue: every product enabled, list prices,
// no aliases.
func Default() *Catalog { return defaultCatalog }

// Lookup finds a product by its name_id, disabled or not: orders placed
// before a product was disabled keep their product. Aliases are not
// name_ids; orders record the product an alias stands for.
func (c *Catalog) Lookup(nameID string) (Product, bool) {
	p, ok := c.products[nameID]
	return p, ok
}

// Orderable finds the product an order path or GET /product/{name_id}
// names: a product's name_id or an alias, never a disabled product.
func (c *Catalog) Orderable(nameID string) (Product, bool) {
	if target, ok := c.aliases[nameID]; ok {
		nameID = target
	}
	p, ok := c.products[nameID]
	if !ok || c.disabled[nameID] {
		return Product{}, false
	}
	return p, true
}

// All lists the enabled products, sorted by name_id for stable output.
func (c *Catalog) All() []Product {
	out := make([]Product, 0, len(c.products))
	for id, p := range c.products {
		if !c.disabled[id] {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].NameID < out[j].NameID })
	return out
}

// Aliases are the alias → name_id pairs of the catalogue.
func (c *Catalog) Aliases() map[string]string {
	out := make(map[string]string, len(c.aliases))
	for a, id := range c.aliases {
		out[a] = id
	}
	return out
}

// ErrNotOrderable: the name is no product of the catalogue, or names a
// disabled one.
var ErrNotOrderable = errors.New("catalog: no such product, or it is disabled")

// AmbiguousError: a determinator found names that none of its products
// can carry.
type AmbiguousError struct{ Reason string }

func (e *AmbiguousError) Error() string { return "catalog: ambiguous product: " + e.Reason }

// ForOrder is the product an order placed under nameID is for: the
// product itself or the one an alias names, and for a determinator the
// product its names call for (Determine). An error wraps ErrNotOrderable
// (naming the product that is missing) or is an *AmbiguousError.
func (c *Catalog) ForOrder(nameID, commonName string, dnsNames []string) (Product, error) {
	p, ok := c.Orderable(nameID)
	if !ok {
		return Product{}, fmt.Errorf("%w: %q", ErrNotOrderable, nameID)
	}
	if p.Picks == nil {
		return p, nil
	}
	target, err := Determine(*p.Picks, commonName, dnsNames)
	if err != nil {
		return Product{}, err
	}
	t, ok := c.Orderable(target)
	if !ok {
		return Product{}, fmt.Errorf("%w: %q, which %s chose for these names", ErrNotOrderable, target, nameID)
	}
	return t, nil
}

// Determine picks a determinator's product from the order's names, the
// way a person reading them would: any wildcard makes a wildcard
// certificate, one name (with or without its www twin) a single-name one,
// anything else a multi-domain one. Names a wildcard certificate cannot
// carry beside a wildcard (a second wildcard, a wildcard that is not the
// common name, a name outside the wildcard's base domain) fit no product:
// the multi-domain product takes no wildcards. Names are compared as
// sent, lower-cased; the chosen product's own rules then check them.
func Determine(pk Picks, commonName string, dnsNames []string) (string, error) {
	norm := func(n string) string { return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(n)), ".") }
	cn := norm(commonName)
	var others []string
	seen := map[string]bool{cn: true}
	wild := strings.HasPrefix(cn, "*.")
	for _, raw := range dnsNames {
		n := norm(raw)
		if n == "" || seen[n] {
			continue
		}
		seen[n] = true
		others = append(others, n)
		wild = wild || strings.HasPrefix(n, "*.")
	}
	if wild {
		if !strings.HasPrefix(cn, "*.") {
			return "", &AmbiguousError{"a wildcard certificate's common name must be its wildcard, and a multi-domain certificate takes no wildcards"}
		}
		base := cn[2:]
		for _, n := range others {
			switch {
			case strings.HasPrefix(n, "*."):
				return "", &AmbiguousError{fmt.Sprintf("%s and %s are two wildcards; no product of this determinator carries both", cn, n)}
			case n != base && !strings.HasSuffix(n, "."+base):
				return "", &AmbiguousError{fmt.Sprintf("%s is outside %s, and a multi-domain certificate takes no wildcards", n, cn)}
			}
		}
		return pk.Wildcard, nil
	}
	twin := "www." + cn
	if strings.HasPrefix(cn, "www.") {
		twin = cn[4:]
	}
	if len(others) == 0 || len(others) == 1 && others[0] == twin {
		return pk.Single, nil
	}
	return pk.Multi, nil
}

// Lookup finds a product of the built-in catalogue by its name_id; the
// rules of a product (all that packages without the process's catalogue
// read) are the same in every catalogue.
func Lookup(nameID string) (Product, bool) { return defaultCatalog.Lookup(nameID) }

// All lists the products of the built-in catalogue.
func All() []Product { return defaultCatalog.All() }

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
