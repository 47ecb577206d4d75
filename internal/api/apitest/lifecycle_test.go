package apitest

// Order operations (issue 4): cancel and the other order status updates
// (spec §2.5), reissue (§2.10) and duplicate (§2.11), and the
// status-change list (§2.4). Helpers start with lc.

import (
	"crypto"
	"crypto/elliptic"
	"crypto/sha1"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/testenv"
)

// lcKey is a fresh P-256 key with its CSR.
func lcKey(t *testing.T) (crypto.Signer, string) {
	t.Helper()
	k := testenv.ECKey(t, elliptic.P256())
	return k, testenv.CSR(t, k, "ignored by the server")
}

// lcPutStatus sends PUT /order/certificate/{id}/status.
func lcPutStatus(t *testing.T, srv *testenv.Server, id int64, body string) (int, http.Header, []byte) {
	t.Helper()
	return srv.Do("PUT", orderPath+itoa(id)+"/status", body)
}

// lcCancel cancels and requires 204 with an empty body.
func lcCancel(t *testing.T, srv *testenv.Server, id int64, note string) {
	t.Helper()
	status, _, body := lcPutStatus(t, srv, id, mustJSON(t, map[string]any{"status": "canceled", "note": note}))
	if status != http.StatusNoContent || len(body) != 0 {
		t.Fatalf("cancel order %d: %d %s", id, status, clip(body))
	}
}

// lcOp posts a reissue or duplicate.
func lcOp(t *testing.T, srv *testenv.Server, id int64, kind string, body map[string]any) (int, http.Header, []byte) {
	t.Helper()
	return srv.Do("POST", orderPath+itoa(id)+"/"+kind, mustJSON(t, body))
}

// lcOpOK posts a reissue or duplicate that must be accepted.
func lcOpOK(t *testing.T, srv *testenv.Server, id int64, kind string, body map[string]any) created {
	t.Helper()
	status, hdr, b := lcOp(t, srv, id, kind, body)
	return requireCreated(t, status, hdr, b)
}

// lcLinked is one entry of the reissue or duplicate list.
type lcLinked struct {
	ID           int64    `json:"id"`
	Thumbprint   string   `json:"thumbprint"`
	SerialNumber string   `json:"serial_number"`
	CommonName   string   `json:"common_name"`
	DNSNames     []string `json:"dns_names"`
	Status       string   `json:"status"`
	DateCreated  string   `json:"date_created"`
	ValidTill    string   `json:"valid_till"`
	SubID        string   `json:"sub_id"`
	FirstName    string   `json:"firstname"`
	Archived     *bool    `json:"archived"`
}

func lcList(t *testing.T, srv *testenv.Server, id int64, kind string) []lcLinked {
	t.Helper()
	status, hdr, body := srv.Do("GET", orderPath+itoa(id)+"/"+kind+"?show_archived=true", "")
	if status != http.StatusOK {
		t.Fatalf("GET %s list of order %d: %d %s", kind, id, status, clip(body))
	}
	requireJSON(t, hdr)
	var v struct {
		Certificates []lcLinked `json:"certificates"`
	}
	if err := json.Unmarshal(body, &v); err != nil || v.Certificates == nil {
		t.Fatalf("%s list: %v %s", kind, err, clip(body))
	}
	for _, c := range v.Certificates {
		if c.Archived == nil || *c.Archived {
			t.Errorf("%s list: archived must be false and present: %s", kind, clip(body))
		}
	}
	return v.Certificates
}

// lcRequest is the part of GET /request/{id} these tests read.
type lcRequest struct {
	Type             string `json:"type"`
	Status           string `json:"status"`
	ProcessorComment string `json:"processor_comment"`
	Order            struct {
		ID          int64 `json:"id"`
		Certificate struct {
			CommonName string   `json:"common_name"`
			DNSNames   []string `json:"dns_names"`
			CSR        string   `json:"csr"`
		} `json:"certificate"`
	} `json:"order"`
}

func lcGetRequest(t *testing.T, srv *testenv.Server, id int64) lcRequest {
	t.Helper()
	status, _, body := srv.Do("GET", "/services/v2/request/"+itoa(id), "")
	if status != http.StatusOK {
		t.Fatalf("GET request %d: %d %s", id, status, clip(body))
	}
	var r lcRequest
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("request %d: %v", id, err)
	}
	return r
}

func lcThumb(c *x509.Certificate) string { return fmt.Sprintf("%X", sha1.Sum(c.Raw)) }

// lcIssued places an order that must issue at once and returns its id and
// (linted) chain.
func lcIssued(t *testing.T, srv *testenv.Server, product string, m map[string]any, cn string) (int64, []*x509.Certificate) {
	t.Helper()
	got := lcIssuedAnswer(t, srv, product, m)
	return got.ID, got.requireChain(t, cn)
}

func lcIssuedAnswer(t *testing.T, srv *testenv.Server, product string, m map[string]any) created {
	t.Helper()
	m["skip_approval"] = true
	return createOK(t, srv, product, mustJSON(t, m))
}

// lcFamily is one product family a reissue and a duplicate are made for.
type lcFamily struct {
	product string
	body    func(t *testing.T, srv *testenv.Server, csr string) (map[string]any, string) // body and leaf CN
	usage   x509.ExtKeyUsage
	// rename, when set, gives the reissue new names: the certificate
	// fields to send, the leaf CN and the SANs the reissue must carry.
	rename   map[string]any
	renameCN string
	wantSANs []string
}

