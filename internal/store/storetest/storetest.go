// Package storetest is the conformance suite every store backend passes:
// the same tests, run by each backend's own test with a Backend that makes
// fresh databases of that kind.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/store"
)

// Backend makes databases of one kind for the suite.
type Backend struct {
	// Fresh makes a new empty database and returns a function that opens
	// it; it may be called again, after the previous store is closed, to
	// reopen the same data.
	Fresh func(t *testing.T) func() (store.Store, error)
}

// Run runs every conformance test against the backend.
func Run(t *testing.T, b Backend) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, Backend)
	}{
		{"AccountIsolation", testAccountIsolation},
		{"KeyActor", testKeyActor},
		{"AccountOptions", testAccountOptions},
		{"AccountNotifications", testAccountNotifications},
		{"SerialUniqueAndRollback", testSerialUniqueAndRollback},
		{"RecordedIntents", testRecordedIntents},
		{"CreateOrderCertificate", testCreateOrderCertificate},
		{"ReopenKeepsData", testReopenKeepsData},
		{"EnsureDomainIsIdempotent", testEnsureDomainIsIdempotent},
		{"DomainsByContainer", testDomainsByContainer},
		{"RevocationRoundTripAndIsolation", testRevocationRoundTripAndIsolation},
		{"RevokedByIssuer", testRevokedByIssuer},
		{"SerialStatus", testSerialStatus},
		{"NextCRLNumber", testNextCRLNumber},
		{"DCVCheckClaims", testDCVCheckClaims},
		{"SigningClaims", testSigningClaims},
		{"MailOutbox", testMailOutbox},
		{"Jobs", testJobs},
		{"AutoJobs", testAutoJobs},
		{"MailList", testMailList},
		{"Leases", testLeases},
		{"CRLs", testCRLs},
		{"BlockedKeys", testBlockedKeys},
		{"Settings", testSettings},
		{"ConcurrentTransactions", testConcurrentTransactions},
		{"HeldBackWriteFailsAlone", testHeldBackWriteFailsAlone},
		{"OrdersInOneCommit", testOrdersInOneCommit},
		{"Health", testHealth},
		{"LinkTokens", testLinkTokens},
		{"Console", testConsole},
		{"MailboxValidations", testMailboxValidations},
		{"Census", testCensus},
		{"FaultRules", testFaultRules},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, b) })
	}
}

