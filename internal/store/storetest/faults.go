package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/store"
)

// Fault rules are shared by the processes on a store: listed oldest first,
// deleted only by their account (a server rule by any), counted in the
// store, and never counted past their count, however many processes race
// for the last fault.
func testFaultRules(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	inTx := func(fn func(tx store.Tx) error) {
		t.Helper()
		if err := s.InTx(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}
	server := &store.FaultRule{AccountID: 0, Spec: `{"fault":"error"}`, CreatedAt: now}
	mine := &store.FaultRule{AccountID: 1, Spec: `{"fault":"rate_limit","count":3}`, Count: 3, CreatedAt: now}
	theirs := &store.FaultRule{AccountID: 2, Spec: `{"fault":"drop"}`, CreatedAt: now}
	inTx(func(tx store.Tx) error {
		for _, r := range []*store.FaultRule{server, mine, theirs} {
			if err := tx.CreateFaultRule(ctx, r); err != nil {
				return err
			}
		}
		return nil
	})
	list, err := s.FaultRules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 || list[0].ID != server.ID || list[1].ID != mine.ID || list[2].ID != theirs.ID {
		t.Fatalf("rules %+v, want the three oldest first", list)
	}
	if got := list[1]; got.AccountID != 1 || got.Spec != mine.Spec || got.Count != 3 || !got.CreatedAt.Equal(now) || got.Hits != 0 || got.Injected != 0 {
		t.Errorf("rule read back as %+v", got)
	}

	// Another account's rule is not deleted; a server rule is, by anyone.
	var deleted bool
	inTx(func(tx store.Tx) (err error) { deleted, err = tx.DeleteFaultRule(ctx, 1, theirs.ID); return err })
	if deleted {
		t.Error("account 1 deleted account 2's rule")
	}
	inTx(func(tx store.Tx) (err error) { deleted, err = tx.DeleteFaultRule(ctx, 2, theirs.ID); return err })
	if !deleted {
		t.Error("account 2 could not delete its rule")
	}
	inTx(func(tx store.Tx) (err error) { deleted, err = tx.DeleteFaultRule(ctx, 2, theirs.ID); return err })
	if deleted {
		t.Error("a rule was deleted twice")
	}

	// Hits and faults count in the store; several processes racing for a
	// rule of count 3 inject exactly 3 faults, and a spent rule counts no
	// more hits.
	var wg sync.WaitGroup
	wins := make([]bool, 8)
	hits := make([]int64, 8)
	for i := range wins {
		wg.Go(func() {
			err := s.InTx(ctx, func(tx store.Tx) error {
				// Assigned, not counted: a transaction may run twice.
				wins[i], hits[i] = false, 0
				h, ok, err := tx.HitFaultRule(ctx, mine.ID)
				if err != nil || !ok {
					return err
				}
				hits[i] = h
				wins[i], err = tx.InjectFaultRule(ctx, mine.ID)
				return err
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	won, seen := 0, map[int64]bool{}
	for i, w := range wins {
		if w {
			won++
		}
		if hits[i] > 0 {
			if seen[hits[i]] {
				t.Errorf("two calls were hit %d", hits[i])
			}
			seen[hits[i]] = true
		}
	}
	if won != 3 || len(seen) != 3 {
		t.Errorf("%d faults injected and %d hits counted of a rule of count 3, want 3 and 3", won, len(seen))
	}
	list, _ = s.FaultRules(ctx)
	if r := list[1]; r.ID != mine.ID || r.Hits != 3 || r.Injected != 3 || !r.Spent() {
		t.Errorf("spent rule %+v, want 3 hits, 3 injected", r)
	}
	inTx(func(tx store.Tx) error {
		if _, ok, err := tx.HitFaultRule(ctx, mine.ID); err != nil || ok {
			t.Errorf("a spent rule counted a hit (%v)", err)
		}
		if ok, err := tx.InjectFaultRule(ctx, mine.ID); err != nil || ok {
			t.Errorf("a spent rule injected (%v)", err)
		}
		if _, ok, err := tx.HitFaultRule(ctx, theirs.ID); err != nil || ok {
			t.Errorf("a deleted rule counted a hit (%v)", err)
		}
		return nil
	})
	// A rule without a count never runs out.
	inTx(func(tx store.Tx) error {
		for want := int64(1); want <= 3; want++ {
			h, ok, err := tx.HitFaultRule(ctx, server.ID)
			if err != nil || !ok || h != want {
				t.Errorf("hit %d of a rule without a count: %d %v %v", want, h, ok, err)
			}
			if ok, err := tx.InjectFaultRule(ctx, server.ID); err != nil || !ok {
				t.Errorf("fault %d of a rule without a count: %v %v", want, ok, err)
			}
		}
		return nil
	})

	// The server's rules go together (a start replacing them).
	inTx(func(tx store.Tx) error { return tx.DeleteFaultRules(ctx, 0) })
	list, _ = s.FaultRules(ctx)
	if len(list) != 1 || list[0].ID != mine.ID {
		t.Errorf("after deleting the server's rules: %+v", list)
	}
}
