package order

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/ca"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/store/sqlite"
	"github.com/certorder/certorder/internal/store/storetest"
	"github.com/certorder/certorder/internal/validation"
)

// intentsAtSign records, at each signature, the serial about to be
// signed and whether the store held its issuance intent committed then.
type intentsAtSign struct {
	mu   sync.Mutex
	seen []map[string]bool // one per signature, in order
}

// countingStore counts the transactions run through it.
type countingStore struct {
	store.Store
	txs atomic.Int64
}

func (c *countingStore) InTx(ctx context.Context, fn func(store.Tx) error) error {
	c.txs.Add(1)
	return c.Store.InTx(ctx, fn)
}

// immediateService is a service on a real store and CA whose issuing key
// records the intents at each signature, an actor that may skip approval,
// and a function placing one immediate DV order.
func immediateService(t *testing.T) (*Service, *intentsAtSign, *countingStore, func() *CreateResult) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "certorder.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h, err := ca.Open(ca.Config{Dir: filepath.Join(dir, "ca"), BaseURL: "http://ca.example.test/", RootKeyType: ca.KeyP256, IssuerKeyType: ca.KeyP256})
	if err != nil {
		t.Fatal(err)
	}
	acctID, userID, _ := storetest.SeedAccount(t, st, "serials")
	if err := st.InTx(ctx, func(tx store.Tx) error { return tx.ChargeBalance(ctx, acctID, 1<<40) }); err != nil {
		t.Fatal(err)
	}
	acct, _ := st.Account(ctx, acctID)
	acct.AllowSkipApproval = true
	user, _ := st.User(ctx, acctID, userID)
	actor := account.Actor{Account: acct, User: user, Key: &store.APIKey{AccountID: acctID, UserID: userID}}
	clock := &claimClock{t: time.Now().UTC()}
	counted := &countingStore{Store: st}
	s := &Service{Store: counted, CA: h, Now: clock.now}
	key := &intentsAtSign{}
	s.beforeSign = func(string) {
		// What another process (or this one after a crash) would read.
		ins, err := st.AbandonedIssuances(ctx, h.DefaultIssuer().ID, time.Now().Add(time.Hour))
		if err != nil {
			t.Error(err)
			return
		}
		m := map[string]bool{}
		for _, in := range ins {
			m[in.SerialNumber] = true
		}
		key.mu.Lock()
		key.seen = append(key.seen, m)
		key.mu.Unlock()
	}
	s.UseValidation(&validation.Service{Store: counted, Sandbox: true, Now: clock.now})
	n := 0
	order := func() *CreateResult {
		t.Helper()
		n++
		name := fmt.Sprintf("s%d.example.com", n)
		body, _ := json.Marshal(map[string]any{
			"certificate":    map[string]any{"common_name": name, "signature_hash": "sha256", "csr": claimCSR(t)},
			"validity_years": 1, "skip_approval": true, "payment_method": "balance", "dcv_method": "dns-txt-token",
		})
		var in CreateInput
		if err := json.Unmarshal(body, &in); err != nil {
			t.Fatal(err)
		}
		res, err := s.CreateOrder(ctx, actor, "ssl_dv_geotrust", &in)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Chain) == 0 {
			t.Fatalf("order %d did not issue at once", res.OrderID)
		}
		if errs, _, err := ca.LintCertificate(res.Chain[0].Raw); err != nil || len(errs) > 0 {
			t.Fatalf("order %d: lint %v %v", res.OrderID, errs, err)
		}
		return res
	}
	return s, key, counted, order
}

func intentSerials(t *testing.T, s *Service) map[string]time.Time {
	t.Helper()
	ins, err := s.Store.AbandonedIssuances(context.Background(), s.CA.DefaultIssuer().ID, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]time.Time{}
	for _, in := range ins {
		m[in.SerialNumber] = in.CreatedAt
	}
	return m
}

// An immediate order's serial has its issuance intent committed before
// the issuer signs (a signature reads the store's committed intents and
// finds its serial there), and the order then costs one commit: orders
// placed one after the other make one group-commit batch each, plus one
// per batch of serials written ahead. The recorded certificate's intent
// is gone; the ones left are the serials not yet used, and a clean
// shutdown deletes them.
func TestImmediateOrderSignsAnIntentCommittedAhead(t *testing.T) {
	s, key, counted, order := immediateService(t)
	before := counted.txs.Load()
	const n = 12
	var serials []string
	for range n {
		res := order()
		serials = append(serials, ca.SerialHex(res.Chain[0].SerialNumber))
	}
	if len(key.seen) != n {
		t.Fatalf("%d signatures by the issuing key, want %d", len(key.seen), n)
	}
	for i, sn := range serials {
		if !key.seen[i][sn] {
			t.Errorf("order %d: serial %s had no committed intent when the issuer signed it", i, sn)
		}
	}
	left := intentSerials(t, s)
	for _, sn := range serials {
		if _, ok := left[sn]; ok {
			t.Errorf("serial %s was recorded and still has its intent", sn)
		}
	}
	// Batches of serials: 4, then 8 (the first lasted under a second).
	if got, want := counted.txs.Load()-before, int64(n+2); got != want {
		t.Errorf("%d transactions for %d orders, want %d (one per order, one per batch of serials)", got, n, want)
	}
	if len(left) != 4+8-n {
		t.Errorf("%d intents left, want the %d serials not used yet", len(left), 4+8-n)
	}
	if err := s.ReleaseSerials(context.Background()); err != nil {
		t.Fatal(err)
	}
	if left := intentSerials(t, s); len(left) != 0 {
		t.Errorf("after ReleaseSerials %d intents are left", len(left))
	}
	order() // and orders go on
}

// A serial held longer than poolMaxAge is never signed: the next order
// takes a fresh one, and the stale serials' intents are deleted in the
// same commit that writes the next batch.
func TestStaleSerialsAreDropped(t *testing.T) {
	s, key, _, order := immediateService(t)
	lease := time.Now()
	var mu sync.Mutex
	s.LeaseNow = func() time.Time { mu.Lock(); defer mu.Unlock(); return lease }
	order()
	held := intentSerials(t, s)
	if len(held) == 0 {
		t.Fatal("no serial held after the first order")
	}
	mu.Lock()
	lease = lease.Add(poolMaxAge + time.Second)
	mu.Unlock()
	res := order()
	sn := ca.SerialHex(res.Chain[0].SerialNumber)
	if _, ok := held[sn]; ok {
		t.Errorf("the order took serial %s, held since before its maximum age", sn)
	}
	if !key.seen[len(key.seen)-1][sn] {
		t.Errorf("serial %s had no committed intent when signed", sn)
	}
	now := intentSerials(t, s)
	for old := range held {
		if _, ok := now[old]; ok {
			t.Errorf("stale serial %s keeps its intent", old)
		}
	}
}
