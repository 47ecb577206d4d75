package apitest

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/testenv"
)

// TestProductCatalogue: GET /product lists every product of the seeds, and
// each one's limits are the documented ones.
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
			ID string `json:"id"`
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
	got := map[string]product{}
	for _, p := range list.Products {
		got[p.NameID] = p
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
	} {
		t.Run(tc.nameID, func(t *testing.T) {
			p, ok := got[tc.nameID]
			if !ok {
				t.Fatalf("GET /product does not list %s", tc.nameID)
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
	if len(got) != 18 {
		t.Errorf("GET /product lists %d products, want the 18 of the seeds", len(got))
	}
}
