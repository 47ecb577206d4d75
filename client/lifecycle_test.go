package client_test

import (
	"context"
	"crypto/elliptic"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/certorder/certorder/client"
	"github.com/certorder/certorder/internal/testenv"
)

// TestClientLifecycle drives reissue, duplicate, their lists, cancel, the
// status-change list and the CSV lists through the client.
func TestClientLifecycle(t *testing.T) {
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	c := client.New(srv.URL, srv.AdminKey)
	ctx := context.Background()

	placed, err := c.OrderCertificate(ctx, "ssl_securesite", orderReq(t, "lifecycle.example.com", true))
	if err != nil {
		t.Fatal(err)
	}
	firstChain, err := client.ParseChain(placed.CertificateChain)
	if err != nil {
		t.Fatal(err)
	}
	verifyChain(t, firstChain, "lifecycle.example.com")
	newCSR := testenv.CSR(t, testenv.ECKey(t, elliptic.P256()), "ignored")
	re, err := c.Reissue(ctx, placed.ID, &client.CertificateOperation{Certificate: client.CertificateSpec{CSR: newCSR}, SkipApproval: true})
	if err != nil {
		t.Fatal(err)
	}
	chain, err := client.ParseChain(re.CertificateChain)
	if err != nil {
		t.Fatal(err)
	}
	verifyChain(t, chain, "lifecycle.example.com")
	o, err := c.GetOrder(ctx, fmt.Sprint(placed.ID))
	if err != nil || o.Certificate.ID != re.CertificateID {
		t.Fatalf("order after reissue: %v %+v", err, o)
	}
	dup, err := c.Duplicate(ctx, placed.ID, &client.CertificateOperation{Certificate: client.CertificateSpec{
		CSR: testenv.CSR(t, testenv.ECKey(t, elliptic.P256()), "ignored")}, SkipApproval: true})
	if err != nil {
		t.Fatal(err)
	}
	dchain, err := client.ParseChain(dup.CertificateChain)
	if err != nil {
		t.Fatal(err)
	}
	verifyChain(t, dchain, "lifecycle.example.com")
	rs, err := c.ListReissues(ctx, placed.ID)
	if err != nil || len(rs) != 1 || rs[0].ID != re.CertificateID || rs[0].Status != "issued" {
		t.Fatalf("ListReissues: %v %+v", err, rs)
	}
	ds, err := c.ListDuplicates(ctx, placed.ID)
	if err != nil || len(ds) != 1 || ds[0].ID != dup.CertificateID || ds[0].SubID != "001" {
		t.Fatalf("ListDuplicates: %v %+v", err, ds)
	}

	// A reissue waiting for approval, canceled.
	pending, err := c.Reissue(ctx, placed.ID, &client.CertificateOperation{Certificate: client.CertificateSpec{CSR: newCSR}})
	if err != nil || len(pending.Requests) != 1 {
		t.Fatalf("pending reissue: %v %+v", err, pending)
	}
	err = c.CancelOrder(ctx, placed.ID, "")
	apiErr(t, err, http.StatusBadRequest, "missing_field:note")
	if err := c.CancelOrder(ctx, placed.ID, "not now"); err != nil {
		t.Fatal(err)
	}
	r, err := c.GetRequest(ctx, pending.Requests[0].ID)
	if err != nil || r.Status != client.RequestRejected || r.ProcessorComment != "not now" {
		t.Fatalf("request of the canceled reissue: %v %+v", err, r)
	}
	err = c.UpdateOrderStatus(ctx, placed.ID, client.OrderStatusRenewed, "")
	apiErr(t, err, http.StatusBadRequest, "invalid_order_status")

	changes, err := c.StatusChanges(ctx, time.Hour)
	if err != nil || len(changes) != 1 || changes[0].OrderID != placed.ID || changes[0].Status != "issued" || changes[0].CertificateID != re.CertificateID {
		t.Fatalf("StatusChanges: %v %+v", err, changes)
	}
	between, err := c.StatusChangesBetween(ctx, time.Now().Add(-time.Hour), time.Now())
	if err != nil || len(between) != 1 {
		t.Fatalf("StatusChangesBetween: %v %+v", err, between)
	}
	_, err = c.StatusChanges(ctx, 8*24*time.Hour)
	apiErr(t, err, http.StatusBadRequest, "time_frame_too_long")

	rows, err := c.ListOrdersCSV(ctx, &client.ListOptions{Filters: map[string]string{"search": "%lifecycle"}})
	if err != nil || len(rows) != 2 || rows[0][0] != "id" || rows[1][0] != fmt.Sprint(placed.ID) {
		t.Fatalf("ListOrdersCSV: %v %q", err, rows)
	}
	rrows, err := c.ListRequestsCSV(ctx, &client.ListOptions{Filters: map[string]string{"type": "reissue"}})
	if err != nil || len(rrows) != 2 || rrows[1][2] != "reissue" {
		t.Fatalf("ListRequestsCSV: %v %q", err, rrows)
	}
	_, err = c.ListOrdersCSV(ctx, &client.ListOptions{Sort: "nope"})
	apiErr(t, err, http.StatusBadRequest, "invalid_value:sort")
}
