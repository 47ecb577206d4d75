package client_test

import (
	"context"
	"crypto/elliptic"
	"crypto/sha1"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/certorder/certorder/client"
	"github.com/certorder/certorder/internal/testenv"
)

// orderReq is a valid OV order for org 1 and container 1.
func orderReq(t *testing.T, cn string, skip bool) *client.OrderRequest {
	t.Helper()
	return &client.OrderRequest{
		Certificate: client.CertificateSpec{
			CommonName:    cn,
			CSR:           testenv.CSR(t, testenv.ECKey(t, elliptic.P256()), "ignored"),
			SignatureHash: "sha256",
		},
		ValidityYears: 1,
		SkipApproval:  skip,
		Organization:  &client.OrderOrganization{ID: 1},
		Container:     &client.IDRef{ID: 1},
	}
}

func apiErr(t *testing.T, err error, status int, code string) {
	t.Helper()
	var e *client.APIError
	if !errors.As(err, &e) {
		t.Fatalf("want *client.APIError, got %T %v", err, err)
	}
	if e.StatusCode != status || !e.Has(code) {
		t.Fatalf("want %d %s, got %v", status, code, e)
	}
	if !strings.Contains(e.Error(), code) {
		t.Fatalf("Error() %q does not list %s", e.Error(), code)
	}
}

// verifyChain checks leaf, intermediate, root and lints every certificate.
func verifyChain(t *testing.T, chain []*x509.Certificate, dnsName string) {
	t.Helper()
	if len(chain) != 3 {
		t.Fatalf("chain has %d certificates, want 3", len(chain))
	}
	for _, c := range chain {
		testenv.RequireLintClean(t, c.Raw)
	}
	leaf, inter, root := chain[0], chain[1], chain[2]
	if !inter.IsCA || !root.IsCA || leaf.IsCA {
		t.Fatal("chain is not leaf, intermediate, root")
	}
	roots, inters := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(root)
	inters.AddCert(inter)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inters, DNSName: dnsName,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		t.Fatalf("verify: %v", err)
	}
}

