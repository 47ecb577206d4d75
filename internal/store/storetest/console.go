package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/secret"
	"github.com/certorder/certorder/internal/store"
)

// The console's sign-in state: credentials replaced whole, a TOTP step
// accepted once (of racing processes exactly one), sessions found by their
// digest and ended for good, sign-in failures counted by name without case
// and forgotten after a while, and the audit log filtered and paged.
func testConsole(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	a1, u1, _ := SeedAccount(t, s, "console-one")
	a2, u2, _ := SeedAccount(t, s, "console-two")
	at := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	tx := func(fn func(tx store.Tx) error) {
		t.Helper()
		if err := s.InTx(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}

	// Credentials.
	if _, err := s.Credential(ctx, a1, u1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a user without a credential: %v", err)
	}
	c := &store.Credential{UserID: u1, AccountID: a1, PasswordHash: "$argon2id$x", UpdatedAt: at}
	tx(func(tx store.Tx) error { return tx.PutCredential(ctx, c) })
	c.TOTPSeed, c.TOTPEnabled, c.UpdatedAt = []byte{1, 2, 3}, true, at.Add(time.Minute)
	tx(func(tx store.Tx) error { return tx.PutCredential(ctx, c) })
	got, err := s.Credential(ctx, a1, u1)
	if err != nil || got.PasswordHash != c.PasswordHash || !bytes.Equal(got.TOTPSeed, c.TOTPSeed) || !got.TOTPEnabled || !got.UpdatedAt.Equal(c.UpdatedAt) {
		t.Fatalf("Credential = %+v, %v; want %+v", got, err, c)
	}
	if _, err := s.Credential(ctx, a2, u1); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("account two reads account one's credential: %v", err)
	}
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var ok bool
			if err := s.InTx(ctx, func(tx store.Tx) (err error) { ok, err = tx.UseTOTPStep(ctx, a1, u1, 1000); return err }); err == nil && ok {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Errorf("step 1000 accepted %d times, want once", wins.Load())
	}
	for step, want := range map[int64]bool{999: false, 1000: false} {
		var ok bool
		tx(func(tx store.Tx) (err error) { ok, err = tx.UseTOTPStep(ctx, a1, u1, step); return err })
		if ok != want {
			t.Errorf("step %d after 1000: accepted %v", step, ok)
		}
	}

	// Sessions.
	mk := func(acct, user int64) (*store.Session, string) {
		value, hash, err := secret.New()
		if err != nil {
			t.Fatal(err)
		}
		ss := &store.Session{AccountID: acct, UserID: user, TokenHash: hash, CreatedAt: at, ExpiresAt: at.Add(8 * time.Hour), LastSeenAt: at}
		tx(func(tx store.Tx) error { return tx.CreateSession(ctx, ss) })
		return ss, value
	}
	s1, v1 := mk(a1, u1)
	s2, _ := mk(a1, u1)
	s3, v3 := mk(a2, u2)
	ss, err := s.SessionByHash(ctx, secret.Hash(v1))
	if err != nil || ss.ID != s1.ID || ss.UserID != u1 || ss.SecondFactor || ss.EndedAt != nil || !ss.ExpiresAt.Equal(s1.ExpiresAt) {
		t.Fatalf("SessionByHash = %+v, %v", ss, err)
	}
	tx(func(tx store.Tx) error { return tx.CompleteSession(ctx, s1.ID) })
	tx(func(tx store.Tx) error { return tx.TouchSession(ctx, s1.ID, at.Add(time.Hour)) })
	if ss, _ = s.SessionByHash(ctx, s1.TokenHash); !ss.SecondFactor || !ss.LastSeenAt.Equal(at.Add(time.Hour)) {
		t.Errorf("completed and touched session reads %+v", ss)
	}
	tx(func(tx store.Tx) error { return tx.EndUserSessions(ctx, a1, u1, s1.ID, at.Add(2*time.Hour)) })
	if ss, _ = s.SessionByHash(ctx, s2.TokenHash); ss.EndedAt == nil {
		t.Error("EndUserSessions left another session of the user live")
	}
	if ss, _ = s.SessionByHash(ctx, s1.TokenHash); ss.EndedAt != nil {
		t.Error("EndUserSessions ended the session it was told to keep")
	}
	if ss, _ = s.SessionByHash(ctx, secret.Hash(v3)); ss.EndedAt != nil {
		t.Error("EndUserSessions of account one ended account two's session")
	}
	tx(func(tx store.Tx) error { return tx.EndSession(ctx, s1.ID, at.Add(3*time.Hour)) })
	tx(func(tx store.Tx) error { return tx.EndSession(ctx, s1.ID, at.Add(4*time.Hour)) })
	if ss, _ = s.SessionByHash(ctx, s1.TokenHash); ss.EndedAt == nil || !ss.EndedAt.Equal(at.Add(3*time.Hour)) {
		t.Errorf("ended session reads %+v, want ended at its first end", ss)
	}
	if err := s.InTx(ctx, func(tx store.Tx) error { return tx.TouchSession(ctx, s1.ID, at.Add(5*time.Hour)) }); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("touching an ended session: %v, want ErrNotFound", err)
	}
	_ = s3

	// Sign-in failures.
	fail := func(name string, when time.Time) int {
		t.Helper()
		seen, seenAt, err := s.SignInFailures(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		var ok bool
		tx(func(tx store.Tx) (err error) {
			ok, err = tx.CountSignInAttempt(ctx, name, seen, seenAt, when, when.Add(-24*time.Hour))
			return err
		})
		if !ok {
			t.Fatalf("an attempt for %s on what was just read was not counted", name)
		}
		n, _, _ := s.SignInFailures(ctx, name)
		return n
	}
	for i := 1; i <= 3; i++ {
		if n := fail("Alice", at.Add(time.Duration(i)*time.Second)); n != i {
			t.Fatalf("failure %d counted %d", i, n)
		}
	}
	// Attempts racing on one read: exactly one counts, the others must
	// read again (each process's attempt would otherwise be let through
	// on the same count).
	fail("erin", at)
	fail("erin", at.Add(time.Second))
	seen, seenAt, _ := s.SignInFailures(ctx, "erin")
	var counted atomic.Int32
	var race sync.WaitGroup
	for range 6 {
		race.Add(1)
		go func() {
			defer race.Done()
			var ok bool
			if err := s.InTx(ctx, func(tx store.Tx) (err error) {
				ok, err = tx.CountSignInAttempt(ctx, "ERIN", seen, seenAt, at.Add(2*time.Second), at.Add(-24*time.Hour))
				return err
			}); err == nil && ok {
				counted.Add(1)
			}
		}()
	}
	race.Wait()
	if n, _, _ := s.SignInFailures(ctx, "erin"); counted.Load() != 1 || n != 3 {
		t.Errorf("six attempts racing on the second failure: %d counted, %d failures; want 1 and 3", counted.Load(), n)
	}
	var stale bool
	tx(func(tx store.Tx) (err error) {
		stale, err = tx.CountSignInAttempt(ctx, "erin", 3, at.Add(time.Second), at.Add(3*time.Second), at.Add(-24*time.Hour))
		return err
	})
	if stale {
		t.Error("an attempt counted on a last failure time that is not the name's")
	}
	if n, last, err := s.SignInFailures(ctx, " alice "); err != nil || n != 3 || !last.Equal(at.Add(3*time.Second)) {
		t.Errorf("SignInFailures(alice) = %d, %v, %v", n, last, err)
	}
	fail("bob", at)
	// A day later alice's failures are forgotten when anyone fails.
	fail("carol", at.Add(25*time.Hour))
	if n, _, _ := s.SignInFailures(ctx, "alice"); n != 0 {
		t.Errorf("failures a day old still count: %d", n)
	}
	fail("dave", at)
	tx(func(tx store.Tx) error { return tx.ClearSignInFailures(ctx, "DAVE") })
	if n, _, _ := s.SignInFailures(ctx, "dave"); n != 0 {
		t.Errorf("cleared failures count %d", n)
	}

	// Audit log.
	tx(func(tx store.Tx) error {
		for i := range 5 {
			user, action := u1, "order.created"
			if i%2 == 1 {
				user, action = 0, "user.created"
			}
			ev := &store.AuditEvent{AccountID: a1, UserID: user, At: at.Add(time.Duration(i) * time.Hour), Action: action, Object: fmt.Sprintf("order:%d", i), Detail: "{}"}
			if err := tx.Audit(ctx, ev); err != nil {
				return err
			}
		}
		return tx.Audit(ctx, &store.AuditEvent{AccountID: a2, UserID: u2, At: at, Action: "order.created", Detail: "{}"})
	})
	for _, c := range []struct {
		name  string
		f     store.AuditFilter
		page  store.Page
		total int
		first string
	}{
		{"all", store.AuditFilter{}, store.Page{Limit: 2}, 5, "order:4"},
		{"second page", store.AuditFilter{}, store.Page{Limit: 2, Offset: 2}, 5, "order:2"},
		{"by user", store.AuditFilter{UserID: u1}, store.Page{}, 3, "order:4"},
		{"by action prefix", store.AuditFilter{Action: "user."}, store.Page{}, 2, "order:3"},
		{"by action", store.AuditFilter{Action: "order.created"}, store.Page{}, 3, "order:4"},
		{"by object", store.AuditFilter{Object: "order:1"}, store.Page{}, 1, "order:1"},
		{"by time", store.AuditFilter{At: store.TimeRange{From: at.Add(time.Hour), To: at.Add(3 * time.Hour)}}, store.Page{}, 2, "order:2"},
	} {
		evs, total, err := s.AuditLog(ctx, a1, c.f, c.page)
		if err != nil || total != c.total || len(evs) == 0 || evs[0].Object != c.first {
			t.Errorf("AuditLog %s: %d events of %d, first %+v, %v; want total %d, first %s", c.name, len(evs), total, evs, err, c.total, c.first)
		}
		for _, e := range evs {
			if e.AccountID != a1 {
				t.Errorf("AuditLog %s lists another account's event %+v", c.name, e)
			}
		}
	}
}
