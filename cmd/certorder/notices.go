package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/certorder/certorder/internal/order"
	"github.com/certorder/certorder/internal/store"
)

const noticesUsage = `usage:
  certorder notices show --data DIR [--database URL]
  certorder notices set --data DIR [--database URL] [--container ID] --off NOTICES
  certorder notices set --data DIR [--database URL] --container ID --inherit

The account's and each container's default of the renewal notice switches
(send_minus_90, send_minus_60, send_minus_30, send_minus_7, send_minus_3,
send_plus_7): an order placed without one of these fields takes it from
its container's default, else from the nearest parent container's, else
from the account's, else on. NOTICES is a comma-separated list of the
notices turned off (minus_90 ... plus_7, or the field names), "" or "none"
for all on. --inherit removes a container's own default. Orders placed
before keep their switches (order info shows them).
`

// noticesCmd runs "notices show" and "notices set".
func noticesCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "show" && args[0] != "set" {
		fmt.Fprint(stderr, noticesUsage)
		return errors.New("missing subcommand: show or set")
	}
	verb := args[0]
	fs := newFlags("notices "+verb, stderr)
	fs.Usage = func() { fmt.Fprint(stderr, noticesUsage) }
	data := fs.String("data", "./certorder-data", "data directory of the server")
	database := fs.String("database", "", "the server's --database (empty: SQLite in --data)")
	container := fs.Int64("container", 0, "the container whose default to set (0: the account's)")
	var off *string
	inherit := new(bool)
	if verb == "set" {
		off = fs.String("off", "", "the notices turned off by default")
		inherit = fs.Bool("inherit", false, "remove the container's own default")
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	env, err := openAdmin(ctx, *data, *database)
	if err != nil {
		return err
	}
	defer env.st.Close()
	if verb == "set" {
		given := false
		fs.Visit(func(f *flag.Flag) { given = given || f.Name == "off" })
		if given == *inherit {
			return errors.New("notices set takes either --off or --inherit")
		}
		var list []string
		if given {
			if list, err = order.ParseNotices(*off); err != nil {
				return err
			}
		}
		if err := env.svc.SetNoticeDefaults(ctx, env.actor, *container, list, *inherit); err != nil {
			return adminErr(err)
		}
	}
	return showNoticeDefaults(ctx, env, stdout)
}

// showNoticeDefaults prints, for the account and each container, the
// notices an order placed there has off by default and where that comes
// from.
func showNoticeDefaults(ctx context.Context, env *adminEnv, stdout io.Writer) error {
	acct := env.actor.Account.ID
	conts, err := env.st.Containers(ctx, acct)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "WHERE\tOFF\tFROM")
	line := func(where string, containerID int64) error {
		list, from, err := env.svc.NoticeDefaults(ctx, acct, containerID)
		if err != nil {
			return err
		}
		shown := "none"
		if len(list) > 0 {
			shown = strings.Join(list, ",")
		}
		if from == "" {
			from = "(not set: all on)"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\n", where, shown, from)
		return nil
	}
	if err := line("account", 0); err != nil {
		return err
	}
	slices.SortFunc(conts, func(a, b store.Container) int { return int(a.ID - b.ID) })
	for _, c := range conts {
		if err := line(fmt.Sprintf("container:%d %s", c.ID, c.Name), c.ID); err != nil {
			return err
		}
	}
	return w.Flush()
}
