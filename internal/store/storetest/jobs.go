package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/store"
)

// testJobs: a job's schedule is created once and claimed by
// compare-and-set; orders are due to expire by status and
// order_valid_till; renewal candidates leave out orders whose notices are
// disabled, that are marked renewed or that a live later order renews; a
// notice is recorded once per order.
func testJobs(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	tx := func(fn func(store.Tx) error) error { return s.InTx(ctx, fn) }

	if _, err := s.Job(ctx, "expire"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("job before scheduling: %v", err)
	}
	for i := range 2 { // the second schedule keeps the first
		j := &store.Job{Kind: "expire", NextAt: now.Add(time.Duration(i) * time.Hour), UpdatedAt: now}
		if err := tx(func(tx store.Tx) error { return tx.ScheduleJob(ctx, j) }); err != nil {
			t.Fatal(err)
		}
	}
	j, err := s.Job(ctx, "expire")
	if err != nil || !j.NextAt.Equal(now) {
		t.Fatalf("job = %+v, %v", j, err)
	}
	claim := func(prev, next time.Time) bool {
		var ok bool
		if err := tx(func(tx store.Tx) error { ok, err = tx.ClaimJob(ctx, "expire", prev, next); return err }); err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !claim(now, now.Add(time.Minute)) || claim(now, now.Add(time.Minute)) {
		t.Fatal("a job is claimed exactly once from the same schedule")
	}
	fin := &store.Job{Kind: "expire", NextAt: now.Add(time.Hour), Attempts: 2, LastError: "boom", UpdatedAt: now}
	if err := tx(func(tx store.Tx) error { return tx.FinishJob(ctx, fin) }); err != nil {
		t.Fatal(err)
	}
	if j, err = s.Job(ctx, "expire"); err != nil || !j.NextAt.Equal(now.Add(time.Hour)) || j.Attempts != 2 || j.LastError != "boom" {
		t.Fatalf("finished job = %+v, %v", j, err)
	}

	acct, ord := seed(t, s, "jobs")
	mk := func(f func(o *store.Order)) *store.Order {
		o, err := s.Order(ctx, acct, ord)
		if err != nil {
			t.Fatal(err)
		}
		o.ID, o.Status, o.OrderValidTill = 0, store.OrderIssued, now.Add(-time.Hour)
		f(o)
		if err := tx(func(tx store.Tx) error { return tx.CreateOrder(ctx, o) }); err != nil {
			t.Fatal(err)
		}
		return o
	}
	past := mk(func(*store.Order) {})
	mk(func(o *store.Order) { o.OrderValidTill = now.Add(time.Hour) })
	pend := mk(func(o *store.Order) { o.Status = store.OrderPending })
	due, err := s.OrdersToExpire(ctx, now, 10)
	if err != nil || len(due) != 1 || due[0].ID != past.ID {
		t.Fatalf("orders to expire = %+v, %v", due, err)
	}

	soon := now.Add(10 * 24 * time.Hour)
	ok1 := mk(func(o *store.Order) { o.OrderValidTill = soon })
	ok2 := mk(func(o *store.Order) { o.OrderValidTill, o.Status = now.Add(-24*time.Hour), store.OrderExpired })
	mk(func(o *store.Order) { o.OrderValidTill, o.DisableRenewalNotifications = soon, true })
	mk(func(o *store.Order) { o.OrderValidTill, o.IsRenewed = soon, true })
	renewed := mk(func(o *store.Order) { o.OrderValidTill = soon })
	mk(func(o *store.Order) { o.Status, o.RenewalOfOrderID = store.OrderPending, renewed.ID })
	dead := mk(func(o *store.Order) { o.OrderValidTill = soon })
	mk(func(o *store.Order) { o.Status, o.RenewalOfOrderID = store.OrderCanceled, dead.ID })
	mk(func(o *store.Order) { o.OrderValidTill = now.Add(200 * 24 * time.Hour) })
	cands, err := s.RenewalCandidates(ctx, "minus_30", now.Add(-48*time.Hour), now.Add(90*24*time.Hour), pend.ID, 10)
	var ids []int64
	for _, o := range cands {
		ids = append(ids, o.ID)
	}
	if err != nil || len(ids) != 3 || ids[0] != ok1.ID || ids[1] != ok2.ID || ids[2] != dead.ID {
		t.Fatalf("renewal candidates = %v (want %d %d %d), %v", ids, ok1.ID, ok2.ID, dead.ID, err)
	}
	if cands, err = s.RenewalCandidates(ctx, "minus_30", now.Add(-48*time.Hour), now.Add(90*24*time.Hour), ok2.ID, 10); err != nil || len(cands) != 1 {
		t.Fatalf("renewal candidates after %d = %d, %v", ok2.ID, len(cands), err)
	}
	// The bounds: after is left out, until is in.
	if cands, err = s.RenewalCandidates(ctx, "minus_30", soon, soon.Add(time.Hour), 0, 10); err != nil || len(cands) != 0 {
		t.Fatalf("renewal candidates after their end = %d, %v", len(cands), err)
	}
	if cands, err = s.RenewalCandidates(ctx, "minus_30", soon.Add(-time.Hour), soon, ok1.ID-1, 1); err != nil || len(cands) != 1 || cands[0].ID != ok1.ID {
		t.Fatalf("renewal candidates until their end = %d, %v", len(cands), err)
	}

	n := &store.OrderNotice{AccountID: acct, OrderID: ok1.ID, Notice: "minus_30", Sent: true, RecordedAt: now}
	if err := tx(func(tx store.Tx) error { return tx.RecordOrderNotice(ctx, n) }); err != nil {
		t.Fatal(err)
	}
	if err := tx(func(tx store.Tx) error { return tx.RecordOrderNotice(ctx, n) }); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second record of a notice: %v", err)
	}
	for notice, want := range map[string]bool{"minus_30": false, "minus_7": true} {
		cands, err = s.RenewalCandidates(ctx, notice, soon.Add(-time.Hour), soon, 0, 10)
		if err != nil || slices.ContainsFunc(cands, func(o store.Order) bool { return o.ID == ok1.ID }) != want {
			t.Fatalf("%s candidates after minus_30 was recorded: %d, %v; want order %d %v", notice, len(cands), err, ok1.ID, want)
		}
	}
	ns, err := s.OrderNotices(ctx, acct, ok1.ID)
	if err != nil || len(ns) != 1 || !ns[0].Sent || ns[0].Notice != "minus_30" || !ns[0].RecordedAt.Equal(now) {
		t.Fatalf("notices = %+v, %v", ns, err)
	}
}
