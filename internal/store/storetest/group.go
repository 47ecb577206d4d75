package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/store"
)

// HoldWriter starts a transaction that runs fn only when release is
// called, so that the transactions started meanwhile queue behind it (and
// commit in a group). release returns the held transaction's error.
func HoldWriter(s store.Store, fn func(store.Tx) error) (release func() error) {
	gate, started := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.InTx(context.Background(), func(tx store.Tx) error {
			close(started)
			<-gate
			return fn(tx)
		})
	}()
	<-started
	return func() error {
		close(gate)
		return <-done
	}
}

// testConcurrentTransactions: transactions that run at once (and so, on
// both backends, commit in groups) stay independent: one that fails or
// panics leaves nothing behind and fails alone, with its own error or
// panic; every other one commits.
func testConcurrentTransactions(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	intent := func(i int) *store.IssuanceIntent {
		return &store.IssuanceIntent{SerialNumber: fmt.Sprintf("%04x", i), IssuerID: "grp", AccountID: 1, OrderID: int64(i),
			CreatedAt: time.Unix(1000, 0).UTC()}
	}
	release := HoldWriter(s, func(tx store.Tx) error { return tx.CreateIssuanceIntent(ctx, intent(1000)) })
	const n = 40
	errFail := errors.New("refused")
	results := make([]any, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if p := recover(); p != nil {
					results[i] = fmt.Sprint("panic: ", p)
				}
			}()
			results[i] = s.InTx(ctx, func(tx store.Tx) error {
				if err := tx.CreateIssuanceIntent(ctx, intent(i)); err != nil {
					return err
				}
				switch i % 10 {
				case 3:
					return errFail
				case 7:
					panic("boom")
				}
				return nil
			})
		}()
	}
	time.Sleep(200 * time.Millisecond) // let them queue
	if err := release(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	have := storedIntents(t, s, "grp")
	for i := range n {
		switch i % 10 {
		case 3:
			if results[i] != errFail {
				t.Errorf("call %d: %v, want its own error", i, results[i])
			}
		case 7:
			if results[i] != "panic: boom" {
				t.Errorf("call %d: %v, want its panic re-raised", i, results[i])
			}
		default:
			if results[i] != nil {
				t.Errorf("call %d failed: %v", i, results[i])
			}
		}
		if want := i%10 != 3 && i%10 != 7; have[intent(i).SerialNumber] != want {
			t.Errorf("intent of call %d stored = %v, want %v", i, have[intent(i).SerialNumber], want)
		}
	}
	if !have[intent(1000).SerialNumber] {
		t.Error("the first transaction did not commit")
	}
}

// testHeldBackWriteFailsAlone: a write whose failure the database reports
// only later (PostgreSQL holds an intent's insert back until the next
// round trip or the commit) still fails its own transaction alone, with
// store.ErrConflict for a duplicate, when it shares a group commit with
// others that succeed.
func testHeldBackWriteFailsAlone(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	intent := func(sn string) *store.IssuanceIntent {
		return &store.IssuanceIntent{SerialNumber: sn, IssuerID: "held", AccountID: 1, CreatedAt: time.Unix(1000, 0).UTC()}
	}
	if err := s.InTx(ctx, func(tx store.Tx) error { return tx.CreateIssuanceIntent(ctx, intent("0DUP")) }); err != nil {
		t.Fatal(err)
	}
	const n = 30
	results := queuedBehind(t, s, func(tx store.Tx) error { return tx.CreateIssuanceIntent(ctx, intent("0FIRST")) }, n,
		func(i int, tx store.Tx) error {
			if err := tx.CreateIssuanceIntent(ctx, intent(fmt.Sprintf("%04X", i))); err != nil {
				return err
			}
			if i%7 == 2 {
				// A duplicate of a stored serial: refused by the database,
				// on PostgreSQL only when the write is sent.
				return tx.CreateIssuanceIntent(ctx, intent("0DUP"))
			}
			return nil
		})
	have := storedIntents(t, s, "held")
	for i := range n {
		failing := i%7 == 2
		if failing && !errors.Is(results[i], store.ErrConflict) {
			t.Errorf("call %d: %v, want its own conflict", i, results[i])
		}
		if !failing && results[i] != nil {
			t.Errorf("call %d failed: %v", i, results[i])
		}
		if sn := fmt.Sprintf("%04X", i); have[sn] == failing {
			t.Errorf("intent of call %d stored = %v, want %v", i, have[sn], !failing)
		}
	}
	if !have["0FIRST"] || !have["0DUP"] {
		t.Errorf("stored %v, want the first transaction's and the duplicated intent", have)
	}
}

