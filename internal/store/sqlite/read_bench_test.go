package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"

	"github.com/certorder/certorder/internal/store"
)

// BenchmarkPointRead times the reads of the read pool that every order
// makes, with a request's cancellable context: a setting that is not
// there (as an account's notice defaults usually are not), and the
// authentication's joined read of a key, its user and its account.
func BenchmarkPointRead(b *testing.B) {
	path := filepath.Join(b.TempDir(), "bench.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		b.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO accounts(id, name, created_at) VALUES (1, 'bench', '2026-01-01T00:00:00Z')`,
		`INSERT INTO users(id, account_id, container_id, username, access_role, created_at) VALUES (1, 1, 1, 'bench', 1, '2026-01-01T00:00:00Z')`,
		`INSERT INTO api_keys(id, account_id, user_id, key_hash, created_at) VALUES (1, 1, 1, x'0102', '2026-01-01T00:00:00Z')`,
	} {
		if _, err := raw.Exec(q); err != nil {
			b.Fatal(err)
		}
	}
	raw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, bc := range []struct {
		name string
		read func() error
	}{
		{"setting-absent", func() error {
			if _, err := s.Setting(ctx, "bench:absent"); !errors.Is(err, store.ErrNotFound) {
				return err
			}
			return nil
		}},
		{"key-actor", func() error {
			_, _, _, err := s.KeyActor(ctx, []byte{1, 2})
			return err
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := bc.read(); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
