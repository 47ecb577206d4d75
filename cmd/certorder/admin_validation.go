package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/certorder/certorder/internal/ca"
	"github.com/certorder/certorder/internal/store"
)

// The validation subcommands are how an operator grants organization and
// domain validation outside sandbox mode (until the DCV engine checks
// domains itself). They open the data directory as the other admin
// subcommands do and, after the grant, issue the pending orders that have
// become ready, signing with the CA in DIR/ca.

const validationUsage = `usage:
  certorder org validate --data DIR --org ID --type ov|ev|cs|ev_cs [--until YYYY-MM-DD] [--public-url URL]
  certorder domain validate --data DIR --domain NAME [--method email|dns-txt-token|dns-cname-token|http-token] [--public-url URL]

--public-url must be the serve --public-url (default http://<serve --addr>):
certificates issued here name it for AIA and CRL distribution points.
`

// validationCmd runs "org validate" and "domain validate".
func validationCmd(ctx context.Context, group string, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "validate" {
		fmt.Fprint(stderr, validationUsage)
		return fmt.Errorf("%s: unknown or missing subcommand (want validate)", group)
	}
	fs := newFlags(group+" validate", stderr)
	fs.Usage = func() { fmt.Fprint(stderr, validationUsage) }
	data := fs.String("data", "./certorder-data", "data directory of the server")
	database := fs.String("database", "", "the server's --database (empty: SQLite in --data)")
	publicURL := fs.String("public-url", "http://127.0.0.1:8080", "the server's --public-url, named by certificates issued now")
	orgID := fs.Int64("org", 0, "organization id (org validate)")
	typ := fs.String("type", "", "validation type: ov, ev, cs, ev_cs (org validate)")
	until := fs.String("until", "", "last day of the validation, YYYY-MM-DD (default: the type's full life)")
	domain := fs.String("domain", "", "domain name (domain validate)")
	method := fs.String("method", "", "DCV method the validation counts as done by (default the domain's; email for a new one)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(*data, "ca")); err != nil {
		return fmt.Errorf("no CA in %s: %w", *data, err)
	}
	env, err := openAdmin(ctx, *data, *database)
	if err != nil {
		return err
	}
	defer env.st.Close()
	h, err := ca.Open(ca.Config{Dir: filepath.Join(*data, "ca"), BaseURL: *publicURL})
	if err != nil {
		return fmt.Errorf("open CA: %w", err)
	}
	env.svc.CA = h
	env.svc.Log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	env.val.Log = env.svc.Log
	before := pendingCount(ctx, env)

	switch group {
	case "org":
		if *orgID <= 0 || strings.TrimSpace(*typ) == "" {
			fmt.Fprint(stderr, validationUsage)
			return fmt.Errorf("org validate needs --org and --type")
		}
		var end time.Time
		if *until != "" {
			d, err := time.Parse("2006-01-02", *until)
			if err != nil {
				return fmt.Errorf("--until: want YYYY-MM-DD: %w", err)
			}
			end = d.Add(24*time.Hour - time.Second) // through the end of that day
		}
		if err := env.val.GrantOrgValidation(ctx, env.actor, *orgID, *typ, end); err != nil {
			return adminErr(err)
		}
		org, err := env.st.Organization(ctx, env.actor.Account.ID, *orgID)
		if err != nil {
			return err
		}
		for _, v := range org.Validations {
			if v.Type == strings.ToLower(strings.TrimSpace(*typ)) {
				fmt.Fprintf(stdout, "organization %d (%s): %s validated until %s\n", org.ID, org.Name, v.Type, v.ValidatedUntil.Format(time.RFC3339))
			}
		}
	case "domain":
		if strings.TrimSpace(*domain) == "" {
			fmt.Fprint(stderr, validationUsage)
			return fmt.Errorf("domain validate needs --domain")
		}
		d, err := env.val.GrantDomainValidation(ctx, env.actor, 0, *domain, *method)
		if err != nil {
			return adminErr(err)
		}
		fmt.Fprintf(stdout, "domain %d (%s): validated by %s, reusable until %s\n", d.ID, d.Name, d.DCVValidatedMethod, d.DCVExpiresAt.Format(time.RFC3339))
	default:
		return fmt.Errorf("unknown command %q", group)
	}
	after := pendingCount(ctx, env)
	fmt.Fprintf(stdout, "pending orders issued: %d (still pending: %d)\n", max(before-after, 0), after)
	return nil
}

func pendingCount(ctx context.Context, env *adminEnv) int {
	_, n, err := env.st.Orders(ctx, env.actor.Account.ID, store.OrderFilter{Status: store.OrderPending}, store.Page{Limit: 1})
	if err != nil {
		return 0
	}
	return n
}
