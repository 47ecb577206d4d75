package apitest

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/catalog"
	"github.com/certorder/certorder/internal/testenv"
)

// TestProductCatalogue: GET /product lists every product of the
// catalogue, the seeds' and those CertCentral documents besides, each
// with the limits of the seed product whose rules it shares; GET
// /product/{name_id} answers each with the same.
func TestProductCatalogue(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	status, hdr, body := srv.Do("GET", "/services/v2/product", "")
	if status != http.StatusOK {
		t.Fatalf("GET /product: %d %s", status, clip(body))
	}
	requireJSON(t, hdr)
	type product struct {
		NameID       string   `json:"name_id"`
		Name         string   `json:"name"`
		Validation   string   `json:"validation_type"`
		AddlNames    bool     `json:"additional_dns_names_allowed"`
		GroupName    string   `json:"group_name"`
		MaxNames     int      `json:"max_dns_names"`
		Wildcard     bool     `json:"wildcard_allowed"`
		CSRRequired  bool     `json:"csr_required"`
		OrderDays    int      `json:"max_order_validity_days"`
		CertDays     int      `json:"max_certificate_validity_days"`
		IPs          bool     `json:"ip_addresses_allowed"`
		DCVMethods   []string `json:"allowed_dcv_methods"`
		OrderYears   []int    `json:"allowed_order_validity_years"`
		Price        float64  `json:"price"`
		AllowedCerts []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"allowed_ca_certs"`
		Hashes struct {
			Allowed []struct {
				ID string `json:"id"`
			} `json:"allowed_hash_types"`
		} `json:"signature_hash_types"`
	}
	var list struct {
		Products []product `json:"products"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatalf("decode: %v", err)
	}
	got, listed := map[string]product{}, map[string]product{}
	for _, p := range list.Products {
		got[p.NameID], listed[p.NameID] = p, p
	}

	// TLS certificates end one day under the CA/Browser Forum limit in force
	// (200 days from 2026-03-15, 100 from 2027-03-15, 47 from 2029-03-15).
	tls := 199
	switch now := time.Now().UTC(); {
	case !now.Before(time.Date(2029, 3, 15, 0, 0, 0, 0, time.UTC)):
		tls = 46
	case !now.Before(time.Date(2027, 3, 15, 0, 0, 0, 0, time.UTC)):
		tls = 99
	}
	dcv := []string{"email", "dns-txt-token", "dns-cname-token", "http-token"}
	for _, tc := range []struct {
		nameID, group string
		names         int // max_dns_names; 0 for products without DNS names
		wildcard, ips bool
		csr           bool
		orderDays     int // 0: the product has no order_validity plan
		certDays      int
		years         []int
		hashes        int
		issuers       int
		dcv           bool
	}{
		{"ssl_securesite", "securesite_ssl_certificate", 2, false, false, true, 0, tls, []int{1, 2}, 3, 1, true},
		{"ssl_securesite_multi_domain", "securesite_ssl_certificate", 250, false, false, true, 0, tls, []int{1, 2}, 3, 1, true},
		{"ssl_securesite_wildcard", "securesite_ssl_certificate", 250, true, false, true, 0, tls, []int{1, 2}, 3, 1, true},
		{"ssl_ev_securesite", "securesite_ssl_certificate", 2, false, false, true, 0, tls, []int{1, 2}, 3, 1, true},
		{"ssl_ev_securesite_multi_domain", "securesite_ssl_certificate", 250, false, false, true, 0, tls, []int{1, 2}, 3, 1, true},
		{"ssl_dv_geotrust", "dv_ssl_certificate", 250, false, false, true, 1095, tls, []int{1, 2, 3}, 1, 1, true},
		{"ssl_dv_rapidssl", "dv_ssl_certificate", 2, false, false, true, 1095, tls, []int{1, 2, 3}, 1, 1, true},
		{"wildcard_dv_geotrust", "dv_ssl_certificate", 250, true, false, true, 1095, tls, []int{1, 2, 3}, 1, 1, true},
		{"wildcard_dv_rapidssl", "dv_ssl_certificate", 2, true, false, true, 1095, tls, []int{1, 2, 3}, 1, 1, true},
		{"cloud_dv_geotrust", "dv_ssl_certificate", 250, true, false, true, 1095, tls, []int{1, 2, 3}, 1, 1, true},
		{"code_signing", "code_signing_certificate", 0, false, false, false, 1095, 459, []int{1, 2, 3}, 1, 1, false},
		{"code_signing_ev", "code_signing_certificate", 0, false, false, false, 1095, 459, []int{1, 2, 3}, 1, 1, false},
		{"client_premium", "client_certificate", 0, false, false, false, 0, 824, []int{1, 2}, 1, 1, false},
		{"client_digital_signature_plus", "client_certificate", 0, false, false, false, 0, 824, []int{1, 2}, 1, 1, false},
		{"client_authentication_plus", "client_certificate", 0, false, false, false, 0, 824, []int{1, 2}, 1, 1, false},
		{"client_email_security_plus", "client_certificate", 0, false, false, false, 0, 824, []int{1, 2}, 1, 1, false},
		{"class1_smime", "client_certificate", 0, false, false, false, 0, 824, []int{1, 2}, 1, 1, false},
		{"x9_pki", "x9_pki_certificate", 250, false, true, true, 397, 396, []int{1}, 3, 2, true},

		// CertCentral's other products, on the rules of the seed product
		// each shares them with (docs/decisions.md, "The catalogue").
		{"ssl_plus", "ssl_certificate", 2, false, false, true, 1095, tls, []int{1, 2, 3}, 3, 1, true},
		{"ssl_multi_domain", "ssl_certificate", 250, false, false, true, 1095, tls, []int{1, 2, 3}, 3, 1, true},
		{"ssl_wildcard", "ssl_certificate", 250, true, false, true, 1095, tls, []int{1, 2, 3}, 3, 1, true},
		{"ssl_ev_plus", "ssl_certificate", 2, false, false, true, 1095, tls, []int{1, 2, 3}, 3, 1, true},
		{"ssl_ev_multi_domain", "ssl_certificate", 250, false, false, true, 1095, tls, []int{1, 2, 3}, 3, 1, true},
		{"ssl_cloud_wildcard", "ssl_certificate", 250, true, false, true, 1095, tls, []int{1, 2, 3}, 3, 1, true},
		{"ssl_basic", "ssl_certificate", 250, true, false, true, 1095, tls, []int{1, 2, 3}, 3, 1, true},
		{"ssl_ev_basic", "ssl_certificate", 250, false, false, true, 1095, tls, []int{1, 2, 3}, 3, 1, true},
		{"ssl", "ssl_certificate", 250, true, false, true, 1095, tls, []int{1, 2, 3}, 3, 1, true},
		{"ssl_securesite_flex", "securesite_ssl_certificate", 250, true, false, true, 1095, tls, []int{1, 2, 3}, 3, 1, true},
		{"ssl_ev_securesite_flex", "securesite_ssl_certificate", 250, false, false, true, 1095, tls, []int{1, 2, 3}, 3, 1, true},
		{"ssl_securesite_pro", "securesite_ssl_certificate", 250, true, false, true, 1095, tls, []int{1, 2, 3}, 3, 1, true},
		{"ssl_ev_securesite_pro", "securesite_ssl_certificate", 250, false, false, true, 1095, tls, []int{1, 2, 3}, 3, 1, true},
		// Private SSL: not publicly trusted, so 396-day certificates.
		{"private_ssl_plus", "private_ssl_certificate", 2, false, false, true, 0, 396, []int{1, 2}, 3, 1, true},
		{"private_ssl_multi_domain", "private_ssl_certificate", 250, false, false, true, 0, 396, []int{1, 2}, 3, 1, true},
		{"private_ssl_wildcard", "private_ssl_certificate", 250, true, false, true, 0, 396, []int{1, 2}, 3, 1, true},
		{"ssl_dv_geotrust_flex", "dv_ssl_certificate", 250, true, false, true, 1095, tls, []int{1, 2, 3}, 1, 1, true},
		{"client_premium_sha2", "client_certificate", 0, false, false, false, 0, 824, []int{1, 2}, 1, 1, false},
	} {
		delete(got, tc.nameID) // what remains at the end has no row
		p, ok := listed[tc.nameID]
		t.Run(tc.nameID, func(t *testing.T) {
			if !ok {
				t.Fatalf("GET /product does not list %s", tc.nameID)
			}
			if p.Name == "" || p.Validation == "" || p.AddlNames != (tc.names > 2 || tc.wildcard) {
				t.Errorf("name %q validation_type %q additional_dns_names_allowed %v", p.Name, p.Validation, p.AddlNames)
			}
			// GET /product/{name_id} tells the same, with more.
			status, hdr, body := srv.Do("GET", "/services/v2/product/"+tc.nameID, "")
			if status != http.StatusOK {
				t.Fatalf("GET /product/%s: %d %s", tc.nameID, status, clip(body))
			}
			requireJSON(t, hdr)
			var one product
			if err := json.Unmarshal(body, &one); err != nil {
				t.Fatal(err)
			}
			if one.NameID != p.NameID || one.Name != p.Name || one.MaxNames != p.MaxNames || one.Wildcard != p.Wildcard ||
				one.CertDays != p.CertDays || one.OrderDays != p.OrderDays || one.Price != p.Price ||
				!slices.Equal(one.OrderYears, p.OrderYears) || !slices.Equal(one.DCVMethods, p.DCVMethods) {
				t.Errorf("GET /product/%s = %+v, GET /product listed %+v", tc.nameID, one, p)
			}
			if p.GroupName != tc.group || p.Wildcard != tc.wildcard || p.IPs != tc.ips || p.CSRRequired != tc.csr {
				t.Errorf("group %q wildcard %v ips %v csr_required %v; want %q %v %v %v",
					p.GroupName, p.Wildcard, p.IPs, p.CSRRequired, tc.group, tc.wildcard, tc.ips, tc.csr)
			}
			if tc.names != 0 && p.MaxNames != tc.names {
				t.Errorf("max_dns_names = %d, want %d", p.MaxNames, tc.names)
			}
			if p.OrderDays != tc.orderDays || p.CertDays != tc.certDays {
				t.Errorf("max order / certificate validity days %d / %d, want %d / %d", p.OrderDays, p.CertDays, tc.orderDays, tc.certDays)
			}
			if !slices.Equal(p.OrderYears, tc.years) {
				t.Errorf("allowed_order_validity_years = %v, want %v", p.OrderYears, tc.years)
			}
			if len(p.Hashes.Allowed) != tc.hashes || p.Hashes.Allowed[0].ID != "sha256" {
				t.Errorf("allowed_hash_types = %+v, want %d starting with sha256", p.Hashes.Allowed, tc.hashes)
			}
			if len(p.AllowedCerts) != tc.issuers {
				t.Errorf("allowed_ca_certs = %+v, want %d", p.AllowedCerts, tc.issuers)
			}
			if tc.dcv != slices.Equal(p.DCVMethods, dcv) {
				t.Errorf("allowed_dcv_methods = %v, want DCV methods: %v", p.DCVMethods, tc.dcv)
			}
			if p.Price <= 0 {
				t.Errorf("price = %v, want a list price", p.Price)
			}
		})
	}
	for id := range got {
		t.Errorf("GET /product lists %s, which this test does not know", id)
	}
	if len(listed) != len(catalog.All()) {
		t.Errorf("GET /product lists %d products, the catalogue holds %d", len(listed), len(catalog.All()))
	}
	// Private SSL issues from its own intermediate, never the public one.
	public, private := listed["ssl_securesite"].AllowedCerts, listed["private_ssl_plus"].AllowedCerts
	if len(public) != 1 || len(private) != 1 || public[0].ID == private[0].ID || !strings.Contains(private[0].Name, "Private TLS") {
		t.Errorf("allowed_ca_certs: public %+v, private %+v; want distinct intermediates, the private one named so", public, private)
	}
	status, hdr, body = srv.Do("GET", "/services/v2/product/ssl_nope", "")
	requireErrors(t, status, hdr, body, http.StatusNotFound, "not_found|product")
}
