package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/certorder/certorder/internal/clock"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/store/backend"
)

const clockUsage = `usage:
  certorder clock show --data DIR [--database URL]
  certorder clock advance --data DIR [--database URL] DURATION   (720h, 90m, 30d)
  certorder clock advance --data DIR [--database URL] --to 2027-01-01T00:00:00Z

Moves the business clock of a --sandbox server forward, running or not:
every process on the store sees it within a second. It never moves back.
`

// clockCmd reads or moves the sandbox clock kept in the store. A store no
// sandbox server has run on has no clock: its servers take the wall
// clock's time and would ignore an offset, so none is written.
func clockCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "show" && args[0] != "advance" {
		fmt.Fprint(stderr, clockUsage)
		return errors.New("missing subcommand: show or advance")
	}
	verb := args[0]
	fs := newFlags("clock "+verb, stderr)
	fs.Usage = func() { fmt.Fprint(stderr, clockUsage) }
	data := fs.String("data", "./certorder-data", "data directory of the server")
	database := fs.String("database", "", "the server's --database (empty: SQLite in --data)")
	to := fs.String("to", "", "advance to this RFC 3339 time instead of by a duration")
	// Flags may follow the duration: certorder clock advance 30d --data DIR.
	var rest []string
	for a := args[1:]; ; {
		if err := fs.Parse(a); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		rest, a = append(rest, fs.Arg(0)), fs.Args()[1:]
	}
	if *data == "" && !backend.IsPostgres(*database) {
		return errors.New("--data is required")
	}
	st, err := backend.Open(ctx, *database, *data, true)
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Setting(ctx, clock.OffsetKey); errors.Is(err, store.ErrNotFound) {
		return errors.New("this store has never been served with --sandbox: only the sandbox's clock moves")
	} else if err != nil {
		return err
	}
	c := &clock.Travel{Store: st}
	var off time.Duration
	switch {
	case verb == "show":
		if len(rest) > 0 || *to != "" {
			return errors.New("clock show takes no argument")
		}
		off, err = c.Offset(ctx)
	case *to != "" && len(rest) == 0:
		t, perr := time.Parse(time.RFC3339, *to)
		if perr != nil {
			return fmt.Errorf("--to %q is not an RFC 3339 time such as 2027-01-01T00:00:00Z", *to)
		}
		off, err = c.AdvanceTo(ctx, t)
	case *to == "" && len(rest) == 1:
		d, perr := clock.ParseAdvance(rest[0])
		if perr != nil {
			return perr
		}
		off, err = c.Advance(ctx, d)
	default:
		fmt.Fprint(stderr, clockUsage)
		return errors.New("clock advance takes one DURATION or --to TIME")
	}
	if err != nil {
		return adminErr(err)
	}
	wall := time.Now().UTC()
	fmt.Fprintf(stdout, "sandbox time %s (wall clock %s, offset %s)\n", wall.Add(off).Format(time.RFC3339), wall.Format(time.RFC3339), off)
	return nil
}

// businessClock is the clock the other commands date what they do by: on
// a sandbox's store its travelled clock, as its servers do, so that a
// command run after "clock advance" sees what the servers see; elsewhere
// nil, the wall clock.
func businessClock(ctx context.Context, st clock.Settings, log *slog.Logger) (func() time.Time, error) {
	_, err := st.Setting(ctx, clock.OffsetKey)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("read the sandbox clock: %w", err)
	}
	return (&clock.Travel{Store: st, Log: log}).Now, nil
}