var lcFamilies = []lcFamily{
	{
		product: "ssl_securesite",
		body: func(t *testing.T, srv *testenv.Server, csr string) (map[string]any, string) {
			return baseBody(csr), "example.com"
		},
		usage:    x509.ExtKeyUsageServerAuth,
		rename:   map[string]any{"common_name": "shop.example.com", "dns_names": []any{"www.shop.example.com"}},
		renameCN: "shop.example.com", wantSANs: []string{"shop.example.com", "www.shop.example.com"},
	},
	{
		// Private SSL: from the private TLS intermediate, reissues too.
		product: "private_ssl_multi_domain",
		body: func(t *testing.T, srv *testenv.Server, csr string) (map[string]any, string) {
			m := baseBody(csr)
			certOf(m)["dns_names"] = []any{"intranet.example.com"}
			return m, "example.com"
		},
		usage:    x509.ExtKeyUsageServerAuth,
		rename:   map[string]any{"common_name": "intranet.example.com", "dns_names": []any{"example.com", "wiki.example.com"}},
		renameCN: "intranet.example.com", wantSANs: []string{"intranet.example.com", "example.com", "wiki.example.com"},
	},
	{
		// A flex product on the multi-year plan: any mix of names.
		product: "ssl_basic",
		body: func(t *testing.T, srv *testenv.Server, csr string) (map[string]any, string) {
			m := baseBody(csr)
			delete(m, "validity_years")
			m["order_validity"] = map[string]any{"years": 2}
			certOf(m)["dns_names"] = []any{"*.example.com"}
			return m, "example.com"
		},
		usage:    x509.ExtKeyUsageServerAuth,
		rename:   map[string]any{"common_name": "*.example.net", "dns_names": []any{"example.org"}},
		renameCN: "*.example.net", wantSANs: []string{"*.example.net", "example.org"},
	},
	{
		product: "ssl_dv_geotrust",
		body: func(t *testing.T, srv *testenv.Server, csr string) (map[string]any, string) {
			m := dvBase(csr)
			certOf(m)["dns_names"] = []any{"www.example.com", "api.example.com"}
			return m, "example.com"
		},
		usage:    x509.ExtKeyUsageServerAuth,
		rename:   map[string]any{"common_name": "api.example.com", "dns_names": []any{"example.com", "blog.example.com"}},
		renameCN: "api.example.com", wantSANs: []string{"api.example.com", "example.com", "blog.example.com"},
	},
	{
		product: "client_premium",
		body: func(t *testing.T, srv *testenv.Server, csr string) (map[string]any, string) {
			return clBody(csr), "Lock Cole"
		},
		usage: x509.ExtKeyUsageEmailProtection,
	},
	{
		product: "code_signing",
		body: func(t *testing.T, srv *testenv.Server, csr string) (map[string]any, string) {
			return csBase(csr), csOrgName
		},
		usage: x509.ExtKeyUsageCodeSigning,
	},
	{
		product: "x9_pki",
		body: func(t *testing.T, srv *testenv.Server, csr string) (map[string]any, string) {
			m, n := x9GoodBody(csr, x9UserID(t, srv))
			return m, n.cn
		},
		usage: x509.ExtKeyUsageServerAuth,
	},
}