// testOrdersInOneCommit: orders placed by transactions that commit
// together (on PostgreSQL their ids are taken ahead, a batch at a time,
// and their inserts held back) each get an id of their own, newer than any
// before, and their certificate; one that fails leaves no order behind.
func testOrdersInOneCommit(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	acct, first := seed(t, s, "batch")
	base, err := s.Order(ctx, acct, first)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	const n = 24
	errFail := errors.New("refused")
	orders := make([]int64, n)
	certs := make([]int64, n)
	hold := func(tx store.Tx) error {
		return tx.Audit(ctx, &store.AuditEvent{AccountID: acct, At: now, Action: "hold"})
	}
	results := queuedBehind(t, s, hold, n, func(i int, tx store.Tx) error {
		if i%6 == 5 {
			// A transaction that places nothing shares the batch.
			return tx.Audit(ctx, &store.AuditEvent{AccountID: acct, At: now, Action: "other"})
		}
		o := *base
		o.ID, o.CommonName = 0, fmt.Sprintf("n%d.example.com", i)
		if err := tx.CreateOrder(ctx, &o); err != nil {
			return err
		}
		c := &store.Certificate{AccountID: acct, OrderID: o.ID, Status: store.CertIssued, SerialNumber: fmt.Sprintf("0C%02X", i),
			IssuerID: "iss", CommonName: o.CommonName, SignatureHash: "sha256", DER: []byte{0x30, 0x00},
			NotBefore: now, NotAfter: now.Add(time.Hour), CreatedAt: now, IssuedAt: &now}
		if err := tx.CreateOrderCertificate(ctx, c, true, now); err != nil {
			return err
		}
		orders[i], certs[i] = o.ID, c.ID
		if i%6 == 3 {
			return errFail
		}
		return nil
	})
	seen := map[int64]bool{}
	for i := range n {
		switch i % 6 {
		case 5:
			if results[i] != nil {
				t.Errorf("call %d: %v", i, results[i])
			}
			continue
		case 3:
			if results[i] != errFail {
				t.Errorf("call %d: %v, want its own error", i, results[i])
			}
			if o, err := s.Order(ctx, acct, orders[i]); err == nil && o.CommonName == fmt.Sprintf("n%d.example.com", i) {
				t.Errorf("the failed call %d left order %d", i, orders[i])
			}
			continue
		}
		if results[i] != nil {
			t.Errorf("call %d failed: %v", i, results[i])
			continue
		}
		id := orders[i]
		if id <= first || seen[id] {
			t.Errorf("call %d: order id %d (the seeded order is %d; seen before: %v)", i, id, first, seen[id])
		}
		seen[id] = true
		o, err := s.Order(ctx, acct, id)
		if err != nil || o.CommonName != fmt.Sprintf("n%d.example.com", i) || o.CertificateID != certs[i] {
			t.Errorf("call %d: order %d is %+v (%v), want its name and certificate %d", i, id, o, err, certs[i])
		}
	}
}

// queuedBehind runs fn(i, tx) for i < n in as many concurrent
// transactions, queued behind a held one (hold) so that they commit
// together, and returns their outcomes once all are over.
func queuedBehind(t *testing.T, s store.Store, hold func(store.Tx) error, n int, fn func(i int, tx store.Tx) error) []error {
	t.Helper()
	release := HoldWriter(s, hold)
	results := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = s.InTx(context.Background(), func(tx store.Tx) error { return fn(i, tx) })
		}()
	}
	time.Sleep(200 * time.Millisecond) // let them queue
	if err := release(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	return results
}

// storedIntents are the serials of issuer's stored issuance intents.
func storedIntents(t *testing.T, s store.Store, issuer string) map[string]bool {
	t.Helper()
	got, err := s.AbandonedIssuances(context.Background(), issuer, time.Unix(2000, 0))
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, in := range got {
		have[in.SerialNumber] = true
	}
	return have
}
