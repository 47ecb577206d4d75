package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/certorder/certorder/internal/store"
)

// BenchmarkPointRead times one read of the read pool that finds nothing,
// with a request's cancellable context, as each order makes several (its
// blocked-key check, its account's settings).
func BenchmarkPointRead(b *testing.B) {
	s, err := Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Setting(ctx, "bench:absent"); !errors.Is(err, store.ErrNotFound) {
				b.Error(err)
				return
			}
		}
	})
}