// open makes a fresh database of the backend, closed when the test ends.
func open(t *testing.T, b Backend) store.Store {
	t.Helper()
	s, err := b.Fresh(t)()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// SeedAccount makes an account named name with a container and an
// administrator, and returns their ids: the least a test needs before it
// can write orders.
func SeedAccount(tb testing.TB, s store.Store, name string) (acct, user, cont int64) {
	tb.Helper()
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
		acct, user, cont = a.ID, u.ID, c.ID
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return acct, user, cont
}

// seed makes an account with a container, a user, an organization and one
// order, and returns the ids.
func seed(t *testing.T, s store.Store, name string) (acct, order int64) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	acct, user, cont := SeedAccount(t, s, name)
	err := s.InTx(ctx, func(tx store.Tx) error {
		org := &store.Organization{AccountID: acct, ContainerID: cont, Name: name + " Inc.", IsActive: true, CreatedAt: now}
		if err := tx.CreateOrganization(ctx, org); err != nil {
			return err
		}
		o := &store.Order{AccountID: acct, ContainerID: cont, UserID: user, OrganizationID: org.ID, ProductNameID: "ssl_securesite",
			Status: store.OrderNeedsApproval, CommonName: name + ".example.com", DNSNames: []string{name + ".example.com"},
			SignatureHash: "sha256", OrderValidTill: now.AddDate(1, 0, 0), CreatedAt: now, UpdatedAt: now,
			CustomFields: []store.CustomField{{MetadataID: 1, Value: "x"}}}
		if err := tx.CreateOrder(ctx, o); err != nil {
			return err
		}
		order = o.ID
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return acct, order
}

func testAccountIsolation(t *testing.T, b Backend) {
	s := open(t, b)
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
	// SetOrderCertificate: the certificate id and nothing else, and only
	// for the account's own order.
	err = s.InTx(ctx, func(tx store.Tx) error { return tx.SetOrderCertificate(ctx, a2, o1, 77) })
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("cross-account SetOrderCertificate: %v", err)
	}
	before, _ := s.Order(ctx, a1, o1)
	if err := s.InTx(ctx, func(tx store.Tx) error { return tx.SetOrderCertificate(ctx, a1, o1, 77) }); err != nil {
		t.Fatal(err)
	}
	after, err := s.Order(ctx, a1, o1)
	if err != nil || after.CertificateID != 77 {
		t.Fatalf("SetOrderCertificate: certificate %d, %v", after.CertificateID, err)
	}
	after.CertificateID = before.CertificateID
	if !reflect.DeepEqual(before, after) {
		t.Errorf("SetOrderCertificate changed more than the certificate:\n%+v\n%+v", before, after)
	}
}

func testSerialUniqueAndRollback(t *testing.T, b Backend) {
	s := open(t, b)
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

// testRecordedIntents: an issuance intent whose serial is reserved is no
// abandoned issuance, whether ReserveSerial deleted it or
// ReserveSerialKeepingIntent left it; DeleteRecordedIntents deletes the
// issuer's recorded ones only, and the serials stay reserved.
func testRecordedIntents(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	_, o := seed(t, s, "one")
	created := time.Unix(1000, 0).UTC()
	err := s.InTx(ctx, func(tx store.Tx) error {
		for _, in := range []struct{ serial, issuer string }{{"0A01", "x"}, {"0A02", "x"}, {"0A03", "x"}, {"0A04", "y"}} {
			if err := tx.CreateIssuanceIntent(ctx, &store.IssuanceIntent{SerialNumber: in.serial, IssuerID: in.issuer, CreatedAt: created}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.InTx(ctx, func(tx store.Tx) error {
		if err := tx.ReserveSerialKeepingIntent(ctx, "0A01", o, created); err != nil {
			return err
		}
		if err := tx.ReserveSerial(ctx, "0A02", o, created); err != nil {
			return err
		}
		return tx.ReserveSerialKeepingIntent(ctx, "0A04", o, created)
	})
	if err != nil {
		t.Fatal(err)
	}
	abandoned := func(issuer string) []string {
		t.Helper()
		list, err := s.AbandonedIssuances(ctx, issuer, created.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, in := range list {
			out = append(out, in.SerialNumber)
		}
		return out
	}
	if got := abandoned("x"); !slices.Equal(got, []string{"0A03"}) {
		t.Errorf("abandoned issuances of x: %v, want only the unreserved 0A03", got)
	}
	for _, sn := range []string{"0A01", "0A02", "0A04"} {
		if _, err := s.AbandonedIssuance(ctx, sn, created.Add(time.Hour)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("AbandonedIssuance(%s) of a reserved serial: %v", sn, err)
		}
	}
	if _, err := s.AbandonedIssuance(ctx, "0A03", created.Add(time.Hour)); err != nil {
		t.Errorf("AbandonedIssuance(0A03): %v", err)
	}
	var n int64
	if err := s.InTx(ctx, func(tx store.Tx) (err error) { n, err = tx.DeleteRecordedIntents(ctx, "x"); return err }); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("DeleteRecordedIntents(x) deleted %d intents, want 1 (0A01)", n)
	}
	// y's recorded intent stays until y's turn; x's unreserved one stays.
	if err := s.InTx(ctx, func(tx store.Tx) (err error) { n, err = tx.DeleteRecordedIntents(ctx, "y"); return err }); err != nil || n != 1 {
		t.Errorf("DeleteRecordedIntents(y): %d, %v; want 1", n, err)
	}
	if got := abandoned("x"); !slices.Equal(got, []string{"0A03"}) {
		t.Errorf("after the deletes, abandoned issuances of x: %v", got)
	}
	for _, sn := range []string{"0A01", "0A02", "0A04"} {
		if ok, err := s.SerialExists(ctx, sn); !ok || err != nil {
			t.Errorf("serial %s no longer reserved: %v", sn, err)
		}
	}
}

// testCreateOrderCertificate: the certificate is created and its order
// points at it, with and without the serial reserved; another account's
// order is not found and leaves nothing; a serial reserved already is a
// conflict.
func testCreateOrderCertificate(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	a1, o1 := seed(t, s, "one")
	a2, o2 := seed(t, s, "two")
	now := time.Now().UTC().Truncate(time.Second)
	cert := func(acct, order int64, serial string) *store.Certificate {
		return &store.Certificate{AccountID: acct, OrderID: order, Status: store.CertIssued, SerialNumber: serial, Thumbprint: "T" + serial,
			IssuerID: "iss", CommonName: "one.example.com", DNSNames: []string{"one.example.com"}, SignatureHash: "sha256",
			DER: []byte{0x30, 0x00}, NotBefore: now, NotAfter: now.Add(time.Hour), CreatedAt: now, IssuedAt: &now}
	}
	create := func(c *store.Certificate, reserve bool) error {
		return s.InTx(ctx, func(tx store.Tx) error { return tx.CreateOrderCertificate(ctx, c, reserve, now) })
	}
	check := func(acct, order int64, c *store.Certificate, reserved bool) {
		t.Helper()
		o, err := s.Order(ctx, acct, order)
		if err != nil || c.ID == 0 || o.CertificateID != c.ID {
			t.Fatalf("order %d points at certificate %d, created %d: %v", order, o.CertificateID, c.ID, err)
		}
		got, err := s.Certificate(ctx, acct, c.ID)
		if err != nil || got.SerialNumber != c.SerialNumber || got.OrderID != order {
			t.Fatalf("certificate %d: %+v %v", c.ID, got, err)
		}
		if ok, err := s.SerialExists(ctx, c.SerialNumber); ok != reserved || err != nil {
			t.Errorf("serial %s reserved %v, want %v (%v)", c.SerialNumber, ok, reserved, err)
		}
	}
	c1 := cert(a1, o1, "0B01")
	if err := create(c1, true); err != nil {
		t.Fatal(err)
	}
	check(a1, o1, c1, true)
	c2 := cert(a2, o2, "0B02")
	if err := create(c2, false); err != nil {
		t.Fatal(err)
	}
	check(a2, o2, c2, false)
	// Another account's order: not found, and nothing stays.
	c3 := cert(a2, o1, "0B03")
	if err := create(c3, true); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("certificate for another account's order: %v", err)
	}
	if ok, _ := s.SerialExists(ctx, "0B03"); ok {
		t.Error("the refused certificate's serial stayed reserved")
	}
	if o, _ := s.Order(ctx, a1, o1); o.CertificateID != c1.ID {
		t.Errorf("order %d now points at %d", o1, o.CertificateID)
	}
	if err := create(cert(a1, o1, "0B01"), true); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a serial reserved twice: %v", err)
	}
}

func testReopenKeepsData(t *testing.T, b Backend) {
	reopen := b.Fresh(t)
	ctx := context.Background()
	s, err := reopen()
	if err != nil {
		t.Fatal(err)
	}
	a, o := seed(t, s, "one")
	s.Close()
	s, err = reopen() // migrations run again and must be a no-op
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
func testEnsureDomainIsIdempotent(t *testing.T, b Backend) {
	s := open(t, b)
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

// Domains narrows to a container: the domains recorded with it, not those
// of other containers or of none.
func testDomainsByContainer(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	acct, _, cont := SeedAccount(t, s, "doms")
	now := time.Now().UTC()
	err := s.InTx(ctx, func(tx store.Tx) error {
		for i, c := range []int64{cont, cont + 1000, 0} {
			d := &store.Domain{AccountID: acct, Name: fmt.Sprintf("d%d.example.com", i), ContainerID: c, IsActive: true, CreatedAt: now}
			if err := tx.CreateDomain(ctx, d); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	doms, total, err := s.Domains(ctx, acct, store.DomainFilter{ContainerID: cont}, store.Page{Limit: 10})
	if err != nil || total != 1 || len(doms) != 1 || doms[0].Name != "d0.example.com" {
		t.Fatalf("domains of container %d = %+v (total %d), %v", cont, doms, total, err)
	}
	if _, total, err := s.Domains(ctx, acct, store.DomainFilter{}, store.Page{Limit: 10}); err != nil || total != 3 {
		t.Fatalf("all domains: total %d, %v", total, err)
	}
}

// issuedCert records an issued certificate of the order (DER set, as
// issuance leaves it) and returns it.
func issuedCert(t *testing.T, s store.Store, acct, order int64, serial, issuer string, notAfter time.Time) *store.Certificate {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	c := &store.Certificate{AccountID: acct, OrderID: order, Status: store.CertIssued, SerialNumber: serial,
		Thumbprint: "TP" + serial, IssuerID: issuer, CommonName: "example.com", DER: []byte{0x30, 0x00},
		NotBefore: now.Add(-time.Hour), NotAfter: notAfter, CreatedAt: now, IssuedAt: &now}
	if err := s.InTx(ctx, func(tx store.Tx) error { return tx.CreateCertificate(ctx, c) }); err != nil {
		t.Fatalf("create certificate %s: %v", serial, err)
	}
	return c
}

func revoke(ctx context.Context, s store.Store, c *store.Certificate, reason int, at time.Time) error {
	return s.InTx(ctx, func(tx store.Tx) error {
		return tx.CreateRevocation(ctx, &store.Revocation{CertificateID: c.ID, AccountID: c.AccountID, OrderID: c.OrderID,
			SerialNumber: c.SerialNumber, IssuerID: c.IssuerID, Reason: reason, RevokedAt: at, UserID: 7, RequestID: 9, Comments: "key lost"})
	})
}

func testRevocationRoundTripAndIsolation(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	a1, o1 := seed(t, s, "one")
	a2, _ := seed(t, s, "two")
	notAfter := time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)
	c := issuedCert(t, s, a1, o1, "0A01", "ISSUERA", notAfter)
	at := time.Date(2026, 11, 29, 9, 30, 15, 123_000_000, time.UTC)
	if err := revoke(ctx, s, c, 1, at); err != nil {
		t.Fatal(err)
	}
	got, err := s.Revocation(ctx, a1, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := store.Revocation{CertificateID: c.ID, AccountID: a1, OrderID: o1, SerialNumber: "0A01", IssuerID: "ISSUERA",
		Reason: 1, RevokedAt: at, UserID: 7, RequestID: 9, Comments: "key lost"}
	if *got != want {
		t.Fatalf("revocation = %+v, want %+v", *got, want)
	}
	if _, err := s.Revocation(ctx, a2, c.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another account read the revocation: %v", err)
	}
	if _, err := s.Revocation(ctx, a1, c.ID+100); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revocation of an unknown certificate: %v", err)
	}
	// A certificate is revoked once; the second attempt conflicts and the
	// first record stays as it was.
	if err := revoke(ctx, s, c, 4, at.Add(time.Hour)); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second revocation: %v, want ErrConflict", err)
	}
	if got, _ := s.Revocation(ctx, a1, c.ID); got.Reason != 1 || !got.RevokedAt.Equal(at) {
		t.Fatalf("first revocation changed: %+v", got)
	}
}

func testRevokedByIssuer(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	a1, o1 := seed(t, s, "one")
	a2, o2 := seed(t, s, "two")
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	notAfter := base.AddDate(0, 6, 0)
	// Revoked out of time order, in two accounts and two issuers; one
	// certificate of issuer A stays good.
	type rc struct {
		acct, order int64
		serial      string
		issuer      string
		revokedAt   time.Duration // after base; < 0 means not revoked
		reason      int
	}
	certs := []rc{
		{a1, o1, "0B03", "A", 3 * time.Hour, 4},
		{a2, o2, "0B01", "A", 1 * time.Hour, 0},
		{a1, o1, "0B02", "B", 2 * time.Hour, 5},
		{a2, o2, "0B04", "A", 2 * time.Hour, 1},
		{a1, o1, "0B05", "A", -1, 0},
	}
	for _, x := range certs {
		c := issuedCert(t, s, x.acct, x.order, x.serial, x.issuer, notAfter)
		if x.revokedAt >= 0 {
			if err := revoke(ctx, s, c, x.reason, base.Add(x.revokedAt)); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		issuer  string
		serials []string
		reasons []int
	}{
		{"A", []string{"0B01", "0B04", "0B03"}, []int{0, 1, 4}},
		{"B", []string{"0B02"}, []int{5}},
		{"C", []string{}, []int{}},
	}
	for _, tc := range tests {
		t.Run(tc.issuer, func(t *testing.T) {
			got, err := s.RevokedByIssuer(ctx, tc.issuer)
			if err != nil {
				t.Fatal(err)
			}
			if got == nil {
				t.Fatal("nil slice, want an empty one")
			}
			var serials []string
			var reasons []int
			for _, r := range got {
				serials = append(serials, r.SerialNumber)
				reasons = append(reasons, r.Reason)
				if r.IssuerID != tc.issuer {
					t.Errorf("%s listed under issuer %s", r.SerialNumber, r.IssuerID)
				}
			}
			if fmt.Sprint(serials) != fmt.Sprint(tc.serials) || fmt.Sprint(reasons) != fmt.Sprint(tc.reasons) {
				t.Fatalf("serials %v reasons %v, want %v %v (oldest first)", serials, reasons, tc.serials, tc.reasons)
			}
		})
	}
}

func testSerialStatus(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	a1, o1 := seed(t, s, "one")
	a2, o2 := seed(t, s, "two")
	notAfter := time.Date(2027, 5, 1, 0, 0, 0, 0, time.UTC)
	good := issuedCert(t, s, a1, o1, "0C01", "A", notAfter)
	revoked := issuedCert(t, s, a2, o2, "0C02", "B", notAfter)
	at := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	if err := revoke(ctx, s, revoked, 5, at); err != nil {
		t.Fatal(err)
	}
	// A pending certificate (a reissue waiting for approval) has a serial
	// row only once issued; one without DER is not an issued certificate.
	if err := s.InTx(ctx, func(tx store.Tx) error {
		return tx.CreateCertificate(ctx, &store.Certificate{AccountID: a1, OrderID: o1, Status: store.CertPending,
			SerialNumber: "0C03", IssuerID: "A", CreatedAt: time.Now().UTC()})
	}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		serial     string
		wantErr    error
		wantIssuer string
		revokedAt  time.Time
		reason     int
	}{
		{serial: good.SerialNumber, wantIssuer: "A"},
		{serial: revoked.SerialNumber, wantIssuer: "B", revokedAt: at, reason: 5},
		{serial: "0C03", wantErr: store.ErrNotFound},
		{serial: "0CFF", wantErr: store.ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.serial, func(t *testing.T) {
			st, err := s.SerialStatus(ctx, tc.serial)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if st.SerialNumber != tc.serial || st.IssuerID != tc.wantIssuer || !st.NotAfter.Equal(notAfter) {
				t.Fatalf("status = %+v", st)
			}
			switch {
			case tc.revokedAt.IsZero() && st.Revocation != nil:
				t.Fatalf("good certificate has a revocation: %+v", st.Revocation)
			case !tc.revokedAt.IsZero() && (st.Revocation == nil || !st.Revocation.RevokedAt.Equal(tc.revokedAt) || st.Revocation.Reason != tc.reason):
				t.Fatalf("revocation = %+v, want at %s reason %d", st.Revocation, tc.revokedAt, tc.reason)
			}
		})
	}
}

func testNextCRLNumber(t *testing.T, b Backend) {
	reopen := b.Fresh(t)
	ctx := context.Background()
	s, err := reopen()
	if err != nil {
		t.Fatal(err)
	}
	next := func(s store.Store, issuer string) int64 {
		t.Helper()
		var n int64
		if err := s.InTx(ctx, func(tx store.Tx) error {
			var err error
			n, err = tx.NextCRLNumber(ctx, issuer)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	steps := []struct {
		issuer string
		want   int64
	}{
		{"A", 1}, {"A", 2}, {"root", 1}, {"A", 3}, {"B", 1}, {"root", 2},
	}
	for _, st := range steps {
		if got := next(s, st.issuer); got != st.want {
			t.Fatalf("NextCRLNumber(%s) = %d, want %d", st.issuer, got, st.want)
		}
	}
	// A number taken in a transaction that rolls back is not consumed.
	boom := errors.New("boom")
	if err := s.InTx(ctx, func(tx store.Tx) error {
		if _, err := tx.NextCRLNumber(ctx, "A"); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// The counters survive a restart.
	s2, err := reopen()
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	for _, st := range []struct {
		issuer string
		want   int64
	}{{"A", 4}, {"B", 2}, {"root", 3}} {
		if got := next(s2, st.issuer); got != st.want {
			t.Fatalf("after reopen NextCRLNumber(%s) = %d, want %d", st.issuer, got, st.want)
		}
	}
}

// Of several workers claiming one due check at once, exactly one wins; a
// schedule never overwrites a check in progress; due checks come
// earliest first.
func testDCVCheckClaims(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	acct, _ := seed(t, s, "claims")
	now := time.Now().UTC().Truncate(time.Microsecond)
	inTx := func(fn func(tx store.Tx) error) {
		t.Helper()
		if err := s.InTx(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}
	inTx(func(tx store.Tx) error {
		for i, at := range []time.Time{now.Add(-time.Second), now.Add(-time.Minute), now.Add(time.Hour)} {
			c := &store.DCVCheck{AccountID: acct, Kind: store.DCVKindOrder, ObjectID: int64(i + 1), NextAt: at, UpdatedAt: now}
			if err := tx.PutDCVCheck(ctx, c); err != nil {
				return err
			}
		}
		return nil
	})
	due, err := s.DueDCVChecks(ctx, now, 10)
	if err != nil || len(due) != 2 || due[0].ObjectID != 2 || due[1].ObjectID != 1 {
		t.Fatalf("due = %+v, %v; want objects 2 then 1", due, err)
	}

	wins := raceWins(t, s, 8, func(tx store.Tx) (bool, error) {
		return tx.ClaimDCVCheck(ctx, store.DCVKindOrder, 1, due[1].NextAt, now.Add(time.Minute))
	})
	if wins != 1 {
		t.Fatalf("%d workers claimed the same check, want 1", wins)
	}

	inTx(func(tx store.Tx) error {
		return tx.ScheduleDCVCheck(ctx, &store.DCVCheck{AccountID: acct, Kind: store.DCVKindOrder, ObjectID: 1, NextAt: now, UpdatedAt: now})
	})
	c, err := s.DCVCheck(ctx, acct, store.DCVKindOrder, 1)
	if err != nil || !c.NextAt.Equal(now.Add(time.Minute)) {
		t.Fatalf("after a schedule the claimed check is %+v, %v; want next_at kept at the lease end", c, err)
	}
	if _, err := s.DCVCheck(ctx, acct+1, store.DCVKindOrder, 1); err != store.ErrNotFound {
		t.Fatalf("another account reads the check: %v", err)
	}
}

// testHealth: a store that takes writes is healthy, before and after one,
// and after a transaction that a rule refused (that says nothing about the
// store).
func testHealth(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	if err := s.Health(ctx); err != nil {
		t.Fatalf("fresh store: %v", err)
	}
	seed(t, s, "health")
	if err := s.Health(ctx); err != nil {
		t.Fatalf("after a write: %v", err)
	}
	refused := errors.New("refused by a rule")
	if err := s.InTx(ctx, func(store.Tx) error { return refused }); !errors.Is(err, refused) {
		t.Fatal(err)
	}
	if err := s.Health(ctx); err != nil {
		t.Fatalf("after a refused transaction: %v", err)
	}
}

// KeyActor reads a key with its user and its account, as the three reads
// would: the same rows, a revoked key with its revocation, and nothing
// for an unknown hash.
func testKeyActor(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	acct, user, _ := SeedAccount(t, s, "keys")
	other, otherUser, _ := SeedAccount(t, s, "other")
	keys := map[string]*store.APIKey{
		"live":    {AccountID: acct, UserID: user, Name: "live", Hash: []byte("hash-live"), CreatedAt: now},
		"revoked": {AccountID: acct, UserID: user, Name: "revoked", Hash: []byte("hash-revoked"), CreatedAt: now},
		"other":   {AccountID: other, UserID: otherUser, Name: "other", Hash: []byte("hash-other"), CreatedAt: now},
	}
	err := s.InTx(ctx, func(tx store.Tx) error {
		if err := tx.SetAccountNotifications(ctx, acct, store.AccountNotifications{}); err != nil {
			return err
		}
		for _, k := range keys {
			if err := tx.CreateAPIKey(ctx, k); err != nil {
				return err
			}
		}
		return tx.RevokeAPIKeys(ctx, acct, user, keys["revoked"].ID, now)
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, k := range keys {
		gotKey, gotUser, gotAcct, err := s.KeyActor(ctx, k.Hash)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		wantKey, _ := s.APIKeyByHash(ctx, k.Hash)
		wantUser, _ := s.User(ctx, k.AccountID, k.UserID)
		wantAcct, _ := s.Account(ctx, k.AccountID)
		if !reflect.DeepEqual(gotKey, wantKey) || !reflect.DeepEqual(gotUser, wantUser) || !reflect.DeepEqual(gotAcct, wantAcct) {
			t.Errorf("%s: KeyActor read\n%+v %+v %+v\nthe three reads\n%+v %+v %+v", name, gotKey, gotUser, gotAcct, wantKey, wantUser, wantAcct)
		}
		if (name == "revoked") != (gotKey.RevokedAt != nil) {
			t.Errorf("%s: revoked at %v", name, gotKey.RevokedAt)
		}
	}
	if _, _, _, err := s.KeyActor(ctx, []byte("no such hash")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown hash: %v", err)
	}
}
