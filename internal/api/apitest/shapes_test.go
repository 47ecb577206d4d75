package apitest

import (
	"bytes"
	"crypto/elliptic"
	"crypto/sha1"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/testenv"
)

// Request shapes that public CertCentral clients send, each exactly as the
// client sends it, against a real server.

// shpOrder is the part of order info these tests read.
type shpOrder struct {
	Status               string `json:"status"`
	OrderValidTill       string `json:"order_valid_till"`
	CustomExpirationDate string `json:"custom_expiration_date"`
	ValidityYears        int    `json:"validity_years"`
	Certificate          struct {
		ID     int64 `json:"id"`
		CACert *struct {
			ID string `json:"id"`
		} `json:"ca_cert"`
	} `json:"certificate"`
}

func shpGetOrder(t *testing.T, srv *testenv.Server, id int64) shpOrder {
	t.Helper()
	_, raw := getOrder(t, srv, id)
	var o shpOrder
	if err := json.Unmarshal(raw, &o); err != nil {
		t.Fatalf("order %d: %v", id, err)
	}
	return o
}

// shpSAPBody is what sapcc/go-certcentral (used by sapcc/digicert-issuer)
// marshals for a Secure Site order: its Order and Certificate structs,
// with order_validity instead of validity_years.
func shpSAPBody(csr string, validity map[string]any) map[string]any {
	return map[string]any{
		"certificate": map[string]any{
			"common_name":     "example.com",
			"dns_names":       []any{"www.example.com"},
			"csr":             csr,
			"server_platform": map[string]any{"id": -1},
			"signature_hash":  "sha256",
		},
		"organization":   map[string]any{"id": 1},
		"order_validity": validity,
		"payment_method": "balance",
		"skip_approval":  true,
	}
}

// shpTerraformBody is the order of a Terraform provider (myklst's
// st-digicert): the product's name in certificate.ca_cert_id, its own
// response fields (certificate_id, certificate_chain, errors) sent back as
// zero values, order_validity in days, and no skip_approval.
func shpTerraformBody(csr, product string) map[string]any {
	return map[string]any{
		"certificate": map[string]any{
			"certificate_id":    0,
			"organization":      map[string]any{"id": 0},
			"common_name":       "example.com",
			"dns_names":         []any{"www.example.com"},
			"csr":               csr,
			"signature_hash":    "sha256",
			"ca_cert_id":        product,
			"certificate_chain": nil,
			"errors":            nil,
		},
		"organization":        map[string]any{"id": 1},
		"order_validity":      map[string]any{"days": 90},
		"payment_method":      "balance",
		"renewal_of_order_id": 0,
		"dcv_method":          "dns-txt-token",
	}
}

// shpKeyfactorBody is the Keyfactor AnyCA gateway's OrderRequest: the
// organization id as a string, validity_years 0 beside a .NET DateTime
// (seven-digit fraction, offset) in custom_expiration_date, and its nulls.
func shpKeyfactorBody(csr, end string) map[string]any {
	return map[string]any{
		"certificate": map[string]any{
			"common_name":        "example.com",
			"dns_names":          []any{"example.com", "www.example.com"},
			"emails":             nil,
			"csr":                csr,
			"organization_units": nil,
			"server_platform":    map[string]any{"id": "-1"},
			"signature_hash":     "sha256",
			"ca_cert_id":         nil,
			"profile_option":     nil,
		},
		"organization":                  map[string]any{"id": "1"},
		"validity_years":                0,
		"custom_expiration_date":        end,
		"comments":                      nil,
		"disable_renewal_notifications": false,
		"renewal_of_order_id":           0,
		"dcv_method":                    nil,
		"container":                     nil,
		"custom_fields":                 nil,
		"skip_approval":                 true,
	}
}

