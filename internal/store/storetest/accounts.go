package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/store"
)

// testAccountOptions: every account option is written on creation and by
// SetAccountOptions, and read back as written.
func testAccountOptions(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	a := &store.Account{Name: "options", ApprovalMode: "two_step", AllowSkipApproval: true, RequireUniqueAltOrderID: true,
		IssuingCASelection: true, RevokeOrderWithCertificate: true, CreatedAt: time.Now().UTC()}
	if err := s.InTx(ctx, func(tx store.Tx) error { return tx.CreateAccount(ctx, a) }); err != nil {
		t.Fatal(err)
	}
	check := func(want store.Account) {
		t.Helper()
		got, err := s.Account(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.ApprovalMode != want.ApprovalMode || got.AllowSkipApproval != want.AllowSkipApproval ||
			got.RequireUniqueAltOrderID != want.RequireUniqueAltOrderID || got.IssuingCASelection != want.IssuingCASelection ||
			got.RevokeOrderWithCertificate != want.RevokeOrderWithCertificate {
			t.Errorf("account options read back as %+v, want %+v", *got, want)
		}
	}
	check(*a)
	for _, opts := range []store.Account{
		{ApprovalMode: "auto"},
		{ApprovalMode: "one_step", AllowSkipApproval: true, IssuingCASelection: true},
		{ApprovalMode: "one_step", RevokeOrderWithCertificate: true},
	} {
		opts.ID = a.ID
		if err := s.InTx(ctx, func(tx store.Tx) error { return tx.SetAccountOptions(ctx, &opts) }); err != nil {
			t.Fatal(err)
		}
		check(opts)
	}
}

// testAccountNotifications: an account's mail settings start empty (the
// defaults), are replaced whole by SetAccountNotifications, keep an empty
// recipient list apart from an absent one, and stay the account's own; a
// user's locale is written on creation and by UpdateUser.
func testAccountNotifications(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	acct, user, _ := SeedAccount(t, s, "notifications")
	other, _, _ := SeedAccount(t, s, "other")
	a, err := s.Account(ctx, acct)
	if err != nil {
		t.Fatal(err)
	}
	if a.Notifications.Recipients != nil || a.Notifications.AdminEmails != nil {
		t.Fatalf("a new account has settings %+v", a.Notifications)
	}
	want := store.AccountNotifications{
		Recipients:  map[string][]string{"rejection_email_recipients": {"order-users", "admin"}, "renewal_email_recipients": {}},
		AdminEmails: []string{"copies@example.com"}, EmergencyEmails: []string{"sos@example.com"},
		Other: map[string]string{"account_fund_expiry_notices": "1"},
	}
	for _, n := range []store.AccountNotifications{{AdminEmails: []string{"first@example.com"}}, want} {
		if err := s.InTx(ctx, func(tx store.Tx) error { return tx.SetAccountNotifications(ctx, acct, n) }); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Account(ctx, acct)
	if err != nil {
		t.Fatal(err)
	}
	n := got.Notifications
	if r, ok := n.Recipients["renewal_email_recipients"]; !ok || len(r) != 0 || len(n.Recipients) != 2 ||
		!slices.Equal(n.Recipients["rejection_email_recipients"], []string{"order-users", "admin"}) ||
		!slices.Equal(n.AdminEmails, want.AdminEmails) || !slices.Equal(n.EmergencyEmails, want.EmergencyEmails) ||
		n.Other["account_fund_expiry_notices"] != "1" {
		t.Errorf("settings read back as %+v, want %+v", n, want)
	}
	if o, err := s.Account(ctx, other); err != nil || o.Notifications.AdminEmails != nil {
		t.Errorf("another account's settings: %+v, %v", o, err)
	}
	u, err := s.User(ctx, acct, user)
	if err != nil || u.Locale != "" {
		t.Fatalf("seeded user locale %q, %v", u.Locale, err)
	}
	u2 := &store.User{AccountID: acct, ContainerID: u.ContainerID, Username: "ja-user", Email: "ja@example.com", AccessRole: store.RoleStandardUser,
		Locale: "ja", CreatedAt: time.Now().UTC()}
	if err := s.InTx(ctx, func(tx store.Tx) error { return tx.CreateUser(ctx, u2) }); err != nil {
		t.Fatal(err)
	}
	u2.Locale = "zh_CN"
	if err := s.InTx(ctx, func(tx store.Tx) error { return tx.UpdateUser(ctx, u2) }); err != nil {
		t.Fatal(err)
	}
	if got, err := s.User(ctx, acct, u2.ID); err != nil || got.Locale != "zh_CN" {
		t.Errorf("user locale read back as %q, %v", got.Locale, err)
	}
	if list, _, err := s.Users(ctx, acct, store.UserFilter{}, store.Page{}); err != nil || len(list) != 2 || list[1].Locale != "zh_CN" {
		t.Errorf("users list: %+v, %v", list, err)
	}
}
