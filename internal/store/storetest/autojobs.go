package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/store"
)

// testAutoJobs: auto-renew candidates are issued orders with auto_renew
// ending in the window, neither renewed nor recorded; auto-reissue
// candidates are issued orders whose current certificate ends by the
// bound while the order runs on, until that certificate's reissue is
// recorded.
func testAutoJobs(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	tx := func(fn func(store.Tx) error) error { return s.InTx(ctx, fn) }
	acct, ord := seed(t, s, "autojobs")
	soon := now.Add(10 * 24 * time.Hour)
	mk := func(f func(o *store.Order)) *store.Order {
		o, err := s.Order(ctx, acct, ord)
		if err != nil {
			t.Fatal(err)
		}
		o.ID, o.Status, o.OrderValidTill, o.AutoRenew, o.CertificateID = 0, store.OrderIssued, soon, 1, 0
		f(o)
		if err := tx(func(tx store.Tx) error { return tx.CreateOrder(ctx, o) }); err != nil {
			t.Fatal(err)
		}
		return o
	}
	ids := func(l []store.Order, err error) []int64 {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, o := range l {
			out = append(out, o.ID)
		}
		return out
	}
	equal := func(got []int64, want ...int64) bool {
		if len(got) != len(want) {
			return false
		}
		for i := range got {
			if got[i] != want[i] {
				return false
			}
		}
		return true
	}

	in := mk(func(*store.Order) {})
	mk(func(o *store.Order) { o.AutoRenew = 0 })
	mk(func(o *store.Order) { o.IsRenewed = true })
	mk(func(o *store.Order) { o.Status = store.OrderExpired })
	mk(func(o *store.Order) { o.OrderValidTill = now.Add(-time.Hour) })
	mk(func(o *store.Order) { o.OrderValidTill = now.Add(40 * 24 * time.Hour) })
	renewed := mk(func(*store.Order) {})
	mk(func(o *store.Order) { o.Status, o.RenewalOfOrderID, o.AutoRenew = store.OrderPending, renewed.ID, 0 })
	first := ids(s.AutoRenewCandidates(ctx, now, now.Add(30*24*time.Hour), ord, 10))
	if !equal(first, in.ID) {
		t.Fatalf("auto-renew candidates = %v, want [%d]", first, in.ID)
	}
	rec := &store.OrderNotice{AccountID: acct, OrderID: in.ID, Notice: store.NoticeAutoRenew, Sent: true, RecordedAt: now}
	if err := tx(func(tx store.Tx) error { return tx.RecordOrderNotice(ctx, rec) }); err != nil {
		t.Fatal(err)
	}
	if got := ids(s.AutoRenewCandidates(ctx, now, now.Add(30*24*time.Hour), ord, 10)); len(got) != 0 {
		t.Fatalf("auto-renew candidates after the record = %v", got)
	}

	// Orders with a certificate ending at certEnd.
	withCert := func(orderEnd, certEnd time.Time) *store.Order {
		o := mk(func(o *store.Order) { o.OrderValidTill, o.AutoRenew = orderEnd, 0 })
		err := tx(func(tx store.Tx) error {
			c := &store.Certificate{AccountID: acct, OrderID: o.ID, Status: store.CertIssued, CommonName: o.CommonName,
				NotBefore: now, NotAfter: certEnd, CreatedAt: now}
			if err := tx.CreateCertificate(ctx, c); err != nil {
				return err
			}
			o.CertificateID = c.ID
			return tx.UpdateOrder(ctx, o)
		})
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	plan := withCert(now.Add(300*24*time.Hour), soon)
	withCert(soon, soon)                                          // the plan ends with its certificate
	withCert(now.Add(300*24*time.Hour), now.Add(60*24*time.Hour)) // not yet
	after := in.ID
	if got := ids(s.AutoReissueCandidates(ctx, now.Add(30*24*time.Hour), after, 10)); !equal(got, plan.ID) {
		t.Fatalf("auto-reissue candidates = %v, want [%d]", got, plan.ID)
	}
	rec = &store.OrderNotice{AccountID: acct, OrderID: plan.ID, Notice: store.AutoReissueNotice(plan.CertificateID), Sent: true, RecordedAt: now}
	if err := tx(func(tx store.Tx) error { return tx.RecordOrderNotice(ctx, rec) }); err != nil {
		t.Fatal(err)
	}
	if got := ids(s.AutoReissueCandidates(ctx, now.Add(30*24*time.Hour), after, 10)); len(got) != 0 {
		t.Fatalf("auto-reissue candidates after the record = %v", got)
	}

	// A record of a sent notice is kept; one passed over is forgotten, and
	// the order is a candidate again.
	forget := func(o *store.Order) {
		t.Helper()
		err := tx(func(tx store.Tx) error {
			return tx.ForgetPassedOverNotice(ctx, acct, o.ID, store.AutoReissueNotice(o.CertificateID))
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	forget(plan)
	if got := ids(s.AutoReissueCandidates(ctx, now.Add(30*24*time.Hour), after, 10)); len(got) != 0 {
		t.Fatalf("a sent reissue's record was forgotten: candidates %v", got)
	}
	off := withCert(now.Add(300*24*time.Hour), soon)
	rec = &store.OrderNotice{AccountID: acct, OrderID: off.ID, Notice: store.AutoReissueNotice(off.CertificateID), RecordedAt: now}
	if err := tx(func(tx store.Tx) error { return tx.RecordOrderNotice(ctx, rec) }); err != nil {
		t.Fatal(err)
	}
	if got := ids(s.AutoReissueCandidates(ctx, now.Add(30*24*time.Hour), after, 10)); len(got) != 0 {
		t.Fatalf("auto-reissue candidates after a passed-over record = %v", got)
	}
	forget(off)
	forget(off) // nothing left to forget: no error
	if got := ids(s.AutoReissueCandidates(ctx, now.Add(30*24*time.Hour), after, 10)); !equal(got, off.ID) {
		t.Fatalf("auto-reissue candidates after forgetting = %v, want [%d]", got, off.ID)
	}
}
