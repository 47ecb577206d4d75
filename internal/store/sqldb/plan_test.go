package sqldb_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/store/postgres"
	"github.com/certorder/certorder/internal/store/sqldb"
	"github.com/certorder/certorder/internal/store/sqlite"
	"github.com/certorder/certorder/internal/testenv"

	_ "github.com/jackc/pgx/v5/stdlib"
)

// TestListSortsUseIndexes: every documented sort of the order and request
// lists, either direction, reads an index in the order asked for, so that
// a page costs the same at ten orders as at a hundred thousand; none sorts
// the account's rows first. On SQLite the plan must have no temporary
// B-tree for the ORDER BY and no full scan; on PostgreSQL, with sorting
// priced out of reach (enable_sort off: the planner then sorts only when
// no index gives the order), the plan must have no Sort node and no
// sequential scan.
func TestListSortsUseIndexes(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		db := sqlitePlanDB(t)
		acct := seedLists(t, db.store)
		checkPlans(t, sqldb.SQLite, acct, func(query string, args []any) []string {
			return planLines(t, db.DB, "EXPLAIN QUERY PLAN "+query, args, 3)
		}, func(plan []string) string {
			for _, l := range plan {
				if strings.Contains(l, "TEMP B-TREE") {
					return l
				}
				// A SCAN reads the whole table (of every account).
				if strings.HasPrefix(l, "SCAN ") {
					return l
				}
			}
			return ""
		})
	})
	t.Run("postgres", func(t *testing.T) {
		db, acct := postgresPlanDB(t, `SET enable_sort = off`)
		checkPlans(t, sqldb.Postgres, acct, func(query string, args []any) []string {
			return planLines(t, db.DB, "EXPLAIN "+query, args, 0)
		}, func(plan []string) string {
			for i, l := range plan {
				if strings.Contains(l, "Seq Scan") {
					return l
				}
				// Requests sorted by common name come order by order
				// (RequestSortKeys); sorting one order's few requests by id
				// is the one sort allowed.
				if strings.Contains(l, "Incremental Sort") && i+2 < len(plan) &&
					strings.HasPrefix(plan[i+2], "Presorted Key:") && strings.HasSuffix(plan[i+2], ".order_id") {
					continue
				}
				if strings.Contains(l, "Sort  (") {
					return l
				}
			}
			return ""
		})
	})
}

// checkPlans explains the page queries of every sort key in both
// directions; bad returns the offending line of a plan, or "".
func checkPlans(t *testing.T, d *sqldb.Dialect, acct int64, explain func(string, []any) []string, bad func([]string) string) {
	t.Helper()
	for _, list := range []struct {
		name   string
		keys   map[string]string
		orders bool
	}{
		{"orders", sqldb.OrderSortKeys, true},
		{"requests", sqldb.RequestSortKeys, false},
	} {
		var keys []string
		for k := range list.keys {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			for _, sort := range []string{k, "-" + k} {
				query, args, rquery, rargs := sqldb.ListSQL(d, acct, store.Page{Sort: []string{sort}, Limit: 100})
				if !list.orders {
					query, args = rquery, rargs
				}
				plan := explain(query, args)
				if l := bad(plan); l != "" {
					t.Errorf("%s sort=%s: %q in the plan\n%s", list.name, sort, l, strings.Join(plan, "\n"))
				}
			}
		}
	}
}

