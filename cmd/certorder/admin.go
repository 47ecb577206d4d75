package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/flex"
	"github.com/certorder/certorder/internal/order"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/store/backend"
	"github.com/certorder/certorder/internal/validation"
)

// The admin subcommands work on the data directory of a server, running
// or not: they open the same SQLite database (WAL mode lets them write
// next to a running server) and go through the same rules as the API,
// acting as the account's system administrator.

const adminUsage = `usage:
  certorder user add --data DIR --username NAME --email ADDR --first-name F --last-name L --role ROLE [--container ID]
  certorder user list --data DIR
  certorder user delete --data DIR --id ID
  certorder user passwd --data DIR (--id ID | --username NAME)   (the password is read from standard input)
  certorder user totp-off --data DIR (--id ID | --username NAME)
  certorder key create --data DIR --user ID [--name NAME] [--role KEYROLE]
  certorder key list --data DIR [--user ID]
  certorder key revoke --data DIR --id KEYID
  certorder container add --data DIR --name NAME [--parent ID] [--description TEXT]
  certorder container list --data DIR

ROLE: administrator, manager, finance_manager, standard_user, limited_user (or 1-5)
KEYROLE: inherit, orders, orders_domains_organizations, view_only, user_management (or 0, 100-103)
`

// adminEnv is an opened data directory.
type adminEnv struct {
	st    store.Store
	svc   *order.Service
	val   *validation.Service
	accts *account.Service
	actor account.Actor
}

func openAdmin(ctx context.Context, dir, database string) (*adminEnv, error) {
	if dir == "" && !backend.IsPostgres(database) {
		return nil, errors.New("--data is required")
	}
	st, err := backend.Open(ctx, database, dir, true)
	if err != nil {
		return nil, err
	}
	acct, err := st.FirstAccount(ctx)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("read account: %w", err)
	}
	// Audit lines are in the database; the terminal gets warnings only.
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	now, err := businessClock(ctx, st, log)
	if err != nil {
		st.Close()
		return nil, err
	}
	env := &adminEnv{st: st, svc: &order.Service{Store: st, Log: log, Now: now}, val: &validation.Service{Store: st, Log: log, Now: now},
		accts: &account.Service{Store: st, Log: log, Now: now}, actor: account.SystemActor(acct)}
	env.svc.UseValidation(env.val)
	return env, nil
}

// adminErr turns a rule's typed error into one line.
func adminErr(err error) error {
	var e *errs.Error
	if errors.As(err, &e) && e.Kind != errs.Internal {
		var parts []string
		for _, d := range e.Details {
			parts = append(parts, d.Code+": "+d.Message)
		}
		return errors.New(strings.Join(parts, "; "))
	}
	return err
}

func parseRole(s string, names map[string]int) (int, error) {
	if n, err := strconv.Atoi(s); err == nil {
		return n, nil
	}
	if n, ok := names[strings.ReplaceAll(strings.ToLower(s), "-", "_")]; ok {
		return n, nil
	}
	return 0, fmt.Errorf("unknown role %q", s)
}

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, adminUsage) }
	return fs
}

