package jobs_test

import (
	"context"
	"crypto/elliptic"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/jobs"
	"github.com/certorder/certorder/internal/order"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/testenv"

	_ "modernc.org/sqlite" // the "sqlite" driver, to count what the store holds
)

// rendezvous holds each of two parties arriving with the same key until
// the other arrives too, or until a timeout; met counts the keys both
// reached.
type rendezvous struct {
	mu      sync.Mutex
	waiting map[int64]chan struct{}
	met     atomic.Int32
}

func (r *rendezvous) meet(key int64) {
	r.mu.Lock()
	if ch, ok := r.waiting[key]; ok {
		delete(r.waiting, key)
		r.mu.Unlock()
		r.met.Add(1)
		close(ch)
		return
	}
	ch := make(chan struct{})
	r.waiting[key] = ch
	r.mu.Unlock()
	select {
	case <-ch:
	case <-time.After(10 * time.Second): // the other never came: the test reports it
		r.mu.Lock()
		if r.waiting[key] == ch {
			delete(r.waiting, key)
		}
		r.mu.Unlock()
	}
}

// heldKey marks the context of one automatic renewal with the id of the
// order it renews.
type heldKey struct{}

// heldStore is a replica's store whose first transaction of each
// automatic renewal waits for the other replica's: both have then read
// the order, and passed every check of the renewal, before either writes
// anything. The renewal's first write is its certificate's issuance
// intent, the second the order and the record; so both replicas reach
// the write with the order not renewed, and only the store can keep the
// second from placing a second renewal.
type heldStore struct {
	store.Store
	r *rendezvous
}

func (h *heldStore) InTx(ctx context.Context, fn func(store.Tx) error) error {
	if held, ok := ctx.Value(heldKey{}).(*atomic.Int64); ok {
		if id := held.Swap(0); id != 0 {
			h.r.meet(id)
		}
	}
	return h.Store.InTx(ctx, fn)
}

// heldRenewer is a replica's order service renewing on a heldStore.
type heldRenewer struct{ svc *order.Service }

func (h heldRenewer) AutoRenew(ctx context.Context, accountID, orderID int64, record func(tx store.Tx, orderID int64) error) (*order.CreateResult, error) {
	held := new(atomic.Int64)
	held.Store(orderID)
	return h.svc.AutoRenew(context.WithValue(ctx, heldKey{}, held), accountID, orderID, record)
}

// TestAutoRenewReplicasOverlap: two replicas on one store (each its own
// app, connections and engine) renew the same due orders at once, held
// so that for every order both have read it unrenewed and passed every
// check before either writes. Each order is renewed once: one renewal
// order, one auto_renew record, one set of auto_renewal mails; the loser
// signed a certificate (its issuance intent stays, so CRLs list its
// serial as revoked) and placed nothing.
func TestAutoRenewReplicasOverlap(t *testing.T) {
	t.Parallel()
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			database := ""
			if backend == "postgres" {
				database = testenv.PostgresDatabase(t) // skips, saying why, without a server
			}
			testAutoRenewReplicasOverlap(t, database)
		})
	}
}