// TestShapeValidityForms: Secure Site OV and EV take order_validity (years
// or days) as SAP's clients and a Terraform provider send it, and a full
// ISO 8601 date-time in custom_expiration_date as Keyfactor sends it; the
// order ends when asked and its certificate is lint clean.
func TestShapeValidityForms(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	_, csr := lcKey(t)
	in := func(days int) string { return dayFromToday(days) }
	for _, tc := range []struct {
		name, product string
		body          map[string]any
		till          string
		pending       bool // no skip_approval: a pending request, no certificate yet
	}{
		{name: "sapcc/go-certcentral years", product: "ssl_securesite", body: shpSAPBody(csr, map[string]any{"years": 1}),
			till: fam2Day(dvcsToday().AddDate(1, 0, 0))},
		{name: "sapcc/go-certcentral years on EV", product: "ssl_ev_securesite", body: shpSAPBody(csr, map[string]any{"years": 2}),
			till: fam2Day(dvcsToday().AddDate(2, 0, 0))},
		{name: "sapcc/go-certcentral days", product: "ssl_securesite_multi_domain", body: shpSAPBody(csr, map[string]any{"days": 120}),
			till: in(120)},
		{name: "Terraform provider", product: "ssl_securesite", body: shpTerraformBody(csr, "ssl_securesite"), till: in(90), pending: true},
		{name: "Keyfactor .NET date-time", product: "ssl_securesite",
			body: shpKeyfactorBody(csr, in(200)+"T14:12:00.1234567+00:00"), till: in(200)},
		{name: "Keyfactor .NET date-time west of UTC", product: "ssl_ev_securesite",
			body: shpKeyfactorBody(csr, in(100)+"T23:30:00.5-07:00"), till: in(100)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := createOK(t, srv, tc.product, mustJSON(t, tc.body))
			if tc.pending {
				got.requirePending(t)
			} else {
				got.requireChain(t, "example.com")
			}
			o := shpGetOrder(t, srv, got.ID)
			if o.OrderValidTill != tc.till {
				t.Errorf("order_valid_till = %s, want %s", o.OrderValidTill, tc.till)
			}
		})
	}
}

// TestShapeCACertIDAccountOption: ca_cert_id is ignored (whatever it holds)
// while the account's issuing-CA selection is off, the default; with it
// on, an unknown id is refused and a listed one chooses the issuer. The
// option follows the configuration of each start.
func TestShapeCACertIDAccountOption(t *testing.T) {
	t.Parallel()
	dir := testenv.DataDir(t)
	_, csr := lcKey(t)

	off := testenv.Start(t, testenv.Options{Sandbox: true, DataDir: dir})
	got := createOK(t, off, "ssl_securesite", mustJSON(t, shpTerraformBody(csr, "ssl_securesite")))
	got.requirePending(t)
	body := baseBody(csr)
	certOf(body)["ca_cert_id"] = map[string]any{"not": "a string"}
	body["skip_approval"] = true
	issued := createOK(t, off, "ssl_securesite", mustJSON(t, body))
	issued.requireChain(t, "example.com")
	// A reissue's ca_cert_id is ignored likewise.
	re := lcOpOK(t, off, issued.ID, "reissue", map[string]any{"certificate": map[string]any{"csr": csr, "ca_cert_id": "NOPE"}, "skip_approval": true})
	re.requireChain(t, "example.com")
	off.Stop()

	on := testenv.Start(t, testenv.Options{Sandbox: true, DataDir: dir, IssuingCASelection: true})
	status, hdr, b := on.Do("POST", orderPath+"ssl_securesite", mustJSON(t, shpTerraformBody(csr, "ssl_securesite")))
	requireErrors(t, status, hdr, b, http.StatusBadRequest, "invalid_value:ca_cert_id")
	// A listed issuing CA of the product is chosen.
	status, _, b = on.Do("GET", "/services/v2/product/ssl_securesite", "")
	var p struct {
		Allowed []struct {
			ID string `json:"id"`
		} `json:"allowed_ca_certs"`
	}
	if status != http.StatusOK || json.Unmarshal(b, &p) != nil || len(p.Allowed) == 0 {
		t.Fatalf("GET /product/ssl_securesite: %d %s", status, clip(b))
	}
	body = baseBody(csr)
	certOf(body)["ca_cert_id"] = p.Allowed[0].ID
	body["skip_approval"] = true
	chosen := createOK(t, on, "ssl_securesite", mustJSON(t, body))
	chosen.requireChain(t, "example.com")
	if o := shpGetOrder(t, on, chosen.ID); o.Certificate.CACert == nil || o.Certificate.CACert.ID != p.Allowed[0].ID {
		t.Errorf("ca_cert = %+v, want %s", o.Certificate.CACert, p.Allowed[0].ID)
	}
}

