package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/store"
)

// TestGroupCommit: calls queued behind a slow one commit together; a call
// that fails or panics inside a batch leaves nothing behind and fails
// alone, and every other call of its batch commits.
func TestGroupCommit(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var mu sync.Mutex
	var batches []int
	s.w.batchHook = func(n int) { mu.Lock(); batches = append(batches, n); mu.Unlock() }

	intent := func(i int) *store.IssuanceIntent {
		return &store.IssuanceIntent{SerialNumber: fmt.Sprintf("%04x", i), IssuerID: "iss", AccountID: 1, OrderID: int64(i),
			CreatedAt: time.Unix(1000, 0).UTC()}
	}
	const n = 40
	release, started := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() { // holds the writer until the others are queued
		first <- s.InTx(ctx, func(tx store.Tx) error {
			close(started)
			<-release
			return tx.CreateIssuanceIntent(ctx, intent(1000))
		})
	}()
	<-started
	errFail := errors.New("refused")
	results := make([]any, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
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
	for queued(s.w) < n {
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatal(err)
	}

	got, err := s.AbandonedIssuances(ctx, "iss", time.Unix(2000, 0))
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, in := range got {
		have[in.SerialNumber] = true
	}
	for i := 0; i < n; i++ {
		serial := intent(i).SerialNumber
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
		if want := i%10 != 3 && i%10 != 7; have[serial] != want {
			t.Errorf("intent of call %d stored = %v, want %v", i, have[serial], want)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	// The slow call commits alone; the 40 queued behind it commit in one
	// batch (less the 8 that failed), led by the first of them.
	if len(batches) != 2 || batches[0] != 1 || batches[1] != n-8 {
		t.Errorf("batches = %v, want [1 %d]", batches, n-8)
	}
}

// TestClosedStore: a call after Close fails at once.
func TestClosedStore(t *testing.T) {
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := s.InTx(context.Background(), func(store.Tx) error { return nil }); !errors.Is(err, errClosed) {
		t.Fatalf("InTx after Close = %v, want errClosed", err)
	}
}

func queued(w *writer) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.queue)
}
