package postgres_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/store/postgres"
	"github.com/certorder/certorder/internal/store/storetest"
)

// server is the PostgreSQL server of the tests (.ci/run starts one);
// without it the suite says so and skips.
func server(t *testing.T) string {
	dsn := os.Getenv("CERTORDER_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("CERTORDER_TEST_POSTGRES is not set: no PostgreSQL server to test against (.ci/run starts one)")
	}
	return dsn
}

// freshDatabase creates an empty database on the server, dropped when the
// test ends, and returns its DSN.
func freshDatabase(t *testing.T, dsn string) string {
	t.Helper()
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	b := make([]byte, 6)
	rand.Read(b)
	name := "certorder_test_" + hex.EncodeToString(b)
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("pgx", dsn)
		if err != nil {
			return
		}
		defer admin.Close()
		admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

func TestConformance(t *testing.T) {
	dsn := server(t)
	storetest.Run(t, storetest.Backend{Fresh: func(t *testing.T) func() (store.Store, error) {
		db := freshDatabase(t, dsn)
		return func() (store.Store, error) { return postgres.Open(context.Background(), db) }
	}})
}
