package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/store"
)

// testMailOutbox: messages are due by next_at across accounts, on the
// business clock until claimed and on the real clock from then on; a
// claim is a compare-and-set that counts an attempt, a sent message is
// never due again, and counts narrow by account, kind, order, domain and
// time.
func testMailOutbox(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	acct, ord := seed(t, s, "mail")
	other, _ := seed(t, s, "mail-other")
	now := time.Now().UTC().Truncate(time.Millisecond)
	put := func(acct int64, kind string, order, domain int64, at time.Time) *store.OutboxMail {
		m := &store.OutboxMail{AccountID: acct, Kind: kind, OrderID: order, DomainID: domain, Recipient: "a@example.com",
			Payload: `{}`, MessageID: "id@example.com", CreatedAt: at, NextAt: at}
		if err := s.InTx(ctx, func(tx store.Tx) error { return tx.CreateMail(ctx, m) }); err != nil {
			t.Fatal(err)
		}
		return m
	}
	a := put(acct, "dcv", ord, 0, now.Add(-time.Minute))
	old := put(acct, "dcv", 0, 7, now.Add(-time.Hour))
	c := put(other, "notice", 0, 0, now)
	d := put(acct, "dcv", ord, 0, now.Add(time.Hour))

	due, err := s.DueMail(ctx, now, now, 10)
	if err != nil || len(due) != 3 || due[0].DomainID != 7 || due[1].ID != a.ID || due[2].AccountID != other {
		t.Fatalf("due = %+v, %v", due, err)
	}
	claim := func(id int64, prev, next time.Time) bool {
		var ok bool
		if err := s.InTx(ctx, func(tx store.Tx) error {
			var err error
			ok, err = tx.ClaimMail(ctx, id, prev, next)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !claim(a.ID, a.NextAt, now.Add(time.Minute)) || claim(a.ID, a.NextAt, now.Add(2*time.Minute)) {
		t.Fatal("a claim is not a compare-and-set")
	}
	ids := func(ms []store.OutboxMail) []int64 {
		var out []int64
		for _, m := range ms {
			out = append(out, m.ID)
		}
		return out
	}
	// Until an attempt fails, a message (and its claim) is on the business
	// clock; after, on the real clock. Either may be ahead.
	requireDue := func(what string, at, realAt time.Time, want ...int64) {
		t.Helper()
		if due, err := s.DueMail(ctx, at, realAt, 10); err != nil || !slices.Equal(ids(due), want) {
			t.Fatalf("%s: due %v, %v; want %v", what, ids(due), err, want)
		}
	}
	later := now.Add(2 * time.Hour)
	requireDue("claimed, business clock ahead", later, now, old.ID, c.ID, a.ID, d.ID)
	requireDue("claimed, real clock ahead", now, later, old.ID, c.ID)
	if err := s.InTx(ctx, func(tx store.Tx) error { return tx.MailFailed(ctx, a.ID, 1, "relay down", now.Add(time.Minute)) }); err != nil {
		t.Fatal(err)
	}
	requireDue("failed, business clock ahead", later, now, old.ID, c.ID, d.ID)
	requireDue("failed, real clock ahead", now, later, old.ID, c.ID, a.ID)
	if err := s.InTx(ctx, func(tx store.Tx) error { return tx.MailFailed(ctx, a.ID, 1, "relay down", now.Add(-time.Second)) }); err != nil {
		t.Fatal(err)
	}
	due, _ = s.DueMail(ctx, now, now, 10)
	if len(due) != 3 || due[1].ID != a.ID || due[1].Attempts != 1 || due[1].LastError != "relay down" {
		t.Fatalf("after a failure: %+v", due)
	}
	if err := s.InTx(ctx, func(tx store.Tx) error { return tx.MailSent(ctx, a.ID, now) }); err != nil {
		t.Fatal(err)
	}
	if due, _ = s.DueMail(ctx, now.Add(24*time.Hour), now.Add(24*time.Hour), 10); len(due) != 3 {
		t.Fatalf("a sent message is still due: %+v", due)
	}
	if claim(a.ID, now.Add(-time.Second), now.Add(time.Hour)) {
		t.Fatal("a sent message was claimed")
	}
	gone := put(acct, "dcv", 0, 9, now.Add(-time.Minute))
	if err := s.InTx(ctx, func(tx store.Tx) error { return tx.MailGivenUp(ctx, gone.ID, 3, "550 no such user", now) }); err != nil {
		t.Fatal(err)
	}
	for _, m := range unsentMail(t, s, now.Add(24*time.Hour)) {
		if m.ID == gone.ID {
			t.Fatal("a given-up message is still due")
		}
	}
	if claim(gone.ID, gone.NextAt, now.Add(time.Hour)) {
		t.Fatal("a given-up message was claimed")
	}
	list, err := s.MailByOrder(ctx, acct, ord)
	if err != nil || len(list) != 2 || list[0].SentAt == nil || list[1].SentAt != nil {
		t.Fatalf("mail of the order: %+v, %v", list, err)
	}
	for _, c := range []struct {
		q    store.MailCount
		want int
	}{
		{store.MailCount{AccountID: acct, Since: now.Add(-2 * time.Hour)}, 4},
		{store.MailCount{AccountID: acct, Kind: "dcv", Since: now.Add(-30 * time.Minute)}, 3},
		{store.MailCount{AccountID: acct, OrderID: ord, Since: now.Add(-2 * time.Hour)}, 2},
		{store.MailCount{AccountID: acct, DomainID: 7, Since: now.Add(-2 * time.Hour)}, 1},
		{store.MailCount{AccountID: acct, Kind: "notice", Since: now.Add(-2 * time.Hour)}, 0},
		{store.MailCount{AccountID: other, Since: now.Add(-2 * time.Hour)}, 1},
	} {
		if n, err := s.CountMail(ctx, c.q); err != nil || n != c.want {
			t.Errorf("CountMail(%+v) = %d, %v; want %d", c.q, n, err, c.want)
		}
	}
}

// testMailList: the sandbox's view of the outbox lists an account's
// messages newest first, narrowed by order, recipient (in any case) and
// kind, a page at a time with the total, and shows the subject and body a
// kept message was sent with.
func testMailList(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	acct, ord := seed(t, s, "maillist")
	other, _ := seed(t, s, "maillist-other")
	now := time.Now().UTC().Truncate(time.Millisecond)
	var ids []int64
	for i, m := range []store.OutboxMail{
		{AccountID: acct, Kind: "notice", OrderID: ord, Recipient: "a@example.com"},
		{AccountID: acct, Kind: "dcv", OrderID: ord, Recipient: "b@example.com"},
		{AccountID: acct, Kind: "notice", Recipient: "A@example.com"},
		{AccountID: other, Kind: "notice", Recipient: "a@example.com"},
	} {
		m.Payload, m.MessageID, m.CreatedAt = `{}`, "id@example.com", now.Add(time.Duration(i)*time.Second)
		if err := s.InTx(ctx, func(tx store.Tx) error { return tx.CreateMail(ctx, &m) }); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	if err := s.InTx(ctx, func(tx store.Tx) error { return tx.MailKept(ctx, ids[0], now, "Subject", "Body\n") }); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		f     store.MailFilter
		want  []int64
		total int
	}{
		{store.MailFilter{AccountID: acct}, []int64{ids[2], ids[1], ids[0]}, 3},
		{store.MailFilter{AccountID: acct, OrderID: ord}, []int64{ids[1], ids[0]}, 2},
		{store.MailFilter{AccountID: acct, Recipient: "a@EXAMPLE.com"}, []int64{ids[2], ids[0]}, 2},
		{store.MailFilter{AccountID: acct, Kind: "dcv"}, []int64{ids[1]}, 1},
		{store.MailFilter{AccountID: acct, Page: store.Page{Offset: 1, Limit: 1}}, []int64{ids[1]}, 3},
		{store.MailFilter{AccountID: other}, []int64{ids[3]}, 1},
	} {
		list, total, err := s.ListMail(ctx, c.f)
		var got []int64
		for _, m := range list {
			got = append(got, m.ID)
		}
		if err != nil || total != c.total || !slices.Equal(got, c.want) {
			t.Errorf("ListMail(%+v) = %v (%d), %v; want %v (%d)", c.f, got, total, err, c.want, c.total)
		}
	}
	list, _, err := s.ListMail(ctx, store.MailFilter{AccountID: acct, OrderID: ord, Kind: "notice"})
	if err != nil || len(list) != 1 || list[0].SentAt == nil || list[0].Subject != "Subject" || list[0].Body != "Body\n" {
		t.Fatalf("kept message: %+v, %v", list, err)
	}
}

func unsentMail(t *testing.T, s store.Store, at time.Time) []store.OutboxMail {
	t.Helper()
	due, err := s.DueMail(context.Background(), at, at, 100)
	if err != nil {
		t.Fatal(err)
	}
	return due
}
