package storetest

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/secret"
	"github.com/certorder/certorder/internal/store"
)

// Emailed links: found by their digest and kind only, used once (of racing
// clicks exactly one counts), dead after they expire or are replaced.
func testLinkTokens(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	a1, o1 := seed(t, s, "links-one")
	a2, o2 := seed(t, s, "links-two")
	at := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	mk := func(acct, order int64, kind, subject string) (*store.LinkToken, string) {
		value, hash, err := secret.New()
		if err != nil {
			t.Fatal(err)
		}
		l := &store.LinkToken{AccountID: acct, OrderID: order, Kind: kind, Subject: subject, TokenHash: hash, CreatedAt: at, ExpiresAt: at.Add(24 * time.Hour)}
		if err := s.InTx(ctx, func(tx store.Tx) error { return tx.CreateLinkToken(ctx, l) }); err != nil {
			t.Fatal(err)
		}
		return l, value
	}
	use := func(l *store.LinkToken, when time.Time) bool {
		var ok bool
		err := s.InTx(ctx, func(tx store.Tx) (err error) { ok, err = tx.UseLinkToken(ctx, l.AccountID, l.ID, when); return err })
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	mbox, mboxSecret := mk(a1, o1, "mailbox", "alice@example.com")
	other, _ := mk(a2, o2, "mailbox", "bob@example.com")

	got, err := s.LinkTokenByHash(ctx, "mailbox", secret.Hash(mboxSecret))
	if err != nil || got.ID != mbox.ID || got.AccountID != a1 || got.Subject != "alice@example.com" || !bytes.Equal(got.TokenHash, mbox.TokenHash) ||
		!got.ExpiresAt.Equal(mbox.ExpiresAt) || got.UsedAt != nil || !got.Usable(at) {
		t.Fatalf("LinkTokenByHash = %+v, %v; want %+v", got, err, mbox)
	}
	if _, err := s.LinkTokenByHash(ctx, "ev_approval", secret.Hash(mboxSecret)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a mailbox link found as another kind: %v", err)
	}
	if l, err := s.LinkTokens(ctx, a1, o1, "mailbox"); err != nil || len(l) != 1 || l[0].ID != mbox.ID {
		t.Errorf("LinkTokens of account one = %+v, %v", l, err)
	}
	if l, err := s.LinkTokens(ctx, a1, o2, "mailbox"); err != nil || len(l) != 0 {
		t.Errorf("account one lists account two's order's links: %+v, %v", l, err)
	}
	if use(other, at) == false {
		t.Fatal("a fresh link could not be used")
	}
	if s, _ := s.LinkTokenByHash(ctx, "mailbox", other.TokenHash); s.UsedAt == nil || s.Usable(at) {
		t.Errorf("a used link reads %+v", s)
	}
	// Of racing clicks exactly one counts.
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var ok bool
			err := s.InTx(ctx, func(tx store.Tx) (err error) { ok, err = tx.UseLinkToken(ctx, a1, mbox.ID, at); return err })
			if err == nil && ok {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Errorf("%d racing clicks counted, want 1", wins.Load())
	}
	// Expired, replaced or another account's: not usable.
	late, _ := mk(a1, o1, "mailbox", "carol@example.com")
	if use(late, at.Add(24*time.Hour)) {
		t.Error("a link was used at its expiry")
	}
	replaced, _ := mk(a1, o1, "mailbox", "dave@example.com")
	kept, _ := mk(a1, o1, "mailbox", "erin@example.com")
	if err := s.InTx(ctx, func(tx store.Tx) error {
		return tx.ExpireLinkTokens(ctx, a1, o1, "mailbox", "dave@example.com", at.Add(time.Hour))
	}); err != nil {
		t.Fatal(err)
	}
	if use(replaced, at.Add(2*time.Hour)) {
		t.Error("a replaced link was used")
	}
	if use(kept, at.Add(-time.Hour)) == false {
		t.Error("replacing one mailbox's links ended another's")
	}
	foreign, _ := mk(a2, o2, "mailbox", "frank@example.com")
	var ok bool
	if err := s.InTx(ctx, func(tx store.Tx) (err error) { ok, err = tx.UseLinkToken(ctx, a1, foreign.ID, at); return err }); err != nil || ok {
		t.Errorf("account one used account two's link: %v %v", ok, err)
	}
	gone, _ := mk(a1, o1, "pickup", "")
	if err := s.InTx(ctx, func(tx store.Tx) error { return tx.DeleteLinkToken(ctx, a1, gone.ID) }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LinkTokenByHash(ctx, "pickup", gone.TokenHash); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a deleted link is found: %v", err)
	}
}

// Mailbox validations: one per account and address, the latest answer
// replacing the earlier one, never seen by another account.
func testMailboxValidations(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	a1, o1 := seed(t, s, "mailbox-one")
	a2, _ := seed(t, s, "mailbox-two")
	at := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	put := func(v store.MailboxValidation) {
		t.Helper()
		if err := s.InTx(ctx, func(tx store.Tx) error { return tx.PutMailboxValidation(ctx, &v) }); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.MailboxValidation(ctx, a1, "alice@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("an address never validated: %v, want not found", err)
	}
	put(store.MailboxValidation{AccountID: a1, Email: "alice@example.com", ValidatedAt: at, OrderID: o1})
	put(store.MailboxValidation{AccountID: a1, Email: "alice@example.com", ValidatedAt: at.Add(time.Hour), OrderID: o1 + 1})
	got, err := s.MailboxValidation(ctx, a1, "alice@example.com")
	if err != nil || !got.ValidatedAt.Equal(at.Add(time.Hour)) || got.OrderID != o1+1 || got.AccountID != a1 {
		t.Fatalf("latest validation = %+v, %v", got, err)
	}
	if _, err := s.MailboxValidation(ctx, a2, "alice@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("account two sees account one's mailbox validation: %v", err)
	}
	if _, err := s.MailboxValidation(ctx, a1, "bob@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("another address is validated: %v", err)
	}
}