// TestReissueAndDuplicate: for a Secure Site, a Private SSL, a flex OV, a
// DV, a client, a code signing and an X9 order, an immediate reissue replaces the primary certificate (new key,
// and new names where the product allows them) and a duplicate adds one
// with the order's names; every certificate chains to the root and is
// lint clean.
func TestReissueAndDuplicate(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	for _, fam := range lcFamilies {
		t.Run(fam.product, func(t *testing.T) {
			_, csr := lcKey(t)
			m, cn := fam.body(t, srv, csr)
			placed := lcIssuedAnswer(t, srv, fam.product, m)
			id, first := placed.ID, placed.requireChain(t, cn)
			before := counts(t, srv)

			// Reissue with a new key (and names), approval skipped.
			newKey, newCSR := lcKey(t)
			cert := map[string]any{"csr": newCSR}
			wantCN := cn
			for k, v := range fam.rename {
				cert[k] = v
			}
			if fam.renameCN != "" {
				wantCN = fam.renameCN
			}
			re := lcOpOK(t, srv, id, "reissue", map[string]any{"certificate": cert, "skip_approval": true, "comments": "new key"})
			re.requireKeys(t, "certificate_chain", "certificate_id", "id")
			if re.ID != id {
				t.Errorf("reissue answer id = %d, want the order id %d", re.ID, id)
			}
			reChain := re.requireChain(t, wantCN)
			fam2SameKey(t, reChain[0], newKey.Public())
			if err := fam2Verify(reChain, fam.usage); err != nil {
				t.Errorf("reissued certificate does not verify: %v", err)
			}
			if fam.wantSANs != nil && !sortedEqual(reChain[0].DNSNames, fam.wantSANs) {
				t.Errorf("reissued SANs = %q, want %q", reChain[0].DNSNames, fam.wantSANs)
			}
			if !reChain[1].Equal(first[1]) {
				t.Errorf("reissued by %q, the order's certificate by %q", reChain[1].Subject.CommonName, first[1].Subject.CommonName)
			}
			info, _ := fam2GetOrder(t, srv, id)
			fam2Must(t, info.Status == "issued", "order status after reissue = %q, want issued", info.Status)
			fam2Must(t, info.Certificate.ID == re.CertificateID, "order's certificate is %d, want the reissue %d", info.Certificate.ID, re.CertificateID)
			primary := fam2IssuedChain(t, srv, id)
			fam2Must(t, lcThumb(primary[0]) == lcThumb(reChain[0]), "the order's certificate is not the reissued one")
			fam2Must(t, lcThumb(primary[0]) != lcThumb(first[0]), "the reissue did not replace the primary certificate")
			if fam.renameCN != "" {
				fam2Must(t, info.Certificate.CommonName == fam.renameCN, "order common_name = %q, want %q", info.Certificate.CommonName, fam.renameCN)
			}

			// Duplicate with a third key: the primary stays.
			dupKey, dupCSR := lcKey(t)
			dup := lcOpOK(t, srv, id, "duplicate", map[string]any{"certificate": map[string]any{"csr": dupCSR}, "skip_approval": true})
			dup.requireKeys(t, "certificate_chain", "certificate_id", "id")
			dupChain := dup.requireChain(t, wantCN)
			fam2SameKey(t, dupChain[0], dupKey.Public())
			if err := fam2Verify(dupChain, fam.usage); err != nil {
				t.Errorf("duplicate does not verify: %v", err)
			}
			fam2Must(t, !dupChain[0].NotAfter.After(primary[0].NotAfter), "duplicate ends %v after the original %v", dupChain[0].NotAfter, primary[0].NotAfter)
			info, _ = fam2GetOrder(t, srv, id)
			fam2Must(t, info.Certificate.ID == re.CertificateID, "a duplicate moved the primary certificate to %d", info.Certificate.ID)
			// Skipped approval creates no request and no order.
			requireTally(t, srv, before, tally{})

			reissues := lcList(t, srv, id, "reissue")
			if len(reissues) != 1 || reissues[0].ID != re.CertificateID || reissues[0].Status != "issued" ||
				reissues[0].Thumbprint != lcThumb(reChain[0]) || reissues[0].CommonName != wantCN {
				t.Errorf("reissue list = %+v", reissues)
			}
			dups := lcList(t, srv, id, "duplicate")
			if len(dups) != 1 || dups[0].ID != dup.CertificateID || dups[0].SubID != "001" || dups[0].Status != "issued" ||
				dups[0].Thumbprint != lcThumb(dupChain[0]) || dups[0].ValidTill == "" {
				t.Errorf("duplicate list = %+v", dups)
			}
			status, _, lb := srv.Do("GET", "/services/v2/order/certificate?filters[id]="+itoa(id), "")
			var lv struct {
				Orders []struct {
					HasDuplicates bool `json:"has_duplicates"`
				} `json:"orders"`
			}
			if status != http.StatusOK || json.Unmarshal(lb, &lv) != nil || len(lv.Orders) != 1 || !lv.Orders[0].HasDuplicates {
				t.Errorf("order list after a duplicate: %d %s", status, clip(lb))
			}
			// The replaced certificate is still there, by its id.
			old := dvcsDownload(t, srv, placed.CertificateID)
			fam2Must(t, lcThumb(old[0]) == lcThumb(first[0]), "certificate %d is no longer the first certificate", placed.CertificateID)
		})
	}
}

// TestReissueApproval: without skip_approval a reissue is a request of type
// reissue; the order waits in reissue_pending with its old certificate
// until an approver approves it, and then carries the new one. A duplicate
// request that is rejected never issues.
func TestReissueApproval(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	_, csr := lcKey(t)
	id, first := lcIssued(t, srv, "ssl_securesite", baseBody(csr), "example.com")

	b := counts(t, srv)
	newKey, newCSR := lcKey(t)
	re := lcOpOK(t, srv, id, "reissue", map[string]any{"certificate": map[string]any{"csr": newCSR,
		"common_name": "rotated.example.com"}, "comments": "rotate"})
	re.requirePending(t)
	requireTally(t, srv, b, tally{requests: 1})
	info, _ := fam2GetOrder(t, srv, id)
	fam2Must(t, info.Status == "reissue_pending", "order status = %q, want reissue_pending", info.Status)
	still := fam2IssuedChain(t, srv, id)
	fam2Must(t, lcThumb(still[0]) == lcThumb(first[0]), "a pending reissue replaced the certificate")
	rq := lcGetRequest(t, srv, re.Requests[0].ID)
	fam2Must(t, rq.Type == "reissue" && rq.Status == "pending" && rq.Order.ID == id, "request = %+v", rq)
	// The approver sees what the reissue asks for.
	fam2Must(t, rq.Order.Certificate.CommonName == "rotated.example.com" && sortedEqual(rq.Order.Certificate.DNSNames, []string{"rotated.example.com"}) &&
		strings.Contains(rq.Order.Certificate.CSR, "CERTIFICATE REQUEST"), "request's certificate = %+v", rq.Order.Certificate)
	fam2Must(t, info.Certificate.CommonName == "example.com", "the pending reissue renamed the order: %q", info.Certificate.CommonName)
	pending := lcList(t, srv, id, "reissue")
	if len(pending) != 1 || pending[0].Status != "pending" || pending[0].Thumbprint != "" || pending[0].ValidTill != "" {
		t.Errorf("pending reissue list = %+v", pending)
	}

	// Nothing else may happen to the order while the reissue waits.
	_, otherCSR := lcKey(t)
	for _, kind := range []string{"reissue", "duplicate"} {
		b := counts(t, srv)
		status, hdr, body := lcOp(t, srv, id, kind, map[string]any{"certificate": map[string]any{"csr": otherCSR}, "skip_approval": true})
		requireErrors(t, status, hdr, body, http.StatusBadRequest, "invalid_order_status")
		requireTally(t, srv, b, tally{})
	}

	fam2PutRequest(t, srv, re.Requests[0].ID, "approved")
	info = fam2WaitStatus(t, srv, id, "issued")
	chain := fam2IssuedChain(t, srv, id)
	fam2SameKey(t, chain[0], newKey.Public())
	fam2Must(t, chain[0].Subject.CommonName == "rotated.example.com" && info.Certificate.CommonName == "rotated.example.com",
		"approved reissue: leaf %q, order %q", chain[0].Subject.CommonName, info.Certificate.CommonName)
	fam2Must(t, info.Certificate.ID == pending[0].ID, "order certificate %d, want the approved reissue %d", info.Certificate.ID, pending[0].ID)
	if l := lcList(t, srv, id, "reissue"); len(l) != 1 || l[0].Status != "issued" || l[0].Thumbprint != lcThumb(chain[0]) {
		t.Errorf("reissue list after approval = %+v", l)
	}

	// A duplicate request, approved: issues a second certificate.
	dupKey, dupCSR := lcKey(t)
	dup := lcOpOK(t, srv, id, "duplicate", map[string]any{"certificate": map[string]any{"csr": dupCSR}})
	dup.requirePending(t)
	fam2Must(t, lcGetRequest(t, srv, dup.Requests[0].ID).Type == "duplicate", "duplicate request type")
	fam2PutRequest(t, srv, dup.Requests[0].ID, "approved")
	dups := lcList(t, srv, id, "duplicate")
	if len(dups) != 1 || dups[0].Status != "issued" || dups[0].CommonName != "rotated.example.com" {
		t.Fatalf("duplicate list = %+v", dups)
	}
	dchain := dvcsDownload(t, srv, dups[0].ID)
	for _, c := range dchain {
		testenv.RequireLintClean(t, c.Raw)
	}
	requireChainShape(t, dchain)
	fam2SameKey(t, dchain[0], dupKey.Public())

	// A second duplicate, rejected: never issued, the order unchanged.
	_, rejCSR := lcKey(t)
	rej := lcOpOK(t, srv, id, "duplicate", map[string]any{"certificate": map[string]any{"csr": rejCSR}})
	fam2PutRequest(t, srv, rej.Requests[0].ID, "rejected")
	dups = lcList(t, srv, id, "duplicate")
	if len(dups) != 2 || dups[1].Status != "rejected" || dups[1].SubID != "002" || dups[1].Thumbprint != "" {
		t.Errorf("duplicate list after a rejection = %+v", dups)
	}
	info, _ = fam2GetOrder(t, srv, id)
	fam2Must(t, info.Status == "issued" && info.Certificate.ID == pending[0].ID, "order after rejected duplicate: %+v", info)
}

