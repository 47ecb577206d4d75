package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/store"
)

// testCensus: the census counts orders by product and status across
// accounts; issued certificates (not revoked or pending ones) by the
// window their notAfter falls in, each window holding the shorter ones;
// the outbox's waiting and given-up messages and the oldest waiting one;
// the DCV checks due; and it lists the job schedules and the CRLs.
func testCensus(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	tx := func(fn func(store.Tx) error) {
		t.Helper()
		if err := s.InTx(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}

	empty, err := s.Census(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(empty.Orders) != 0 || empty.MailWaiting != 0 || !empty.OldestMail.IsZero() || empty.DCVDue != 0 ||
		len(empty.Jobs) != 0 || len(empty.CRLs) != 0 || len(empty.Expiring) != len(store.CensusWindows) {
		t.Fatalf("census of an empty store = %+v", empty)
	}

	acct, ord := seed(t, s, "census")
	other, ord2 := seed(t, s, "census-other") // ssl_securesite, needs_approval
	base, err := s.Order(ctx, acct, ord)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range []string{store.OrderIssued, store.OrderIssued, store.OrderPending} {
		o := *base
		o.ID, o.Status, o.ProductNameID = 0, st, "ssl_basic"
		tx(func(tx store.Tx) error { return tx.CreateOrder(ctx, &o) })
	}
	day := 24 * time.Hour
	for i, in := range []time.Duration{-day, 3 * day, 20 * day, 60 * day, 89 * day, 200 * day} {
		issuedCert(t, s, acct, ord, "C0"+string(rune('A'+i)), "tls", now.Add(in))
	}
	revoked := issuedCert(t, s, other, ord2, "C0R", "tls", now.Add(2*day))
	revoked.Status = store.CertRevoked
	tx(func(tx store.Tx) error { return tx.UpdateCertificate(ctx, revoked) })
	pending := &store.Certificate{AccountID: acct, OrderID: ord, Status: store.CertPending, CreatedAt: now}
	tx(func(tx store.Tx) error { return tx.CreateCertificate(ctx, pending) })

	put := func(acct int64, created time.Time) *store.OutboxMail {
		m := &store.OutboxMail{AccountID: acct, Kind: "notice", Recipient: "a@example.com", Payload: `{}`,
			MessageID: "id@example.com", CreatedAt: created, NextAt: created}
		tx(func(tx store.Tx) error { return tx.CreateMail(ctx, m) })
		return m
	}
	put(acct, now.Add(-time.Hour))
	put(other, now.Add(-2*time.Hour))
	sent := put(acct, now.Add(-3*time.Hour))
	gone := put(acct, now.Add(-4*time.Hour))
	tx(func(tx store.Tx) error { return tx.MailSent(ctx, sent.ID, now) })
	tx(func(tx store.Tx) error { return tx.MailGivenUp(ctx, gone.ID, 5, "refused", now) })

	for i, next := range []time.Time{now.Add(-time.Minute), now, now.Add(time.Hour)} {
		c := &store.DCVCheck{AccountID: acct, Kind: store.DCVKindDomain, ObjectID: int64(100 + i), NextAt: next, UpdatedAt: now}
		tx(func(tx store.Tx) error { return tx.PutDCVCheck(ctx, c) })
	}
	job := &store.Job{Kind: "expire_orders", NextAt: now.Add(-time.Minute), UpdatedAt: now}
	tx(func(tx store.Tx) error { return tx.ScheduleJob(ctx, job) })
	crl := &store.StoredCRL{IssuerID: "root", Number: 3, ThisUpdate: now.Add(-time.Hour), NextUpdate: now.Add(time.Hour), Entries: 2, DER: []byte{0x30, 0x00}}
	tx(func(tx store.Tx) error { _, err := tx.SaveCRL(ctx, crl); return err })

	c, err := s.Census(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	wantOrders := []store.OrderCount{
		{Product: "ssl_basic", Status: store.OrderIssued, N: 2},
		{Product: "ssl_basic", Status: store.OrderPending, N: 1},
		{Product: "ssl_securesite", Status: store.OrderNeedsApproval, N: 2},
	}
	if !slices.Equal(c.Orders, wantOrders) {
		t.Errorf("orders = %+v, want %+v", c.Orders, wantOrders)
	}
	for w, n := range map[time.Duration]int{7 * day: 1, 30 * day: 2, 90 * day: 4} {
		if c.Expiring[w] != n {
			t.Errorf("expiring within %v = %d, want %d", w, c.Expiring[w], n)
		}
	}
	if c.MailWaiting != 2 || c.MailGivenUp != 1 || !c.OldestMail.Equal(now.Add(-2*time.Hour)) {
		t.Errorf("mail: waiting %d, given up %d, oldest %v; want 2, 1, %v", c.MailWaiting, c.MailGivenUp, c.OldestMail, now.Add(-2*time.Hour))
	}
	if c.DCVDue != 2 {
		t.Errorf("DCV checks due = %d, want 2", c.DCVDue)
	}
	if len(c.Jobs) != 1 || c.Jobs[0].Kind != job.Kind || !c.Jobs[0].NextAt.Equal(job.NextAt) {
		t.Errorf("jobs = %+v", c.Jobs)
	}
	if len(c.CRLs) != 1 || c.CRLs[0].IssuerID != "root" || c.CRLs[0].Number != 3 || !c.CRLs[0].ThisUpdate.Equal(crl.ThisUpdate) ||
		!c.CRLs[0].NextUpdate.Equal(crl.NextUpdate) || c.CRLs[0].DER != nil {
		t.Errorf("CRLs = %+v", c.CRLs)
	}
}
