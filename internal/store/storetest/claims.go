package storetest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/store"
)

// testSigningClaims: of eight callers claiming one pending certificate at
// once, exactly one wins; a live claim refuses everyone, another account
// included; a released or lapsed claim can be taken again; a certificate
// that is no longer pending cannot be claimed.
func testSigningClaims(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	acct, ord := seed(t, s, "claims")
	other, _ := seed(t, s, "claims-other")
	now := time.Now().UTC().Truncate(time.Millisecond)
	c := &store.Certificate{AccountID: acct, OrderID: ord, Status: store.CertPending, CommonName: "claims.example.com", CreatedAt: now}
	if err := s.InTx(ctx, func(tx store.Tx) error { return tx.CreateCertificate(ctx, c) }); err != nil {
		t.Fatal(err)
	}
	claim := func(acct int64, token string, at, until time.Time) bool {
		t.Helper()
		var ok bool
		err := s.InTx(ctx, func(tx store.Tx) error {
			var err error
			ok, err = tx.ClaimCertificateSigning(ctx, acct, c.ID, token, at, until)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	holds := func(token string) bool {
		t.Helper()
		ok, err := s.HoldsCertificateSigning(ctx, acct, c.ID, token)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	release := func(token string) {
		t.Helper()
		if err := s.InTx(ctx, func(tx store.Tx) error { return tx.ReleaseCertificateSigning(ctx, acct, c.ID, token) }); err != nil {
			t.Fatal(err)
		}
	}

	var n atomic.Int32
	wins := raceWins(t, s, 8, func(tx store.Tx) (bool, error) {
		return tx.ClaimCertificateSigning(ctx, acct, c.ID, fmt.Sprintf("racer-%d", n.Add(1)), now, now.Add(time.Minute))
	})
	if wins != 1 {
		t.Fatalf("%d callers claimed one certificate, want 1", wins)
	}
	held := 0
	for i := 1; i <= 8; i++ {
		if holds(fmt.Sprintf("racer-%d", i)) {
			held++
		}
	}
	if held != 1 {
		t.Fatalf("%d tokens hold the claim, want 1", held)
	}
	if claim(acct, "late", now.Add(30*time.Second), now.Add(2*time.Minute)) || holds("late") {
		t.Fatal("a live claim was taken over")
	}
	if claim(other, "other", now.Add(2*time.Minute), now.Add(3*time.Minute)) {
		t.Fatal("another account claimed the certificate")
	}
	if !claim(acct, "second", now.Add(time.Minute), now.Add(2*time.Minute)) || !holds("second") {
		t.Fatal("a lapsed claim could not be taken")
	}
	for i := 1; i <= 8; i++ {
		if holds(fmt.Sprintf("racer-%d", i)) {
			t.Fatal("the overtaken claimant still holds the claim")
		}
		release(fmt.Sprintf("racer-%d", i)) // an overtaken claimant releases nothing
	}
	if !holds("second") || claim(acct, "third", now.Add(61*time.Second), now.Add(3*time.Minute)) {
		t.Fatal("another's release dropped the claim")
	}
	release("second")
	if !claim(acct, "third", now.Add(61*time.Second), now.Add(2*time.Minute)) {
		t.Fatal("a released claim could not be taken")
	}
	release("third")
	c.Status, c.SerialNumber, c.IssuerID = store.CertIssued, "0C01", "A"
	if err := s.InTx(ctx, func(tx store.Tx) error { return tx.UpdateCertificate(ctx, c) }); err != nil {
		t.Fatal(err)
	}
	if claim(acct, "fourth", now.Add(time.Hour), now.Add(2*time.Hour)) {
		t.Fatal("an issued certificate was claimed for signing")
	}
}

// raceWins runs claim in n transactions at once and counts the ones it
// reports won.
func raceWins(t *testing.T, s store.Store, n int, claim func(store.Tx) (bool, error)) int {
	t.Helper()
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var ok bool
			err := s.InTx(context.Background(), func(tx store.Tx) error {
				var err error
				ok, err = claim(tx)
				return err
			})
			if err != nil {
				t.Error(err)
			}
			if ok {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	return int(wins.Load())
}
