// Package backend opens the store a configuration names: SQLite in the
// data directory by default, PostgreSQL for a postgres:// URL.
package backend

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/store/postgres"
	"github.com/certorder/certorder/internal/store/sqlite"
)

// IsPostgres: database names a PostgreSQL server.
func IsPostgres(database string) bool {
	return strings.HasPrefix(database, "postgres://") || strings.HasPrefix(database, "postgresql://")
}

// Open opens the store: database "" (or "sqlite") is the SQLite file
// certorder.db in dataDir, a postgres:// URL is that PostgreSQL database.
// mustExist refuses to create a SQLite file that is not there (the admin
// commands work on a server's existing data).
func Open(ctx context.Context, database, dataDir string, mustExist bool) (store.Store, error) {
	switch {
	case IsPostgres(database):
		return postgres.Open(ctx, database)
	case database == "" || database == "sqlite":
		path := filepath.Join(dataDir, "certorder.db")
		if mustExist {
			if _, err := os.Stat(path); err != nil {
				return nil, fmt.Errorf("no certorder database in %s (run certorder serve --data %s once first): %w", dataDir, dataDir, err)
			}
		}
		return sqlite.Open(ctx, path)
	}
	return nil, fmt.Errorf("--database %q: want a postgres:// URL, or nothing for SQLite in the data directory", database)
}