// TestReissueRefusals: each refused reissue or duplicate is a 4xx with the
// documented code and writes nothing.
func TestReissueRefusals(t *testing.T) {
	t.Parallel()
	// ca_cert_id is read only where the account lets orders choose the issuing CA.
	srv := testenv.Start(t, testenv.Options{Sandbox: true, IssuingCASelection: true})
	_, csr := lcKey(t)
	issued, _ := lcIssued(t, srv, "ssl_securesite", baseBody(csr), "example.com")
	multi := baseBody(csr)
	certOf(multi)["dns_names"] = []any{"www.example.com", "api.example.com"}
	multiID, _ := lcIssued(t, srv, "ssl_securesite_multi_domain", multi, "example.com")
	waiting := createOK(t, srv, "ssl_securesite", mustJSON(t, baseBody(csr))) // needs_approval
	_, newCSR := lcKey(t)
	withCert := func(kv ...any) map[string]any {
		c := map[string]any{"csr": newCSR}
		for i := 0; i+1 < len(kv); i += 2 {
			c[kv[i].(string)] = kv[i+1]
		}
		return map[string]any{"certificate": c, "skip_approval": true}
	}
	cases := []struct {
		name   string
		order  int64
		kind   string
		body   map[string]any
		raw    string
		status int
		codes  []string
	}{
		{"reissue of an order not issued", waiting.ID, "reissue", withCert(), "", 400, []string{"invalid_order_status"}},
		{"duplicate of an order not issued", waiting.ID, "duplicate", withCert(), "", 400, []string{"invalid_order_status"}},
		{"unknown order", 999999, "reissue", withCert(), "", 404, []string{"not_found|order"}},
		{"no certificate", issued, "reissue", map[string]any{"skip_approval": true}, "", 400, []string{"missing_field:certificate"}},
		{"no csr", issued, "reissue", map[string]any{"certificate": map[string]any{"common_name": "example.com"}}, "", 400, []string{"missing_field:csr"}},
		{"bad csr", issued, "duplicate", map[string]any{"certificate": map[string]any{"csr": "nonsense"}}, "", 400, []string{"csr_invalid_cannot_parse"}},
		{"second name on a one-name product", issued, "reissue", withCert("dns_names", []any{"other.example.net"}), "", 400, []string{"invalid_value:dns_names"}},
		{"reserved name", issued, "reissue", withCert("common_name", "host.test"), "", 400, []string{"invalid_value:common_name"}},
		{"bad hash", issued, "reissue", withCert("signature_hash", "md5"), "", 400, []string{"invalid_value:signature_hash"}},
		{"bad ca_cert_id", issued, "reissue", withCert("ca_cert_id", "NOPE"), "", 400, []string{"invalid_value:ca_cert_id"}},
		{"duplicate with a name not on the order", multiID, "duplicate", withCert("common_name", "new.example.com"), "", 400, []string{"invalid_value:common_name"}},
		{"duplicate with a SAN not on the order", multiID, "duplicate", withCert("dns_names", []any{"new.example.com"}), "", 400, []string{"invalid_value:dns_names"}},
		{"body not JSON", issued, "reissue", nil, "{", 400, []string{"bad_request_format"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := tc.raw
			if tc.body != nil {
				body = mustJSON(t, tc.body)
			}
			b := counts(t, srv)
			var before []byte
			if tc.order != 999999 {
				_, before = getOrder(t, srv, tc.order)
			}
			status, hdr, resp := srv.Do("POST", orderPath+itoa(tc.order)+"/"+tc.kind, body)
			requireErrors(t, status, hdr, resp, tc.status, tc.codes...)
			requireTally(t, srv, b, tally{})
			if before != nil {
				_, after := getOrder(t, srv, tc.order)
				fam2Must(t, string(after) == string(before), "the refused %s changed order %d", tc.kind, tc.order)
				fam2Must(t, len(lcList(t, srv, tc.order, tc.kind)) == 0, "the refused %s left a certificate", tc.kind)
			}
		})
	}
	// A multi-domain duplicate may promote a SAN to common name.
	dupKey, dupCSR := lcKey(t)
	dup := lcOpOK(t, srv, multiID, "duplicate", map[string]any{"certificate": map[string]any{"csr": dupCSR,
		"common_name": "api.example.com", "dns_names": []any{"example.com"}}, "skip_approval": true})
	chain := dup.requireChain(t, "api.example.com")
	fam2SameKey(t, chain[0], dupKey.Public())
	fam2Must(t, sortedEqual(chain[0].DNSNames, []string{"api.example.com", "example.com"}), "duplicate SANs = %q", chain[0].DNSNames)

	// A reissue naming only a new common name drops the old names.
	_, reCSR := lcKey(t)
	re := lcOpOK(t, srv, issued, "reissue", map[string]any{"certificate": map[string]any{"csr": reCSR,
		"common_name": "moved.example.com"}, "skip_approval": true})
	rchain := re.requireChain(t, "moved.example.com")
	fam2Must(t, sortedEqual(rchain[0].DNSNames, []string{"moved.example.com"}), "reissue SANs = %q", rchain[0].DNSNames)
}

