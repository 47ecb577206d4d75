package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/certorder/certorder/internal/ca"
	"github.com/certorder/certorder/internal/store/sqlite"
)

const backupUsage = `usage:
  certorder backup  --data DIR --out FILE     consistent snapshot of DIR's SQLite store, while the server runs
  certorder restore --data DIR --from FILE    put a backup in place (stop the server first)

The CA keys in DIR/ca are not in the backup: keep a copy of that directory
(it does not change after the first start). restore refuses a backup made
for another CA. For --database postgres://, use pg_dump and pg_restore.
`

// backupCmd runs "backup" and "restore".
func backupCmd(ctx context.Context, cmd string, args []string, stdout, stderr io.Writer) error {
	fs := newFlags(cmd, stderr)
	fs.Usage = func() { fmt.Fprint(stderr, backupUsage) }
	data := fs.String("data", "./certorder-data", "data directory of the server")
	out := fs.String("out", "", "backup file to write (backup)")
	from := fs.String("from", "", "backup file to restore (restore)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	db := filepath.Join(*data, "certorder.db")
	switch cmd {
	case "backup":
		if *out == "" {
			return errors.New("--out is required")
		}
		if err := sqlite.Backup(ctx, db, *out); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "backup of %s written to %s\n", db, *out)
		return nil
	case "restore":
		if *from == "" {
			return errors.New("--from is required")
		}
		if err := sameCA(ctx, *data, *from); err != nil {
			return err
		}
		if err := sqlite.Restore(ctx, *from, db); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s restored from %s\n", db, *from)
		return nil
	}
	return fmt.Errorf("unknown command %q", cmd)
}

// sameCA: the backup was made with the CA of the data directory (when
// both say which), so that restored certificates stay revocable.
func sameCA(ctx context.Context, dir, backup string) error {
	want, err := sqlite.Setting(ctx, backup, "ca_fingerprint")
	if err != nil {
		return fmt.Errorf("read the backup's CA: %w", err)
	}
	if want == "" {
		return nil // made before certorder recorded it
	}
	if _, err := os.Stat(filepath.Join(dir, "ca")); err != nil {
		return fmt.Errorf("no CA in %s: restore the backup's ca/ directory first: %w", dir, err)
	}
	// The base URL names nothing here: the hierarchy exists and is only read.
	h, err := ca.Open(ca.Config{Dir: filepath.Join(dir, "ca"), BaseURL: "http://certorder.invalid"})
	if err != nil {
		return fmt.Errorf("open the CA of %s: %w", dir, err)
	}
	if got := h.Fingerprint(); got != want {
		return fmt.Errorf("the backup belongs to another CA (%.16s…) than %s's (%.16s…)", want, dir, got)
	}
	return nil
}
