package order

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/ca"
	"github.com/certorder/certorder/internal/store"
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
// and a function placing one immediate DV order. crash replaces the
// service by a new one on the same store and CA, as a process started
// after a SIGKILL: the old one's pool is lost without ReleaseSerials, and
// order places orders with the new one.
func immediateService(t *testing.T) (s *Service, key *intentsAtSign, counted *countingStore, order func() *CreateResult, crash func() *Service) {
	t.Helper()
	ctx := context.Background()
	st, h, actor, clock := storeAndCA(t, "serials")
	counted = &countingStore{Store: st}
	key = &intentsAtSign{}
	beforeSign := func(string) {
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
	build := func() *Service {
		svc := &Service{Store: counted, CA: h, Now: clock.now, beforeSign: beforeSign}
		svc.UseValidation(&validation.Service{Store: counted, Sandbox: true, Now: clock.now})
		return svc
	}
	s = build()
	crash = func() *Service {
		s = build()
		return s
	}
	n := 0
	order = func() *CreateResult {
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
	return s, key, counted, order, crash
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
	s, key, counted, order, _ := immediateService(t)
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
	s, key, _, order, _ := immediateService(t)
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

// Serials a process held in its pool when it died may have been signed
// (taken by an order whose commit never came) or not; nothing tells which.
// So each keeps its intent: CRLs and OCSP answer for it as revoked once it
// is AbandonAfter old, never as good (no certificate has it), and the
// process started afterwards never hands one out again.
func TestPoolSerialsAfterACrash(t *testing.T) {
	s, key, _, order, crash := immediateService(t)
	ctx := context.Background()
	var issued []string
	for range 2 {
		issued = append(issued, ca.SerialHex(order().Chain[0].SerialNumber))
	}
	// One more taken and signed, its order's commit never made: the kill
	// came between the signature and the commit.
	taken, err := s.takeSerial(ctx, s.CA.DefaultIssuer())
	if err != nil {
		t.Fatal(err)
	}
	held := intentSerials(t, s)
	if _, ok := held[ca.SerialHex(taken)]; !ok || len(held) < 2 {
		t.Fatalf("before the kill %d intents, the taken serial's among them: %v", len(held), ok)
	}
	s2 := crash()
	var after []string
	for range 20 {
		after = append(after, ca.SerialHex(order().Chain[0].SerialNumber))
	}
	for _, sn := range after {
		if _, ok := held[sn]; ok {
			t.Errorf("the process started after the kill signed serial %s, held by the pool of the one killed", sn)
		}
	}
	if got := len(key.seen); got != 22 {
		t.Errorf("%d signatures, want 22", got)
	}
	// What CRLs and OCSP read, once AbandonAfter has passed.
	abandoned := intentSerials(t, s2)
	for sn := range held {
		if _, ok := abandoned[sn]; !ok {
			t.Errorf("serial %s of the killed pool lost its intent: a CRL would not list it", sn)
		}
		if _, err := s2.Store.SerialStatus(ctx, sn); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("serial %s of the killed pool has a status (%v): it would be answered as a certificate", sn, err)
		}
	}
	for _, sn := range append(issued, after...) {
		if _, ok := abandoned[sn]; ok {
			t.Errorf("issued serial %s keeps its intent: a CRL would list a good certificate as revoked", sn)
		}
	}
}