// TestOrderCancel: cancel from each status the spec allows (pending, our
// needs_csr, reissue_pending) and refusals from the others; a canceled
// balance order is refunded; a canceled reissue's request is rejected with
// the note as processor_comment.
func TestOrderCancel(t *testing.T) {
	t.Parallel()
	sandbox := testenv.Start(t, testenv.Options{Sandbox: true})
	live := testenv.Start(t, testenv.Options{}) // nothing validated: approved orders stay pending
	_, csr := lcKey(t)
	type setup func(t *testing.T) (*testenv.Server, int64)
	place := func(srv *testenv.Server, product string, m map[string]any) int64 {
		return createOK(t, srv, product, mustJSON(t, m)).ID
	}
	cases := []struct {
		name     string
		setup    setup
		body     string
		status   int
		codes    []string
		after    string // order status afterwards
		refunded bool
	}{
		{name: "pending", setup: func(t *testing.T) (*testenv.Server, int64) {
			m := baseBody(csr)
			m["skip_approval"] = true
			return live, place(live, "ssl_securesite", m)
		}, status: 204, after: "canceled", refunded: true},
		{name: "needs_csr", setup: func(t *testing.T) (*testenv.Server, int64) {
			return sandbox, place(sandbox, "client_premium", clBody(""))
		}, status: 204, after: "canceled", refunded: true},
		{name: "issued", setup: func(t *testing.T) (*testenv.Server, int64) {
			id, _ := lcIssued(t, sandbox, "ssl_securesite", baseBody(csr), "example.com")
			return sandbox, id
		}, status: 400, codes: []string{"invalid_order_status"}, after: "issued"},
		{name: "needs_approval", setup: func(t *testing.T) (*testenv.Server, int64) {
			return sandbox, place(sandbox, "ssl_securesite", baseBody(csr))
		}, status: 400, codes: []string{"invalid_order_status"}, after: "needs_approval"},
		{name: "already canceled", setup: func(t *testing.T) (*testenv.Server, int64) {
			id := place(sandbox, "client_premium", clBody(""))
			lcCancel(t, sandbox, id, "first")
			return sandbox, id
		}, status: 204, after: "canceled"},
		{name: "no note", setup: func(t *testing.T) (*testenv.Server, int64) {
			return sandbox, place(sandbox, "client_premium", clBody(""))
		}, body: `{"status":"canceled"}`, status: 400, codes: []string{"missing_field:note"}, after: "needs_csr"},
		{name: "upper case, as Lemur sends it", setup: func(t *testing.T) (*testenv.Server, int64) {
			return sandbox, place(sandbox, "client_premium", clBody(""))
		}, body: `{"status":"CANCELED","note":"x"}`, status: 204, after: "canceled", refunded: true},
		{name: "no status", setup: func(t *testing.T) (*testenv.Server, int64) {
			return sandbox, place(sandbox, "client_premium", clBody(""))
		}, body: `{"note":"x"}`, status: 400, codes: []string{"missing_field:status"}, after: "needs_csr"},
		{name: "not JSON", setup: func(t *testing.T) (*testenv.Server, int64) {
			return sandbox, place(sandbox, "client_premium", clBody(""))
		}, body: `canceled`, status: 400, codes: []string{"bad_request_format"}, after: "needs_csr"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, id := tc.setup(t)
			body := tc.body
			if body == "" {
				body = `{"status":"canceled","note":"Customer changed their mind.","send_emails":false}`
			}
			bal, b := fam2Balance(t, srv), counts(t, srv)
			status, hdr, resp := lcPutStatus(t, srv, id, body)
			if tc.status == 204 {
				fam2Must(t, status == 204 && len(resp) == 0, "cancel: %d %s", status, clip(resp))
			} else {
				requireErrors(t, status, hdr, resp, tc.status, tc.codes...)
			}
			requireTally(t, srv, b, tally{})
			o, _ := fam2GetOrder(t, srv, id)
			fam2Must(t, o.Status == tc.after, "order status = %q, want %q", o.Status, tc.after)
			if now := fam2Balance(t, srv); tc.refunded == (now == bal) {
				t.Errorf("balance %s → %s; refund expected: %v", bal, now, tc.refunded)
			}
			if o.Status == "canceled" {
				b := counts(t, srv)
				_, newCSR := lcKey(t)
				st, h, r := lcOp(t, srv, id, "reissue", map[string]any{"certificate": map[string]any{"csr": newCSR}})
				requireErrors(t, st, h, r, 400, "invalid_order_status")
				requireTally(t, srv, b, tally{})
			}
		})
	}
	t.Run("unknown order", func(t *testing.T) {
		status, hdr, resp := lcPutStatus(t, sandbox, 999999, `{"status":"canceled","note":"x"}`)
		requireErrors(t, status, hdr, resp, 404, "not_found|order")
	})

	t.Run("reissue_pending", func(t *testing.T) {
		id, first := lcIssued(t, sandbox, "ssl_securesite", baseBody(csr), "example.com")
		_, newCSR := lcKey(t)
		re := lcOpOK(t, sandbox, id, "reissue", map[string]any{"certificate": map[string]any{"csr": newCSR}})
		fam2WaitStatus(t, sandbox, id, "reissue_pending")
		lcCancel(t, sandbox, id, "Wrong key.")
		o, _ := fam2GetOrder(t, sandbox, id)
		fam2Must(t, o.Status == "issued", "order after canceling its reissue = %q, want issued", o.Status)
		chain := fam2IssuedChain(t, sandbox, id)
		fam2Must(t, lcThumb(chain[0]) == lcThumb(first[0]), "canceling the reissue changed the certificate")
		rq := lcGetRequest(t, sandbox, re.Requests[0].ID)
		fam2Must(t, rq.Status == "rejected" && rq.ProcessorComment == "Wrong key.", "reissue request = %+v", rq)
		l := lcList(t, sandbox, id, "reissue")
		fam2Must(t, len(l) == 1 && l[0].Status == "rejected", "reissue list = %+v", l)
		// The request is decided: approving it now is refused.
		code, _, _ := sandbox.Do("PUT", "/services/v2/request/"+itoa(re.Requests[0].ID)+"/status", `{"status":"approved"}`)
		fam2Must(t, code == 400, "approving a canceled reissue: %d", code)
		// And a new reissue may follow.
		_, csr3 := lcKey(t)
		again := lcOpOK(t, sandbox, id, "reissue", map[string]any{"certificate": map[string]any{"csr": csr3}, "skip_approval": true})
		again.requireChain(t, "example.com")
	})
}

