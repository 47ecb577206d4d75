package apitest

import (
	"crypto/elliptic"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/catalog"
	"github.com/certorder/certorder/internal/testenv"
)

// catProduct is the product member of order info.
type catProduct struct {
	ProductNameID string  `json:"product_name_id"`
	Price         float64 `json:"price"`
	Product       struct {
		NameID string `json:"name_id"`
		Name   string `json:"name"`
	} `json:"product"`
}

func catOrderProduct(t *testing.T, srv *testenv.Server, id int64) catProduct {
	t.Helper()
	_, raw := getOrder(t, srv, id)
	var p catProduct
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// catBody is an order for the given names that issues at once.
func catBody(csr, cn string, sans ...string) map[string]any {
	m := baseBody(csr)
	certOf(m)["common_name"] = cn
	if len(sans) > 0 {
		certOf(m)["dns_names"] = sans
	}
	m["skip_approval"] = true
	return m
}

// TestDeterminator: an order for "ssl" is an order for the product its
// names call for, recorded and shown as that product and charged at its
// price; names no single product carries are ambiguous_product.
func TestDeterminator(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	csr := testenv.CSR(t, testenv.ECKey(t, elliptic.P256()), "ignored")
	for _, tc := range []struct {
		name  string
		cn    string
		sans  []string
		want  string
		names []string // on the certificate
	}{
		{"one name and its www twin", "example.com", []string{"www.example.com"}, "ssl_plus", []string{"example.com", "www.example.com"}},
		{"one name", "shop.example.com", nil, "ssl_plus", []string{"shop.example.com"}},
		{"several names", "example.com", []string{"example.net", "www.example.com"}, "ssl_multi_domain",
			[]string{"example.com", "example.net", "www.example.com"}},
		{"a wildcard", "*.example.com", []string{"a.example.com"}, "ssl_wildcard", []string{"*.example.com", "a.example.com", "example.com"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := dvcsBalance(t, srv)
			got := createOK(t, srv, "ssl", mustJSON(t, catBody(csr, tc.cn, tc.sans...)))
			leaf := got.requireChain(t, tc.cn)[0]
			if !sortedEqual(leaf.DNSNames, tc.names) {
				t.Errorf("certificate names %v, want %v", leaf.DNSNames, tc.names)
			}
			o := catOrderProduct(t, srv, got.ID)
			if o.ProductNameID != tc.want || o.Product.NameID != tc.want || o.Product.Name == "SSL" {
				t.Errorf("order info shows %s (%q, product_name_id %s), want %s", o.Product.NameID, o.Product.Name, o.ProductNameID, tc.want)
			}
			if price := dvcsPrice(t, srv, tc.want); before-dvcsBalance(t, srv) != price || int64(o.Price*100+0.5) != price {
				t.Errorf("charged %d cents (order price %v), want %s's %d", before-dvcsBalance(t, srv), o.Price, tc.want, price)
			}
		})
	}
	t.Run("ambiguous", func(t *testing.T) {
		for _, names := range [][]string{
			{"example.com", "*.example.com"},   // the wildcard is not the common name
			{"*.example.com", "*.example.net"}, // two wildcards
			{"*.example.com", "example.net"},   // a name outside the wildcard
		} {
			status, hdr, body := srv.Do("POST", orderPath+"ssl", mustJSON(t, catBody(csr, names[0], names[1:]...)))
			requireErrors(t, status, hdr, body, http.StatusBadRequest, "ambiguous_product")
		}
	})
	t.Run("the chosen product's own rules", func(t *testing.T) {
		many := []string{}
		for i := range 250 {
			many = append(many, "n"+itoa(int64(i))+".example.com")
		}
		status, hdr, body := srv.Do("POST", orderPath+"ssl", mustJSON(t, catBody(csr, "example.com", many...)))
		requireErrors(t, status, hdr, body, http.StatusBadRequest, "invalid_value:dns_names") // ssl_multi_domain's 250
		status, hdr, body = srv.Do("POST", orderPath+"ssl", mustJSON(t, catBody(csr, "", "example.com")))
		requireErrors(t, status, hdr, body, http.StatusBadRequest, "missing_field:common_name")
	})
}

// TestPrivateSSL: Private SSL orders (seed 000's request, validity_years)
// issue from the private TLS intermediate, outside the public chain, under
// certorder's private TLS policy, for up to 396 days; an order cannot
// pick the public intermediate, nor a public product the private one.
func TestPrivateSSL(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	csr := testenv.CSR(t, testenv.ECKey(t, elliptic.P256()), "ignored")
	public := createOK(t, srv, "ssl_securesite", mustJSON(t, catBody(csr, "example.com"))).requireChain(t, "example.com")
	for _, tc := range []struct {
		product string
		cn      string
		sans    []string
		names   []string
	}{
		{"private_ssl_plus", "intranet.example.com", []string{"www.intranet.example.com"}, []string{"intranet.example.com", "www.intranet.example.com"}},
		{"private_ssl_multi_domain", "a.example.com", []string{"b.example.net"}, []string{"a.example.com", "b.example.net"}},
		{"private_ssl_wildcard", "*.corp.example.com", nil, []string{"*.corp.example.com", "corp.example.com"}},
	} {
		t.Run(tc.product, func(t *testing.T) {
			m := catBody(csr, tc.cn, tc.sans...)
			m["validity_years"] = 2
			chain := createOK(t, srv, tc.product, mustJSON(t, m)).requireChain(t, tc.cn)
			leaf, inter := chain[0], chain[1]
			if !sortedEqual(leaf.DNSNames, tc.names) {
				t.Errorf("names %v, want %v", leaf.DNSNames, tc.names)
			}
			if inter.Equal(public[1]) || !strings.Contains(inter.Subject.CommonName, "Private TLS") || !chain[2].Equal(public[2]) {
				t.Errorf("issued by %q under %q; want the private TLS intermediate under the root", inter.Subject.CommonName, chain[2].Subject.CommonName)
			}
			if err := fam2Verify(chain, x509.ExtKeyUsageServerAuth); err != nil {
				t.Errorf("chain: %v", err)
			}
			if pols := fam2Policies(leaf); len(pols) != 1 || strings.HasPrefix(pols[0], "2.23.140.") {
				t.Errorf("policies %v, want certorder's private TLS policy alone", pols)
			}
			if span := leaf.NotAfter.Sub(leaf.NotBefore) + time.Second; span != 396*24*time.Hour {
				t.Errorf("validity %v, want 396 days (a two-year order)", span)
			}
			if len(leaf.Subject.Organization) != 1 {
				t.Errorf("subject %v names no organization", leaf.Subject)
			}
		})
	}
	t.Run("ca_cert_id of the other hierarchy", func(t *testing.T) {
		// ca_cert_id is read only with issuing-CA selection on.
		sel := testenv.Start(t, testenv.Options{Sandbox: true, IssuingCASelection: true})
		pub := createOK(t, sel, "ssl_securesite", mustJSON(t, catBody(csr, "example.com"))).requireChain(t, "example.com")
		m := catBody(csr, "intranet.example.com")
		certOf(m)["ca_cert_id"] = strings.ToUpper(keyID(pub[1]))
		status, hdr, body := sel.Do("POST", orderPath+"private_ssl_plus", mustJSON(t, m))
		requireErrors(t, status, hdr, body, http.StatusBadRequest, "invalid_value:ca_cert_id")
	})
}

// keyID is an intermediate's ca_cert_id: the first 8 bytes of its
// subject key identifier in hex.
func keyID(c *x509.Certificate) string {
	const hexDigits = "0123456789abcdef"
	var b strings.Builder
	for _, x := range c.SubjectKeyId[:8] {
		b.WriteByte(hexDigits[x>>4])
		b.WriteByte(hexDigits[x&15])
	}
	return b.String()
}

// TestCatalogueFile: a server started with a catalogue file disables,
// renames, prices and aliases products as the file says, in GET /product,
// in orders and in what orders cost.
func TestCatalogueFile(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "catalog.txt")
	const text = `# what this operator sells
disable x9_pki
disable ssl_plus
name ssl_securesite Web Server Certificate (internal)
price ssl_securesite 12.34
alias web-server ssl_securesite
`
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	products, err := catalog.LoadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	srv := testenv.Start(t, testenv.Options{Sandbox: true, Catalog: products})
	csr := testenv.CSR(t, testenv.ECKey(t, elliptic.P256()), "ignored")

	status, _, body := srv.Do("GET", "/services/v2/product", "")
	var list struct {
		Products []struct {
			NameID string  `json:"name_id"`
			Name   string  `json:"name"`
			Price  float64 `json:"price"`
		} `json:"products"`
	}
	if status != http.StatusOK || json.Unmarshal(body, &list) != nil {
		t.Fatalf("GET /product: %d %s", status, clip(body))
	}
	var ids []string
	for _, p := range list.Products {
		ids = append(ids, p.NameID)
		if p.NameID == "ssl_securesite" && (p.Name != "Web Server Certificate (internal)" || p.Price != 12.34) {
			t.Errorf("ssl_securesite listed as %q at %v", p.Name, p.Price)
		}
	}
	if slices.Contains(ids, "x9_pki") || slices.Contains(ids, "ssl_plus") || slices.Contains(ids, "web-server") ||
		!slices.Contains(ids, "ssl_securesite") || len(ids) != len(catalog.All())-2 {
		t.Errorf("GET /product lists %v", ids)
	}

	// Disabled: neither described nor orderable, like any unknown product.
	for _, id := range []string{"x9_pki", "ssl_plus"} {
		status, hdr, body := srv.Do("GET", "/services/v2/product/"+id, "")
		requireErrors(t, status, hdr, body, http.StatusNotFound, "not_found|product")
		status, hdr, body = srv.Do("POST", orderPath+id, mustJSON(t, catBody(csr, "example.com")))
		requireErrors(t, status, hdr, body, http.StatusNotFound, "not_found|product")
	}
	// The determinator cannot choose the disabled ssl_plus either.
	status, hdr, body := srv.Do("POST", orderPath+"ssl", mustJSON(t, catBody(csr, "example.com")))
	requireErrors(t, status, hdr, body, http.StatusNotFound, "not_found|product")

	// The alias orders the renamed, repriced product.
	status, _, body = srv.Do("GET", "/services/v2/product/web-server", "")
	if status != http.StatusOK || !strings.Contains(string(body), `"name_id":"ssl_securesite"`) {
		t.Errorf("GET /product/web-server: %d %s", status, clip(body))
	}
	for _, id := range []string{"web-server", "ssl_securesite"} {
		before := dvcsBalance(t, srv)
		m := catBody(csr, "example.com")
		m["validity_years"] = 2
		got := createOK(t, srv, id, mustJSON(t, m))
		got.requireChain(t, "example.com")
		o := catOrderProduct(t, srv, got.ID)
		if o.ProductNameID != "ssl_securesite" || o.Product.Name != "Web Server Certificate (internal)" || o.Price != 24.68 {
			t.Errorf("ordered as %s: order info %+v, want ssl_securesite renamed at 2 × 12.34", id, o)
		}
		if spent := before - dvcsBalance(t, srv); spent != 2468 {
			t.Errorf("ordered as %s: charged %d cents, want 2468", id, spent)
		}
	}
}
