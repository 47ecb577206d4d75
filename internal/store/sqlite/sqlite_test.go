package sqlite_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/store/sqlite"
)

func open(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// seed makes an account with a container, a user, an organization and one
// order, and returns the ids.
func seed(t *testing.T, s store.Store, name string) (acct, order int64) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	err := s.InTx(ctx, func(tx store.Tx) error {
		a := &store.Account{Name: name, CreatedAt: now}
		if err := tx.CreateAccount(ctx, a); err != nil {
			return err
		}
		c := &store.Container{AccountID: a.ID, Name: name, IsActive: true, CreatedAt: now}
		if err := tx.CreateContainer(ctx, c); err != nil {
			return err
		}
		u := &store.User{AccountID: a.ID, ContainerID: c.ID, Username: name + "-admin", AccessRole: store.RoleAdministrator, CreatedAt: now}
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		org := &store.Organization{AccountID: a.ID, ContainerID: c.ID, Name: name + " Inc.", IsActive: true, CreatedAt: now}
		if err := tx.CreateOrganization(ctx, org); err != nil {
			return err
		}
		o := &store.Order{AccountID: a.ID, ContainerID: c.ID, UserID: u.ID, OrganizationID: org.ID, ProductNameID: "ssl_securesite",
			Status: store.OrderNeedsApproval, CommonName: name + ".example.com", DNSNames: []string{name + ".example.com"},
			SignatureHash: "sha256", OrderValidTill: now.AddDate(1, 0, 0), CreatedAt: now, UpdatedAt: now,
			CustomFields: []store.CustomField{{MetadataID: 1, Value: "x"}}}
		if err := tx.CreateOrder(ctx, o); err != nil {
			return err
		}
		acct, order = a.ID, o.ID
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return acct, order
}

func TestAccountIsolation(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	a1, o1 := seed(t, s, "one")
	a2, o2 := seed(t, s, "two")
	if _, err := s.Order(ctx, a2, o1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("account %d read account %d's order: %v", a2, a1, err)
	}
	got, err := s.Order(ctx, a1, o1)
	if err != nil || got.CommonName != "one.example.com" || len(got.CustomFields) != 1 || got.CustomFields[0].Value != "x" {
		t.Fatalf("own order: %+v %v", got, err)
	}
	orders, total, err := s.Orders(ctx, a2, store.OrderFilter{}, store.Page{Limit: 10})
	if err != nil || total != 1 || len(orders) != 1 || orders[0].ID != o2 {
		t.Fatalf("list of account two: %d %v %v", total, orders, err)
	}
	if _, err := s.Organization(ctx, a2, 1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("account two read account one's organization: %v", err)
	}
	// An update naming another account's order changes nothing.
	got.AccountID = a2
	got.Status = store.OrderCanceled
	err = s.InTx(ctx, func(tx store.Tx) error { return tx.UpdateOrder(ctx, got) })
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("cross-account update: %v", err)
	}
	if o, _ := s.Order(ctx, a1, o1); o.Status != store.OrderNeedsApproval {
		t.Fatalf("order changed by another account: %s", o.Status)
	}
}

func TestSerialUniqueAndRollback(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	_, o1 := seed(t, s, "one")
	now := time.Now()
	if err := s.InTx(ctx, func(tx store.Tx) error { return tx.ReserveSerial(ctx, "0A0B", o1, now) }); err != nil {
		t.Fatal(err)
	}
	err := s.InTx(ctx, func(tx store.Tx) error { return tx.ReserveSerial(ctx, "0A0B", o1, now) })
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second reservation of a serial: %v", err)
	}
	// A failing transaction leaves nothing behind.
	boom := errors.New("boom")
	err = s.InTx(ctx, func(tx store.Tx) error {
		if err := tx.ReserveSerial(ctx, "0C0D", o1, now); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx returned %v", err)
	}
	if ok, _ := s.SerialExists(ctx, "0C0D"); ok {
		t.Fatal("rolled-back serial was recorded")
	}
}

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "test.db")
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	a, o := seed(t, s, "one")
	s.Close()
	s, err = sqlite.Open(ctx, path) // migrations run again and must be a no-op
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Order(ctx, a, o); err != nil {
		t.Fatalf("order after reopen: %v", err)
	}
}

// A domain is recorded once per account; naming it again returns the same
// row, and another account gets its own.
func TestEnsureDomainIsIdempotent(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	a1, _ := seed(t, s, "one")
	a2, _ := seed(t, s, "two")
	ensure := func(acct int64, name string) *store.Domain {
		t.Helper()
		var d *store.Domain
		err := s.InTx(ctx, func(tx store.Tx) error {
			var err error
			d, err = tx.EnsureDomain(ctx, acct, name, time.Now())
			return err
		})
		if err != nil {
			t.Fatalf("EnsureDomain(%d, %s): %v", acct, name, err)
		}
		return d
	}
	first := ensure(a1, "example.com")
	again := ensure(a1, "example.com")
	if first.ID == 0 || again.ID != first.ID || !again.CreatedAt.Equal(first.CreatedAt) {
		t.Fatalf("second EnsureDomain gave %+v, first %+v", again, first)
	}
	if other := ensure(a2, "example.com"); other.ID == first.ID || other.AccountID != a2 {
		t.Fatalf("other account shares the domain row: %+v", other)
	}
}