func testAutoRenewReplicasOverlap(t *testing.T, database string) {
	ctx := context.Background()
	var shift atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(shift.Load())) }
	opts := testenv.Options{Sandbox: true, Database: database, Now: now}
	first := testenv.Start(t, opts)
	// The second replica: its own data directory with the first's CA for
	// PostgreSQL; the same directory (and SQLite file) otherwise.
	opts.DataDir = first.DataDir
	if database != "" {
		opts.DataDir = testenv.DataDir(t)
		if err := os.CopyFS(filepath.Join(opts.DataDir, "ca"), os.DirFS(filepath.Join(first.DataDir, "ca"))); err != nil {
			t.Fatal(err)
		}
	}
	second := testenv.Start(t, opts)

	// The replicas' own engines leave every round to the racers below.
	far := now().AddDate(100, 0, 0)
	err := first.App.Store.InTx(ctx, func(tx store.Tx) error {
		for _, k := range []string{jobs.KindExpire, jobs.KindReissue, jobs.KindRenew, jobs.KindNotices} {
			j := &store.Job{Kind: k, NextAt: far, UpdatedAt: now()}
			if err := tx.ScheduleJob(ctx, j); err != nil {
				return err
			}
			if err := tx.FinishJob(ctx, j); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	const n = 6
	csr := testenv.CSR(t, testenv.ECKey(t, elliptic.P256()), "overlap.example.com")
	var ids []int64
	var end time.Time
	for i := range n {
		name := fmt.Sprintf("r%d.overlap.example.com", i)
		body, _ := json.Marshal(map[string]any{
			"certificate": map[string]any{"common_name": name, "csr": csr}, "auto_renew": 1,
			"order_validity": map[string]any{"days": 60}, "dcv_method": "dns-txt-token", "skip_approval": true,
			"additional_emails": []string{"ops-" + name + "@example.com"}})
		srv := first
		if i%2 == 1 {
			srv = second
		}
		code, _, b := srv.Do("POST", "/services/v2/order/certificate/ssl_dv_geotrust", string(body))
		var o struct {
			ID               int64 `json:"id"`
			CertificateChain []struct {
				PEM string `json:"pem"`
			} `json:"certificate_chain"`
		}
		if code != http.StatusCreated || json.Unmarshal(b, &o) != nil || o.ID == 0 || len(o.CertificateChain) == 0 {
			t.Fatalf("order %s: %d %s", name, code, b)
		}
		testenv.RequireLintClean(t, testenv.ParsePEMChain(t, []byte(o.CertificateChain[0].PEM))[0].Raw)
		ids = append(ids, o.ID)
		got, err := first.App.Store.Order(ctx, 1, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		end = got.OrderValidTill
	}
	shift.Store(int64(time.Until(end.Add(-jobs.RenewLead + time.Hour))))

	r := &rendezvous{waiting: map[int64]chan struct{}{}}
	racer := func(srv *testenv.Server) *jobs.Engine {
		svc := *srv.App.Orders
		svc.Store = &heldStore{Store: srv.App.Store, r: r}
		e := *srv.App.Jobs
		e.Renew = heldRenewer{&svc}
		return &e
	}
	var wg sync.WaitGroup
	var placed atomic.Int64
	at := now()
	for _, e := range []*jobs.Engine{racer(first), racer(second)} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			made, err := e.RenewalsAt(ctx, at)
			if err != nil {
				t.Errorf("renewal round: %v", err)
			}
			placed.Add(int64(made))
		}()
	}
	wg.Wait()
	if m := r.met.Load(); m != n {
		t.Fatalf("both replicas reached the write together for %d of %d orders: the overlap was not forced", m, n)
	}
	if p := placed.Load(); p != n {
		t.Errorf("the replicas report %d renewals of %d orders", p, n)
	}

	// What the store holds, counted in SQL common to both backends.
	db := testenv.StoreSQL(t, first.DataDir, database, true)
	count := func(query string, args ...any) int {
		t.Helper()
		var c int
		if err := db.QueryRow(query, args...).Scan(&c); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		return c
	}
	for _, id := range ids {
		o, err := first.App.Store.Order(ctx, 1, id)
		if err != nil {
			t.Fatal(err)
		}
		renewals := count(`SELECT COUNT(*) FROM orders WHERE renewal_of_order_id = $1`, id)
		records := count(`SELECT COUNT(*) FROM order_notices WHERE order_id = $1 AND notice = $2`, id, store.NoticeAutoRenew)
		if renewals != 1 || records != 1 || !o.IsRenewed || o.RenewedOrderID == 0 {
			t.Errorf("order %d: %d renewal orders, %d auto_renew records, renewed %v by %d; want one of each",
				id, renewals, records, o.IsRenewed, o.RenewedOrderID)
			continue
		}
		nu, err := first.App.Store.Order(ctx, 1, o.RenewedOrderID)
		if err != nil || nu.Status != store.OrderIssued || nu.RenewalOfOrderID != id {
			t.Errorf("renewal %d of order %d: %+v, %v", o.RenewedOrderID, id, nu, err)
			continue
		}
		c, err := first.App.Store.Certificate(ctx, 1, nu.CertificateID)
		if err != nil {
			t.Fatal(err)
		}
		testenv.RequireLintClean(t, c.DER)
		// One auto_renewal mail per recipient (the requester and the
		// order's additional address), all for the one renewal.
		if m := count(`SELECT COUNT(*) FROM mail_outbox WHERE kind = $1 AND order_id = $2`, jobs.MailKindAutoRenewal, nu.ID); m != 2 {
			t.Errorf("renewal %d of order %d: %d auto_renewal mails, want 2", nu.ID, id, m)
		}
	}
	if m := count(`SELECT COUNT(*) FROM mail_outbox WHERE kind = $1`, jobs.MailKindAutoRenewal); m != 2*n {
		t.Errorf("%d auto_renewal mails in all, want %d", m, 2*n)
	}
	// Each loser signed before it found the order renewed: its serial
	// stays an issuance intent without a reserved serial, which CRLs list
	// as revoked (the winners' recorded intents may wait for their pool's
	// next batch, and are never listed).
	if lost := count(`SELECT COUNT(*) FROM issuance_intents i
		WHERE NOT EXISTS (SELECT 1 FROM serials s WHERE s.serial_number = i.serial_number)`); lost != n {
		t.Errorf("%d issuance intents left by the losers, want %d (one per order)", lost, n)
	}
}
