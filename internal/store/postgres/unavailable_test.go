package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/store/postgres"
	"github.com/certorder/certorder/internal/testenv"
)

// TestServerStopped: while the PostgreSQL server is really stopped (its
// sessions ended by the shutdown, new connections refused), reads, writes
// and Health fail with store.ErrUnavailable; once it runs again the same
// store reads and writes without being reopened, and is healthy.
func TestServerStopped(t *testing.T) {
	pg := testenv.StartPostgresCluster(t)
	ctx := context.Background()
	s, err := postgres.Open(ctx, pg.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	put := func(key string) error {
		return s.InTx(ctx, func(tx store.Tx) error { return tx.PutSettingIfAbsent(ctx, key, "v") })
	}
	if err := put("before"); err != nil {
		t.Fatal(err)
	}

	pg.Stop()
	for name, err := range map[string]error{
		"read":                            func() error { _, err := s.Setting(ctx, "before"); return err }(),
		"write":                           put("during"),
		"health":                          s.Health(ctx),
		"read again, on a new connection": func() error { _, err := s.Setting(ctx, "before"); return err }(),
	} {
		if !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s while stopped: %v, want store.ErrUnavailable", name, err)
		}
	}

	pg.Start()
	// Connections the shutdown ended may each fail one more call.
	deadline := time.Now().Add(30 * time.Second)
	for err := put("after"); err != nil; err = put("after") {
		if !errors.Is(err, store.ErrUnavailable) || time.Now().After(deadline) {
			t.Fatalf("write after the restart: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if v, err := s.Setting(ctx, "after"); err != nil || v != "v" {
		t.Fatalf("read after the restart: %q, %v", v, err)
	}
	if err := s.Health(ctx); err != nil {
		t.Fatalf("Health after the restart: %v", err)
	}
}
