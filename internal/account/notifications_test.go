package account_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/store/sqlite"
)

// TestApprovers: the approvers of an order in a division are the active
// people whose role approves and who see the division: administrators
// anywhere, managers of the division or of one above it. Not a manager of
// a sibling or child division, not another role, not a deleted user, not
// a service user (it reads no mail).
func TestApprovers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "certorder.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now().UTC()
	acct := &store.Account{Name: "approvers", CreatedAt: now}
	var web int64
	err = st.InTx(ctx, func(tx store.Tx) error {
		if err := tx.CreateAccount(ctx, acct); err != nil {
			return err
		}
		cs := map[string]*store.Container{"top": {AccountID: acct.ID, Name: "top", IsActive: true, CreatedAt: now}}
		if err := tx.CreateContainer(ctx, cs["top"]); err != nil {
			return err
		}
		for _, c := range []struct{ name, parent string }{{"web", "top"}, {"shop", "web"}, {"hr", "top"}} {
			n := &store.Container{AccountID: acct.ID, ParentID: cs[c.parent].ID, Name: c.name, IsActive: true, CreatedAt: now}
			if err := tx.CreateContainer(ctx, n); err != nil {
				return err
			}
			cs[c.name] = n
		}
		for _, u := range []struct {
			name, container string
			role            int
			deleted, api    bool
		}{
			{"admin-in-hr", "hr", store.RoleAdministrator, false, false},
			{"manager-top", "top", store.RoleManager, false, false},
			{"manager-web", "web", store.RoleManager, false, false},
			{"manager-shop", "shop", store.RoleManager, false, false},
			{"manager-hr", "hr", store.RoleManager, false, false},
			{"standard-web", "web", store.RoleStandardUser, false, false},
			{"finance-top", "top", store.RoleFinanceManager, false, false},
			{"deleted-admin", "top", store.RoleAdministrator, true, false},
			{"service-admin", "top", store.RoleAdministrator, false, true},
		} {
			x := &store.User{AccountID: acct.ID, ContainerID: cs[u.container].ID, Username: u.name, Email: u.name + "@example.com",
				AccessRole: u.role, APIOnly: u.api, CreatedAt: now}
			if err := tx.CreateUser(ctx, x); err != nil {
				return err
			}
			if u.deleted {
				if err := tx.SetUserStatus(ctx, acct.ID, x.ID, store.UserDeleted); err != nil {
					return err
				}
			}
		}
		web = cs["web"].ID
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := account.Approvers(ctx, st, acct, web)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range got {
		names = append(names, u.Username)
	}
	slices.Sort(names)
	if want := []string{"admin-in-hr", "manager-top", "manager-web"}; !slices.Equal(names, want) {
		t.Errorf("approvers of web = %q, want %q", names, want)
	}
}

// TestRecipientGroups: a setting left alone has CertCentral's default; one
// set, even to no group, is the account's.
func TestRecipientGroups(t *testing.T) {
	t.Parallel()
	acct := &store.Account{Notifications: store.AccountNotifications{Recipients: map[string][]string{account.SettingApproval: {}}}}
	for setting, want := range map[string][]string{
		account.SettingConfirmation: {account.GroupAdmin},
		account.SettingRejection:    {account.GroupOrderUsers},
		account.SettingApproval:     {},
		account.SettingRenewal:      {account.GroupOrderUsers, account.GroupTechContact},
	} {
		if got := account.RecipientGroups(acct, setting); !slices.Equal(got, want) {
			t.Errorf("%s = %q, want %q", setting, got, want)
		}
	}
}
