package main

import (
	"bytes"
	"context"
	"crypto/elliptic"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/store/backend"
	"github.com/certorder/certorder/internal/testenv"
)

// TestJobsCommand: jobs run runs a round of each job on a server's data
// directory (a round the server claimed already is left to it) and
// refuses an unknown subcommand.
func TestJobsCommand(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	srv.Stop()
	var out, errOut bytes.Buffer
	if err := jobsCmd(context.Background(), []string{"run", "--data", srv.DataDir}, &out, &errOut); err != nil {
		t.Fatalf("jobs run: %v\n%s", err, errOut.String())
	}
	if out.String() != "expire_orders: 0\nrenewal_notices: 0\n" {
		t.Errorf("jobs run printed %q", out.String())
	}
	if err := jobsCmd(context.Background(), []string{"walk"}, &out, &errOut); err == nil {
		t.Error("jobs walk: no error")
	}
}

// TestJobsCommandSandboxClock: on a sandbox's store jobs run decides what
// is due by the sandbox's travelled clock, as its servers do: after
// "clock advance 40d" an order of 30 days has expired (dated at the
// sandbox's time, not the wall clock's) and is due its notice of a week
// after the end, and one of 60 days is due its 30-day notice. One of 60
// days with auto_renew gets no notice from the command, which cannot
// renew: the next server renews it instead.
func TestJobsCommandSandboxClock(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	csr := testenv.CSR(t, testenv.ECKey(t, elliptic.P256()), "jobs-clock.example.com")
	place := func(name string, days, autoRenew int) int64 {
		t.Helper()
		body, _ := json.Marshal(map[string]any{
			"certificate":    map[string]any{"common_name": name, "csr": csr},
			"order_validity": map[string]any{"days": days}, "dcv_method": "dns-txt-token", "skip_approval": true,
			"auto_renew": autoRenew})
		code, _, b := srv.Do("POST", "/services/v2/order/certificate/ssl_dv_geotrust", string(body))
		if code != http.StatusCreated {
			t.Fatalf("order %s: %d %s", name, code, b)
		}
		cr, err := parseCreated(name, b)
		if err != nil {
			t.Fatalf("order %s: %s: %v", name, b, err)
		}
		testenv.RequireLintClean(t, cr.leaf)
		return cr.orderID
	}
	short := place("short.jobs-clock.example.com", 30, 0)
	place("long.jobs-clock.example.com", 60, 0)
	renewing := place("renewing.jobs-clock.example.com", 60, 1)
	srv.Stop()

	var out, errOut bytes.Buffer
	if err := clockCmd(context.Background(), []string{"advance", "--data", srv.DataDir, "40d"}, &out, &errOut); err != nil {
		t.Fatalf("clock advance: %v\n%s", err, errOut.String())
	}
	out.Reset()
	if err := jobsCmd(context.Background(), []string{"run", "--data", srv.DataDir}, &out, &errOut); err != nil {
		t.Fatalf("jobs run: %v\n%s", err, errOut.String())
	}
	if out.String() != "expire_orders: 1\nrenewal_notices: 2\n" {
		t.Fatalf("jobs run 40 sandbox days on printed %q, want one order expired and two notices", out.String())
	}
	st, err := backend.Open(context.Background(), "", srv.DataDir, true)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	o, err := st.Order(context.Background(), accountID(t, st), short)
	if err != nil || o.Status != store.OrderExpired {
		t.Fatalf("the 30-day order after the round: %+v, %v", o, err)
	}
	// (A notice due before the order was placed may be recorded as passed
	// over: the first server's first round can meet it.)
	if ns, err := st.OrderNotices(context.Background(), o.AccountID, renewing); err != nil ||
		slices.ContainsFunc(ns, func(n store.OrderNotice) bool { return n.Sent || n.Notice == store.NoticeMinus30 }) {
		t.Fatalf("the command recorded a notice of the order due its renewal: %+v, %v", ns, err)
	}
	travelled := time.Now().Add(40 * 24 * time.Hour)
	changes, err := st.StatusChanges(context.Background(), o.AccountID, travelled.Add(-time.Hour), travelled.Add(time.Hour))
	if err != nil || len(changes) != 1 || changes[0].OrderID != short {
		t.Fatalf("status changes at the sandbox's time: %+v, %v", changes, err)
	}
	st.Close()

	// The next server renews it, its notice then moot.
	srv.Restart()
	var renewed *store.Order
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		renewed, err = srv.App.Store.Order(context.Background(), o.AccountID, renewing)
		if err != nil {
			t.Fatal(err)
		}
		if renewed.IsRenewed || time.Now().After(deadline) {
			break
		}
	}
	nu, err := srv.App.Store.Order(context.Background(), o.AccountID, renewed.RenewedOrderID)
	if err != nil || !renewed.IsRenewed || nu.Status != store.OrderIssued {
		t.Fatalf("the order due its renewal after the server's round: %+v; renewal %+v, %v", renewed, nu, err)
	}
	c, err := srv.App.Store.Certificate(context.Background(), o.AccountID, nu.CertificateID)
	if err != nil {
		t.Fatal(err)
	}
	testenv.RequireLintClean(t, c.DER)
}

// accountID is the id of the store's account (the server's first start made it).
func accountID(t *testing.T, st store.Store) int64 {
	t.Helper()
	a, err := st.FirstAccount(context.Background())
	if err != nil {
		t.Fatalf("read account: %v", err)
	}
	return a.ID
}
