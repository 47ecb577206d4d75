package apitest

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/jobs"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/testenv"
)

// arPlan places a plan of example.com, issued at once, on a
// server whose business clock the returned shift moves.
func arPlan(t *testing.T, extra map[string]any) (*testenv.Server, *atomic.Int64, int64, *x509.Certificate, time.Time) {
	t.Helper()
	var shift atomic.Int64
	srv := testenv.Start(t, testenv.Options{Sandbox: true, Now: func() time.Time { return time.Now().Add(time.Duration(shift.Load())) }})
	_, csr := lcKey(t)
	body := baseBody(csr)
	// A plan of 300 days whose first certificate is valid 150: the second
	// ends with the plan, within the domain's validation reuse.
	delete(body, "validity_years")
	body["order_validity"] = map[string]any{"days": 300}
	body["certificate"].(map[string]any)["cert_validity"] = map[string]any{"days": 150}
	for k, v := range extra {
		body[k] = v
	}
	id, chain := lcIssued(t, srv, "ssl_securesite", body, "example.com")
	_, raw := getOrder(t, srv, id)
	var o struct {
		OrderValidTill string `json:"order_valid_till"`
	}
	if err := json.Unmarshal(raw, &o); err != nil {
		t.Fatal(err)
	}
	end, err := time.Parse(time.DateOnly, o.OrderValidTill)
	if err != nil || !end.After(chain[0].NotAfter.Add(30*24*time.Hour)) {
		t.Fatalf("plan ends %q (%v), its first certificate %v: not a multi-year plan", o.OrderValidTill, err, chain[0].NotAfter)
	}
	return srv, &shift, id, chain[0], end
}

// arCerts lists the order's primary certificate and its reissues.
func arCerts(t *testing.T, srv *testenv.Server, id int64) (*store.Order, []store.LinkedCertificate) {
	t.Helper()
	ctx := context.Background()
	o, err := srv.App.Store.Order(ctx, 1, id)
	if err != nil {
		t.Fatal(err)
	}
	l, err := srv.App.Store.LinkedCertificates(ctx, 1, id, store.CertKindReissue)
	if err != nil {
		t.Fatal(err)
	}
	return o, l
}

// TestAutoReissue: a multi-year plan's certificate is replaced 30 days
// before it ends and not a day earlier, with the order's key, once however
// many engines run the job at once; the plan's last certificate ends with
// the plan and nothing follows it. Order info shows auto_reissue.
func TestAutoReissue(t *testing.T) {
	t.Parallel()
	srv, shift, id, first, end := arPlan(t, nil)
	ctx := context.Background()
	_, raw := getOrder(t, srv, id)
	var info struct {
		AutoReissue int `json:"auto_reissue"`
	}
	if err := json.Unmarshal(raw, &info); err != nil || info.AutoReissue != 1 {
		t.Fatalf("order info auto_reissue = %d (%v), want 1", info.AutoReissue, err)
	}
	travelTo := func(at time.Time) { shift.Store(int64(time.Until(at))) }
	round := func() {
		if _, err := srv.App.Jobs.RoundOf(ctx, jobs.KindReissue); err != nil {
			t.Fatal(err)
		}
	}

	travelTo(first.NotAfter.Add(-jobs.ReissueLead - time.Hour))
	round()
	if o, l := arCerts(t, srv, id); len(l) != 0 || o.Status != store.OrderIssued {
		t.Fatalf("31 days before the end: %d reissues, order %s", len(l), o.Status)
	}

	// Two engines at once; the server's own engine runs in the background
	// too: the three may share the work, never double it (the state below
	// says how much).
	travelTo(first.NotAfter.Add(-jobs.ReissueLead + time.Hour))
	if made := raceRounds(t, srv, jobs.KindReissue); made > 1 {
		t.Errorf("the racing engines report %d reissues, want at most 1", made)
	}
	round()
	o, l := arCerts(t, srv, id)
	if len(l) != 1 || o.Status != store.OrderIssued || o.CertificateID != l[0].ID {
		t.Fatalf("30 days before the end: %d reissues, order %s with certificate %d", len(l), o.Status, o.CertificateID)
	}
	second := arLeaf(t, l[0].Certificate)
	if !second.PublicKey.(interface{ Equal(crypto.PublicKey) bool }).Equal(first.PublicKey) {
		t.Error("the reissue has another key than the order's CSR")
	}
	if second.NotBefore.After(first.NotAfter) || !second.NotAfter.After(first.NotAfter) || second.NotAfter.After(end.Add(24*time.Hour)) {
		t.Errorf("the reissue runs %v to %v; the first ended %v, the plan ends %v", second.NotBefore, second.NotAfter, first.NotAfter, end)
	}

	// Each certificate of the plan in turn, until one ends with the plan.
	for i := 0; i < 10 && end.Sub(arLeaf(t, l[len(l)-1].Certificate).NotAfter) >= 24*time.Hour; i++ {
		travelTo(arLeaf(t, l[len(l)-1].Certificate).NotAfter.Add(-jobs.ReissueLead + time.Hour))
		round()
		_, next := arCerts(t, srv, id)
		if len(next) != len(l)+1 {
			t.Fatalf("certificate %d of the plan was not replaced: %d reissues", len(l)+1, len(next))
		}
		l = next
	}
	last := arLeaf(t, l[len(l)-1].Certificate)
	if d := end.Sub(last.NotAfter); d < 0 || d >= 24*time.Hour {
		t.Errorf("the plan's last certificate ends %v, the plan %v", last.NotAfter, end)
	}
	travelTo(last.NotAfter.Add(-jobs.ReissueLead + time.Hour))
	round()
	if _, after := arCerts(t, srv, id); len(after) != len(l) {
		t.Errorf("a certificate ending with the plan was replaced: %d reissues, want %d", len(after), len(l))
	}
}

// TestAutoReissueOff: an order sent auto_reissue 0 keeps its certificate
// to its end; a value other than 0 or 1 is refused.
func TestAutoReissueOff(t *testing.T) {
	t.Parallel()
	srv, shift, id, first, _ := arPlan(t, map[string]any{"auto_reissue": 0})
	_, raw := getOrder(t, srv, id)
	var info struct {
		AutoReissue int `json:"auto_reissue"`
	}
	if err := json.Unmarshal(raw, &info); err != nil || info.AutoReissue != 0 {
		t.Fatalf("order info auto_reissue = %d (%v), want 0", info.AutoReissue, err)
	}
	shift.Store(int64(time.Until(first.NotAfter.Add(-jobs.ReissueLead + time.Hour))))
	if _, err := srv.App.Jobs.RoundOf(context.Background(), jobs.KindReissue); err != nil {
		t.Fatal(err)
	}
	if _, l := arCerts(t, srv, id); len(l) != 0 {
		t.Fatalf("%d reissues of an order with auto_reissue 0", len(l))
	}
	_, csr := lcKey(t)
	b := baseBody(csr)
	b["auto_reissue"] = 2
	sendRefusals(t, srv, []callRefusal{
		{"auto_reissue 2", "POST", orderPath + "ssl_securesite", b, 400, []string{"invalid_value:auto_reissue"}},
	})
}

// arLeaf parses a stored certificate and lints it.
func arLeaf(t *testing.T, c store.Certificate) *x509.Certificate {
	t.Helper()
	if len(c.DER) == 0 {
		t.Fatalf("certificate %d is %s, not issued", c.ID, c.Status)
	}
	testenv.RequireLintClean(t, c.DER)
	x, err := x509.ParseCertificate(c.DER)
	if err != nil {
		t.Fatal(err)
	}
	return x
}
