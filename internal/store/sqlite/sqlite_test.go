package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/store/sqlite"
	"github.com/certorder/certorder/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Backend{Fresh: func(t *testing.T) func() (store.Store, error) {
		path := filepath.Join(t.TempDir(), "test.db")
		return func() (store.Store, error) { return sqlite.Open(context.Background(), path) }
	}})
}