// shpIntermediate is one entry of GET /certificate/intermediates.
type shpIntermediate struct {
	ID                string `json:"id"`
	SubjectCommonName string `json:"subject_common_name"`
	SubjectOrgName    string `json:"subject_org_name"`
	IssuerCommonName  string `json:"issuer_common_name"`
	ValidFrom         string `json:"valid_from"`
	ValidTo           string `json:"valid_to"`
	SerialNumber      string `json:"serial_number"`
	Thumbprint        string `json:"thumbprint"`
	SignatureHash     string `json:"signature_hash"`
	IsPrivate         string `json:"is_private"`
	PEM               string `json:"pem"`
}

func shpIntermediates(t *testing.T, srv *testenv.Server) []shpIntermediate {
	t.Helper()
	status, hdr, body := srv.Do("GET", "/services/v2/certificate/intermediates", "")
	if status != http.StatusOK {
		t.Fatalf("GET /certificate/intermediates: %d %s", status, clip(body))
	}
	requireJSON(t, hdr)
	var v struct {
		Intermediates []shpIntermediate `json:"intermediates"`
	}
	if err := json.Unmarshal(body, &v); err != nil || len(v.Intermediates) == 0 {
		t.Fatalf("intermediates: %v %s", err, clip(body))
	}
	return v.Intermediates
}

// TestShapeIntermediates: GET /certificate/intermediates lists every
// issuing CA with the fields a Terraform provider reads
// (subject_common_name, issuer_common_name) and those of DigiCert's
// documented answer, the PEM among them; the ids are the ca_cert_id values
// of GET /product.
func TestShapeIntermediates(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	ints := shpIntermediates(t, srv)
	ids := map[string]bool{}
	for _, it := range ints {
		certs := testenv.ParsePEMChain(t, []byte(it.PEM))
		if len(certs) != 1 {
			t.Fatalf("%s: pem holds %d certificates", it.ID, len(certs))
		}
		c := certs[0]
		switch {
		case !c.IsCA:
			t.Errorf("%s is not a CA certificate", it.ID)
		case it.SubjectCommonName != c.Subject.CommonName || it.IssuerCommonName != c.Issuer.CommonName || it.IssuerCommonName == it.SubjectCommonName:
			t.Errorf("%s: subject %q issuer %q, certificate %q by %q", it.ID, it.SubjectCommonName, it.IssuerCommonName, c.Subject.CommonName, c.Issuer.CommonName)
		case it.Thumbprint != fmt.Sprintf("%X", sha1.Sum(c.Raw)):
			t.Errorf("%s: thumbprint %s", it.ID, it.Thumbprint)
		case !shpSameSerial(it.SerialNumber, c.SerialNumber):
			t.Errorf("%s: serial_number %s, certificate %X", it.ID, it.SerialNumber, c.SerialNumber)
		case it.ValidFrom != c.NotBefore.UTC().Format("2006-01-02 15:04:05") || it.ValidTo != c.NotAfter.UTC().Format("2006-01-02 15:04:05"):
			t.Errorf("%s: valid %s to %s", it.ID, it.ValidFrom, it.ValidTo)
		case it.SignatureHash == "" || it.IsPrivate != "0" || it.SubjectOrgName == "":
			t.Errorf("%s: signature_hash %q is_private %q subject_org_name %q", it.ID, it.SignatureHash, it.IsPrivate, it.SubjectOrgName)
		}
		ids[it.ID] = true
	}
	status, _, body := srv.Do("GET", "/services/v2/product/x9_pki", "")
	var p struct {
		Allowed []struct {
			ID string `json:"id"`
		} `json:"allowed_ca_certs"`
	}
	if status != http.StatusOK || json.Unmarshal(body, &p) != nil || len(p.Allowed) == 0 {
		t.Fatalf("GET /product/x9_pki: %d %s", status, clip(body))
	}
	for _, a := range p.Allowed {
		if !ids[a.ID] {
			t.Errorf("allowed_ca_certs id %s is not listed by /certificate/intermediates", a.ID)
		}
	}
}