// TestOrderRenewedFlag: renewed / not_renewed (spec §2.5) are allowed only
// within 90 days of the certificate's expiry, and not_renewed only undoes
// a mark made by hand.
func TestOrderRenewedFlag(t *testing.T) {
	t.Parallel()
	var shift atomic.Int64
	srv := testenv.Start(t, testenv.Options{Sandbox: true, Now: func() time.Time { return time.Now().Add(time.Duration(shift.Load())) }})
	_, csr := lcKey(t)
	id, chain := lcIssued(t, srv, "ssl_securesite", baseBody(csr), "example.com")
	isRenewed := func() bool {
		o, _ := getOrder(t, srv, id)
		return o.IsRenewed
	}
	put := func(body string) (int, http.Header, []byte) { return lcPutStatus(t, srv, id, body) }

	status, hdr, body := put(`{"status":"renewed"}`)
	requireErrors(t, status, hdr, body, 400, "invalid_order_status")
	status, _, _ = put(`{"status":"not_renewed"}`)
	fam2Must(t, status == 204 && !isRenewed(), "not_renewed on an order not renewed: %d", status)

	// 80 days before the certificate's end.
	shift.Store(int64(time.Until(chain[0].NotAfter) - 80*24*time.Hour))
	status, _, body = put(`{"status":"renewed"}`)
	fam2Must(t, status == 204 && isRenewed(), "renewed within 90 days: %d %s", status, clip(body))
	status, _, body = put(`{"status":"not_renewed"}`)
	fam2Must(t, status == 204 && !isRenewed(), "not_renewed after renewed: %d %s", status, clip(body))
	status, _, body = put(`{"status":"Renewed"}`) // any case, as clients send it
	fam2Must(t, status == 204 && isRenewed(), "Renewed: %d %s", status, clip(body))
	status, hdr, body = put(`{"status":"renewd"}`)
	requireErrors(t, status, hdr, body, 400, "invalid_value:status")
}

// lcChange is one entry of the status-change list.
type lcChange struct {
	OrderID       int64  `json:"order_id"`
	CertificateID int64  `json:"certificate_id"`
	Status        string `json:"status"`
}

func lcChanges(t *testing.T, srv *testenv.Server, query string) map[int64]lcChange {
	t.Helper()
	status, hdr, body := srv.Do("GET", "/services/v2/order/certificate/status-changes?"+query, "")
	if status != http.StatusOK {
		t.Fatalf("status-changes?%s: %d %s", query, status, clip(body))
	}
	requireJSON(t, hdr)
	var v struct {
		Orders []lcChange `json:"orders"`
	}
	if err := json.Unmarshal(body, &v); err != nil || v.Orders == nil {
		t.Fatalf("status-changes body: %v %s", err, clip(body))
	}
	out := map[int64]lcChange{}
	for _, c := range v.Orders {
		if _, dup := out[c.OrderID]; dup {
			t.Errorf("order %d listed twice", c.OrderID)
		}
		out[c.OrderID] = c
	}
	return out
}

