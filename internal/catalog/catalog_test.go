package catalog

import (
	"errors"
	"slices"
	"testing"

	"github.com/certorder/certorder/internal/ca"
)

// TestProductsConsistent: every product's profile exists and issues from
// the purpose the product names, its limits agree with one another, and
// a determinator's products are products of the same kind.
func TestProductsConsistent(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range builtin() {
		t.Run(p.NameID, func(t *testing.T) {
			if seen[p.NameID] {
				t.Fatal("name_id appears twice")
			}
			seen[p.NameID] = true
			if got := ca.PurposeOf(ca.Profile(p.Profile)); got == "" || string(got) != p.Purpose {
				t.Errorf("profile %q issues from %q, the product names purpose %q", p.Profile, got, p.Purpose)
			}
			if p.Name == "" || p.Type == "" || p.GroupName == "" || p.PriceCents <= 0 || len(p.ValidityYears) == 0 {
				t.Errorf("incomplete: %+v", p)
			}
			if !slices.Contains(p.HashTypes, p.DefaultHash) {
				t.Errorf("default hash %q not among %v", p.DefaultHash, p.HashTypes)
			}
			if p.OrderValidity != (p.MaxOrderDays > 0) || !p.OrderValidity && p.MaxCustomDays == 0 {
				t.Errorf("validity model: order_validity %v, %d order days, %d custom days", p.OrderValidity, p.MaxOrderDays, p.MaxCustomDays)
			}
			names := p.Family == FamilyTLS || p.Family == FamilyDV || p.Family == FamilyX9
			if names != (p.MaxNames > 0) || names != (len(p.DCVMethods) > 0) {
				t.Errorf("family %s with %d names and DCV methods %v", p.Family, p.MaxNames, p.DCVMethods)
			}
			if p.ValidationType == "ev" && p.Wildcards != WildcardNone {
				t.Error("an EV product takes wildcards (EV Guidelines 9.2.2 forbid them)")
			}
			if p.ReplacedBy != "" {
				// A replacement is a product of the same validation that
				// is itself current.
				q, ok := Lookup(p.ReplacedBy)
				if !ok || q.ReplacedBy != "" || q.ValidationType != p.ValidationType || q.Family != p.Family {
					t.Errorf("replaced by %q, which is no current product of its kind", p.ReplacedBy)
				}
			}
			if p.Picks != nil {
				for _, id := range []string{p.Picks.Single, p.Picks.Multi, p.Picks.Wildcard} {
					q, ok := Lookup(id)
					switch {
					case !ok:
						t.Errorf("determinator picks unknown %q", id)
					case q.Family != p.Family || q.Profile != p.Profile || q.Picks != nil:
						t.Errorf("determinator picks %s, a product of another kind", id)
					}
				}
			}
		})
	}
}

// TestDetermine: the ssl determinator's choice for each shape of names.
func TestDetermine(t *testing.T) {
	pk := Picks{Single: "single", Multi: "multi", Wildcard: "wild"}
	for _, tc := range []struct {
		name string
		cn   string
		sans []string
		want string // "" for ambiguous
	}{
		{"one name", "example.com", nil, "single"},
		{"no names: the single product reports the missing common name", "", nil, "single"},
		{"www twin", "example.com", []string{"www.example.com"}, "single"},
		{"bare twin of a www name", "www.example.com", []string{"example.com"}, "single"},
		{"common name repeated, case and dot ignored", "Example.COM.", []string{"example.com", " ", "WWW.example.com"}, "single"},
		{"two names", "example.com", []string{"example.net"}, "multi"},
		{"twin and another", "example.com", []string{"www.example.com", "mail.example.com"}, "multi"},
		{"subdomain is no twin", "example.com", []string{"api.example.com"}, "multi"},
		{"wildcard", "*.example.com", nil, "wild"},
		{"wildcard with base and names under it", "*.example.com", []string{"example.com", "a.b.example.com"}, "wild"},
		{"wildcard in the SANs only", "example.com", []string{"*.example.com"}, ""},
		{"two wildcards", "*.example.com", []string{"*.example.net"}, ""},
		{"wildcard and a foreign name", "*.example.com", []string{"example.net"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Determine(pk, tc.cn, tc.sans)
			var amb *AmbiguousError
			switch {
			case tc.want == "" && !errors.As(err, &amb):
				t.Errorf("Determine = %q, %v; want an AmbiguousError", got, err)
			case tc.want != "" && (err != nil || got != tc.want):
				t.Errorf("Determine = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// TestForOrder: aliases and the determinator resolve to the product an
// order records; disabled products and their aliases do not.
func TestForOrder(t *testing.T) {
	c := newCatalog()
	c.aliases["web"] = "ssl_securesite"
	c.disabled["ssl_wildcard"] = true
	for _, tc := range []struct {
		id, cn string
		sans   []string
		want   string // "" for ErrNotOrderable
	}{
		{"ssl_securesite", "example.com", nil, "ssl_securesite"},
		{"web", "example.com", nil, "ssl_securesite"},
		{"ssl", "example.com", []string{"www.example.com"}, "ssl_plus"},
		{"ssl", "example.com", []string{"example.net"}, "ssl_multi_domain"},
		{"ssl", "*.example.com", nil, ""}, // picks the disabled ssl_wildcard
		{"ssl_wildcard", "*.example.com", nil, ""},
		{"nope", "example.com", nil, ""},
	} {
		p, err := c.ForOrder(tc.id, tc.cn, tc.sans)
		switch {
		case tc.want == "" && !errors.Is(err, ErrNotOrderable):
			t.Errorf("ForOrder(%s, %s) = %q, %v; want ErrNotOrderable", tc.id, tc.cn, p.NameID, err)
		case tc.want != "" && (err != nil || p.NameID != tc.want):
			t.Errorf("ForOrder(%s, %s) = %q, %v; want %s", tc.id, tc.cn, p.NameID, err, tc.want)
		}
	}
}
