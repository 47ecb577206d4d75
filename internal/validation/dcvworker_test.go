package validation_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/store/sqlite"
	"github.com/certorder/certorder/internal/store/storetest"
	"github.com/certorder/certorder/internal/validation"
)

// failingStore is a real store whose method named fail fails the first
// time it is called: a fault the DCV worker must survive.
type failingStore struct {
	store.Store
	fail   string
	failed atomic.Bool
}

var errInjected = errors.New("injected read failure")

func (f *failingStore) trip(method string) error {
	if method == f.fail && f.failed.CompareAndSwap(false, true) {
		return errInjected
	}
	return nil
}

func (f *failingStore) ValidatedDomains(ctx context.Context, accountID int64, at time.Time) ([]store.Domain, error) {
	if err := f.trip("ValidatedDomains"); err != nil {
		return nil, err
	}
	return f.Store.ValidatedDomains(ctx, accountID, at)
}

func (f *failingStore) Account(ctx context.Context, id int64) (*store.Account, error) {
	if err := f.trip("Account"); err != nil {
		return nil, err
	}
	return f.Store.Account(ctx, id)
}

// A look that fails with an error is tried again on the retry schedule,
// not after the claim's lease (which is there for a worker that crashed,
// and lasts at least a minute without a DCV checker's shorter timeout).
func TestDCVWorkerRetriesAfterAnError(t *testing.T) {
	// ValidatedDomains fails inside the name check (lookAtOrder reschedules,
	// keeping the record of sent emails); Account fails before it (the
	// round reschedules).
	for _, method := range []string{"ValidatedDomains", "Account"} {
		t.Run(method, func(t *testing.T) { retryAfterError(t, method) })
	}
}

func retryAfterError(t *testing.T, method string) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "certorder.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	acct, user, cont := storetest.SeedAccount(t, st, "retry")
	now := time.Now().UTC()
	o := &store.Order{AccountID: acct, ContainerID: cont, UserID: user, ProductNameID: "ssl_dv_geotrust",
		Status: store.OrderPending, CommonName: "retry.example.com", DNSNames: []string{"retry.example.com"},
		SignatureHash: "sha256", OrderValidTill: now.AddDate(1, 0, 0), DCVMethod: "dns-txt-token",
		DCVRandomValue: "0123456789abcdef0123456789abcdef", DCVRandomExpires: now.Add(24 * time.Hour),
		CreatedAt: now, UpdatedAt: now}
	if err := st.InTx(ctx, func(tx store.Tx) error { return tx.CreateOrder(ctx, o) }); err != nil {
		t.Fatal(err)
	}

	fs := &failingStore{Store: st, fail: method}
	s := &validation.Service{Store: fs, DCVRetry: 50 * time.Millisecond, DCVRetryMax: time.Second}
	if n := s.DCVRound(ctx); n != 1 {
		t.Fatalf("the round looked at %d checks, want 1", n)
	}
	if !fs.failed.Load() {
		t.Fatal("the injected failure was never reached")
	}
	due, err := st.DueDCVChecks(ctx, time.Now().Add(2*time.Second), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(due) != 1 || due[0].ObjectID != o.ID {
		t.Fatalf("due within 2 s: %+v, want the order's check (still held by the claim's lease?)", due)
	}
	if c := due[0]; c.Attempts != 1 || !strings.Contains(c.LastError, errInjected.Error()) {
		t.Fatalf("check after the failed look: %d attempts, last error %q", c.Attempts, c.LastError)
	}
}