// TestStatusChanges: GET /order/certificate/status-changes lists each
// order's latest change within a window of at most 7 days; an order that
// changed again after the window's end is left out.
func TestStatusChanges(t *testing.T) {
	t.Parallel()
	var shift atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(shift.Load())) }
	srv := testenv.Start(t, testenv.Options{Sandbox: true, Now: now})
	_, csr := lcKey(t)
	t0 := now().UTC()
	issued, _ := lcIssued(t, srv, "ssl_securesite", baseBody(csr), "example.com")
	waiting := createOK(t, srv, "ssl_securesite", mustJSON(t, baseBody(csr)))
	canceled := createOK(t, srv, "client_premium", mustJSON(t, clBody(""))).ID

	got := lcChanges(t, srv, "minutes=5")
	info, _ := fam2GetOrder(t, srv, issued)
	if c, ok := got[issued]; !ok || c.Status != "issued" || c.CertificateID != info.Certificate.ID {
		t.Errorf("issued order: %+v (present %v), want issued with certificate %d", c, ok, info.Certificate.ID)
	}
	fam2Must(t, got[waiting.ID].Status == "needs_approval", "waiting order: %+v", got[waiting.ID])
	fam2Must(t, got[canceled].Status == "needs_csr", "client order: %+v", got[canceled])

	// Two days later the waiting order is approved and issued, the client
	// order canceled.
	shift.Store(int64(48 * time.Hour))
	fam2PutRequest(t, srv, waiting.Requests[0].ID, "approved")
	fam2WaitStatus(t, srv, waiting.ID, "issued")
	fam2IssuedChain(t, srv, waiting.ID)
	lcCancel(t, srv, canceled, "no longer needed")

	recent := lcChanges(t, srv, "minutes=60")
	_, okIssued := recent[issued]
	fam2Must(t, !okIssued, "an order unchanged for two days is in the last hour's changes")
	fam2Must(t, recent[waiting.ID].Status == "issued" && recent[waiting.ID].CertificateID != 0, "approved order: %+v", recent[waiting.ID])
	fam2Must(t, recent[canceled].Status == "canceled", "canceled order: %+v", recent[canceled])
	both := lcChanges(t, srv, "seconds=600&minutes=2880")
	fam2Must(t, len(both) >= 3, "a 2-day window holds %d orders, want 3", len(both))

	day := t0.Format("2006-01-02")
	rng := func(a, b time.Time) string {
		return "filters[status_last_updated]=" + a.Format("2006-01-02+15:04:05") + "..." + b.Format("2006-01-02+15:04:05")
	}
	early := lcChanges(t, srv, rng(t0.Add(-time.Hour), t0.Add(time.Hour)))
	_, okWaiting := early[waiting.ID]
	fam2Must(t, early[issued].Status == "issued", "range around t0 misses the issued order: %+v", early)
	fam2Must(t, !okWaiting, "an order that changed again after the range's end is listed")
	byDay := lcChanges(t, srv, "filters[status_last_updated]="+day+"..."+day)
	_, okIssued = byDay[issued]
	fam2Must(t, okIssued, "a date-only range of t0's day misses the issued order")
	empty := lcChanges(t, srv, rng(t0.Add(-96*time.Hour), t0.Add(-72*time.Hour)))
	fam2Must(t, len(empty) == 0, "a window before any order lists %d", len(empty))

	refusals := []struct {
		query string
		codes []string
	}{
		{"minutes=10081", []string{"time_frame_too_long"}},
		{"seconds=604801", []string{"time_frame_too_long"}},
		{"minutes=10080&seconds=1", []string{"time_frame_too_long"}},
		{rng(t0.Add(-8*24*time.Hour), t0), []string{"time_frame_too_long"}},
		{"filters[status_last_updated]=2026-01-01...2026-01-09", []string{"time_frame_too_long"}},
		{"", []string{"missing_field:filters[status_last_updated]"}},
		{"minutes=abc", []string{"invalid_value:minutes"}},
		{"filters[status_last_updated]=yesterday...today", []string{"invalid_value:filters[status_last_updated]"}},
		{"filters[status_last_updated]=2026-01-01...", []string{"invalid_value:filters[status_last_updated]"}},
	}
	for _, r := range refusals {
		t.Run(strings.ReplaceAll(r.query, "/", "_"), func(t *testing.T) {
			status, hdr, body := srv.Do("GET", "/services/v2/order/certificate/status-changes?"+r.query, "")
			requireErrors(t, status, hdr, body, http.StatusBadRequest, r.codes...)
		})
	}
}

