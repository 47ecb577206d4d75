package storetest

import (
	"context"
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
