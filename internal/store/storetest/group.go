package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/store"
)

// HoldWriter starts a transaction that runs fn only when release is
// called, so that the transactions started meanwhile queue behind it (and
// commit in a group). release returns the held transaction's error.
func HoldWriter(s store.Store, fn func(store.Tx) error) (release func() error) {
	gate, started := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.InTx(context.Background(), func(tx store.Tx) error {
			close(started)
			<-gate
			return fn(tx)
		})
	}()
	<-started
	return func() error {
		close(gate)
		return <-done
	}
}

// testConcurrentTransactions: transactions that run at once (and so, on
// both backends, commit in groups) stay independent: one that fails or
// panics leaves nothing behind and fails alone, with its own error or
// panic; every other one commits.
func testConcurrentTransactions(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	intent := func(i int) *store.IssuanceIntent {
		return &store.IssuanceIntent{SerialNumber: fmt.Sprintf("%04x", i), IssuerID: "grp", AccountID: 1, OrderID: int64(i),
			CreatedAt: time.Unix(1000, 0).UTC()}
	}
	release := HoldWriter(s, func(tx store.Tx) error { return tx.CreateIssuanceIntent(ctx, intent(1000)) })
	const n = 40
	errFail := errors.New("refused")
	results := make([]any, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if p := recover(); p != nil {
					results[i] = fmt.Sprint("panic: ", p)
				}
			}()
			results[i] = s.InTx(ctx, func(tx store.Tx) error {
				if err := tx.CreateIssuanceIntent(ctx, intent(i)); err != nil {
					return err
				}
				switch i % 10 {
				case 3:
					return errFail
				case 7:
					panic("boom")
				}
				return nil
			})
		}()
	}
	time.Sleep(200 * time.Millisecond) // let them queue
	if err := release(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	got, err := s.AbandonedIssuances(ctx, "grp", time.Unix(2000, 0))
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, in := range got {
		have[in.SerialNumber] = true
	}
	for i := range n {
		switch i % 10 {
		case 3:
			if results[i] != errFail {
				t.Errorf("call %d: %v, want its own error", i, results[i])
			}
		case 7:
			if results[i] != "panic: boom" {
				t.Errorf("call %d: %v, want its panic re-raised", i, results[i])
			}
		default:
			if results[i] != nil {
				t.Errorf("call %d failed: %v", i, results[i])
			}
		}
		if want := i%10 != 3 && i%10 != 7; have[intent(i).SerialNumber] != want {
			t.Errorf("intent of call %d stored = %v, want %v", i, have[intent(i).SerialNumber], want)
		}
	}
	if !have[intent(1000).SerialNumber] {
		t.Error("the first transaction did not commit")
	}
}
