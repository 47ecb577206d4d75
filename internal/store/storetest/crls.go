package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/store"
)

// Of several processes contending for a lease, one holds it; it renews
// it, the others take it only once it has expired or been released.
func testLeases(t *testing.T, b Backend) {
	reopen := b.Fresh(t)
	// Two stores on one database: two processes.
	var procs []store.Store
	for range 2 {
		s, err := reopen()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		procs = append(procs, s)
	}
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	acquire := func(s store.Store, holder string, at time.Time, ttl time.Duration) bool {
		t.Helper()
		var ok bool
		if err := s.InTx(ctx, func(tx store.Tx) error {
			var err error
			ok, err = tx.AcquireLease(ctx, "work", holder, at, at.Add(ttl))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return ok
	}

	// Eight contenders, four per process, at once: one wins.
	var wg sync.WaitGroup
	var mu sync.Mutex
	var winners []string
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			holder := fmt.Sprintf("h%d", i)
			if acquire(procs[i%2], holder, now, time.Minute) {
				mu.Lock()
				winners = append(winners, holder)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(winners) != 1 {
		t.Fatalf("holders %v took the lease, want exactly one", winners)
	}
	a, bh := winners[0], "other"
	steps := []struct {
		name   string
		proc   int
		holder string
		at     time.Duration // after now
		ttl    time.Duration
		want   bool
	}{
		{"another process while it is held", 1, bh, 30 * time.Second, time.Minute, false},
		{"the holder renews", 0, a, 30 * time.Second, time.Minute, true}, // now held until now+90s
		{"another process before the renewed expiry", 1, bh, 80 * time.Second, time.Minute, false},
		{"another process after expiry", 1, bh, 90 * time.Second, time.Minute, true}, // held by bh until now+150s
		{"the former holder, now too late", 0, a, 100 * time.Second, time.Minute, false},
		{"the new holder renews", 0, bh, 110 * time.Second, time.Minute, true}, // either process may serve it
	}
	for _, st := range steps {
		if got := acquire(procs[st.proc], st.holder, now.Add(st.at), st.ttl); got != st.want {
			t.Fatalf("%s: acquired %v, want %v", st.name, got, st.want)
		}
	}
	release := func(s store.Store, holder string) {
		t.Helper()
		if err := s.InTx(ctx, func(tx store.Tx) error { return tx.ReleaseLease(ctx, "work", holder) }); err != nil {
			t.Fatal(err)
		}
	}
	// Releasing a lease one does not hold changes nothing.
	release(procs[0], a)
	if acquire(procs[0], a, now.Add(120*time.Second), time.Minute) {
		t.Fatal("a release by a non-holder freed the lease")
	}
	// The holder's release frees it at once; other names are separate.
	release(procs[1], bh)
	if !acquire(procs[0], a, now.Add(120*time.Second), time.Minute) {
		t.Fatal("a released lease could not be taken")
	}
	var other bool
	if err := procs[1].InTx(ctx, func(tx store.Tx) error {
		var err error
		other, err = tx.AcquireLease(ctx, "other-work", bh, now, now.Add(time.Minute))
		return err
	}); err != nil || !other {
		t.Fatalf("a lease of another name: %v, %v", other, err)
	}
}

// A saved CRL replaces the stored one only with a greater number; every
// process on the store reads the latest.
func testCRLs(t *testing.T, b Backend) {
	reopen := b.Fresh(t)
	s, err := reopen()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	reader, err := reopen() // another process
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reader.Close() })
	ctx := context.Background()
	if _, err := reader.LatestCRL(ctx, "A"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("LatestCRL before any save: %v, want ErrNotFound", err)
	}
	if nums, err := reader.CRLNumbers(ctx); err != nil || len(nums) != 0 {
		t.Fatalf("CRLNumbers before any save: %v, %v", nums, err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	crl := func(issuer string, n int64) *store.StoredCRL {
		return &store.StoredCRL{IssuerID: issuer, Number: 1<<31 + n, ThisUpdate: now.Add(time.Duration(n) * time.Second),
			NextUpdate: now.Add(7*24*time.Hour + time.Duration(n)*time.Second), Entries: int(n), DER: []byte{0x30, byte(n), 0x00, 0xff}}
	}
	steps := []struct {
		c    *store.StoredCRL
		want bool
	}{
		{crl("A", 5), true},
		{crl("A", 3), false}, // older: a slow build finishing late
		{crl("A", 5), false}, // the same number again
		{crl("root", 1), true},
		{crl("A", 7), true},
		{crl("A", 6), false},
	}
	for _, st := range steps {
		var saved bool
		if err := s.InTx(ctx, func(tx store.Tx) error {
			var err error
			saved, err = tx.SaveCRL(ctx, st.c)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if saved != st.want {
			t.Fatalf("SaveCRL(%s, %d) = %v, want %v", st.c.IssuerID, st.c.Number, saved, st.want)
		}
	}
	for _, want := range []*store.StoredCRL{crl("A", 7), crl("root", 1)} {
		got, err := reader.LatestCRL(ctx, want.IssuerID)
		if err != nil {
			t.Fatal(err)
		}
		if got.IssuerID != want.IssuerID || got.Number != want.Number || !got.ThisUpdate.Equal(want.ThisUpdate) ||
			!got.NextUpdate.Equal(want.NextUpdate) || got.Entries != want.Entries || !bytes.Equal(got.DER, want.DER) {
			t.Fatalf("LatestCRL(%s) = %+v, want %+v", want.IssuerID, got, want)
		}
	}
	nums, err := reader.CRLNumbers(ctx)
	if err != nil || len(nums) != 2 || nums["A"] != 1<<31+7 || nums["root"] != 1<<31+1 {
		t.Fatalf("CRLNumbers = %v, %v", nums, err)
	}
	if _, err := reader.LatestCRL(ctx, "B"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("LatestCRL of an issuer without one: %v", err)
	}
}
