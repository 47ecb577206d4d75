package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/store/sqldb"
	"github.com/certorder/certorder/internal/store/storetest"
)

// TestGroupCommit: the calls queued behind a slow one commit together in
// one transaction (storetest's ConcurrentTransactions checks that they
// stay independent).
func TestGroupCommit(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var mu sync.Mutex
	var batches []int
	s.group.SetBatchHook(func(n int) { mu.Lock(); batches = append(batches, n); mu.Unlock() })
	intent := func(i int) *store.IssuanceIntent {
		return &store.IssuanceIntent{SerialNumber: fmt.Sprintf("%04x", i), IssuerID: "iss", AccountID: 1, CreatedAt: time.Unix(1000, 0).UTC()}
	}
	release := storetest.HoldWriter(s, func(tx store.Tx) error { return tx.CreateIssuanceIntent(ctx, intent(1000)) })
	const n = 40
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = s.InTx(ctx, func(tx store.Tx) error { return tx.CreateIssuanceIntent(ctx, intent(i)) })
		})
	}
	for s.group.Queued() < n {
		time.Sleep(time.Millisecond)
	}
	held := release()
	wg.Wait()
	if err := errors.Join(append(errs, held)...); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	// The slow call commits alone; the 40 queued behind it in one batch,
	// led by the first of them.
	if !slices.Equal(batches, []int{1, n}) {
		t.Errorf("batches = %v, want [1 %d]", batches, n)
	}
	mu.Unlock()
	// The counters /metrics serves: two transactions carried the 41 calls;
	// each commit wrote at least the intents' B-tree leaf and its index's.
	ws := s.WriteStats()
	if ws.Commits != 2 || ws.Calls != n+1 || ws.Pages < 4 {
		t.Errorf("write stats = %+v, want 2 commits, %d calls, at least 4 pages", ws, n+1)
	}
	// The pages keep adding up across reads (SQLite's own counter is reset
	// at each).
	if err := s.InTx(ctx, func(tx store.Tx) error { return tx.CreateIssuanceIntent(ctx, intent(2000)) }); err != nil {
		t.Fatal(err)
	}
	if again := s.WriteStats(); again.Commits != 3 || again.Calls != n+2 || again.Pages < ws.Pages+2 {
		t.Errorf("write stats after one more intent = %+v, after %+v", again, ws)
	}
}

// TestClosedStore: a call after Close fails at once.
func TestClosedStore(t *testing.T) {
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := s.InTx(context.Background(), func(store.Tx) error { return nil }); !errors.Is(err, sqldb.ErrClosed) {
		t.Fatalf("InTx after Close = %v, want ErrClosed", err)
	}
}
