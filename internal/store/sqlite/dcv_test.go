package sqlite_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/store"
)

// Of several workers claiming one due check at once, exactly one wins; a
// schedule never overwrites a check in progress; due checks come
// earliest first.
func TestDCVCheckClaims(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	acct, _ := seed(t, s, "claims")
	now := time.Now().UTC().Truncate(time.Microsecond)
	inTx := func(fn func(tx store.Tx) error) {
		t.Helper()
		if err := s.InTx(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}
	inTx(func(tx store.Tx) error {
		for i, at := range []time.Time{now.Add(-time.Second), now.Add(-time.Minute), now.Add(time.Hour)} {
			c := &store.DCVCheck{AccountID: acct, Kind: store.DCVKindOrder, ObjectID: int64(i + 1), NextAt: at, UpdatedAt: now}
			if err := tx.PutDCVCheck(ctx, c); err != nil {
				return err
			}
		}
		return nil
	})
	due, err := s.DueDCVChecks(ctx, now, 10)
	if err != nil || len(due) != 2 || due[0].ObjectID != 2 || due[1].ObjectID != 1 {
		t.Fatalf("due = %+v, %v; want objects 2 then 1", due, err)
	}

	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var ok bool
			err := s.InTx(ctx, func(tx store.Tx) error {
				var err error
				ok, err = tx.ClaimDCVCheck(ctx, store.DCVKindOrder, 1, due[1].NextAt, now.Add(time.Minute))
				return err
			})
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d workers claimed the same check, want 1", wins)
	}

	inTx(func(tx store.Tx) error {
		return tx.ScheduleDCVCheck(ctx, &store.DCVCheck{AccountID: acct, Kind: store.DCVKindOrder, ObjectID: 1, NextAt: now, UpdatedAt: now})
	})
	c, err := s.DCVCheck(ctx, acct, store.DCVKindOrder, 1)
	if err != nil || !c.NextAt.Equal(now.Add(time.Minute)) {
		t.Fatalf("after a schedule the claimed check is %+v, %v; want next_at kept at the lease end", c, err)
	}
	if _, err := s.DCVCheck(ctx, acct+1, store.DCVKindOrder, 1); err != store.ErrNotFound {
		t.Fatalf("another account reads the check: %v", err)
	}
}
