package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/certorder/certorder/internal/store"
)

// TestFullDatabase: a write SQLite refuses because the database is full
// is store.ErrUnavailable (the edge's 503), Health fails while writes do,
// and both recover once there is room again.
//
// The database is made full by SQLite's own limit on its size,
// max_page_count, set on the store's writer connection: the pager then
// refuses to grow the file exactly as when the disk is full, with
// SQLITE_FULL from the same code path, through the real store, with no
// privileges. The API test TestSQLiteDiskFull fills a real filesystem
// where it may mount one.
func TestFullDatabase(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	audit := func(size int) error {
		return s.InTx(ctx, func(tx store.Tx) error {
			return tx.Audit(ctx, &store.AuditEvent{AccountID: 1, At: time.Now(), Action: "test", Object: "x",
				Detail: fmt.Sprintf("%q", strings.Repeat("x", size))})
		})
	}
	if err := audit(10); err != nil {
		t.Fatal(err)
	}
	if err := s.Health(ctx); err != nil {
		t.Fatalf("Health of a fresh store: %v", err)
	}

	var pages int
	if err := s.w.conn.QueryRowContext(ctx, `PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.conn.ExecContext(ctx, fmt.Sprintf(`PRAGMA max_page_count = %d`, pages)); err != nil {
		t.Fatal(err)
	}
	err = audit(64 << 10) // needs new pages
	if !errors.Is(err, store.ErrUnavailable) || primaryCode(err) != sqlite3.SQLITE_FULL {
		t.Fatalf("write to a full database: %v, want store.ErrUnavailable over SQLITE_FULL", err)
	}
	if err := s.Health(ctx); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Health while writes are refused: %v, want store.ErrUnavailable", err)
	}
	// Reads go on.
	if _, err := s.Setting(ctx, "none"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("read from a full database: %v", err)
	}

	if _, err := s.w.conn.ExecContext(ctx, `PRAGMA max_page_count = 1073741823`); err != nil {
		t.Fatal(err)
	}
	// Until the hold is over Health keeps the refusal; then a probe write
	// finds the room.
	if err := s.Health(ctx); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Health right after the refusal: %v, want the refusal held", err)
	}
	s.group.SetHealthHold(time.Nanosecond)
	if err := s.Health(ctx); err != nil {
		t.Fatalf("Health once there is room: %v", err)
	}
	if err := audit(64 << 10); err != nil {
		t.Fatalf("write once there is room: %v", err)
	}
}
