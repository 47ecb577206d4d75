package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Backup writes a consistent snapshot of the database at path to out while
// servers keep using it: VACUUM INTO reads the database in one read
// transaction (WAL readers never block the writer) and writes a compact
// copy. out must not exist. The copy is checked before Backup returns.
//
// The backup holds every secret of the store (API key hashes, DCV links),
// so no one else may ever open it, whatever the umask. It is written in a
// fresh directory of mode 0700 beside out, which nobody else can enter,
// into a file created empty with mode 0600 beforehand (VACUUM INTO takes an
// empty file; left to itself SQLite would create it 0644), checked there,
// and only then linked to its name.
func Backup(ctx context.Context, path, out string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("no database at %s: %w", path, err)
	}
	if _, err := os.Lstat(out); err == nil {
		return fmt.Errorf("%s exists; a backup never overwrites", out)
	}
	dir, err := os.MkdirTemp(filepath.Dir(out), ".certorder-backup-") // mode 0700
	if err != nil {
		return fmt.Errorf("backup directory: %w", err)
	}
	defer os.RemoveAll(dir)
	tmp := filepath.Join(dir, "certorder.db")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("backup file: %w", err)
	}
	f.Close()
	if err := os.Chmod(tmp, 0o600); err != nil { // exactly, whatever the umask took away
		return err
	}
	db, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, tmp); err != nil {
		return fmt.Errorf("snapshot %s: %w", path, err)
	}
	if err := Check(ctx, tmp); err != nil {
		return err
	}
	if err := syncFile(tmp); err != nil {
		return err
	}
	if err := publish(tmp, out); err != nil {
		return err
	}
	return syncFile(filepath.Dir(out))
}

// publish gives the finished backup its name: a hard link, which fails if
// out appeared meanwhile, or a rename where the filesystem has no links.
func publish(tmp, out string) error {
	err := os.Link(tmp, out)
	if err == nil || errors.Is(err, os.ErrExist) {
		if err != nil {
			return fmt.Errorf("%s exists; a backup never overwrites", out)
		}
		return nil
	}
	if _, serr := os.Lstat(out); serr == nil {
		return fmt.Errorf("%s exists; a backup never overwrites", out)
	}
	if err := os.Rename(tmp, out); err != nil {
		return fmt.Errorf("put the backup in place: %w", err)
	}
	return nil
}

// Check runs SQLite's integrity check on the file and makes sure it is a
// certorder database.
func Check(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer db.Close()
	var res string
	if err := db.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&res); err != nil {
		return fmt.Errorf("integrity check of %s: %w", path, err)
	}
	if res != "ok" {
		return fmt.Errorf("integrity check of %s: %s", path, res)
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil || n == 0 {
		return fmt.Errorf("%s is not a certorder database (%v)", path, err)
	}
	return nil
}

// Setting reads one setting of a database file without migrating it (an
// older backup may lack the table: "" then).
func Setting(ctx context.Context, path, key string) (string, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return "", err
	}
	defer db.Close()
	var v string
	err = db.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil && !isNoTable(err) {
		return "", err
	}
	return v, nil
}

func isNoTable(err error) bool { return err != nil && strings.Contains(err.Error(), "no such table") }

// Restore puts the backup from in place of the database at path. No
// server may be using path (restore is for a stopped server). The backup
// is checked first; it replaces the file atomically (rename) and the old
// WAL and shared-memory files go, as they belong to the old database.
func Restore(ctx context.Context, from, path string) error {
	if err := Check(ctx, from); err != nil {
		return err
	}
	tmp := path + ".restore"
	if err := copyFile(from, tmp); err != nil {
		os.Remove(tmp)
		return err
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if err := os.Remove(path + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			os.Remove(tmp)
			return fmt.Errorf("remove %s: %w", path+suffix, err)
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("put the backup in place: %w", err)
	}
	return syncFile(filepath.Dir(path))
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return fmt.Errorf("read %s: %w", from, err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", to, err)
	}
	return syncFile(to)
}

// syncFile makes a file (or a directory's entries) durable.
func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
