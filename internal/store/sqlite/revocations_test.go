package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/store/sqlite"
)

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

func TestRevocationRoundTripAndIsolation(t *testing.T) {
	s := open(t)
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

func TestRevokedByIssuer(t *testing.T) {
	s := open(t)
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

func TestSerialStatus(t *testing.T) {
	s := open(t)
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

func TestNextCRLNumber(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crl.db")
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path)
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
	s2, err := sqlite.Open(ctx, path)
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