func TestClient(t *testing.T) {
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	c := client.New(srv.URL, srv.AdminKey, client.WithUserAgent("certorder-client-test"))
	ctx := context.Background()

	t.Run("Catalog", func(t *testing.T) {
		ps, err := c.ListProducts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, p := range ps {
			ids = append(ids, p.NameID)
		}
		for _, want := range []string{"ssl_securesite", "ssl_securesite_multi_domain", "ssl_securesite_wildcard", "ssl_ev_securesite", "ssl_ev_securesite_multi_domain"} {
			if !slices.Contains(ids, want) {
				t.Errorf("ListProducts lacks %s: %v", want, ids)
			}
		}
		p, err := c.GetProduct(ctx, "ssl_securesite")
		if err != nil {
			t.Fatal(err)
		}
		if p.NameID != "ssl_securesite" || len(p.ServerPlatforms) == 0 || p.SignatureHashTypes.DefaultHashTypeID == "" {
			t.Fatalf("GetProduct: %+v", p)
		}
		_, err = c.GetProduct(ctx, "no_such_product")
		apiErr(t, err, http.StatusNotFound, "not_found|product")

		me, err := c.Me(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if me.Username != "admin" || me.Email != "admin@example.com" || me.Status != "active" ||
			len(me.AccessRoles) != 1 || me.AccessRoles[0].Name != "Administrator" || me.Container == nil || me.Container.ID != 1 {
			t.Fatalf("Me: %+v", me)
		}

		orgs, err := c.ListOrganizations(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if orgs.Page.Total < 1 || len(orgs.Organizations) < 1 || orgs.Organizations[0].ID != 1 {
			t.Fatalf("ListOrganizations: %+v", orgs)
		}
		org, err := c.GetOrganization(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		var types []string
		for _, v := range org.Validations {
			types = append(types, v.Type)
		}
		if org.Name != "Example Inc." || !slices.Contains(types, "ov") || !slices.Contains(types, "ev") {
			t.Fatalf("GetOrganization: %+v", org)
		}
		conts, err := c.ListContainers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(conts) != 1 || conts[0].ID != 1 {
			t.Fatalf("ListContainers: %+v", conts)
		}
		cont, err := c.GetContainer(ctx, 1)
		if err != nil || cont.ID != 1 || !cont.IsActive {
			t.Fatalf("GetContainer: %+v %v", cont, err)
		}
		_, err = c.GetContainer(ctx, 999)
		apiErr(t, err, http.StatusNotFound, "not_found|container")
	})

	t.Run("Errors", func(t *testing.T) {
		bad := client.New(srv.URL, "not-a-key")
		_, err := bad.Me(ctx)
		apiErr(t, err, http.StatusForbidden, "access_denied|access_denied_invalid_key")
		if client.AsAPIError(err) == nil || !client.AsAPIError(err).Has("access_denied") {
			t.Fatal("AsAPIError/Has category")
		}
		_, err = c.OrderCertificate(ctx, "no_such_product", orderReq(t, "example.com", true))
		apiErr(t, err, http.StatusNotFound, "not_found|product")
		_, err = c.GetOrder(ctx, "999999")
		apiErr(t, err, http.StatusNotFound, "not_found|order")
		r := orderReq(t, "example.com", true)
		r.ValidityYears = 0
		r.Certificate.SignatureHash = ""
		_, err = c.OrderCertificate(ctx, "ssl_securesite", r)
		apiErr(t, err, http.StatusBadRequest, "missing_field:validity_years")
		apiErr(t, err, http.StatusBadRequest, "missing_field:signature_hash")
	})

	t.Run("ImmediateOrder", func(t *testing.T) {
		r := orderReq(t, "immediate.example.com", true)
		r.Certificate.DNSNames = []string{"www.immediate.example.com"}
		r.Comments = "from the client test"
		r.AlternativeOrderID = "alt-immediate-1"
		res, err := c.OrderCertificate(ctx, "ssl_securesite", r)
		if err != nil {
			t.Fatal(err)
		}
		if res.ID == 0 || res.CertificateID == 0 || len(res.Requests) != 0 || len(res.CertificateChain) != 3 {
			t.Fatalf("want the immediate answer, got %+v", res)
		}
		chain, err := client.ParseChain(res.CertificateChain)
		if err != nil {
			t.Fatal(err)
		}
		verifyChain(t, chain, "www.immediate.example.com")
		if res.CertificateChain[0].SubjectCommonName != "immediate.example.com" {
			t.Fatalf("leaf subject_common_name %q", res.CertificateChain[0].SubjectCommonName)
		}
		leaf := chain[0]

		o, err := c.GetOrder(ctx, fmt.Sprint(res.ID))
		if err != nil {
			t.Fatal(err)
		}
		if o.ID != res.ID || o.Status != "issued" || o.Certificate.ID != res.CertificateID || o.Certificate.CommonName != "immediate.example.com" ||
			o.Product.NameID != "ssl_securesite" || o.Organization == nil || o.Organization.ID != 1 || o.Container.ID != 1 ||
			o.Certificate.Thumbprint == "" || o.Certificate.SerialNumber == "" || o.Certificate.CACert == nil ||
			o.AlternativeOrderID != "alt-immediate-1" || o.Comments != "from the client test" || o.ValidityYears != 1 ||
			o.User == nil || o.User.Email != "admin@example.com" || o.PaymentMethod != "balance" {
			t.Fatalf("GetOrder: %+v", o)
		}
		if o.Certificate.DaysRemaining <= 0 {
			t.Fatalf("days_remaining %d", o.Certificate.DaysRemaining)
		}
		if !strings.EqualFold(o.Certificate.SerialNumber, hex.EncodeToString(leaf.SerialNumber.Bytes())) {
			t.Fatalf("serial %s, leaf %x", o.Certificate.SerialNumber, leaf.SerialNumber)
		}
		if sum := sha1.Sum(leaf.Raw); !strings.EqualFold(o.Certificate.Thumbprint, hex.EncodeToString(sum[:])) {
			t.Fatalf("thumbprint %s, leaf %x", o.Certificate.Thumbprint, sum)
		}
		created, err := o.Created()
		if err != nil || time.Since(created) > time.Hour || time.Until(created) > time.Minute {
			t.Fatalf("Created: %v %v (%q)", created, err, o.DateCreated)
		}
		if till, err := client.ParseDate(o.Certificate.ValidTill); err != nil || !till.After(time.Now()) {
			t.Fatalf("valid_till %q: %v", o.Certificate.ValidTill, err)
		}
		for _, key := range []string{o.Certificate.SerialNumber, o.Certificate.Thumbprint} {
			byKey, err := c.GetOrder(ctx, key)
			if err != nil {
				t.Fatalf("GetOrder(%s): %v", key, err)
			}
			if byKey.ID != res.ID {
				t.Fatalf("GetOrder(%s) = order %d, want %d", key, byKey.ID, res.ID)
			}
		}

		elems, err := c.GetCertificateChain(ctx, res.CertificateID)
		if err != nil {
			t.Fatal(err)
		}
		cc, err := client.ParseChain(elems)
		if err != nil {
			t.Fatal(err)
		}
		if len(cc) != 3 || !cc[0].Equal(leaf) {
			t.Fatalf("GetCertificateChain: %d certificates", len(cc))
		}
		pemChain, err := c.CertificateChainPEM(ctx, res.CertificateID)
		if err != nil {
			t.Fatal(err)
		}
		verifyChain(t, pemChain, "immediate.example.com")
		body, ctype, err := c.DownloadOrderCertificate(ctx, res.ID, client.FormatPEMNoRoot)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := client.ParsePEMCertificates(body); err != nil || len(got) != 2 || !got[0].Equal(leaf) || ctype != "application/x-pem-file" {
			t.Fatalf("DownloadOrderCertificate: %d certs, %q, %v", len(got), ctype, err)
		}
		_, _, err = c.DownloadCertificate(ctx, res.CertificateID, "no_such_format")
		apiErr(t, err, http.StatusNotFound, "not_found|format")
	})

	t.Run("Approval", func(t *testing.T) {
		res, err := c.OrderCertificate(ctx, "ssl_securesite", orderReq(t, "approve.example.com", false))
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Requests) != 1 || res.Requests[0].Status != "pending" || res.CertificateID != 0 || len(res.CertificateChain) != 0 {
			t.Fatalf("want a pending request, got %+v", res)
		}
		reqID := res.Requests[0].ID
		rq, err := c.GetRequest(ctx, reqID)
		if err != nil {
			t.Fatal(err)
		}
		if rq.ID != reqID || rq.Status != "pending" || rq.Type != "new_request" || rq.Order.ID != res.ID ||
			rq.Order.Certificate.CommonName != "approve.example.com" || rq.Requester == nil {
			t.Fatalf("GetRequest: %+v", rq)
		}
		pending, err := c.ListRequests(ctx, &client.ListOptions{Filters: map[string]string{"status": "pending"}})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(pending.Requests, func(r client.Request) bool { return r.ID == reqID }) {
			t.Fatalf("pending requests lack %d: %+v", reqID, pending)
		}
		o, err := c.GetOrder(ctx, fmt.Sprint(res.ID))
		if err != nil || o.Status != "needs_approval" {
			t.Fatalf("before approval: %v %v", o, err)
		}

		if err := c.UpdateRequestStatus(ctx, reqID, client.RequestApproved, "looks good"); err != nil {
			t.Fatal(err)
		}
		o, err = c.GetOrder(ctx, fmt.Sprint(res.ID))
		if err != nil {
			t.Fatal(err)
		}
		if o.Status != "issued" || o.Certificate.ID == 0 || o.Certificate.SerialNumber == "" {
			t.Fatalf("after approval: %+v", o)
		}
		rq, err = c.GetRequest(ctx, reqID)
		if err != nil || rq.Status != "approved" || rq.ProcessorComment != "looks good" || rq.Processor == nil || rq.DateProcessed == "" {
			t.Fatalf("request after approval: %+v %v", rq, err)
		}

		certID := o.Certificate.ID
		for format, n := range map[string]int{client.FormatPEMAll: 3, client.FormatPEMNoRoot: 2, client.FormatPEMNoIntermediate: 1} {
			body, _, err := c.DownloadCertificate(ctx, certID, format)
			if err != nil {
				t.Fatal(err)
			}
			certs, err := client.ParsePEMCertificates(body)
			if err != nil {
				t.Fatal(err)
			}
			if len(certs) != n {
				t.Fatalf("%s: %d certificates, want %d", format, len(certs), n)
			}
			if format == client.FormatPEMAll {
				verifyChain(t, certs, "approve.example.com")
			}
		}
		body, ctype, err := c.DownloadCertificate(ctx, certID, client.FormatP7B)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(body), "-----BEGIN PKCS7-----") || ctype != "application/x-pkcs7-certificates" {
			t.Fatalf("p7b: %q %.40q", ctype, body)
		}

		// Approving twice is idempotent; rejecting afterwards is a conflict.
		if err := c.UpdateRequestStatus(ctx, reqID, client.RequestApproved, ""); err != nil {
			t.Fatalf("second approval: %v", err)
		}
		err = c.UpdateRequestStatus(ctx, reqID, client.RequestRejected, "")
		apiErr(t, err, http.StatusBadRequest, "invalid_request_status")
	})

	t.Run("Rejection", func(t *testing.T) {
		res, err := c.OrderCertificate(ctx, "ssl_securesite", orderReq(t, "reject.example.com", false))
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Requests) != 1 {
			t.Fatalf("want one request, got %+v", res)
		}
		if err := c.UpdateRequestStatus(ctx, res.Requests[0].ID, client.RequestRejected, "no"); err != nil {
			t.Fatal(err)
		}
		o, err := c.GetOrder(ctx, fmt.Sprint(res.ID))
		if err != nil {
			t.Fatal(err)
		}
		if o.Status != "rejected" || o.Certificate.SerialNumber != "" {
			t.Fatalf("after rejection: %+v", o)
		}
		err = c.UpdateRequestStatus(ctx, 999999, client.RequestApproved, "")
		apiErr(t, err, http.StatusNotFound, "not_found|request")
	})

	t.Run("ListOrders", func(t *testing.T) {
		const cn = "paging.example.com"
		var ids []int64
		for i := 0; i < 3; i++ {
			res, err := c.OrderCertificate(ctx, "ssl_securesite", orderReq(t, cn, i == 0))
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, res.ID)
		}
		byCN := map[string]string{"common_name": cn}
		first, err := c.ListOrders(ctx, &client.ListOptions{Limit: 2, Filters: byCN, Sort: "id"})
		if err != nil {
			t.Fatal(err)
		}
		if len(first.Orders) != 2 || first.Page.Total != 3 || first.Page.Limit != 2 || first.Page.Offset != 0 {
			t.Fatalf("first page: %d orders, page %+v", len(first.Orders), first.Page)
		}
		second, err := c.ListOrders(ctx, &client.ListOptions{Offset: 2, Limit: 2, Filters: byCN, Sort: "id"})
		if err != nil {
			t.Fatal(err)
		}
		if len(second.Orders) != 1 || second.Page.Total != 3 || second.Page.Offset != 2 {
			t.Fatalf("second page: %d orders, page %+v", len(second.Orders), second.Page)
		}
		got := []int64{first.Orders[0].ID, first.Orders[1].ID, second.Orders[0].ID}
		if !slices.Equal(got, ids) {
			t.Fatalf("pages hold %v, want %v", got, ids)
		}
		if first.Orders[0].Status != "issued" || first.Orders[0].Certificate.CommonName != cn || first.Orders[0].ProductNameID != "ssl_securesite" {
			t.Fatalf("list item: %+v", first.Orders[0])
		}
		if _, err := first.Orders[0].Created(); err != nil {
			t.Fatal(err)
		}

		// A leading "%" means "contains" and must reach the server literally.
		contains, err := c.ListOrders(ctx, &client.ListOptions{Filters: map[string]string{"search": "%ging.example"}})
		if err != nil {
			t.Fatal(err)
		}
		prefix, err := c.ListOrders(ctx, &client.ListOptions{Filters: map[string]string{"search": "ging.example"}})
		if err != nil {
			t.Fatal(err)
		}
		if contains.Page.Total != 3 || prefix.Page.Total != 0 {
			t.Fatalf("search: contains %d, prefix %d", contains.Page.Total, prefix.Page.Total)
		}

		for _, st := range []string{"issued", "needs_approval"} {
			l, err := c.ListOrders(ctx, &client.ListOptions{Filters: map[string]string{"status": st, "common_name": cn}})
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]int{"issued": 1, "needs_approval": 2}[st]
			if l.Page.Total != want || len(l.Orders) != want {
				t.Fatalf("filters[status]=%s: %d orders, total %d, want %d", st, len(l.Orders), l.Page.Total, want)
			}
			for _, o := range l.Orders {
				if o.Status != st {
					t.Fatalf("filters[status]=%s returned %s", st, o.Status)
				}
			}
		}
		_, err = c.ListOrders(ctx, &client.ListOptions{Filters: map[string]string{"status": "bogus"}})
		apiErr(t, err, http.StatusBadRequest, "invalid_value:filters[status]")

		all, err := c.AllOrders(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		total, err := c.ListOrders(ctx, &client.ListOptions{Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != total.Page.Total || len(all) < 3 {
			t.Fatalf("AllOrders: %d, total %d", len(all), total.Page.Total)
		}
	})

	// Last: a required custom field applies to every later order.
	t.Run("Metadata", func(t *testing.T) {
		id, err := c.CreateMetadata(ctx, "Cost center", "int", true)
		if err != nil {
			t.Fatal(err)
		}
		ms, err := c.ListMetadata(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(ms, func(m client.Metadata) bool {
			return m.ID == id && m.Label == "Cost center" && m.IsRequired && m.IsActive && m.DataType == "int"
		}) {
			t.Fatalf("ListMetadata lacks %d: %+v", id, ms)
		}
		_, err = c.OrderCertificate(ctx, "ssl_securesite", orderReq(t, "fields.example.com", true))
		apiErr(t, err, http.StatusBadRequest, "invalid_value:custom_fields")

		r := orderReq(t, "fields.example.com", true)
		r.CustomFields = []client.CustomFieldValue{{MetadataID: id, Value: "4711"}}
		res, err := c.OrderCertificate(ctx, "ssl_securesite", r)
		if err != nil {
			t.Fatal(err)
		}
		chain, err := client.ParseChain(res.CertificateChain)
		if err != nil {
			t.Fatal(err)
		}
		verifyChain(t, chain, "fields.example.com")
		o, err := c.GetOrder(ctx, fmt.Sprint(res.ID))
		if err != nil {
			t.Fatal(err)
		}
		if len(o.CustomFields) != 1 || o.CustomFields[0].MetadataID != id || o.CustomFields[0].Value != "4711" || o.CustomFields[0].Label != "Cost center" {
			t.Fatalf("custom fields: %+v", o.CustomFields)
		}
		_, err = c.CreateMetadata(ctx, "", "", false)
		apiErr(t, err, http.StatusBadRequest, "missing_field:label")
	})
}

// TestWire checks headers, encoding and error decoding against a stub.
func TestWire(t *testing.T) {
	var got *http.Request
	var gotBody string
	stub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		b, _ := io.ReadAll(r.Body)
		gotBody = string(b)
		switch r.URL.Path {
		case "/services/v2/order/certificate":
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"orders":[],"page":{"total":0,"limit":5,"offset":0}}`))
		case "/services/v2/order/certificate/ssl_securesite":
			w.WriteHeader(http.StatusBadGateway)
			w.Write([]byte("<html>" + strings.Repeat("x", 2000) + "</html>"))
		case "/services/v2/request/7/status":
			w.WriteHeader(http.StatusNoContent)
		default:
			http.NotFound(w, r)
		}
	}))
	defer stub.Close()
	ctx := context.Background()
	c := client.New(stub.URL+"/", "KEY", client.WithUserAgent("ua-test/1"), client.WithHTTPClient(stub.Client()))

	if _, err := c.ListOrders(ctx, &client.ListOptions{Limit: 5, Sort: "-id", Filters: map[string]string{"search": "%foo"}}); err != nil {
		t.Fatal(err)
	}
	if v := got.URL.Query().Get("filters[search]"); v != "%foo" {
		t.Fatalf("filters[search] arrived as %q (raw query %q)", v, got.URL.RawQuery)
	}
	if !strings.Contains(got.URL.RawQuery, "%25foo") || got.URL.Query().Get("limit") != "5" || got.URL.Query().Get("sort") != "-id" || got.URL.Query().Has("offset") {
		t.Fatalf("raw query %q", got.URL.RawQuery)
	}
	if got.Header.Get("X-DC-DEVKEY") != "KEY" || got.Header.Get("Accept") != "application/json" || got.Header.Get("User-Agent") != "ua-test/1" || got.Header.Get("Content-Type") != "" {
		t.Fatalf("headers %v", got.Header)
	}

	_, err := c.OrderCertificate(ctx, "ssl_securesite", &client.OrderRequest{Certificate: client.CertificateSpec{CommonName: "a.example"}})
	e := client.AsAPIError(err)
	if e == nil || e.StatusCode != http.StatusBadGateway || len(e.Errors) != 1 || e.Errors[0].Code != client.UnexpectedResponseCode || len(e.Errors[0].Message) > 600 {
		t.Fatalf("non-envelope error: %v", err)
	}
	if got.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("Content-Type %q", got.Header.Get("Content-Type"))
	}
	// Zero values of optional fields are not sent.
	if gotBody != `{"certificate":{"common_name":"a.example"}}` {
		t.Fatalf("body %s", gotBody)
	}

	if err := c.UpdateRequestStatus(ctx, 7, client.RequestApproved, ""); err != nil {
		t.Fatal(err)
	}
	if got.Method != http.MethodPut || gotBody != `{"status":"approved"}` {
		t.Fatalf("%s %s", got.Method, gotBody)
	}
}
