package postgres_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/store/postgres"
	"github.com/certorder/certorder/internal/store/storetest"
	"github.com/certorder/certorder/internal/testenv"
)

func TestConformance(t *testing.T) {
	testenv.PostgresServer(t)
	storetest.Run(t, storetest.Backend{Fresh: func(t *testing.T) func() (store.Store, error) {
		db := testenv.PostgresDatabase(t)
		return func() (store.Store, error) { return postgres.Open(context.Background(), db) }
	}})
}

// A transaction in which a statement failed is over on PostgreSQL even if
// its function swallowed the error: COMMIT then answers ROLLBACK, which
// is not a commit. InTx must say so, and nothing of it may be stored; the
// lock is released, and the next transaction commits.
func TestSwallowedFailureIsNoCommit(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	intent := func(sn string) *store.IssuanceIntent {
		return &store.IssuanceIntent{SerialNumber: sn, IssuerID: "swallow", AccountID: 1, CreatedAt: time.Unix(1000, 0).UTC()}
	}
	if err := s.InTx(ctx, func(tx store.Tx) error { return tx.CreateIssuanceIntent(ctx, intent("01")) }); err != nil {
		t.Fatal(err)
	}
	err := s.InTx(ctx, func(tx store.Tx) error {
		if err := tx.CreateIssuanceIntent(ctx, intent("02")); err != nil {
			return err
		}
		tx.CreateIssuanceIntent(ctx, intent("01")) // a duplicate: fails, and the error is dropped
		return nil
	})
	if err == nil {
		t.Fatal("InTx reported a commit of a transaction PostgreSQL rolled back")
	}
	if err := s.InTx(ctx, func(tx store.Tx) error { return tx.CreateIssuanceIntent(ctx, intent("03")) }); err != nil {
		t.Fatalf("the next transaction: %v", err)
	}
	got, err := s.AbandonedIssuances(ctx, "swallow", time.Unix(2000, 0))
	if err != nil {
		t.Fatal(err)
	}
	var serials []string
	for _, in := range got {
		serials = append(serials, in.SerialNumber)
	}
	if strings.Join(serials, ",") != "01,03" {
		t.Errorf("stored intents %v, want 01 and 03", serials)
	}
}

// A read after a held-back write that the database refused must not
// answer "not found" (the transaction is aborted, not empty): a caller
// that creates what it did not find would act on a wrong answer.
func TestReadAfterHeldBackFailure(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	intent := &store.IssuanceIntent{SerialNumber: "01", IssuerID: "read", AccountID: 1, CreatedAt: time.Unix(1000, 0).UTC()}
	if err := s.InTx(ctx, func(tx store.Tx) error { return tx.CreateIssuanceIntent(ctx, intent) }); err != nil {
		t.Fatal(err)
	}
	var readErr error
	err := s.InTx(ctx, func(tx store.Tx) error {
		if err := tx.CreateIssuanceIntent(ctx, intent); err != nil {
			return err // sent at once: the test holds nothing back
		}
		_, readErr = tx.Order(ctx, 1, 4242)
		return nil
	})
	if readErr == nil || errors.Is(readErr, store.ErrNotFound) {
		t.Errorf("read after the refused write: %v, want the transaction's failure", readErr)
	}
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("InTx: %v, want the held-back write's conflict", err)
	}
}

// A read after held-back writes travels with them: it sees what they
// wrote, and its rows scan as they do when read on their own (database/sql
// over the network), NULLs and bytes included.
func TestCarriedReadsSeeTheWritesAndScanAlike(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	acct, _, _ := storetest.SeedAccount(t, s, "carried")
	want, err := s.Account(ctx, acct)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	before := postgres.CarriedReads()
	var events []store.AuditEvent
	var got *store.Account
	err = s.InTx(ctx, func(tx store.Tx) error {
		for _, action := range []string{"first", "second"} {
			if err := tx.Audit(ctx, &store.AuditEvent{AccountID: acct, At: now, Action: action, Object: "x:1"}); err != nil {
				return err
			}
		}
		var err error
		if events, err = tx.AuditEvents(ctx, acct, 10); err != nil { // rows
			return err
		}
		if err := tx.Audit(ctx, &store.AuditEvent{AccountID: acct, At: now, Action: "third"}); err != nil {
			return err
		}
		got, err = tx.Account(ctx, acct) // one row
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := postgres.CarriedReads() - before; n != 2 {
		t.Errorf("%d reads carried the held-back writes, want 2", n)
	}
	var actions []string
	for _, e := range events {
		actions = append(actions, e.Action)
	}
	if !slices.Contains(actions, "first") || !slices.Contains(actions, "second") {
		t.Errorf("the read in the transaction saw events %v, want the two written before it", actions)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("carried read of the account:\n%+v\nread alone:\n%+v", got, want)
	}
	after, err := s.AuditEvents(ctx, acct, 10)
	if err != nil || !reflect.DeepEqual(after[1:], events) {
		t.Errorf("events read alone after the commit (newest first, the third before them):\n%+v (%v)\nread in the transaction:\n%+v", after, err, events)
	}
}

// openStore opens a store on a new database of the test server (skipping,
// saying why, without one); it is closed when the test ends.
func openStore(t *testing.T) *postgres.Store {
	t.Helper()
	testenv.PostgresServer(t)
	s, err := postgres.Open(context.Background(), testenv.PostgresDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