// TestReissueApprovalModes: on a two-step account a reissue request needs
// two approvals; on an auto-approve account the administrator's reissue is
// approved and issued at once, with the request in the answer.
func TestReissueApprovalModes(t *testing.T) {
	t.Parallel()
	t.Run("two_step", func(t *testing.T) {
		srv := testenv.Start(t, testenv.Options{Sandbox: true, ApprovalMode: "two_step"})
		_, csr := lcKey(t)
		id, _ := lcIssued(t, srv, "ssl_securesite", baseBody(csr), "example.com")
		newKey, newCSR := lcKey(t)
		re := lcOpOK(t, srv, id, "reissue", map[string]any{"certificate": map[string]any{"csr": newCSR}})
		re.requireKeys(t, "id", "requests")
		fam2Must(t, len(re.Requests) == 1 && re.Requests[0].Status == "submitted", "requests = %+v", re.Requests)
		fam2PutRequest(t, srv, re.Requests[0].ID, "pending")
		o, _ := fam2GetOrder(t, srv, id)
		fam2Must(t, o.Status == "reissue_pending", "after the first approval the order is %q", o.Status)
		code, _, body := srv.DoKey(secondApprover(t, srv), "PUT", "/services/v2/request/"+itoa(re.Requests[0].ID)+"/status", `{"status":"approved"}`)
		fam2Must(t, code == http.StatusNoContent, "second approval by another administrator: %d %s", code, clip(body))
		fam2WaitStatus(t, srv, id, "issued")
		chain := fam2IssuedChain(t, srv, id)
		fam2SameKey(t, chain[0], newKey.Public())
	})
	t.Run("auto", func(t *testing.T) {
		srv := testenv.Start(t, testenv.Options{Sandbox: true, ApprovalMode: "auto"})
		_, csr := lcKey(t)
		id, _ := lcIssued(t, srv, "ssl_securesite", baseBody(csr), "example.com")
		dupKey, dupCSR := lcKey(t)
		dup := lcOpOK(t, srv, id, "duplicate", map[string]any{"certificate": map[string]any{"csr": dupCSR}})
		dup.requireKeys(t, "certificate_chain", "certificate_id", "id", "requests")
		fam2Must(t, len(dup.Requests) == 1 && dup.Requests[0].Status == "approved", "requests = %+v", dup.Requests)
		chain := dup.requireChain(t, "example.com")
		fam2SameKey(t, chain[0], dupKey.Public())
		rq := lcGetRequest(t, srv, dup.Requests[0].ID)
		fam2Must(t, rq.Type == "duplicate" && rq.Status == "approved", "request = %+v", rq)
	})
}

// TestLifecycleScope: a manager of a sub-container sees in the
// status-change list only the orders of their containers, and cannot
// reissue, duplicate, cancel or list the reissues of an order outside them.
func TestLifecycleScope(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	idOf := func(status int, hdr http.Header, body []byte) int64 {
		t.Helper()
		var v struct {
			ID int64 `json:"id"`
		}
		if status != http.StatusCreated || json.Unmarshal(body, &v) != nil || v.ID == 0 {
			t.Fatalf("create: %d %s", status, clip(body))
		}
		return v.ID
	}
	sub := idOf(srv.Do("POST", "/services/v2/container/1/children", `{"name":"Lifecycle division","template_id":6}`))
	mgr := idOf(srv.Do("POST", "/services/v2/user", mustJSON(t, map[string]any{"username": "lc.manager", "first_name": "Lc",
		"last_name": "Manager", "email": "lc.manager@example.com", "container": map[string]any{"id": sub},
		"access_roles": []map[string]any{{"id": 4}}})))
	status, _, body := srv.Do("POST", "/services/v2/key/user/"+itoa(mgr), `{"name":"lc key"}`)
	var key struct {
		APIKey string `json:"api_key"`
	}
	if status != http.StatusCreated || json.Unmarshal(body, &key) != nil || key.APIKey == "" {
		t.Fatalf("manager key: %d %s", status, clip(body))
	}

	_, csr := lcKey(t)
	adminOrder, _ := lcIssued(t, srv, "ssl_securesite", baseBody(csr), "example.com")
	m := dvBase(csr)
	m["skip_approval"] = true
	status, hdr, body := srv.DoKey(key.APIKey, "POST", orderPath+"ssl_dv_geotrust", mustJSON(t, m))
	own := requireCreated(t, status, hdr, body)
	own.requireChain(t, "example.com")

	status, _, body = srv.DoKey(key.APIKey, "GET", "/services/v2/order/certificate/status-changes?minutes=10", "")
	var v struct {
		Orders []lcChange `json:"orders"`
	}
	if status != http.StatusOK || json.Unmarshal(body, &v) != nil {
		t.Fatalf("manager's status changes: %d %s", status, clip(body))
	}
	if len(v.Orders) != 1 || v.Orders[0].OrderID != own.ID {
		t.Errorf("manager sees %+v, want only order %d", v.Orders, own.ID)
	}
	_, newCSR := lcKey(t)
	for _, c := range []struct{ method, path, body string }{
		{"POST", orderPath + itoa(adminOrder) + "/reissue", mustJSON(t, map[string]any{"certificate": map[string]any{"csr": newCSR}, "skip_approval": true})},
		{"POST", orderPath + itoa(adminOrder) + "/duplicate", mustJSON(t, map[string]any{"certificate": map[string]any{"csr": newCSR}, "skip_approval": true})},
		{"PUT", orderPath + itoa(adminOrder) + "/status", `{"status":"canceled","note":"x"}`},
		{"GET", orderPath + itoa(adminOrder) + "/reissue", ""},
		{"GET", orderPath + itoa(adminOrder) + "/duplicate", ""},
	} {
		status, hdr, body := srv.DoKey(key.APIKey, c.method, c.path, c.body)
		requireErrors(t, status, hdr, body, http.StatusNotFound, "not_found|order")
	}
	// Their own order they may reissue.
	_, ownCSR := lcKey(t)
	status, hdr, body = srv.DoKey(key.APIKey, "POST", orderPath+itoa(own.ID)+"/reissue",
		mustJSON(t, map[string]any{"certificate": map[string]any{"csr": ownCSR}, "skip_approval": true}))
	requireCreated(t, status, hdr, body).requireChain(t, "example.com")
}
