package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/store"
)

// A blocked key is seen by every account, inside the blocking transaction
// and after it; blocking it again keeps the first block; a rolled-back
// block leaves no trace; blocks survive a reopen.
func testBlockedKeys(t *testing.T, b Backend) {
	reopen := b.Fresh(t)
	s, err := reopen()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a1, o1 := seed(t, s, "one")
	a2, o2 := seed(t, s, "two")
	c1 := issuedCert(t, s, a1, o1, "0B01", "ISSUERA", time.Now().Add(24*time.Hour))
	c2 := issuedCert(t, s, a2, o2, "0B02", "ISSUERA", time.Now().Add(24*time.Hour))
	keyA := sha256.Sum256([]byte("SubjectPublicKeyInfo A"))
	keyB := sha256.Sum256([]byte("SubjectPublicKeyInfo B"))
	at := time.Date(2026, 12, 1, 8, 30, 5, 250_000_000, time.UTC)
	block := func(k [32]byte, c *store.Certificate, at time.Time) *store.BlockedKey {
		return &store.BlockedKey{SPKISHA256: k[:], BlockedAt: at, AccountID: c.AccountID, CertificateID: c.ID, SerialNumber: c.SerialNumber}
	}
	want := block(keyA, c1, at)
	same := func(got, want *store.BlockedKey) bool {
		return bytes.Equal(got.SPKISHA256, want.SPKISHA256) && got.BlockedAt.Equal(want.BlockedAt) && got.AccountID == want.AccountID &&
			got.CertificateID == want.CertificateID && got.SerialNumber == want.SerialNumber
	}

	if _, err := s.BlockedKey(ctx, keyA[:]); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("key blocked before any block: %v", err)
	}
	// Blocked with a revocation, in its transaction: seen there at once.
	err = s.InTx(ctx, func(tx store.Tx) error {
		if err := tx.CreateRevocation(ctx, &store.Revocation{CertificateID: c1.ID, AccountID: a1, OrderID: o1,
			SerialNumber: c1.SerialNumber, IssuerID: c1.IssuerID, Reason: 1, RevokedAt: at}); err != nil {
			return err
		}
		if err := tx.BlockKey(ctx, want); err != nil {
			return err
		}
		got, err := tx.BlockedKey(ctx, keyA[:])
		if err != nil || !same(got, want) {
			t.Errorf("inside the transaction: %+v, %v", got, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.BlockedKey(ctx, keyA[:]); err != nil || !same(got, want) {
		t.Fatalf("after commit: %+v, %v; want %+v", got, err, want)
	}

	// The other account's revocation of the same key: no error, the first
	// block stays.
	if err := s.InTx(ctx, func(tx store.Tx) error { return tx.BlockKey(ctx, block(keyA, c2, at.Add(time.Hour))) }); err != nil {
		t.Fatalf("blocking a blocked key: %v", err)
	}
	if got, err := s.BlockedKey(ctx, keyA[:]); err != nil || !same(got, want) {
		t.Fatalf("second block replaced the first: %+v, %v", got, err)
	}

	// A block in a transaction that fails is rolled back with it.
	boom := errors.New("revocation failed")
	if err := s.InTx(ctx, func(tx store.Tx) error {
		if err := tx.BlockKey(ctx, block(keyB, c2, at)); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("InTx = %v, want the callback's error", err)
	}
	if _, err := s.BlockedKey(ctx, keyB[:]); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("rolled-back block is visible: %v", err)
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = reopen()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if got, err := s.BlockedKey(ctx, keyA[:]); err != nil || !same(got, want) {
		t.Fatalf("after reopening: %+v, %v", got, err)
	}
}
