package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/certorder/certorder/internal/catalog"
	"github.com/certorder/certorder/internal/jobs"
	"github.com/certorder/certorder/internal/store/backend"
)

const jobsUsage = `usage:
  certorder jobs run --data DIR [--database URL]

Runs one round of every time-driven job that is due now (orders past their
end expire, due renewal notices are queued in the mail outbox, which the
server sends), as the running server would, by the sandbox clock on a
sandbox's data. A round another process has claimed is left to it. Automatic renewals and plan reissues need the CA and
run in the server only.
`

// jobsCmd runs "jobs run".
func jobsCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "run" {
		fmt.Fprint(stderr, jobsUsage)
		return fmt.Errorf("jobs: unknown or missing subcommand (want run)")
	}
	fs := newFlags("jobs run", stderr)
	fs.Usage = func() { fmt.Fprint(stderr, jobsUsage) }
	data := fs.String("data", "./certorder-data", "data directory of the server")
	database := fs.String("database", "", "the server's --database (empty: SQLite in --data)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	st, err := backend.Open(ctx, *database, *data, true)
	if err != nil {
		return err
	}
	defer st.Close()
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	// Due is decided by the business clock: on a sandbox's store, the
	// travelled one, as the servers' engines decide.
	now, err := businessClock(ctx, st, log)
	if err != nil {
		return err
	}
	e := &jobs.Engine{Store: st, Log: log, Now: now, ProductName: func(nameID string) string {
		p, _ := catalog.Default().Lookup(nameID)
		return p.Name
	}}
	for _, kind := range []string{jobs.KindExpire, jobs.KindNotices} {
		n, err := e.RoundOf(ctx, kind)
		if err != nil {
			return fmt.Errorf("%s: %w", kind, err)
		}
		fmt.Fprintf(stdout, "%s: %d\n", kind, n)
	}
	return nil
}
