package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestBackupMode: a backup is mode 0600 even under a umask that lets
// everyone read new files, and nothing else is left beside it.
func TestBackupMode(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, filepath.Join(dir, "certorder.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	old := syscall.Umask(0) // no test runs in parallel with this one
	defer syscall.Umask(old)
	outDir := t.TempDir()
	if err := os.Chmod(outDir, 0o777); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(outDir, "certorder.backup")
	if err := Backup(ctx, filepath.Join(dir, "certorder.db"), out); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("backup mode %v, want 0600", fi.Mode().Perm())
	}
	entries, err := os.ReadDir(outDir)
	if err != nil || len(entries) != 1 {
		t.Errorf("beside the backup: %v %v", entries, err)
	}
	if err := Check(ctx, out); err != nil {
		t.Fatal(err)
	}
}