// planLines runs an EXPLAIN and returns column col of its rows.
func planLines(t *testing.T, db *sql.DB, query string, args []any, col int) []string {
	t.Helper()
	rows, err := db.Query(query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, strings.TrimSpace(fmt.Sprint(vals[col])))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// seedLists makes two accounts of 300 orders with a request each, varied
// in every sort key, and returns the first account's id.
func seedLists(t *testing.T, s store.Store) int64 {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	var first int64
	err := s.InTx(ctx, func(tx store.Tx) error {
		for a := range 2 {
			acct := &store.Account{Name: fmt.Sprint("plan", a), CreatedAt: now}
			if err := tx.CreateAccount(ctx, acct); err != nil {
				return err
			}
			if a == 0 {
				first = acct.ID
			}
			c := &store.Container{AccountID: acct.ID, Name: "c", IsActive: true, CreatedAt: now}
			if err := tx.CreateContainer(ctx, c); err != nil {
				return err
			}
			u := &store.User{AccountID: acct.ID, ContainerID: c.ID, Username: fmt.Sprint("u", a), AccessRole: store.RoleAdministrator, CreatedAt: now}
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
			org := &store.Organization{AccountID: acct.ID, ContainerID: c.ID, Name: "Org", IsActive: true, CreatedAt: now}
			if err := tx.CreateOrganization(ctx, org); err != nil {
				return err
			}
			statuses := []string{store.OrderNeedsApproval, store.OrderPending, store.OrderIssued, store.OrderCanceled}
			for i := range 300 {
				at := now.Add(time.Duration(i) * time.Minute)
				o := &store.Order{AccountID: acct.ID, ContainerID: c.ID, UserID: u.ID, OrganizationID: org.ID,
					ProductNameID: []string{"ssl_securesite", "ssl_dv_geotrust", "ssl_ev_securesite"}[i%3],
					Status:        statuses[i%len(statuses)], CommonName: fmt.Sprintf("n%03d.example.com", (i*7)%300),
					DNSNames: []string{"x.example.com"}, SignatureHash: "sha256", OrderValidTill: at.AddDate(1, 0, 0),
					IsRenewed: i%5 == 0, CreatedAt: at, UpdatedAt: at}
				if err := tx.CreateOrder(ctx, o); err != nil {
					return err
				}
				r := &store.Request{AccountID: acct.ID, OrderID: o.ID, Type: "new_request",
					Status: []string{"pending", "approved", "rejected"}[i%3], RequesterID: u.ID, Date: at}
				if i%2 == 0 {
					r.DateProcessed = &at
				}
				if err := tx.CreateRequest(ctx, r); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return first
}

// TestRenewalLookupUsesItsIndex: the renewal jobs find an order's
// renewals through orders_renewal_of, an index of renewals only, on both
// stores (a full scan of orders per candidate otherwise).
func TestRenewalLookupUsesItsIndex(t *testing.T) {
	checkUsesIndex(t, "the renewals of an order are not looked up through", "orders_renewal_of", false,
		sqldb.NoLiveRenewalSQL, int64(1), store.OrderRejected, store.OrderCanceled)
}

// TestCustomFieldsUseTheirIndex: an order's read of its account's custom
// fields goes through metadata_account, not a scan of every account's,
// and takes its order from it.
func TestCustomFieldsUseTheirIndex(t *testing.T) {
	checkUsesIndex(t, "an account's custom fields are not read through", "metadata_account", true,
		sqldb.MetadataSQL, int64(1))
}

// checkUsesIndex explains the query sqlFor makes for each store and fails
// with complaint unless the plan reads index (on SQLite, when ordered,
// without sorting in a temporary B-tree besides).
func checkUsesIndex(t *testing.T, complaint, index string, ordered bool, sqlFor func(*sqldb.Dialect) string, args ...any) {
	t.Helper()
	has := func(plan []string, s string) bool {
		return slices.ContainsFunc(plan, func(l string) bool { return strings.Contains(l, s) })
	}
	t.Run("sqlite", func(t *testing.T) {
		db := sqlitePlanDB(t)
		plan := planLines(t, db.DB, "EXPLAIN QUERY PLAN "+sqlFor(sqldb.SQLite), args, 3)
		if !has(plan, "USING INDEX "+index) || ordered && has(plan, "TEMP B-TREE") {
			t.Errorf("%s %s:\n%s", complaint, index, strings.Join(plan, "\n"))
		}
	})
	t.Run("postgres", func(t *testing.T) {
		db, _ := postgresPlanDB(t, `SET enable_seqscan = off`)
		plan := planLines(t, db.DB, "EXPLAIN "+sqlFor(sqldb.Postgres), args, 0)
		if !has(plan, index) {
			t.Errorf("%s %s:\n%s", complaint, index, strings.Join(plan, "\n"))
		}
	})
}

// planDB is a migrated store and a plain connection to its database to
// explain queries with.
type planDB struct {
	*sql.DB
	store store.Store
}

// sqlitePlanDB is a new SQLite store with a second connection.
func sqlitePlanDB(t *testing.T) planDB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "plan.db")
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return planDB{DB: db, store: s}
}

// postgresPlanDB is a new PostgreSQL database, seeded (seedLists, whose
// first account it returns) and analysed, and one session on it with
// setting in force.
func postgresPlanDB(t *testing.T, setting string) (planDB, int64) {
	t.Helper()
	dsn := testenv.PostgresDatabase(t)
	s, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	acct := seedLists(t, s)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(1) // the setting holds for the session
	for _, set := range []string{`ANALYZE`, setting} {
		if _, err := db.Exec(set); err != nil {
			t.Fatal(err)
		}
	}
	return planDB{DB: db, store: s}, acct
}