func adminCmd(ctx context.Context, group string, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, adminUsage)
		return errors.New("missing subcommand")
	}
	verb, args := args[0], args[1:]
	fs := newFlags(group+" "+verb, stderr)
	data := fs.String("data", "./certorder-data", "data directory of the server")
	database := fs.String("database", "", "the server's --database (empty: SQLite in --data)")
	var run func(env *adminEnv) error
	switch group + " " + verb {
	case "user add":
		username := fs.String("username", "", "username")
		email := fs.String("email", "", "email address")
		first := fs.String("first-name", "", "first name")
		last := fs.String("last-name", "", "last name")
		role := fs.String("role", "standard_user", "access role")
		container := fs.Int64("container", 0, "container id (default: the top container)")
		run = func(env *adminEnv) error {
			r, err := parseRole(*role, account.AccessRoleNames)
			if err != nil {
				return err
			}
			in := &account.UserInput{Username: *username, Email: *email, FirstName: *first, LastName: *last,
				AccessRoles: []flex.IDInput{{ID: flex.NewInt(int64(r))}}}
			if *container != 0 {
				in.Container = &flex.IDInput{ID: flex.NewInt(*container)}
			} else if top, err := topContainer(ctx, env); err != nil {
				return err
			} else {
				in.Container = &flex.IDInput{ID: flex.NewInt(top)}
			}
			u, _, err := env.accts.CreateUser(ctx, env.actor, in)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "user %d created: %s (role %d, container %d)\n", u.ID, u.Username, u.AccessRole, u.ContainerID)
			return nil
		}
	case "user list":
		run = func(env *adminEnv) error {
			users, _, err := env.st.Users(ctx, env.actor.Account.ID, store.UserFilter{}, store.Page{})
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tUSERNAME\tROLE\tCONTAINER\tEMAIL")
			for _, u := range users {
				fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%s\n", u.ID, u.Username, u.AccessRole, u.ContainerID, u.Email)
			}
			return tw.Flush()
		}
	case "user delete":
		id := fs.Int64("id", 0, "user id")
		run = func(env *adminEnv) error {
			if err := env.accts.DeleteUser(ctx, env.actor, *id); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "user %d deleted; its keys are revoked\n", *id)
			return nil
		}
	case "user passwd", "user totp-off":
		id := fs.Int64("id", 0, "user id")
		username := fs.String("username", "", "username (instead of --id)")
		passwd := verb == "passwd"
		run = func(env *adminEnv) error {
			uid := *id
			if *username != "" {
				u, err := env.st.UserByUsername(ctx, *username)
				if err != nil || u.AccountID != env.actor.Account.ID {
					return fmt.Errorf("no user %q", *username)
				}
				uid = u.ID
			}
			if uid == 0 {
				return errors.New("--id or --username is required")
			}
			if !passwd {
				if err := env.accts.TurnOffTOTP(ctx, env.actor, uid); err != nil {
					return err
				}
				fmt.Fprintf(stdout, "user %d signs in to the console with a password only\n", uid)
				return nil
			}
			pw, err := readPassword(stdin, stderr)
			if err != nil {
				return err
			}
			if err := env.accts.SetPassword(ctx, env.actor, uid, pw, 0); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "user %d: console password set; their console sessions are signed out\n", uid)
			return nil
		}
	case "key create":
		user := fs.Int64("user", 0, "id of the user the key acts as")
		name := fs.String("name", "certorder key", "name of the key")
		role := fs.String("role", "inherit", "key restriction")
		run = func(env *adminEnv) error {
			r, err := parseRole(*role, account.KeyRoleNames)
			if err != nil {
				return err
			}
			k, key, err := env.accts.CreateAPIKey(ctx, env.actor, *user, *name, flex.NewInt(int64(r)))
			if err != nil {
				return err
			}
			fmt.Fprintf(stderr, "key %d created for user %d (restricted_to_role_id %d); it is shown once:\n", k.ID, k.UserID, k.RoleID)
			fmt.Fprintln(stdout, key)
			return nil
		}
	case "key list":
		user := fs.Int64("user", 0, "only this user's keys")
		run = func(env *adminEnv) error {
			keys, err := env.st.APIKeys(ctx, env.actor.Account.ID, *user)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tUSER\tROLE\tSTATUS\tNAME")
			for _, k := range keys {
				status := "active"
				if k.RevokedAt != nil {
					status = "revoked"
				}
				fmt.Fprintf(tw, "%d\t%d\t%d\t%s\t%s\n", k.ID, k.UserID, k.RoleID, status, k.Name)
			}
			return tw.Flush()
		}
	case "key revoke":
		id := fs.Int64("id", 0, "key id")
		run = func(env *adminEnv) error {
			if err := env.accts.SetAPIKeyStatus(ctx, env.actor, *id, "revoked"); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "key %d revoked\n", *id)
			return nil
		}
	case "container add":
		name := fs.String("name", "", "name")
		desc := fs.String("description", "", "description")
		parent := fs.Int64("parent", 0, "parent container id (default: the top container)")
		run = func(env *adminEnv) error {
			p := *parent
			if p == 0 {
				var err error
				if p, err = topContainer(ctx, env); err != nil {
					return err
				}
			}
			c, err := env.accts.CreateContainer(ctx, env.actor, p, "parent", &account.ContainerInput{Name: *name, Description: *desc})
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "container %d created under %d\n", c.ID, c.ParentID)
			return nil
		}
	case "container list":
		run = func(env *adminEnv) error {
			cs, err := env.st.Containers(ctx, env.actor.Account.ID)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tPARENT\tNAME")
			for _, c := range cs {
				fmt.Fprintf(tw, "%d\t%d\t%s\n", c.ID, c.ParentID, c.Name)
			}
			return tw.Flush()
		}
	default:
		fmt.Fprint(stderr, adminUsage)
		return fmt.Errorf("unknown command %q", group+" "+verb)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	env, err := openAdmin(ctx, *data, *database)
	if err != nil {
		return err
	}
	defer env.st.Close()
	return adminErr(run(env))
}

// stdin is where `user passwd` reads the password: a flag would leave it
// in the shell's history and the process list.
var stdin io.Reader = os.Stdin

// readPassword reads one line of r as the password (a terminal echoes it:
// pipe it in, or type it and clear the screen).
func readPassword(r io.Reader, prompt io.Writer) (string, error) {
	fmt.Fprint(prompt, "New console password (one line): ")
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password: %w", err)
	}
	fmt.Fprintln(prompt)
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no password given on standard input")
	}
	return line, nil
}

// topContainer is the account's first top-level container.
func topContainer(ctx context.Context, env *adminEnv) (int64, error) {
	cs, err := env.st.Containers(ctx, env.actor.Account.ID)
	if err != nil {
		return 0, err
	}
	for _, c := range cs {
		if c.ParentID == 0 {
			return c.ID, nil
		}
	}
	return 0, errors.New("the account has no top container")
}
