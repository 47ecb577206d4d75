package apitest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/jobs"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/testenv"
)

// TestRequesterGone: an order whose requester was deleted is renewed, and
// a plan whose requester is no longer active gets its next certificate,
// in the name of the account's oldest active administrator (not a newer
// one); each stand-in is audited in the operation's transaction, the
// stand-in gets the mail and the user who is gone does not.
func TestRequesterGone(t *testing.T) {
	t.Parallel()
	var shift atomic.Int64
	srv := testenv.Start(t, testenv.Options{Sandbox: true, Now: func() time.Time { return time.Now().Add(time.Duration(shift.Load())) }})
	ctx := context.Background()
	_, csr := lcKey(t)
	userOf := func(id int64) *store.User {
		t.Helper()
		u, err := srv.App.Store.User(ctx, 1, id)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	oldest := userOf(1)
	if oldest.AccessRole != store.RoleAdministrator {
		t.Fatalf("user 1 is not the bootstrap administrator: %+v", oldest)
	}
	usrUser(t, srv, store.RoleAdministrator, 1) // a newer administrator, who must not stand in
	place := func(key string, body map[string]any) int64 {
		t.Helper()
		body["skip_approval"] = true
		status, hdr, b := srv.DoKey(key, "POST", orderPath+"ssl_securesite", mustJSON(t, body))
		got := requireCreated(t, status, hdr, b)
		if got.CertificateID == 0 {
			t.Fatalf("order %d was not issued at once", got.ID)
		}
		return got.ID
	}

	// An order with auto_renew, placed by a manager who is then deleted.
	deleted := usrUser(t, srv, store.RoleManager, 1)
	_, delKey := usrKey(t, srv, deleted, 0)
	renewBody := baseBody(csr)
	delete(renewBody, "validity_years")
	renewBody["validity_days"] = 60
	renewBody["auto_renew"] = 1
	renewID := place(delKey, renewBody)
	if status, _, body := srv.Do("DELETE", fmt.Sprintf("%s/user/%d", v2, deleted), ""); status != http.StatusNoContent {
		t.Fatalf("delete user: %d %s", status, clip(body))
	}

	// A plan placed by another manager, who is then no longer active.
	inactive := usrUser(t, srv, store.RoleManager, 1)
	_, inKey := usrKey(t, srv, inactive, 0)
	planBody := baseBody(csr)
	delete(planBody, "validity_years")
	planBody["order_validity"] = map[string]any{"days": 300}
	planBody["certificate"].(map[string]any)["cert_validity"] = map[string]any{"days": 150}
	planID := place(inKey, planBody)
	if err := srv.App.Store.InTx(ctx, func(tx store.Tx) error { return tx.SetUserStatus(ctx, 1, inactive, "inactive") }); err != nil {
		t.Fatal(err)
	}

	old, err := srv.App.Store.Order(ctx, 1, renewID)
	if err != nil {
		t.Fatal(err)
	}
	plan, planCerts := arCerts(t, srv, planID)
	planCert, err := srv.App.Store.Certificate(ctx, 1, plan.CertificateID)
	if err != nil || len(planCerts) != 0 {
		t.Fatalf("plan certificate: %v, %d reissues", err, len(planCerts))
	}
	// The renewal first (its order ends sooner than the plan's
	// certificate), then the plan's reissue.
	if !old.OrderValidTill.Before(planCert.NotAfter) {
		t.Fatalf("the order ends %v, not before the plan's certificate %v", old.OrderValidTill, planCert.NotAfter)
	}
	shift.Store(int64(time.Until(old.OrderValidTill.Add(-jobs.RenewLead + time.Hour))))
	roundsUntil(t, srv, &shift, func() bool {
		o, err := srv.App.Store.Order(ctx, 1, renewID)
		return err == nil && o.IsRenewed
	}, jobs.KindRenew)
	shift.Store(max(shift.Load(), int64(time.Until(planCert.NotAfter.Add(-jobs.ReissueLead+time.Hour)))))
	roundsUntil(t, srv, &shift, func() bool { _, l := arCerts(t, srv, planID); return len(l) == 1 }, jobs.KindReissue)

	old, err = srv.App.Store.Order(ctx, 1, renewID)
	if err != nil || !old.IsRenewed {
		t.Fatalf("order of a deleted requester not renewed: %+v %v", old, err)
	}
	nu, err := srv.App.Store.Order(ctx, 1, old.RenewedOrderID)
	if err != nil || nu.UserID != oldest.ID || nu.RenewalOfOrderID != renewID || nu.Status != store.OrderIssued {
		t.Fatalf("renewal %+v (%v): want issued, placed by user %d", nu, err, oldest.ID)
	}
	plan, planCerts = arCerts(t, srv, planID)
	if len(planCerts) != 1 || plan.CertificateID != planCerts[0].ID || planCerts[0].Link.UserID != oldest.ID {
		t.Fatalf("plan of an inactive requester: %d reissues, certificate %d, asked by %+v", len(planCerts), plan.CertificateID, planCerts)
	}
	arLeaf(t, planCerts[0].Certificate)

	evs, err := srv.App.Store.AuditEvents(ctx, 1, 1000)
	if err != nil {
		t.Fatal(err)
	}
	type standIn struct {
		For             string `json:"for"`
		OrderID         int64  `json:"order_id"`
		RequesterID     int64  `json:"requester_id"`
		RequesterStatus string `json:"requester_status"`
		ActingUserID    int64  `json:"acting_user_id"`
	}
	got := map[string]standIn{}
	for _, ev := range evs {
		if ev.Action != "order.requester_stand_in" {
			continue
		}
		var d standIn
		if err := json.Unmarshal([]byte(ev.Detail), &d); err != nil {
			t.Fatal(err)
		}
		if ev.UserID != oldest.ID {
			t.Errorf("stand-in event %s by user %d, want %d", ev.Object, ev.UserID, oldest.ID)
		}
		got[ev.Object] = d
	}
	want := map[string]standIn{
		fmt.Sprintf("order:%d", renewID): {"auto_renew", nu.ID, deleted, "deleted", oldest.ID},
		fmt.Sprintf("order:%d", planID):  {"auto_reissue", planID, inactive, "inactive", oldest.ID},
	}
	if len(got) != len(want) || got[fmt.Sprintf("order:%d", renewID)] != want[fmt.Sprintf("order:%d", renewID)] ||
		got[fmt.Sprintf("order:%d", planID)] != want[fmt.Sprintf("order:%d", planID)] {
		t.Errorf("stand-in audit events %+v, want %+v", got, want)
	}

	// The stand-in hears of what was done in their name; the user who is
	// gone does not.
	for _, c := range []struct {
		order int64
		kind  string
		gone  int64
	}{{nu.ID, jobs.MailKindAutoRenewal, deleted}, {planID, jobs.MailKindAutoReissue, inactive}} {
		ms, err := srv.App.Store.MailByOrder(ctx, 1, c.order)
		if err != nil {
			t.Fatal(err)
		}
		var to []string
		for _, m := range ms {
			if m.Kind == c.kind {
				to = append(to, strings.ToLower(m.Recipient))
			}
		}
		if !slices.Contains(to, strings.ToLower(oldest.Email)) || slices.Contains(to, strings.ToLower(userOf(c.gone).Email)) {
			t.Errorf("%s mail to %v: want %s, not %s", c.kind, to, oldest.Email, userOf(c.gone).Email)
		}
	}
}

// roundsUntil runs rounds of kinds on the server's engine, each past the
// previous round's lease, until done holds (or fails after 10 seconds):
// the server's own engine runs in the background too and may hold a
// round's claim while it works, so a round run here may find nothing due.
func roundsUntil(t *testing.T, srv *testenv.Server, shift *atomic.Int64, done func() bool, kinds ...string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; {
		for _, k := range kinds {
			if _, err := srv.App.Jobs.RoundOf(context.Background(), k); err != nil {
				t.Fatalf("%s round: %v", k, err)
			}
		}
		if done() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v rounds did not get it done", kinds)
		}
		shift.Add(int64(jobs.DefaultLease + jobs.DefaultEvery))
		time.Sleep(20 * time.Millisecond)
	}
}
