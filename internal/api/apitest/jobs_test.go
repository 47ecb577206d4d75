package apitest

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/dcv/dcvtest"
	"github.com/certorder/certorder/internal/testenv"
)

// TestRenewalNoticeFields: the send_minus_* and send_plus_7 switches are
// read from the order and shown in order info (on unless sent false), and
// a value of the wrong shape is refused in the envelope; unknown fields
// stay ignored.
func TestRenewalNoticeFields(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	_, csr := lcKey(t)
	body := baseBody(csr)
	body["send_minus_30"], body["send_plus_7"], body["send_minus_90"] = false, "0", true
	body["send_minus_45"] = "not a field of CertCentral's"
	id, _ := lcIssued(t, srv, "ssl_securesite", body, "example.com")
	_, raw := getOrder(t, srv, id)
	var v map[string]any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	for field, want := range map[string]bool{"send_minus_90": true, "send_minus_60": true, "send_minus_30": false,
		"send_minus_7": true, "send_minus_3": true, "send_plus_7": false} {
		if v[field] != want {
			t.Errorf("order info %s = %v, want %v", field, v[field], want)
		}
	}

	bad := func(field string, value any) map[string]any {
		b := baseBody(csr)
		b[field] = value
		return b
	}
	sendRefusals(t, srv, []callRefusal{
		{"auto_renew 2", "POST", orderPath + "ssl_securesite", bad("auto_renew", 2), 400, []string{"invalid_value:auto_renew"}},
		{"send_minus_30 often", "POST", orderPath + "ssl_securesite", bad("send_minus_30", "often"), 400, []string{"invalid_value:send_minus_30"}},
		{"send_plus_7 object", "POST", orderPath + "ssl_securesite", bad("send_plus_7", map[string]any{}), 400, []string{"invalid_value:send_plus_7"}},
		{"send_minus_90 2", "POST", orderPath + "ssl_securesite", bad("send_minus_90", 2), 400, []string{"invalid_value:send_minus_90"}},
	})
}

// TestOrderExpires: once business time passes an issued order's end and
// the jobs have run, order info, the certificate, the status filter, the
// status changes and the CSV list say expired.
func TestOrderExpires(t *testing.T) {
	t.Parallel()
	var shift atomic.Int64
	srv := testenv.Start(t, testenv.Options{Sandbox: true, Now: func() time.Time { return time.Now().Add(time.Duration(shift.Load())) }})
	_, csr := lcKey(t)
	id, chain := lcIssued(t, srv, "ssl_securesite", baseBody(csr), "example.com")
	listed := func(query string) []int64 {
		t.Helper()
		status, _, b := srv.Do("GET", "/services/v2/order/certificate?"+query, "")
		var l struct {
			Orders []struct {
				ID     int64  `json:"id"`
				Status string `json:"status"`
			} `json:"orders"`
		}
		if status != http.StatusOK || json.Unmarshal(b, &l) != nil {
			t.Fatalf("list %s: %d %s", query, status, clip(b))
		}
		var ids []int64
		for _, o := range l.Orders {
			ids = append(ids, o.ID)
		}
		return ids
	}
	if ids := listed("filters[status]=expired"); len(ids) != 0 {
		t.Fatalf("expired orders before the end: %v", ids)
	}

	_, raw := getOrder(t, srv, id)
	var before struct {
		OrderValidTill string `json:"order_valid_till"`
	}
	if err := json.Unmarshal(raw, &before); err != nil {
		t.Fatal(err)
	}
	end, err := time.Parse(time.DateOnly, before.OrderValidTill)
	if err != nil || end.Before(chain[0].NotAfter.Add(-24*time.Hour)) {
		t.Fatalf("order_valid_till %q (%v) before the certificate's end %v", before.OrderValidTill, err, chain[0].NotAfter)
	}
	shift.Store(int64(time.Until(end) + 2*24*time.Hour))
	srv.App.Jobs.Round(context.Background())

	o, raw := getOrder(t, srv, id)
	var v struct {
		Certificate struct {
			Status string `json:"status"`
		} `json:"certificate"`
	}
	if err := json.Unmarshal(raw, &v); err != nil || o.Status != "expired" || v.Certificate.Status != "expired" {
		t.Fatalf("after the end: order %s, certificate %s (%v)", o.Status, v.Certificate.Status, err)
	}
	if ids := listed("filters[status]=expired"); !slices.Equal(ids, []int64{id}) {
		t.Errorf("filters[status]=expired lists %v, want [%d]", ids, id)
	}
	if ids := listed("filters[status]=issued"); len(ids) != 0 {
		t.Errorf("filters[status]=issued lists %v after the end", ids)
	}
	if c := lcChanges(t, srv, "minutes=5"); c[id].Status != "expired" {
		t.Errorf("status changes: %+v", c[id])
	}
	status, _, b := lsGet(t, srv, "/services/v2/order/certificate", "text/csv")
	rows, err := csv.NewReader(strings.NewReader(string(b))).ReadAll()
	if status != http.StatusOK || err != nil || len(rows) != 2 {
		t.Fatalf("CSV: %d %v %q", status, err, rows)
	}
	if i := slices.Index(rows[0], "status"); i < 0 || rows[1][i] != "expired" {
		t.Errorf("CSV status column of %q: %q", rows[0], rows[1])
	}
}

// TestRenewalNoticeMailed: the server's engine queues the notice due and
// its mail sender delivers it through the relay, in the order's locale
// with its custom message, once however often the jobs run.
func TestRenewalNoticeMailed(t *testing.T) {
	t.Parallel()
	smtp := dcvtest.StartSMTP(t)
	var shift atomic.Int64
	srv := testenv.Start(t, testenv.Options{Sandbox: true, SMTPURL: smtp.URL(),
		Now: func() time.Time { return time.Now().Add(time.Duration(shift.Load())) }})
	_, csr := lcKey(t)
	body := baseBody(csr)
	body["additional_emails"] = []string{"ops@example.com"}
	body["locale"] = "de"
	body["custom_renewal_message"] = "Bitte Jo anrufen."
	id, _ := lcIssued(t, srv, "ssl_securesite", body, "example.com")
	_, raw := getOrder(t, srv, id)
	var o struct {
		OrderValidTill string `json:"order_valid_till"`
	}
	if err := json.Unmarshal(raw, &o); err != nil {
		t.Fatal(err)
	}
	end, err := time.Parse(time.DateOnly, o.OrderValidTill)
	if err != nil {
		t.Fatal(err)
	}
	shift.Store(int64(time.Until(end) - 30*24*time.Hour + time.Hour))
	for range 3 {
		srv.App.Jobs.Round(context.Background())
	}
	// The plan's certificate ended long before the order: its next one is
	// mailed too (auto_reissue); the notice is the mail about the end.
	notices := func() []dcvtest.Message {
		var out []dcvtest.Message
		for _, m := range smtp.Messages() {
			if slices.Contains(m.To, "ops@example.com") && strings.Contains(m.Subject, "läuft in 30 Tagen ab") {
				out = append(out, m)
			}
		}
		return out
	}
	for deadline := time.Now().Add(10 * time.Second); len(notices()) == 0 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	ms := notices()
	if len(ms) == 0 || !strings.Contains(ms[0].Body, "Bitte Jo anrufen.") {
		t.Fatalf("notices to ops@example.com: %+v", ms)
	}
	time.Sleep(200 * time.Millisecond)
	n := len(notices())
	if n != 1 {
		t.Fatalf("%d notices to ops@example.com, want 1", n)
	}
}
