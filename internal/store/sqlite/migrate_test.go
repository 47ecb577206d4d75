package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
)

// TestSerialTablesWithoutRowid: migration 0040 rebuilds serials and
// issuance_intents as WITHOUT ROWID tables (one B-tree each, so one page
// fewer per commit) and keeps their rows. The store is opened at the
// migration before it: the two tables as 0001 and 0011 made them, with
// rows, and 0040 not recorded.
func TestSerialTablesWithoutRowid(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "certorder.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`DROP TABLE serials`,
		`DROP TABLE issuance_intents`,
		`CREATE TABLE serials (serial_number TEXT PRIMARY KEY, order_id INTEGER NOT NULL, reserved_at TEXT NOT NULL)`,
		`CREATE TABLE issuance_intents (serial_number TEXT PRIMARY KEY, issuer_id TEXT NOT NULL, account_id INTEGER NOT NULL,
			order_id INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL)`,
		`CREATE INDEX issuance_intents_issuer ON issuance_intents(issuer_id, created_at)`,
		`INSERT INTO serials VALUES ('0A01', 7, '2026-01-02T03:04:05Z'), ('0B02', 8, '2026-01-02T03:04:06Z')`,
		`INSERT INTO issuance_intents VALUES ('0C03', 'iss1', 3, 9, '2026-01-02T03:04:07Z')`,
		`DELETE FROM schema_migrations WHERE version = '0040_serial_tables_without_rowid'`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()

	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var got []string
	for _, q := range []string{
		`SELECT serial_number || ' ' || order_id || ' ' || reserved_at FROM serials ORDER BY serial_number`,
		`SELECT serial_number || ' ' || issuer_id || ' ' || account_id || ' ' || order_id || ' ' || created_at FROM issuance_intents`,
		`SELECT name || ': ' || sql FROM sqlite_schema WHERE tbl_name IN ('serials', 'issuance_intents') AND sql IS NOT NULL ORDER BY name`,
	} {
		rows, err := s.reader.QueryContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var v string
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
			got = append(got, strings.Join(strings.Fields(v), " "))
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{
		"0A01 7 2026-01-02T03:04:05Z",
		"0B02 8 2026-01-02T03:04:06Z",
		"0C03 iss1 3 9 2026-01-02T03:04:07Z",
		`issuance_intents: CREATE TABLE "issuance_intents" ( serial_number TEXT PRIMARY KEY, issuer_id TEXT NOT NULL, account_id INTEGER NOT NULL, order_id INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL ) WITHOUT ROWID`,
		"issuance_intents_issuer: CREATE INDEX issuance_intents_issuer ON issuance_intents(issuer_id, created_at)",
		`serials: CREATE TABLE "serials" ( serial_number TEXT PRIMARY KEY, order_id INTEGER NOT NULL, reserved_at TEXT NOT NULL ) WITHOUT ROWID`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("after migration 0040:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