// shpSameSerial: hex (upper case) names the serial n.
func shpSameSerial(hex string, n *big.Int) bool {
	v, ok := new(big.Int).SetString(hex, 16)
	return ok && hex == strings.ToUpper(hex) && v.Cmp(n) == 0
}

// shpList reads the ids of an order or request list.
func shpList(t *testing.T, srv *testenv.Server, path string) (orderIDs, requestOrderIDs []int64) {
	t.Helper()
	status, hdr, body := srv.Do("GET", path, "")
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, status, clip(body))
	}
	requireJSON(t, hdr)
	var v struct {
		Orders []struct {
			ID int64 `json:"id"`
		} `json:"orders"`
		Requests []struct {
			Order struct {
				ID int64 `json:"id"`
			} `json:"order"`
		} `json:"requests"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	for _, o := range v.Orders {
		orderIDs = append(orderIDs, o.ID)
	}
	for _, r := range v.Requests {
		requestOrderIDs = append(requestOrderIDs, r.Order.ID)
	}
	return orderIDs, requestOrderIDs
}

// TestShapeSortSpellings: the order and request lists sort by every name
// clients send, ascending or with "-" descending; sort=order_id orders by
// the order's id.
func TestShapeSortSpellings(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	_, csr := lcKey(t)
	var placed []int64
	for i, cn := range []string{"b.example.com", "a.example.com", "c.example.com"} {
		m := baseBody(csr)
		certOf(m)["common_name"] = cn
		if i == 1 {
			m["skip_approval"] = true
		}
		placed = append(placed, createOK(t, srv, "ssl_securesite", mustJSON(t, m)).ID)
	}
	dv := dvBase(csr)
	placed = append(placed, createOK(t, srv, "ssl_dv_geotrust", mustJSON(t, dv)).ID)

	for _, key := range []string{"order_id", "id", "date_created", "valid_till", "common_name", "status", "product_name",
		"product_name_id", "organization_id", "container_id", "user_id", "is_renewed"} {
		for _, sort := range []string{key, "-" + key} {
			t.Run("orders/"+sort, func(t *testing.T) {
				ids, _ := shpList(t, srv, "/services/v2/order/certificate?sort="+sort)
				if len(ids) != len(placed) {
					t.Fatalf("%d orders, want %d", len(ids), len(placed))
				}
			})
		}
	}
	for _, key := range []string{"order_id", "id", "date_created", "date", "common_name", "status", "type", "date_processed",
		"product_name", "product_name_id"} {
		for _, sort := range []string{key, "-" + key} {
			t.Run("requests/"+sort, func(t *testing.T) {
				_, ids := shpList(t, srv, "/services/v2/request?sort="+sort)
				if len(ids) != len(placed)-1 {
					t.Fatalf("%d requests, want %d (every order but the one that skipped approval)", len(ids), len(placed)-1)
				}
			})
		}
	}
	asc, _ := shpList(t, srv, "/services/v2/order/certificate?sort=order_id")
	desc, _ := shpList(t, srv, "/services/v2/order/certificate?sort=-order_id")
	if !slices.IsSorted(asc) || !slices.Equal(asc, reversed(desc)) {
		t.Errorf("sort=order_id gave %v, sort=-order_id %v", asc, desc)
	}
	_, rasc := shpList(t, srv, "/services/v2/request?sort=order_id")
	_, rdesc := shpList(t, srv, "/services/v2/request?sort=-order_id")
	if !slices.IsSorted(rasc) || !slices.Equal(rasc, reversed(rdesc)) {
		t.Errorf("requests: sort=order_id gave %v, sort=-order_id %v", rasc, rdesc)
	}
	byName, _ := shpList(t, srv, "/services/v2/order/certificate?sort=common_name&filters[product_name_id]=ssl_securesite")
	if want := []int64{placed[1], placed[0], placed[2]}; !slices.Equal(byName, want) {
		t.Errorf("sort=common_name gave %v, want %v", byName, want)
	}
	byProduct, _ := shpList(t, srv, "/services/v2/order/certificate?sort=product_name,-order_id")
	if want := []int64{placed[3], placed[2], placed[1], placed[0]}; !slices.Equal(byProduct, want) {
		t.Errorf("sort=product_name,-order_id gave %v, want %v", byProduct, want)
	}
	status, hdr, body := srv.Do("GET", "/services/v2/order/certificate?sort=favourite_colour", "")
	requireErrors(t, status, hdr, body, http.StatusBadRequest, "invalid_value:sort")
}

func reversed(s []int64) []int64 {
	r := slices.Clone(s)
	slices.Reverse(r)
	return r
}

// TestShapeStatusChangesUnpadded: the status-change range Keyfactor writes,
// unpadded and with "+" between date and time, whether the "+" arrives as
// such (%2B) or as the space a query string makes of it.
func TestShapeStatusChangesUnpadded(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	_, csr := lcKey(t)
	m := baseBody(csr)
	m["skip_approval"] = true
	id := createOK(t, srv, "ssl_securesite", mustJSON(t, m)).ID
	unpadded := func(t time.Time, sep string) string {
		t = t.UTC()
		return fmt.Sprintf("%d-%d-%d%s%d:%d:%d", t.Year(), int(t.Month()), t.Day(), sep, t.Hour(), t.Minute(), t.Second())
	}
	// Five seconds past a minute, so that at least the seconds are unpadded.
	from := time.Now().Add(-2 * time.Hour).Truncate(time.Minute).Add(5 * time.Second)
	to := time.Now().Add(time.Hour).Truncate(time.Minute)
	for _, sep := range []string{"+", "%2B", "%20"} {
		t.Run(sep, func(t *testing.T) {
			q := unpadded(from, sep) + "..." + unpadded(to, sep)
			status, hdr, body := srv.Do("GET", "/services/v2/order/certificate/status-changes?filters[status_last_updated]="+q, "")
			if status != http.StatusOK {
				t.Fatalf("%s: %d %s", q, status, clip(body))
			}
			requireJSON(t, hdr)
			var v struct {
				Orders []struct {
					OrderID int64  `json:"order_id"`
					Status  string `json:"status"`
				} `json:"orders"`
			}
			if err := json.Unmarshal(body, &v); err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(v.Orders, func(o struct {
				OrderID int64  `json:"order_id"`
				Status  string `json:"status"`
			}) bool {
				return o.OrderID == id && o.Status == "issued"
			}) {
				t.Errorf("%s: order %d issued is not among %s", q, id, clip(body))
			}
		})
	}
}

// TestShapeTrailingSlashes: every route answers the same with a trailing
// slash; an unknown route is still 404 not_found|route.
func TestShapeTrailingSlashes(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	_, csr := lcKey(t)
	m := baseBody(csr)
	m["skip_approval"] = true
	got := createOK(t, srv, "ssl_securesite/", mustJSON(t, m))
	got.requireChain(t, "example.com")
	for _, path := range []string{"/order/certificate/", "/order/certificate//", "/organization/", "/domain/", "/key/", "/user/me/",
		"/order/certificate/" + itoa(got.ID) + "/", "/product/ssl_securesite/", "/certificate/intermediates/", "/request/"} {
		t.Run(path, func(t *testing.T) {
			status, hdr, body := srv.Do("GET", "/services/v2"+path, "")
			if status != http.StatusOK {
				t.Fatalf("GET %s: %d %s", path, status, clip(body))
			}
			requireJSON(t, hdr)
			_, _, plain := srv.Do("GET", "/services/v2"+strings.TrimRight(path, "/"), "")
			var a, b map[string]any
			if json.Unmarshal(body, &a) != nil || json.Unmarshal(plain, &b) != nil || len(a) == 0 || len(a) != len(b) {
				t.Errorf("GET %s answered %s; without the slash %s", path, clip(body), clip(plain))
			}
		})
	}
	for _, path := range []string{"/services/v2/nothing/", "/services/v2/order/certificate/" + itoa(got.ID) + "/nothing/", "/services/v2/"} {
		status, hdr, body := srv.Do("GET", path, "")
		requireErrors(t, status, hdr, body, http.StatusNotFound, "not_found|route")
	}
	status, hdr, body := srv.Do("DELETE", "/services/v2/order/certificate/", "")
	requireErrors(t, status, hdr, body, http.StatusNotFound, "not_found|route")
}

// TestShapeDuplicateDownload: GET /certificate/download/order/{id} with
// subId (and formatType, as the old DigiCert SDK asks) serves that
// duplicate; formatType and Windows platforms end each certificate with
// CRLF, so that a client splitting the file on CRLF gets one certificate
// per part.
func TestShapeDuplicateDownload(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	_, csr := lcKey(t)
	m := baseBody(csr)
	m["skip_approval"] = true
	placed := createOK(t, srv, "ssl_securesite", mustJSON(t, m))
	primary := placed.requireChain(t, "example.com")
	_, dupCSR := lcKey(t)
	dup := lcOpOK(t, srv, placed.ID, "duplicate", map[string]any{
		"certificate": map[string]any{"csr": dupCSR, "server_platform": map[string]any{"id": 14}}, "skip_approval": true})
	dupChain := dup.requireChain(t, "example.com")
	thumb := func(body []byte) string {
		t.Helper()
		certs := testenv.ParsePEMChain(t, body)
		if len(certs) != 3 {
			t.Fatalf("%d certificates in %q", len(certs), body)
		}
		for _, c := range certs {
			testenv.RequireLintClean(t, c.Raw)
		}
		return lcThumb(certs[0])
	}
	crlfEnds := func(body []byte) bool {
		parts := strings.Split(string(body), "\r\n")
		if len(parts) != 4 || parts[3] != "" {
			return false
		}
		for _, p := range parts[:3] {
			if len(testenv.ParsePEMChain(t, []byte(p))) != 1 {
				return false
			}
		}
		return true
	}
	base := "/services/v2/certificate/download/order/" + itoa(placed.ID)
	for _, tc := range []struct {
		name, path string
		leaf       string
		crlf       bool
	}{
		{"old SDK duplicate", base + "?subId=001&formatType=pem_all", lcThumb(dupChain[0]), true},
		{"duplicate by unpadded subId", base + "?subId=1", lcThumb(dupChain[0]), true}, // the duplicate's platform is IIS
		{"duplicate in a path format", base + "/format/pem_all?subId=001", lcThumb(dupChain[0]), false},
		{"primary", base, lcThumb(primary[0]), false},
		{"primary by subId 000", base + "?subId=000&formatType=pem_all", lcThumb(primary[0]), true},
		{"duplicate's platform download", "/services/v2/certificate/" + itoa(dup.CertificateID) + "/download/platform", lcThumb(dupChain[0]), true},
		{"IIS named in the path", "/services/v2/certificate/" + itoa(placed.CertificateID) + "/download/platform/40", lcThumb(primary[0]), true},
		{"Apache named in the path", "/services/v2/certificate/" + itoa(placed.CertificateID) + "/download/platform/2", lcThumb(primary[0]), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, hdr, body := srv.Do("GET", tc.path, "")
			if status != http.StatusOK || hdr.Get("Content-Type") != "application/x-pem-file" {
				t.Fatalf("GET %s: %d %s %s", tc.path, status, hdr.Get("Content-Type"), clip(body))
			}
			if got := thumb(body); got != tc.leaf {
				t.Errorf("leaf %s, want %s", got, tc.leaf)
			}
			if crlfEnds(body) != tc.crlf || !tc.crlf && bytes.Contains(body, []byte("\r")) {
				t.Errorf("want CRLF after each certificate: %v; got %q", tc.crlf, body)
			}
		})
	}
	status, hdr, body := srv.Do("GET", base+"?subId=002", "")
	requireErrors(t, status, hdr, body, http.StatusNotFound, "not_found|certificate")
	status, hdr, body = srv.Do("GET", base+"?subId=first", "")
	requireErrors(t, status, hdr, body, http.StatusBadRequest, "invalid_value:subId")
	status, hdr, body = srv.Do("GET", base+"?formatType=pem_everything", "")
	requireErrors(t, status, hdr, body, http.StatusNotFound, "not_found|format")
}

// TestShapeStringIDs: an id sent as a JSON string ("organization":{"id":"1"},
// as Keyfactor's gateway sends it) is read wherever an id is.
func TestShapeStringIDs(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	_, csr := lcKey(t)
	str := func(m map[string]any) map[string]any {
		m["organization"] = map[string]any{"id": "1"}
		m["container"] = map[string]any{"id": " 1 "}
		m["skip_approval"] = true
		return m
	}
	for _, tc := range []struct {
		product string
		body    map[string]any
		cn      string
	}{
		{"ssl_securesite", str(baseBody(csr)), "example.com"},
		{"ssl_ev_securesite", str(baseBody(csr)), "example.com"},
		{"client_premium", str(clBody(csr)), "Lock Cole"},
	} {
		t.Run(tc.product, func(t *testing.T) {
			createOK(t, srv, tc.product, mustJSON(t, tc.body)).requireChain(t, tc.cn)
		})
	}
	t.Run("domain", func(t *testing.T) {
		domAdd(t, srv, map[string]any{"name": "strings.example.com", "organization": map[string]any{"id": "1"},
			"validations": []any{map[string]any{"type": "ov"}}, "dcv_method": "email"})
	})
}

// TestMultiYearPlanFlag: is_multi_year_plan says whether the order covers
// more than a year, whether its span came in years, days or an end date.
func TestMultiYearPlanFlag(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	csr := testenv.CSR(t, testenv.ECKey(t, elliptic.P256()), "ignored")
	in2y := time.Now().UTC().AddDate(2, 0, 0).Format("2006-01-02")
	in9m := time.Now().UTC().AddDate(0, 9, 0).Format("2006-01-02")
	for _, tc := range []struct {
		name string
		set  func(m map[string]any)
		want string
	}{
		{"one year", func(m map[string]any) { m["validity_years"] = 1 }, "0"},
		{"two years", func(m map[string]any) { m["validity_years"] = 2 }, "1"},
		{"730 days", func(m map[string]any) { delete(m, "validity_years"); m["order_validity"] = map[string]any{"days": 730} }, "1"},
		{"300 days", func(m map[string]any) { delete(m, "validity_years"); m["order_validity"] = map[string]any{"days": 300} }, "0"},
		{"an end date two years out", func(m map[string]any) { delete(m, "validity_years"); m["custom_expiration_date"] = in2y }, "1"},
		{"an end date nine months out", func(m map[string]any) { delete(m, "validity_years"); m["custom_expiration_date"] = in9m }, "0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := baseBody(csr)
			tc.set(m)
			c := createOK(t, srv, "ssl_securesite", mustJSON(t, m))
			_, raw := getOrder(t, srv, c.ID)
			var v struct {
				IsMultiYearPlan string `json:"is_multi_year_plan"`
			}
			if err := json.Unmarshal(raw, &v); err != nil || v.IsMultiYearPlan != tc.want {
				t.Fatalf("is_multi_year_plan = %q (%v), want %q", v.IsMultiYearPlan, err, tc.want)
			}
		})
	}
}

// TestTrailingSlashKeepsEveryCheck: a route reached with a trailing slash
// passes the same checks as without it, outside the sandbox: no key, a
// view-only key writing, a standard user of another division reading an
// order are refused exactly as on the plain path.
func TestTrailingSlashKeepsEveryCheck(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: false})
	_, csr := lcKey(t)
	placed := createOK(t, srv, "ssl_securesite", mustJSON(t, baseBody(csr)))
	div := usrContainer(t, srv, 1, "Elsewhere")
	_, viewKey := usrKey(t, srv, 1, 102)
	_, otherKey := usrKey(t, srv, usrUser(t, srv, store.RoleStandardUser, div), 0)
	orderPathSlash := "/order/certificate/" + itoa(placed.ID) + "/"
	for _, c := range []struct {
		name, key, method, path, body string
		status                        int
		code                          string
	}{
		{"no key", "", "GET", "/order/certificate/", "", http.StatusForbidden, "access_denied|access_denied_invalid_key"},
		{"view-only key writing", viewKey, "POST", "/order/certificate/ssl_securesite/", mustJSON(t, baseBody(csr)), http.StatusForbidden, denied},
		{"another division's order", otherKey, "GET", orderPathSlash, "", http.StatusNotFound, "not_found|order"},
		{"another division's order, doubled slash", otherKey, "GET", orderPathSlash + "/", "", http.StatusNotFound, "not_found|order"},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := counts(t, srv)
			status, hdr, body := srv.DoKey(c.key, c.method, v2+c.path, c.body)
			requireErrors(t, status, hdr, body, c.status, c.code)
			requireTally(t, srv, before, tally{})
		})
	}
}
